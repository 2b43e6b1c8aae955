"""Being a polite client of someone else's API: backoff with jitter, ``Retry-After`` and
``X-RateLimit-*`` honoured, errors sorted into "try again later" and "this will not work".

Live sources (Mastodon, Bluesky, Reddit, Hacker News, feeds) share this, so each of them only
says what to ask and how to read the answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

USER_AGENT = "Vigie/1 (brand-mention monitor; +https://github.com/vigie)"


class SourceError(Exception):
    """A request failed. ``retryable``: worth trying again later; ``wait``: how long at least."""

    def __init__(self, message: str, *, retryable: bool = True, wait: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.wait = wait


@dataclass
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), reset by a success."""

    base: float = 1.0
    cap: float = 300.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self, at_least: float | None = None) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 1))
        delay = self.rng.uniform(ceiling / 2, ceiling)
        return max(delay, at_least or 0.0)

    def reset(self) -> None:
        self.failures = 0


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or, when the quota is
    spent, from ``X-RateLimit-Reset`` (Reddit: seconds; GitHub style: epoch seconds)."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now())
            except (TypeError, ValueError):
                return None
    remaining = headers.get("X-RateLimit-Remaining") or headers.get("X-Ratelimit-Remaining")
    reset = headers.get("X-RateLimit-Reset") or headers.get("X-Ratelimit-Reset")
    if remaining is not None and reset is not None:
        try:
            if float(remaining) >= 1:
                return None
            seconds = float(reset)
        except ValueError:
            return None
        return max(0.0, seconds - now()) if seconds > 1e9 else seconds
    return None


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    seconds: float = 30.0,
) -> Any:
    """GET a JSON document; failures become :class:`SourceError` saying whether to retry."""
    response = await request(session, "GET", url, params=params, headers=headers, seconds=seconds)
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError) as error:
        raise SourceError(f"{url}: not JSON ({error})") from error
    finally:
        response.release()


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    seconds: float = 30.0,
    **kwargs: Any,
) -> aiohttp.ClientResponse:
    """One HTTP request; a 2xx/3xx response is returned (the caller reads and releases it)."""
    try:
        response = await session.request(
            method, url, timeout=aiohttp.ClientTimeout(total=seconds), **kwargs
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SourceError(f"{url}: {error or type(error).__name__}") from error
    if response.status < 400:
        return response
    wait = retry_after(response.headers)
    body = (await response.text(errors="replace"))[:200]
    response.release()
    retryable = response.status in (408, 425, 429) or response.status >= 500
    raise SourceError(
        f"{url}: HTTP {response.status} {body.strip()}".strip(), retryable=retryable, wait=wait
    )


async def read_stream(response: aiohttp.ClientResponse, idle_seconds: float) -> bytes:
    """The next bytes of an endless stream (SSE, NDJSON); b'' when the server ended it. Silence
    longer than ``idle_seconds`` or a broken connection is a retryable :class:`SourceError`."""
    try:
        async with asyncio.timeout(idle_seconds):
            return await response.content.readany()
    except TimeoutError:
        raise SourceError(f"the stream was silent for {idle_seconds:g}s") from None
    except (aiohttp.ClientError, OSError) as error:
        raise SourceError(f"the stream broke: {error or type(error).__name__}") from error


def client_session(headers: Mapping[str, str] | None = None) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT, **(headers or {})})


async def pause(delay: float) -> None:
    """Sleep ``delay`` seconds (cancellable: a stopping service does not wait for it)."""
    await asyncio.sleep(delay)
