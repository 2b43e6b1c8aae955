"""The ``mastodon`` source: hashtags (and the public timeline) streamed, keywords searched.

One class runs each feed (bot/sources/mastodon_api.py) as a task of its own inside ``run``: a
stream per hashtag and for the public timeline, a poll loop per search (and per timeline when
there is no token to stream with). It is not a PollingSource beside a streaming task because a
source has one stored position and both halves move it: here one owner of the cursor (the newest
id heard per feed) hands every batch over with the whole cursor, so a restart resumes each feed
where its stored mentions end.

Streams cannot resume. On each (re)connection the stream is opened first, then the feed's
timeline is read from its cursor to fill the gap, then the stream is read (what arrived meanwhile
waited in the socket; repeats are dropped). A stream silent for ``idle_seconds`` (heartbeats come
every 15 s) is reconnected. Retries back off with jitter (a 429 waits for ``X-RateLimit-Reset``);
trouble is reported once, for /healthz. Near the end of the rate limit, requests are spaced out.

Stream events: ``update`` is a status (a boost counts as the status it boosts); ``status.update``
an edit, heard again (storage keeps the first version); ``delete`` is logged, since Vigie keeps
what it heard; anything else is ignored.

Replies to mentions are posted by :class:`bot.sources.mastodon_reply.MastodonReplier`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

import aiohttp

from bot.clock import SystemClock
from bot.config.loader import ConfigError
from bot.config.source_mastodon import NOTHING_TO_FOLLOW, MastodonSourceSettings
from bot.intake import Envelope
from bot.matching import BrandMatcher
from bot.model import Engagement, Mention
from bot.sources.base import Inbox, Source, cut_short
from bot.sources.mastodon_api import (
    PAGE_SIZE,
    READ_BACK_EVERY,
    Feed,
    MastodonApi,
    plan_feeds,
)
from bot.sources.mastodon_reply import MastodonReplier
from bot.sources.mastodon_sse import SseError, SseParser
from bot.sources.mastodon_status import (
    MalformedStatus,
    Status,
    StatusReader,
    is_newer,
    newest,
    to_mention,
)
from bot.sources.polite import Backoff, Pacer, SourceError, client_session, pause, read_stream
from bot.sources.polling import Report

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

_Handler = Callable[[Inbox, Feed, str], Awaitable[None]]


class MastodonSource:
    finite = False

    def __init__(
        self,
        settings: MastodonSourceSettings,
        context: SourceContext,
        *,
        backoff_base: float = 1.0,
        stable_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.context = context
        self.feeds = plan_feeds(settings, context.brands)
        self.streams = settings.stream and settings.access_token is not None
        self.backoff_base = backoff_base
        self.stable_seconds = stable_seconds
        """A stream that lived this long and dropped is reconnected at once, quietly."""
        self._host = urlsplit(settings.base_url).netloc
        matcher = BrandMatcher(context.brands)
        # a date in the future is one past the real present: the event clock follows the posts
        self._reader = StatusReader(
            self.name, self._host, matcher, self._malformed, SystemClock().now
        )
        self._health = Health(settings.name, context.report)
        self._pacer = Pacer()  # one rate limit for everything asked with the token
        self._cursor: dict[str, str] = {}
        # the first start's backfill is counted from the real present (under ``clock: event``
        # the context's clock says when the events were)
        self._wall = SystemClock()
        self._started = self._wall.now()
        self._monotonic = monotonic
        self._read_back_at: dict[str, float] = {}  # per feed, when it was last read back
        self._replier = MastodonReplier(settings, self._pacer, context.clock)
        self._handing_over = asyncio.Lock()
        self._events: dict[str, _Handler] = {
            "update": self._on_update,
            "status.update": self._on_edit,
            "delete": self._on_delete,
        }

    def streamed(self, feed: Feed) -> bool:
        return self.streams and not feed.search

    async def run(self, inbox: Inbox, position: str | None) -> None:
        self._cursor = _load_cursor(position, self.name)
        self._started = self._wall.now()
        polled = [feed for feed in self.feeds if not self.streamed(feed)]
        async with client_session() as session, asyncio.TaskGroup() as tasks:
            api = MastodonApi(session, self.settings, self._pacer)
            for feed in self.feeds:
                if self.streamed(feed):
                    tasks.create_task(
                        self._follow(api, inbox, feed), name=f"{self.name}:{feed.key}"
                    )
                else:  # spread the polls over the period rather than all at once
                    first = self.settings.poll_seconds * polled.index(feed) / len(polled)
                    tasks.create_task(self._poll(api, inbox, feed, first), name=feed.key)

    @property
    def can_reply(self) -> bool:
        return self.settings.access_token is not None

    async def publish_reply(self, mention: Mention, text: str, *, key: str, at: datetime) -> str:
        return await self._replier.publish_reply(mention, text, key=key, at=at)

    async def reply(
        self, mention: Mention, text: str, *, idempotency_key: str | None = None
    ) -> str:
        """Post ``text`` in reply to ``mention``; see :meth:`MastodonReplier.reply`."""
        return await self._replier.reply(mention, text, idempotency_key=idempotency_key)

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Counts from ``GET /api/v1/statuses/:id`` (a deleted status is left out)."""
        counts: dict[str, Engagement] = {}
        async with client_session() as session:
            api = MastodonApi(session, self.settings, self._pacer)
            for index, mention in enumerate(mentions):
                try:
                    status = await api.get(f"/api/v1/statuses/{mention.native_id}")
                except SourceError as error:
                    if not error.retryable:  # 404: deleted, 403: hidden
                        continue
                    raise cut_short(error, counts, index) from error
                seen = self._engagement_of(mention.native_id, status)
                if seen is not None:
                    counts[mention.native_id] = seen
        return counts

    def _engagement_of(self, status_id: str, status: object) -> Engagement | None:
        """The counts of one status; None when it is gone or malformed (logged: one odd status
        must not cost the refresh of all the others)."""
        if not isinstance(status, dict) or "id" not in status:
            return None
        try:
            return to_mention(self.name, cast(Status, status), self._host).engagement
        except MalformedStatus as error:
            logger.warning("source %s: status %s skipped: %s", self.name, status_id, error)
            return None

    # -- following a feed ---------------------------------------------------------------------

    async def _poll(self, api: MastodonApi, inbox: Inbox, feed: Feed, first: float) -> None:
        backoff = self._backoff()
        await pause(first)
        while True:
            try:
                await self._catch_up(api, inbox, feed)
            except SourceError as error:
                delay = max(self._trouble(feed, error, backoff), self.settings.poll_seconds)
            else:
                backoff.reset()
                self._health.fine(feed.label)
                delay = self.settings.poll_seconds
            await pause(delay)

    async def _follow(self, api: MastodonApi, inbox: Inbox, feed: Feed) -> None:
        backoff = self._backoff()
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._listen(api, inbox, feed)
                error = SourceError("the server ended the stream")
            except SourceError as failure:
                error = failure
            if error.retryable and loop.time() - began >= self.stable_seconds:
                backoff.reset()  # streams drop now and then (a server restarts): not trouble
                delay = backoff.next_delay()
                logger.info("source %s: %s: %s; reconnecting", self.name, feed.label, error)
            else:
                delay = self._trouble(feed, error, backoff)
            await pause(delay)

    async def _listen(self, api: MastodonApi, inbox: Inbox, feed: Feed) -> None:
        """Open the stream, fill the gap, then read the stream. The feed is told fine only once
        the stream is heard: an event, or ``stable_seconds`` of heartbeats (a server that hangs
        up at once must not say "works again" at every retry)."""
        loop = asyncio.get_running_loop()
        response = await api.open_stream(feed)
        opened, told = loop.time(), False
        try:
            await self._catch_up(api, inbox, feed)
            parser = SseParser()
            while chunk := await self._read(response):
                events = parser.feed(chunk)
                if not told and (events or loop.time() - opened >= self.stable_seconds):
                    self._health.fine(feed.label)
                    told = True
                for event in events:
                    handler = self._events.get(event.event, self._on_other)
                    await handler(inbox, feed, event.data)
        except SseError as error:
            raise SourceError(f"not an event stream: {error}") from error
        finally:
            response.close()  # release() would wait for the end of an endless body

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The next bytes of a stream; b'' when the server ended it."""
        return await read_stream(response, self.settings.idle_seconds)

    async def _catch_up(self, api: MastodonApi, inbox: Inbox, feed: Feed) -> None:
        since = self._cursor.get(feed.key)
        # never heard of yet: what is younger than backfill (counted from the start, so a
        # feed empty then still gets what is posted before it is next read)
        oldest = self._started - self.settings.backfill if since is None else None
        began = self._monotonic()
        look_back = self._read_back_due(feed, began)
        pages = api.since(
            feed, since, back_to=oldest, to_the_end=self.streamed(feed), look_back=look_back
        )
        async for page in pages:
            self._malformed(page.malformed)
            heard = self._reader.read(page.statuses, firehose=feed.firehose, not_before=oldest)
            page_newest = newest(status["id"] for status in page.statuses)
            await self._hand_over(inbox, feed, heard, page_newest, save=True)
            if page.more and (feed.search or self.streamed(feed) or since is None):
                # a polled timeline goes on from there at its next poll: nothing is skipped
                skipped = "oldest" if feed.search or since is None else "newest"
                logger.warning(
                    "source %s: %s: more than %d posts to catch up; the %s are skipped "
                    "(raise max_pages to read more)",
                    *(self.name, feed.label, self.settings.max_pages * PAGE_SIZE, skipped),
                )
        if look_back or since is None:  # a first read goes back as far as backfill
            self._read_back_at[feed.key] = began

    def _read_back_due(self, feed: Feed, now: float) -> bool:
        """Whether this read of ``feed`` starts below its cursor, for posts federated late: once
        per ``READ_BACK_EVERY`` (a read that failed does not count)."""
        last = self._read_back_at.get(feed.key)
        return last is None or now - last >= READ_BACK_EVERY.total_seconds()

    def _trouble(self, feed: Feed, error: SourceError, backoff: Backoff) -> float:
        delay = backoff.next_delay(error.wait)
        if not error.retryable:
            delay = max(delay, backoff.cap)  # a refusal will not mend itself soon
        self._health.trouble(feed.label, str(error), delay)
        return delay

    def _backoff(self) -> Backoff:
        return Backoff(base=self.backoff_base, cap=self.settings.max_backoff)

    # -- what was heard -----------------------------------------------------------------------

    async def _on_update(self, inbox: Inbox, feed: Feed, data: str) -> None:
        status = self._reader.decode(data)
        if status is not None:
            mentions = self._reader.read([status], firehose=feed.firehose)
            await self._hand_over(inbox, feed, mentions, status["id"])

    async def _on_edit(self, inbox: Inbox, feed: Feed, data: str) -> None:
        status = self._reader.decode(data)
        mention = self._reader.mention(status) if status is not None else None
        if mention is not None and self._reader.wanted(mention, firehose=feed.firehose):
            await self._hand_over(inbox, feed, [mention], None)

    async def _on_delete(self, inbox: Inbox, feed: Feed, data: str) -> None:
        logger.debug("source %s: status %s was deleted (what was heard is kept)", self.name, data)

    async def _on_other(self, inbox: Inbox, feed: Feed, data: str) -> None:
        """filters_changed, announcement, notification...: not about what people post."""

    def _malformed(self, count: int) -> None:
        if count:
            self.context.metrics.malformed.labels(self.name).inc(count)

    async def _hand_over(
        self,
        inbox: Inbox,
        feed: Feed,
        mentions: list[Mention],
        newest_id: str | None,
        *,
        save: bool = False,
    ) -> None:
        """Queue ``mentions`` with the cursor moved to ``newest_id``. With nothing to queue the
        cursor moves in memory only, unless ``save``: it goes out with the next batch."""
        moved = newest_id is not None and is_newer(newest_id, self._cursor.get(feed.key))
        if not mentions and not (moved and save):
            if moved and newest_id is not None:
                self._cursor[feed.key] = newest_id
            return
        # One hand-over at a time, the cursor moved only once queued: a stored position never
        # runs ahead of the mentions stored before it.
        async with self._handing_over:
            cursor = {**self._cursor, feed.key: newest_id} if moved else dict(self._cursor)
            position = json.dumps(cursor, sort_keys=True)
            await inbox.submit(Envelope(self.name, tuple(mentions), position))
            if moved and newest_id is not None:
                self._cursor[feed.key] = newest_id


class Health:
    """Trouble per feed, told as one message when it changes (and once more when all is well)."""

    def __init__(self, name: str, report: Report) -> None:
        self.name = name
        self.report = report
        self.troubles: dict[str, str] = {}
        self._told: str | None = None

    def trouble(self, part: str, message: str, retry_in: float) -> None:
        if self.troubles.get(part) != message:
            logger.warning(
                "source %s: %s: %s; trying again in %.0fs", self.name, part, message, retry_in
            )
        self.troubles[part] = message
        self._tell()

    def fine(self, part: str) -> None:
        if self.troubles.pop(part, None) is not None:
            logger.info("source %s: %s works again", self.name, part)
            self._tell()

    def _tell(self) -> None:
        told = "; ".join(f"{part}: {text}" for part, text in sorted(self.troubles.items()))
        if (told or None) != self._told:
            self._told = told or None
            self.report(self.name, self._told)


def _load_cursor(position: str | None, name: str) -> dict[str, str]:
    if not position:
        return {}
    try:
        loaded = json.loads(position)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict):
        logger.warning("source %s: stored position %r unreadable; starting afresh", name, position)
        return {}
    return {key: value for key, value in loaded.items() if isinstance(value, str)}


def build(settings: MastodonSourceSettings, context: SourceContext) -> Source:
    source = MastodonSource(settings, context)
    if not source.feeds:
        raise ConfigError(f"sources: {settings.name}: {NOTHING_TO_FOLLOW}")
    token = settings.access_token is not None
    if settings.stream and not token and any(not feed.search for feed in source.feeds):
        logger.info(
            "source %s: no access_token, so hashtags are polled every %gs rather than streamed "
            "(Mastodon 4.2+ streams only to a token)",
            *(settings.name, settings.poll_seconds),
        )
    if not token and any(feed.search for feed in source.feeds):
        logger.warning(
            "source %s: no access_token; most instances search posts only for a logged-in account",
            settings.name,
        )
    return source
