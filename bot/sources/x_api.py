"""The few X API v2 calls the ``x`` source makes, with X's errors turned into
:class:`SourceError` (``retryable``, ``wait`` from ``Retry-After`` or ``x-rate-limit-reset``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bot.config.source_x import XSourceSettings
from bot.sources.polite import SourceError, bad_host, describe, read_json, retry_after
from bot.sources.x_wire import problem

STREAM_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
TWEETS_PATH = "/2/tweets"
STREAM_QUERY = {
    "tweet.fields": "created_at,public_metrics,lang,conversation_id,referenced_tweets,"
    "author_id,note_tweet",
    "expansions": "author_id",
    "user.fields": "username,name,public_metrics",
}
REQUEST_SECONDS = 30.0
LOOKUP_BATCH = 100  # GET /2/tweets takes at most 100 ids
TOO_MANY_CONNECTIONS_WAIT = 60.0  # X: back off from a 429 on the stream starting at a minute
_AUTH_HINT = (
    "check bearer_token (X_BEARER_TOKEN) and that the App's project has filtered-stream access"
)


class XApi:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: XSourceSettings,
        *,
        seconds: float = REQUEST_SECONDS,
    ) -> None:
        self.session = session
        self.seconds = seconds
        """How long a request other than the stream may take, its answer read."""
        self.base = settings.api_url
        self.headers = {"Authorization": f"Bearer {settings.bearer_token.get_secret_value()}"}

    async def rules(self) -> list[dict[str, Any]]:
        answer = await self._json("GET", RULES_PATH)
        data = answer.get("data") or []  # no rules: only "meta"
        return [rule for rule in data if isinstance(rule, dict)] if isinstance(data, list) else []

    async def add_rules(self, values: Sequence[str], tag: str) -> list[dict[str, Any]]:
        body = {"add": [{"value": value, "tag": tag} for value in values]}
        answer = await self._json("POST", RULES_PATH, json=body)
        refused = [
            error
            for error in answer.get("errors") or []
            if isinstance(error, dict) and error.get("title") != "DuplicateRule"
        ]
        if refused:
            raise SourceError(f"X refused a rule: {problem({'errors': refused})}", retryable=False)
        data = answer.get("data") or []
        return [rule for rule in data if isinstance(rule, dict)] if isinstance(data, list) else []

    async def delete_rules(self, ids: Sequence[str]) -> None:
        await self._json("POST", RULES_PATH, json={"delete": {"ids": list(ids)}})

    async def open_stream(self, backfill_minutes: int, seconds: float) -> aiohttp.ClientResponse:
        """The stream's response, headers read (the caller reads the body and closes it)."""
        query = dict(STREAM_QUERY)
        if backfill_minutes:
            query["backfill_minutes"] = str(backfill_minutes)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=seconds)
        try:
            async with asyncio.timeout(seconds):  # until the headers; the caller reads the body
                return await self._send("GET", STREAM_PATH, params=query, timeout=timeout)
        except TimeoutError:
            raise SourceError(f"{STREAM_PATH}: no answer in {seconds:g}s") from None

    async def tweets(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Tweets by id with their public_metrics; deleted or hidden ones are left out."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), LOOKUP_BATCH):
            query = {"ids": ",".join(ids[start : start + LOOKUP_BATCH])}
            answer = await self._json(
                "GET", TWEETS_PATH, params={**query, "tweet.fields": "public_metrics"}
            )
            data = answer.get("data") or []  # the missing ones are in "errors"
            found += [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
        return found

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.seconds)
        response = await self._send(method, path, timeout=timeout, **kwargs)
        answer = await read_json(response, path)
        if not isinstance(answer, dict):
            raise SourceError(f"{path}: not a JSON object")
        return answer

    async def _send(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        try:
            response = await self.session.request(
                method, self.base + path, headers=self.headers, **kwargs
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SourceError(f"{path}: {describe(error)}") from error
        except UnicodeError as error:  # api_url's host is no host name
            raise bad_host(path, error) from error
        if response.status < 400:
            return response
        try:
            said = problem(await response.json(content_type=None))
        except (ValueError, aiohttp.ClientError, TimeoutError):  # not JSON, cut short, too slow
            said = ""
        finally:
            response.release()
        status = f"HTTP {response.status} {response.reason or ''}".strip()
        message = f"{path}: {status}" + (f": {said}" if said and said != response.reason else "")
        if response.status in (401, 403):
            message += f" ({_AUTH_HINT})"
        wait = rate_limit_wait(response.headers)
        if response.status == 429 and wait is None:
            wait = TOO_MANY_CONNECTIONS_WAIT
        retryable = response.status in (408, 425, 429) or response.status >= 500
        raise SourceError(message, retryable=retryable, wait=wait, status=response.status)


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After``, else X's ``x-rate-limit-remaining`` / ``x-rate-limit-reset`` (epoch
    seconds): named with a hyphen more than polite.retry_after reads, so they are renamed."""
    renamed = {
        "Retry-After": headers.get("Retry-After"),
        "X-RateLimit-Remaining": headers.get("x-rate-limit-remaining"),
        "X-RateLimit-Reset": headers.get("x-rate-limit-reset"),
    }
    present = {key: value for key, value in renamed.items() if value is not None}
    return retry_after(present, (lambda: now) if now is not None else time.time)
