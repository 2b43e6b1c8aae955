"""Being a polite client of someone else's API: backoff with jitter, ``Retry-After`` and
``X-RateLimit-*`` honoured, errors sorted into "try again later" and "this will not work".

Live sources (Mastodon, Bluesky, Reddit, Hacker News, feeds) share this, so each of them only
says what to ask and how to read the answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, NamedTuple

import aiohttp

from bot.redact import redact_url, redact_urls

logger = logging.getLogger(__name__)

USER_AGENT = "Vigie/1 (brand-mention monitor; +https://github.com/vigie)"
MAX_SERVER_WAIT = 3600.0
"""The longest a server's ``Retry-After`` or ``X-RateLimit-Reset`` is obeyed, in seconds. A
wait of days (a reset dated 2100, ``1e12``) is a broken header, not a rate limit: obeyed, it
would silence the source for good. An hour later the server can ask again."""
_MAX_DOUBLINGS = 1000
"""Backoff stops doubling here: 2.0 ** 1000 still fits a float, and no cap is out of its reach."""


class SourceError(Exception):
    """A request failed. ``retryable``: worth trying again later; ``wait``: how long at least;
    ``status``: the HTTP status the server answered with (None: no answer, or not an HTTP one)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        wait: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.wait = wait
        self.status = status


@dataclass
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), reset by a success."""

    base: float = 1.0
    cap: float = 300.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self, at_least: float | None = None) -> float:
        """The wait before the next try, never shorter than ``at_least`` (the server's wait,
        itself at most :data:`MAX_SERVER_WAIT`)."""
        self.failures += 1
        ceiling = self._ceiling()
        delay = self.rng.uniform(ceiling / 2, ceiling)
        return max(delay, bounded_wait(at_least) or 0.0)

    def _ceiling(self) -> float:
        """``base * 2 ** (failures - 1)`` up to ``cap``. The power is bounded: a feed dead for
        weeks fails over a thousand times in a row, and ``2 ** 1024`` overflows a float."""
        doublings = min(self.failures - 1, _MAX_DOUBLINGS)
        return min(self.cap, self.base * 2.0**doublings)

    def reset(self) -> None:
        self.failures = 0


def bounded_wait(seconds: float | None) -> float | None:
    """A server's wait made safe to sleep: never negative, at most :data:`MAX_SERVER_WAIT`;
    None when there is none or it is no number (``inf``, ``nan``)."""
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_SERVER_WAIT)


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or, when the quota is
    spent, from ``X-RateLimit-Reset`` (see :func:`quota`); at most :data:`MAX_SERVER_WAIT`."""
    value = headers.get("Retry-After")
    if value:
        return bounded_wait(_retry_after_seconds(value, now))
    left = quota(headers, now)
    return left.reset_seconds if left is not None and left.remaining < 1 else None


def _retry_after_seconds(value: str, now: Callable[[], float]) -> float | None:
    """``Retry-After`` as seconds from now, unbounded; None when unreadable."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - now()
    except (TypeError, ValueError, OverflowError):
        return None


class Quota(NamedTuple):
    """What is left of a rate-limit window: requests, and seconds until it starts afresh."""

    remaining: float
    reset_seconds: float


def quota(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> Quota | None:
    """Requests left and seconds until the window resets, from ``X-RateLimit-Remaining`` and
    ``X-RateLimit-Reset``; None when either is missing or unreadable. The reset is seconds from
    now (Reddit), epoch seconds (GitHub style) or an ISO 8601 time (Mastodon)."""
    remaining = headers.get("X-RateLimit-Remaining") or headers.get("X-Ratelimit-Remaining")
    reset = headers.get("X-RateLimit-Reset") or headers.get("X-Ratelimit-Reset")
    if remaining is None or reset is None:
        return None
    try:
        left = float(remaining)
    except ValueError:
        return None
    seconds = _seconds_until(reset, now)
    return None if seconds is None else Quota(left, seconds)


def _seconds_until(reset: str, now: Callable[[], float]) -> float | None:
    """``X-RateLimit-Reset`` as seconds from now (see :func:`bounded_wait`); None when
    unreadable."""
    try:
        seconds = float(reset)
    except ValueError:
        try:
            at = datetime.fromisoformat(reset.strip())
        except ValueError:
            return None
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return bounded_wait(at.timestamp() - now())
    return bounded_wait(seconds - now() if seconds > 1e9 else seconds)


@dataclass
class Pacer:
    """Spaces requests out near the end of a rate-limit window: with fewer than ``low``
    requests left, what is left is spread over the rest of the window (no 429 needed).

    :meth:`wait` before each request, :meth:`note` each answer's headers. Requests made
    concurrently (several feeds of one account) take turns, but none waits past the end of
    the window: the quota is whole again then.
    """

    low: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    now: Callable[[], float] = time.time
    """Wall-clock time, for resets given as a time (epoch seconds or ISO 8601)."""
    spacing: float = field(default=0.0, init=False)
    """Seconds between requests for now (0: as fast as they come)."""
    _last: float = field(default=float("-inf"), init=False, repr=False)
    _window_end: float = field(default=float("inf"), init=False, repr=False)

    async def wait(self) -> None:
        """Until this request's turn."""
        now = self.clock()
        at = max(now, min(self._last + self.spacing, self._window_end))
        self._last = at
        if at > now:
            await self.sleep(at - now)

    def note(self, headers: Mapping[str, str]) -> None:
        """Read the quota an answer reports (no ``X-RateLimit-*`` headers: nothing changes)."""
        left = quota(headers, self.now)
        if left is None:
            return
        low = left.remaining < self.low
        spacing = left.reset_seconds / max(left.remaining, 1.0) if low else 0.0
        if spacing and spacing != self.spacing:
            logger.debug("%.0f requests left; one every %.1fs", left.remaining, spacing)
        self.spacing = spacing
        self._window_end = self.clock() + left.reset_seconds


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    seconds: float = 30.0,
    pacer: Pacer | None = None,
) -> Any:
    """GET a JSON document; failures become :class:`SourceError` saying whether to retry."""
    response = await request(
        session, "GET", url, params=params, headers=headers, seconds=seconds, pacer=pacer
    )
    return await read_json(response, url)


