"""The ``x`` source: posts on X heard through the API v2 filtered stream (paid access only).

The filtered stream needs an App whose project has Pro or Enterprise access and its bearer
token; without one nothing here works, and nothing pretends to. On start the rules are synced
once: the App's rules tagged ``vigie:<source name>`` become exactly the wanted ones (``rules``,
or built from the brands: see bot/sources/x_wire.py), stale ones deleted. Then one long GET
streams newline-delimited JSON: a tweet with its author expanded and the rules it matched, a
blank line as keep-alive (every ~20 s), or an error object (an operational disconnect) that
means reconnect. A stream silent for ``idle_seconds`` is reconnected too. Retries back off with
jitter; a 429 waits for ``Retry-After`` / ``x-rate-limit-reset`` (a minute without them); a
refused token (401/403) is reported once and retried only every ``max_backoff``. Tweets that
match only other rules of the same App are not ours and are dropped. Each network read's tweets
are queued as one envelope (a burst arrives in one read), so a full inbox stops the reading.

What it cannot do: the stream does not resume. The position kept is the newest tweet id heard,
but X cannot start from it: what is posted while Vigie is down (or reconnecting) is missed,
unless ``backfill_minutes`` (1-5, Academic/Enterprise only) asks X to resend up to that many
minutes on reconnection; tweets heard twice are stored once. A longer outage leaves a gap.

Replying is not here: posting through the X API needs the write tier, user-context OAuth and
X's automation rules, a separate decision. ``engagement`` re-reads public_metrics through
``GET /2/tweets`` (100 ids a request), which counts against the App's read quota.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import aiohttp

from bot.config.loader import ConfigError
from bot.config.source_x import XSourceSettings
from bot.intake import Envelope
from bot.model import Engagement, Mention
from bot.sources.base import Inbox
from bot.sources.polite import Backoff, SourceError, client_session, pause, read_stream
from bot.sources.polling import Report, no_report
from bot.sources.x_api import XApi
from bot.sources.x_wire import (
    LineSplitter,
    MalformedTweet,
    StreamFailed,
    decode_position,
    default_rules,
    encode_position,
    engagement_of,
    newer,
    plan_rules,
    read_line,
)

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

CONNECT_SECONDS = 30.0  # until the stream's headers
_LOG_MALFORMED = (1, 2, 3, 10, 100, 1000, 10_000)  # which malformed lines are logged


class XSource:
    finite = False

    def __init__(
        self,
        settings: XSourceSettings,
        rules: Sequence[str],
        *,
        report: Report = no_report,
        on_malformed: Callable[[], None] = lambda: None,
        session: Callable[[], aiohttp.ClientSession] = client_session,
        backoff: Backoff | None = None,
        stable_seconds: float = 30.0,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.rules = list(dict.fromkeys(rules))
        self.tag = f"vigie:{settings.name}"
        self.report = report
        self.on_malformed = on_malformed
        self.session = session
        self.backoff = backoff or Backoff(cap=settings.max_backoff)
        self.stable_seconds = stable_seconds
        """A stream that lived this long and dropped is reconnected at once, quietly."""
        self.connections = 0
        self.keepalives = 0
        self.malformed = 0
        self.ours: set[str] = set()  # ids of the rules this source asked for
        self._newest: str | None = None
        self._trouble: str | None = None

    async def run(self, inbox: Inbox, position: str | None) -> None:
        self._newest = decode_position(position)
        loop = asyncio.get_running_loop()
        async with self.session() as session:
            api = XApi(session, self.settings)
            while True:
                try:
                    await self._sync_rules(api)
                    self.backoff.reset()
                    self._fine()  # the rules' trouble is over; the stream's is told apart
                    break
                except SourceError as refused:
                    await pause(self._failed(f"rules: {refused}", refused))
            while True:
                began = loop.time()
                try:
                    await self._listen(api, inbox)
                    error = SourceError("X ended the stream")
                except SourceError as failure:
                    error = failure
                if error.retryable and loop.time() - began >= self.stable_seconds:
                    self.backoff.reset()  # streams drop now and then: not trouble
                    logger.info("x %s: %s; reconnecting", self.name, error)
                    await pause(self.backoff.next_delay(error.wait))
                else:
                    await pause(self._failed(str(error), error))

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Counts from ``GET /2/tweets`` (100 a request); deleted or protected ones left out."""
        ids = list(dict.fromkeys(m.native_id for m in mentions if m.native_id.isdigit()))
        if not ids:
            return {}
        async with self.session() as session:
            tweets = await XApi(session, self.settings).tweets(ids)
        return {str(t["id"]): engagement_of(t) for t in tweets if "id" in t}

    # -- rules -------------------------------------------------------------------------------

    async def _sync_rules(self, api: XApi) -> None:
        plan = plan_rules(await api.rules(), self.rules, self.tag)
        if plan.delete:
            await api.delete_rules(plan.delete)
            logger.info("x %s: deleted %d stale rule(s)", self.name, len(plan.delete))
        added = await api.add_rules(plan.add, self.tag) if plan.add else []
        if plan.add:
            logger.info("x %s: added %d rule(s)", self.name, len(plan.add))
        self.ours = set(plan.kept) | {str(rule.get("id")) for rule in added}
        if len(self.ours) < len(self.rules):  # a duplicate of a rule X already had: find its id
            self.ours |= {
                str(rule.get("id")) for rule in await api.rules() if rule.get("value") in self.rules
            }

    # -- the stream --------------------------------------------------------------------------

    async def _listen(self, api: XApi, inbox: Inbox) -> None:
        resuming = self._newest is not None or self.connections > 0
        backfill = self.settings.backfill_minutes if resuming else 0
        response = await api.open_stream(backfill, CONNECT_SECONDS)
        self.connections += 1
        loop = asyncio.get_running_loop()
        opened, told = loop.time(), False
        splitter = LineSplitter()
        try:
            while chunk := await self._read(response):
                try:
                    lines = splitter.feed(chunk)
                except MalformedTweet as error:
                    self._skipped(error)
                    raise SourceError(f"the stream broke: {error}") from error
                await self._take(inbox, lines)  # raises on an error object
                # fine once heard: a tweet, or stable_seconds of keep-alives (a stream that
                # hangs up at once must not say "streaming again" at every retry)
                if not told and (any(lines) or loop.time() - opened >= self.stable_seconds):
                    self._fine()
                    told = True
        finally:
            response.close()  # release() would wait for the end of an endless body

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The next bytes of the stream; b'' when X ended it."""
        return await read_stream(response, self.settings.idle_seconds)

    async def _take(self, inbox: Inbox, lines: list[bytes]) -> None:
        """Queue the tweets of one read (with the newest id) before any error it ends with."""
        mentions: list[Mention] = []
        before = self._newest
        failed: str | None = None
        for line in lines:
            if not line:
                self.keepalives += 1
                continue
            try:
                heard = read_line(self.name, line)
            except MalformedTweet as error:
                self._skipped(error)
                continue
            except StreamFailed as error:
                failed = str(error) or "an error object"
                break
            if newer(heard.tweet_id, self._newest):
                self._newest = heard.tweet_id
            unmatched = not heard.rules and not heard.tags
            if unmatched or self.tag in heard.tags or self.ours.intersection(heard.rules):
                mentions.append(heard.mention)
        if self._newest is not None and (mentions or self._newest != before):
            await inbox.submit(Envelope(self.name, tuple(mentions), encode_position(self._newest)))
        if failed is not None:
            raise SourceError(f"X ended the stream: {failed}")

    def _skipped(self, error: MalformedTweet) -> None:
        self.malformed += 1
        self.on_malformed()
        if self.malformed in _LOG_MALFORMED:
            logger.warning(
                "x %s: skipped a malformed line (%d so far): %s", self.name, self.malformed, error
            )

    # -- health ------------------------------------------------------------------------------

    def _failed(self, trouble: str, error: SourceError) -> float:
        delay = self.backoff.next_delay(error.wait)
        if not error.retryable:
            delay = max(delay, self.backoff.cap)  # a refusal will not mend itself soon
        if trouble != self._trouble:
            logger.warning("x %s: %s; trying again in %.1fs", self.name, trouble, delay)
            self.report(self.name, trouble)
        self._trouble = trouble
        return delay

    def _fine(self) -> None:
        if self._trouble is not None:
            logger.info("x %s: streaming again", self.name)
            self.report(self.name, None)
            self._trouble = None


def build(settings: XSourceSettings, context: SourceContext) -> XSource:
    try:
        rules = settings.rules or default_rules(context.brands)
    except ValueError as error:
        raise ConfigError(f"sources: {settings.name}: {error}") from error
    if not rules:
        raise ConfigError(
            f"sources: {settings.name}: nothing to listen for; set rules or configure brands"
        )
    return XSource(
        settings,
        rules,
        report=context.report,
        on_malformed=context.metrics.malformed.labels(settings.name).inc,
    )
