"""A fake Algolia Hacker News Search API for source tests: ``GET /api/v1/search_by_date``.

Test support code, not a test module. ``async with FakeHackerNews() as hn:`` serves on
127.0.0.1 port 0; point the source's ``base_url`` at ``hn.base_url``. Hits are filtered the way
Algolia does it for this API (every query word, tags AND-ed with OR groups in parentheses,
``created_at_i`` numeric filters), served newest first, with ``page``/``nbPages`` and the
1,000-hit pagination cap. ``fail`` answers the next searches with an HTTP error, ``break_next``
with an answer that breaks off (``cut``: 10 of the 100 bytes promised, then the connection
closed; ``stall``: 10 bytes, then silence until the fake stops).
"""

from __future__ import annotations

import asyncio
import html
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Self

from aiohttp import web

from tests.loopback import serve_loopback

Hit = dict[str, Any]
Break = Literal["cut", "stall"]
MAX_HITS = 1_000  # Algolia's paginationLimitedTo for this index
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}


def _created(created: int) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def thread(comments: int) -> list[Hit]:
    """``comments`` comments nested as the items endpoint sends them: each comment's replies
    are its ``children``. Shaped as a binary tree under one top comment (comment k answers
    comment (k - 1) // 2), so the story's direct replies are far fewer than its comments."""
    nodes: list[Hit] = [
        {"id": 1_000_000 + k, "type": "comment", "points": None, "children": []}
        for k in range(comments)
    ]
    for k in range(1, comments):
        nodes[(k - 1) // 2]["children"].append(nodes[k])
    return nodes[:1]


def story(
    object_id: int, created: int, title: str, *, text: str | None = None, **fields: Any
) -> Hit:
    """A story hit as search_by_date sends it (``story_text`` is HTML, for Ask HN)."""
    return {
        "_tags": ["story", f"author_user{object_id}", f"story_{object_id}"],
        "author": f"user{object_id}",
        "children": [],
        "created_at": _created(created),
        "created_at_i": created,
        "num_comments": 0,
        "objectID": str(object_id),
        "points": 1,
        "story_id": object_id,
        "story_text": text,
        "title": title,
        "updated_at": _created(created),
        "url": None if text else f"https://example.com/{object_id}",
        **fields,
    }


def comment(
    object_id: int, created: int, text_html: str, *, story_id: int = 1, **fields: Any
) -> Hit:
    return {
        "_tags": ["comment", f"author_user{object_id}", f"story_{story_id}"],
        "author": f"user{object_id}",
        "comment_text": text_html,
        "created_at": _created(created),
        "created_at_i": created,
        "objectID": str(object_id),
        "parent_id": story_id,
        "points": None,
        "story_id": story_id,
        "story_title": "A story",
        "story_url": "https://example.com/story",
        "updated_at": _created(created),
        **fields,
    }


@dataclass
class Call:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 200
    broken: Break | None = None


@dataclass
class FakeHackerNews:
    hits: list[Hit] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _breaks: list[Break] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    erring: set[str] = field(default_factory=set)
    """Items whose page answers 503 (a server failing on one item)."""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/api/v1/search_by_date", self._search_by_date)
        app.router.add_get("/api/v1/items/{id}", self._item)
        self._runner, self.url = await serve_loopback(app)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1/"

    def add(self, *hits: Hit) -> None:
        self.hits.extend(hits)

    def fail(
        self, status: int = 429, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        self._failures.extend([(status, headers or {})] * times)

    def break_next(self, how: Break = "cut", *, times: int = 1) -> None:
        """Answer the next ``times`` searches with 200 and a body that breaks off."""
        self._breaks.extend([how] * times)

    async def _item(self, request: web.Request) -> web.Response:
        wanted = request.match_info["id"]
        if wanted in self.erring:
            return web.json_response({"status": 503, "error": "unavailable"}, status=503)
        hit = next((h for h in self.hits if h["objectID"] == wanted), None)
        if hit is None:
            return web.json_response({"status": 404, "error": "Not Found"}, status=404)
        children = thread(int(hit.get("num_comments") or 0))
        return web.json_response(
            {"id": int(wanted), "points": hit.get("points"), "children": children}
        )

    async def _search_by_date(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        call = Call(request.path, query, dict(request.headers))
        self.calls.append(call)
        if self._breaks:
            call.broken = self._breaks.pop(0)
            return await _broken(request, call.broken, self._stopping)
        if self._failures:
            call.status, headers = self._failures.pop(0)
            body = {"message": "refused", "status": call.status}
            return web.json_response(body, status=call.status, headers=headers)
        wanted = [
            hit
            for hit in self.hits
            if _has_words(hit, query.get("query", ""))
            and _has_tags(hit, query.get("tags", ""))
            and _passes(hit, query.get("numericFilters", ""))
        ]
        wanted.sort(
            key=lambda hit: (hit["created_at_i"], str(hit["objectID"]).zfill(12)), reverse=True
        )
        per_page = min(int(query.get("hitsPerPage", "20")), 1000)
        page = int(query.get("page", "0"))
        reachable = wanted[:MAX_HITS]
        return web.json_response(
            {
                "hits": reachable[page * per_page : (page + 1) * per_page],
                "nbHits": len(wanted),
                "page": page,
                "nbPages": math.ceil(len(reachable) / per_page),
                "hitsPerPage": per_page,
                "exhaustiveNbHits": True,
                "query": query.get("query", ""),
                "params": request.query_string,
                "processingTimeMS": 1,
            }
        )


async def _broken(request: web.Request, how: Break, stopping: asyncio.Event) -> web.StreamResponse:
    """200 with ``Content-Length: 100``, 10 bytes of JSON, then (``stall``: when the fake
    stops) the connection closed."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 100
    await response.prepare(request)
    await response.write(b'{"hits": [')
    if how == "stall":
        await stopping.wait()
    assert request.transport is not None
    request.transport.close()
    return response


def _has_words(hit: Hit, query: str) -> bool:
    fields = (hit.get("title"), hit.get("story_text"), hit.get("comment_text"))
    text = html.unescape(" ".join(f for f in fields if f)).casefold()
    return all(word in text for word in query.casefold().split())


def _has_tags(hit: Hit, tags: str) -> bool:
    """``a,(b,c)``: a AND (b OR c)."""
    groups = re.findall(r"\(([^)]*)\)|([^,()]+)", tags)
    for either, single in groups:
        options = (either or single).split(",")
        if not any(option.strip() in hit["_tags"] for option in options):
            return False
    return True


def _passes(hit: Hit, filters: str) -> bool:
    for condition in filter(None, (c.strip() for c in filters.split(","))):
        found = re.fullmatch(r"(\w+)\s*(>=|<=|>|<|=)\s*(-?[\d.]+)", condition)
        if found is None:
            raise web.HTTPBadRequest(text=f"bad numeric filter {condition!r}")
        name, sign, value = found.groups()
        if hit.get(name) is None or not _COMPARE[sign](hit[name], float(value)):
            return False
    return True
