"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for the reply generator.

Test support code, not a test module. ``async with FakeLanguageModel() as fake:`` serves
``POST {fake.url}/chat/completions`` and answers with ``fake.replies`` as the choices' message
contents (as many as the request's ``n``, cycling), in the OpenAI answer shape. ``status``
answers with that HTTP status instead, ``body`` with those raw bytes, ``delay`` waits first.
Every request is recorded in ``requests`` (headers and JSON body).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from tests.loopback import serve_loopback


@dataclass
class Request:
    headers: dict[str, str]
    body: Any


@dataclass
class FakeLanguageModel:
    replies: list[str] = field(default_factory=lambda: ["Hello"])
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner, root = await serve_loopback(app)
        self.url = f"{root}/v1"
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(Request(dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.body is not None:
            return web.Response(body=self.body, content_type="application/json")
        if self.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=self.status)
        count = body.get("n", 1) if isinstance(body, dict) else 1
        choices = [
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": self.replies[index % len(self.replies)],
                },
                "finish_reason": "stop",
            }
            for index in range(count)
        ]
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "") if isinstance(body, dict) else "",
                "choices": choices,
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
