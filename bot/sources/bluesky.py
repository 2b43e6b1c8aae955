"""The ``bluesky`` source: posts naming a brand, heard on Bluesky's Jetstream (v1 JSON WebSocket).

Jetstream is a firehose with no keyword filter, so posts are matched here, before anything is
queued: about one post in a hundred reaches the inbox. The work is shared by tasks:

* the reader takes frames off the socket, keeps the matched posts and the newest ``time_us``;
* the flusher queues them every ``batch_seconds`` (sooner when ``batch_size`` are waiting) in one
  envelope whose position is that ``time_us``, so a restart resumes from the stored cursor. With
  nothing matched, the position alone is queued every few seconds;
* a watchdog reconnects a socket that has been silent for ``idle_seconds``.

A dropped or silent socket is reconnected with backoff and jitter, from the newest ``time_us``
minus ``overlap_seconds``: posts heard twice are stored once. The backoff starts afresh only once
a connection has been heard for ``STABLE_SECONDS`` (30 s): a server that accepts, sends a frame
and hangs up is asked less and less often, not every second. (Trouble is reported over as soon
as a frame is heard.) Malformed frames are skipped and
counted. A full inbox stops the reader, and Jetstream then holds the backlog (or drops us, and the
cursor picks up from where we were).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING

import aiohttp
import yarl

from bot.config.source_bluesky import BlueskySourceSettings
from bot.intake import Envelope
from bot.matching import BrandMatcher
from bot.model import Engagement, Mention
from bot.records import MalformedRecord, parse_count
from bot.sources.base import Inbox, cut_short
from bot.sources.bluesky_account import Account
from bot.sources.bluesky_events import POST, JetstreamReader, MalformedEvent
from bot.sources.bluesky_profiles import ProfileCache
from bot.sources.bluesky_reply import BlueskyReplier, new_tid
from bot.sources.polite import (
    Backoff,
    SourceError,
    client_session,
    describe,
    get_json,
    pause,
    retry_after,
)
from bot.sources.polling import Report, no_report

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

CURSOR_EVERY = 5.0  # seconds between position-only envelopes when nothing matches
STABLE_SECONDS = 30.0  # a connection heard this long that drops is no failing server
HEARTBEAT = 30.0  # WebSocket ping interval; a missing pong closes the socket
MAX_FRAME = 4 * 1024 * 1024
READY_AHEAD = 2  # full envelopes waiting for the inbox before the reader stops
_LOG_MALFORMED = (1, 2, 3, 10, 100, 1000, 10_000)  # which malformed frames are logged


def encode_position(time_us: int) -> str:
    return json.dumps({"time_us": time_us})


def decode_position(position: str | None) -> int | None:
    if not position:
        return None
    try:
        time_us = json.loads(position)["time_us"]
    except (ValueError, TypeError, KeyError):
        logger.warning("bluesky: unreadable stored position %r; starting from now", position)
        return None
    return time_us if isinstance(time_us, int) and time_us > 0 else None


def subscribe_url(base: str, cursor_us: int | None) -> yarl.URL:
    query: dict[str, str | int] = {"wantedCollections": POST}
    if cursor_us is not None:
        query["cursor"] = cursor_us
    return yarl.URL(base).update_query(query)


GET_POSTS_BATCH = 25  # the AppView takes at most 25 uris per getPosts


class BlueskySource:
    finite = False

    def __init__(
        self,
        settings: BlueskySourceSettings,
        reader: JetstreamReader,
        *,
        report: Report = no_report,
        on_malformed: Callable[[], None] = lambda: None,
        session: Callable[[], aiohttp.ClientSession] = client_session,
        backoff: Backoff | None = None,
        cursor_every: float = CURSOR_EVERY,
        stable_seconds: float = STABLE_SECONDS,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.reader = reader
        self.report = report
        self.on_malformed = on_malformed
        self.session = session
        self.backoff = backoff or Backoff(cap=settings.max_backoff)
        self.cursor_every = cursor_every
        self.stable_seconds = stable_seconds
        self._heard_since: float | None = None  # loop time of this connection's first frame
        self.account = Account.from_settings(settings)  # None: this source cannot reply
        self.frames = 0
        self.malformed = 0
        self.connections = 0
        self._pending: list[Mention] = []
        self._ready: deque[Envelope] = deque()  # cut, not yet queued
        self._seen_us: int | None = None  # newest time_us read
        self._cut_us: int | None = None  # position of the last envelope cut
        self._cut_at = 0.0
        self._full = asyncio.Event()  # a batch is ready before its time
        self._room = asyncio.Event()  # cleared while the reader waits for the flusher
        self._room.set()
        self._idle: asyncio.Timeout | None = None
        self._trouble: str | None = None

    @property
    def can_reply(self) -> bool:
        return self.account is not None

    async def publish_reply(self, mention: Mention, text: str, *, key: str, at: datetime) -> str:
        """Reply as the configured account, under a record key made from ``at`` and ``key``:
        a retry finds the post an earlier attempt wrote instead of writing a second one. The
        account's session is kept from one reply to the next (logging in is rate limited)."""
        if self.account is None:
            raise SourceError(
                f"bluesky {self.name}: replying needs handle and app_password", retryable=False
            )
        async with self.session() as session:
            replier = BlueskyReplier(session, self.account, appview_url=self.settings.appview_url)
            rkey = new_tid(int(at.timestamp() * 1_000_000), zlib.crc32(key.encode()) % 1024)
            return (await replier.reply(mention, text, rkey=rkey)).url

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Counts from the AppView's ``app.bsky.feed.getPosts``, 25 posts a request."""
        uris = [m.native_id for m in mentions if m.native_id.startswith("at://")]
        asked = [m.native_id for m in mentions]
        counts: dict[str, Engagement] = {}
        url = self.settings.appview_url.rstrip("/") + "/xrpc/app.bsky.feed.getPosts"
        async with self.session() as session:
            for start in range(0, len(uris), GET_POSTS_BATCH):
                params = [("uris", uri) for uri in uris[start : start + GET_POSTS_BATCH]]
                try:
                    answer = await get_json(session, url, params=params)
                except SourceError as error:
                    raise cut_short(error, counts, asked.index(uris[start])) from error
                posts = answer.get("posts") if isinstance(answer, dict) else None
                for post in posts if isinstance(posts, list) else []:
                    seen = self._engagement_of(post)
                    if seen is not None:
                        counts[str(post.get("uri"))] = seen
        return counts

    def _engagement_of(self, post: object) -> Engagement | None:
        """The counts of one post view; None when malformed (logged: one odd post must not cost
        the refresh of all the others)."""
        try:
            if not isinstance(post, dict):
                raise MalformedRecord(f"not a post view: {str(post)[:100]}")
            return Engagement(
                reposts=parse_count(post.get("repostCount")),
                likes=parse_count(post.get("likeCount")),
                replies=parse_count(post.get("replyCount")),
                quotes=parse_count(post.get("quoteCount")),
            )
        except MalformedRecord as error:
            logger.warning("bluesky %s: a post's counts skipped: %s", self.name, error)
            return None

    async def run(self, inbox: Inbox, position: str | None) -> None:
        self._seen_us = self._cut_us = decode_position(position)
        async with self.session() as session, asyncio.TaskGroup() as tasks:
            profiles = (
                ProfileCache(session, self.settings.appview_url) if self.settings.profiles else None
            )
            tasks.create_task(self._flush_loop(inbox, profiles), name=f"{self.name}:flush")
            tasks.create_task(self._watch_idle(), name=f"{self.name}:idle")
            await self._listen(session)

    # -- reader ------------------------------------------------------------------------------

    async def _listen(self, session: aiohttp.ClientSession) -> None:
        while True:
            wait: float | None = None
            self._heard_since = None
            try:
                await self._stream(session)
                trouble = "Jetstream closed the connection"
            except aiohttp.WSServerHandshakeError as error:
                trouble = f"Jetstream refused the connection: HTTP {_status(error.status)}"
                wait = retry_after(error.headers) if error.headers else None
            except aiohttp.ClientError as error:
                trouble = f"connection lost: {describe(error)}"
            except TimeoutError:  # the idle timer (aiohttp's own timeouts are ClientErrors)
                trouble = f"no event for {self.settings.idle_seconds:g}s"
            except OSError as error:
                trouble = f"connection lost: {describe(error)}"
            except UnicodeError as error:  # jetstream_url's host does not IDNA-encode
                trouble = f"not a valid host name: {error}"
            if self._was_stable():
                self.backoff.reset()  # it was heard long enough: this drop starts afresh
            await pause(self._failed(trouble, wait))

    def _was_stable(self) -> bool:
        """Whether the connection that just ended was heard for ``stable_seconds``."""
        since = self._heard_since
        now = asyncio.get_running_loop().time()
        return since is not None and now - since >= self.stable_seconds

    async def _stream(self, session: aiohttp.ClientSession) -> None:
        url = subscribe_url(self.settings.jetstream_url, self._resume_from())
        async with asyncio.timeout(self.settings.idle_seconds) as idle:
            self._idle = idle  # pushed back by _watch_idle while frames arrive
            try:
                await self._read(session, url)
            finally:
                self._idle = None

    async def _read(self, session: aiohttp.ClientSession, url: yarl.URL) -> None:
        async with session.ws_connect(
            url, heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME, decode_text=False
        ) as ws:
            self.connections += 1
            logger.info("bluesky %s: listening to %s", self.name, url)
            healthy = False
            async for message in ws:
                if message.type is aiohttp.WSMsgType.ERROR:
                    raise aiohttp.ClientError(str(message.data))
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._take(message.data)
                if not healthy:
                    healthy = True
                    self._heard_since = asyncio.get_running_loop().time()
                    self._fine()
                if len(self._ready) >= READY_AHEAD:
                    await self._wait_for_room()

    def _take(self, frame: bytes) -> None:
        self.frames += 1
        try:
            heard = self.reader.read(frame)
        except MalformedEvent as error:
            self._skipped(error)
            return
        if self._seen_us is None or heard.time_us > self._seen_us:
            self._seen_us = heard.time_us
        if heard.mention is not None:
            self._pending.append(heard.mention)
            if len(self._pending) >= self.settings.batch_size:
                self._cut()
                self._full.set()

    async def _wait_for_room(self) -> None:
        """Stop reading while the flusher is behind (the inbox is full)."""
        self._room.clear()
        idle = self._idle
        if idle is not None:
            idle.reschedule(None)  # a full inbox is not a silent stream
        await self._room.wait()
        if idle is not None:
            idle.reschedule(asyncio.get_running_loop().time() + self.settings.idle_seconds)

    def _resume_from(self) -> int | None:
        if self._seen_us is None:
            return None  # first start: from now
        return max(1, self._seen_us - int(self.settings.overlap_seconds * 1_000_000))

    def _skipped(self, error: MalformedEvent) -> None:
        self.malformed += 1
        self.on_malformed()
        if self.malformed in _LOG_MALFORMED:
            logger.warning(
                "bluesky %s: skipped a malformed event (%d so far): %s",
                self.name,
                self.malformed,
                error,
            )

    # -- flusher -----------------------------------------------------------------------------

    async def _flush_loop(self, inbox: Inbox, profiles: ProfileCache | None) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.batch_seconds):
                    await self._full.wait()
            self._full.clear()
            if self._pending or self._cursor_due():
                self._cut()
            while self._ready:
                envelope = self._ready.popleft()
                self._room.set()
                if profiles is not None and envelope.mentions:
                    mentions = tuple(await profiles.enrich(envelope.mentions))
                    envelope = Envelope(envelope.source, mentions, envelope.position)
                await inbox.submit(envelope)

    def _cut(self) -> None:
        """The pending mentions become an envelope, with the position after them."""
        assert self._seen_us is not None
        position = encode_position(self._seen_us)
        self._ready.append(Envelope(self.name, tuple(self._pending), position))
        self._pending = []
        self._cut_us, self._cut_at = self._seen_us, time.monotonic()

    def _cursor_due(self) -> bool:
        """Nothing matched, but the stream moved on: store the position now and then."""
        moved = self._seen_us is not None and self._seen_us != self._cut_us
        return moved and time.monotonic() - self._cut_at >= self.cursor_every

    async def _watch_idle(self) -> None:
        """Push the reader's silence deadline back while frames arrive (no cost per frame)."""
        frames = self.frames
        while True:
            await asyncio.sleep(self.settings.idle_seconds / 4)
            if self._idle is not None and self.frames != frames and self._room.is_set():
                loop_time = asyncio.get_running_loop().time()
                self._idle.reschedule(loop_time + self.settings.idle_seconds)
            frames = self.frames

    # -- health ------------------------------------------------------------------------------

    def _failed(self, trouble: str, wait: float | None) -> float:
        delay = self.backoff.next_delay(wait)
        if trouble != self._trouble:
            logger.warning("bluesky %s: %s; reconnecting in %.1fs", self.name, trouble, delay)
            self.report(self.name, trouble)
        self._trouble = trouble
        return delay

    def _fine(self) -> None:
        """A frame is heard: trouble is over (the backoff is reset later: :meth:`_was_stable`)."""
        if self._trouble is not None:
            logger.info("bluesky %s: hearing Jetstream again", self.name)
            self.report(self.name, None)
            self._trouble = None


def build(settings: BlueskySourceSettings, context: SourceContext) -> BlueskySource:
    if not context.brands:
        logger.warning("bluesky %s: no brands configured; no post will match", settings.name)
    malformed = context.metrics.malformed.labels(settings.name)
    return BlueskySource(
        settings,
        JetstreamReader(settings.name, BrandMatcher(context.brands)),
        report=context.report,
        on_malformed=malformed.inc,
    )


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)