async def read_json(response: aiohttp.ClientResponse, url: str) -> Any:
    """The JSON body of ``response`` (released after). A body that is not JSON, breaks off or
    is too slow (the request's timeout) is a retryable :class:`SourceError`."""
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError) as error:
        raise SourceError(f"{redact_url(url)}: not JSON ({describe(error)})") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SourceError(f"{redact_url(url)}: the answer broke off: {describe(error)}") from error
    finally:
        response.release()


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    seconds: float = 30.0,
    pacer: Pacer | None = None,
    **kwargs: Any,
) -> aiohttp.ClientResponse:
    """One HTTP request; a 2xx/3xx response is returned (the caller reads and releases it).
    With a ``pacer``, the request waits its turn and the answer's quota is noted."""
    if pacer is not None:
        await pacer.wait()
    try:
        response = await session.request(
            method, url, timeout=aiohttp.ClientTimeout(total=seconds), **kwargs
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SourceError(f"{redact_url(url)}: {describe(error)}") from error
    except UnicodeError as error:  # connecting to a host name that does not IDNA-encode
        raise bad_host(redact_url(url), error) from error
    if pacer is not None:
        pacer.note(response.headers)
    if response.status < 400:
        return response
    raise await refusal(response, url)


async def refusal(response: aiohttp.ClientResponse, url: str, hint: str = "") -> SourceError:
    """The error an answer of 400 or more means (its body read, as far as it can be, and
    released): retryable for 408, 425, 429 and 5xx, with the wait the server asked for.

    The message names the URL redacted and the status with its reason, never the body: what a
    server answers (or a server it redirected to) is not for ``/healthz`` or the chat. The
    body's start is logged at DEBUG."""
    wait = retry_after(response.headers)
    try:
        body = (await response.text(errors="replace"))[:200].strip()
    except (aiohttp.ClientError, TimeoutError):
        body = ""
    finally:
        response.release()
    status, shown = response.status, redact_url(url)
    logger.debug("%s: HTTP %d answered %r", shown, status, body)
    retryable = status in (408, 425, 429) or status >= 500
    message = f"{shown}: HTTP {status} {_phrase(status)}".strip() + hint
    return SourceError(message, retryable=retryable, wait=wait, status=status)


def bad_host(where: str, error: ValueError) -> SourceError:
    """The error of asking a host whose name is no host name (``a..b.example``, a label over 63
    characters): the IDNA codec refuses it with a UnicodeError, which is no OSError nor
    ClientError, and must not escape a source as a crash. It will not mend by itself."""
    return SourceError(f"{where}: not a valid host name ({error})", retryable=False)


def _phrase(status: int) -> str:
    """The standard reason of ``status`` (a server's own reason phrase may say anything)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def describe(error: BaseException) -> str:
    """An exception in words, any URL it quotes redacted (aiohttp's quote the one asked)."""
    return redact_urls(str(error)) or type(error).__name__


async def read_stream(response: aiohttp.ClientResponse, idle_seconds: float) -> bytes:
    """The next bytes of an endless stream (SSE, NDJSON); b'' when the server ended it. Silence
    longer than ``idle_seconds`` or a broken connection is a retryable :class:`SourceError`."""
    try:
        async with asyncio.timeout(idle_seconds):
            return await response.content.readany()
    except TimeoutError:
        raise SourceError(f"the stream was silent for {idle_seconds:g}s") from None
    except (aiohttp.ClientError, OSError) as error:
        raise SourceError(f"the stream broke: {describe(error)}") from error


def client_session(headers: Mapping[str, str] | None = None) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT, **(headers or {})})


async def pause(delay: float) -> None:
    """Sleep ``delay`` seconds (cancellable: a stopping service does not wait for it)."""
    await asyncio.sleep(delay)
