"""Delivering the outbox: each intent to its platform, in order per channel, exactly once where
the platform can tell whether it already has it, with retries, backoff and per-channel pacing.

When an item may go out (pacing, due times on two clocks, a flush's deadline) is
``bot.delivery_timing``; recording its end with what waited on it is ``bot.delivery_end``; this
module is the loop that sends it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from functools import partial
from typing import Any, Protocol, TypeVar

import aiohttp

from bot.delivery_end import Ending, Settler
from bot.delivery_timing import DeliveryTiming
from bot.health import Fault
from bot.incidents.model import Intent, IntentKind
from bot.metrics import Metrics
from storage.outbox import MAY_BE_OUT as MAY_BE_OUT
from storage.outbox import (
    OutboxItem,
    due_now,
    live_count,
    live_items,
    mark_retry,
    mark_sending,
    mark_superseded,
    ref_for,
)
from storage.writer import Writer

logger = logging.getLogger(__name__)

T = TypeVar("T")
Channel = tuple[str, str]  # (platform, channel)


class DeliveryError(Exception):
    """A platform refused or failed a delivery; ``retryable`` says whether trying again helps.

    ``unsent`` says the platform certainly did nothing (a 429, or a refusal: what is not
    retryable is one), so a retry need not ask it first whether it has the item; otherwise (a
    5xx, a lost answer) the attempt may have gone out.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        unsent: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unsent = unsent or not retryable


def unsent(error: BaseException) -> bool:
    """Whether a failed attempt certainly sent nothing (anything but a ``DeliveryError`` that
    says so may have: a timeout, a dropped connection, a bug after the request)."""
    return isinstance(error, DeliveryError) and error.unsent


PER_CHANNEL = 100
"""Items of one channel read per round: a channel's backlog never hides another channel's."""
BUG_ATTEMPTS = 3
"""Tries of an item whose delivery raised a programming error (none of ``NOT_BUGS``): it will
not mend by itself, and its channel waits behind it, in order."""
NOT_BUGS = (DeliveryError, OSError, TimeoutError, aiohttp.ClientError, sqlite3.Error)
"""What a delivery may raise that is no bug: the platform's answer, the network (a connection
dropped, an answer cut short), the disk or database. Retried as ``max_attempts`` says."""
CHANNEL_PAUSE_SECONDS = 5.0
"""A channel whose round failed unexpectedly is tried again this much later (the others go on)."""
RESETTLE_SECONDS = 300.0
"""What a failed settling left waiting is settled again this much later (and at each start)."""
CALL_SECONDS = 60.0
"""The longest a platform's ``deliver`` or ``find`` may take. A delivery still unanswered then
may have gone out (its item is looked up before the next attempt, as after a lost answer); a
hung connection never holds its channel for good."""


class Platform(Protocol):
    """A chat platform as the deliverer sees it."""

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        """Deliver; return the platform's id of what was posted ("" when it has none).

        ``card_ref`` is the id of the incident's card in that channel, for edits and threads.
        """
        ...

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        """After a crash mid-delivery: the id of this intent if the platform already has it,
        None if it does not (or cannot tell, in which case it is delivered again)."""
        ...


class Deliverer:
    def __init__(
        self,
        writer: Writer,
        platforms: Mapping[str, Platform],
        *,
        pace_seconds: Mapping[str, float] | None = None,
        max_attempts: int | None = None,
        max_backoff_seconds: float = 300.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        max_attempts_for: Mapping[str, int] | None = None,
        settler: Settler | None = None,
        call_seconds: float = CALL_SECONDS,
    ) -> None:
        self.writer = writer
        self.platforms = dict(platforms)
        self.timing = DeliveryTiming(
            pace_seconds=pace_seconds,
            max_backoff_seconds=max_backoff_seconds,
            wall=wall,
            monotonic=monotonic,
        )
        self.max_attempts = max_attempts
        self.call_seconds = call_seconds
        self.max_attempts_for = dict(max_attempts_for or {})  # per platform, over max_attempts
        self.ending = Ending(settler)
        self.metrics = metrics or Metrics()
        self.failed = 0
        self.errors: dict[str, str] = {}  # per platform: why its last delivery failed, if it did
        self.last_failure: str | None = None  # the last item given up, and why
        self._resettle_at: float | None = 0.0  # when to settle again what is left waiting
        self._unrecorded: dict[int, str] = {}  # delivered, the end not recorded yet: item -> ref
        self._lookups_failed: dict[int, int] = {}  # item -> its failed look-ups (for backoff)
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()  # the loop and a shutdown flush never deliver at once
        self._unconfigured: set[str] = set()  # platforms whose items wait (said once each)
        self._busy: dict[Channel, asyncio.Task[float | None]] = {}  # channels under way
        self._stopping = False  # the run loop ended: its channels' tasks were cancelled
        self._due_since: dict[int, float] = {}  # item -> monotonic time it was first seen due
        self._fault = Fault("delivering the outbox", logger)  # the run loop's rounds
        self._channel_faults: dict[Channel, Fault] = {}
        self.delivered = 0
        self.metrics.outbox_oldest_due.set_function(self.oldest_due_seconds)

    @property
    def settle_failed(self) -> int:
        """Deliveries recorded whose follow-up (a published reply's draft) did not move on."""
        return self.ending.failed

    @property
    def settle_error(self) -> str | None:
        return self.ending.error

    def wake(self) -> None:
        """New intents were committed."""
        self._wake.set()

    async def retry_now(self, platform: str) -> None:
        """Try a platform's waiting items again now (e.g. Teams: Vigie was just added to a
        channel they were waiting for)."""
        if await self.writer.run(partial(due_now, platform=platform), urgent=True):
            self.timing.release(platform)
            self.wake()

    def faults(self) -> dict[str, dict[str, Any]]:
        """What fails in delivering itself, not in a platform's answers (``errors``): the run
        loop's rounds (the database, a bug) and each channel's, for /healthz while it lasts."""
        shown = {"rounds": self._fault.shown()} if self._fault.error is not None else {}
        for (platform, channel), fault in self._channel_faults.items():
            if fault.error is not None:
                shown[f"{platform} {channel}"] = fault.shown()
        return shown

    def oldest_due_seconds(self) -> float:
        """How long the oldest item due to go out (on a configured platform) has waited, as
        far as this start saw it (0.0: none): a stuck delivery shows as a growing age."""
        if not self._due_since:
            return 0.0
        return max(0.0, self.timing.monotonic() - min(self._due_since.values()))

    async def run(self) -> None:
        """Deliver as items fall due, each channel in a task of its own: a round starts the
        channels that may send and waits for none of them, so a slow or hung platform call
        holds its own channel only (a channel that ends wakes the loop for the next round)."""
        try:
            while True:
                self._wake.clear()
                await self._resettle_when_due()
                try:
                    async with self._round:
                        next_due = await self._deliver_due(wait=False)
                except Exception as error:
                    self._fault.failed(error, "trying again in 5 s")
                    next_due = self.timing.wall() + 5.0
                else:
                    self._fault.ok()
                timeout = 30.0 if next_due is None else max(0.05, next_due - self.timing.wall())
                # not asyncio.wait_for: in 3.11 it drops a stop that comes as the wake-up does
                with suppress(TimeoutError):
                    async with asyncio.timeout(min(timeout, 30.0)):
                        await self._wake.wait()
        finally:
            self._stopping = True  # its channels' tasks are cancelled now, on purpose
            busy = list(self._busy.values())
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)

    async def resettle(self) -> int:
        """Settle again what a failed settling left waiting (a published reply's draft still
        "publishing"); return how many moved on. What still fails is tried again later."""
        self._resettle_at = self.timing.wall() + RESETTLE_SECONDS
        moved = await self.writer.run(self.ending.resettle, urgent=True)
        if not self.ending.failed:
            self._resettle_at = None
        if moved:
            self._wake.set()  # settling queued more (the drafts message's edit)
        return moved

    async def _resettle_when_due(self) -> None:
        if self._resettle_at is None or self.timing.wall() < self._resettle_at:
            return
        try:
            await self.resettle()
        except Exception:
            logger.exception(
                "settling what waited on deliveries failed; trying again in %.0f s",
                RESETTLE_SECONDS,
            )

    async def flush(self, within: float) -> int:
        """Deliver what is due until nothing is, or ``within`` seconds pass; return what is left.

        The deadline holds whatever is under way: a round in progress (the run loop's) stops
        before its next item, and one that is still busy (a slow platform) is not waited for.
        """
        # the deadline ends only after the count: the run loop starts no round while it counts
        with self.timing.deadline(within) as deadline:
            while (left := deadline - self.timing.monotonic()) > 0:
                try:
                    async with asyncio.timeout(left):  # a stop is never dropped (see run)
                        await self._round.acquire()
                except TimeoutError:
                    break
                try:
                    next_due = await self._deliver_due()
                finally:
                    self._round.release()
                if next_due is None:
                    break
                wait = min(
                    max(0.05, next_due - self.timing.wall()), deadline - self.timing.monotonic()
                )
                if wait > 0:
                    await asyncio.sleep(wait)
            return await self.writer.run(live_count, urgent=True)

    async def deliver_due(self) -> float | None:
        """One round: every channel's due items, channels in parallel, items in order; it
        waits for every channel under way (until a flush's deadline, if one runs).

        Returns when the earliest item still waiting falls due, or None if none waits.
        """
        async with self._round:
            return await self._deliver_due()

    async def _deliver_due(self, *, wait: bool = True) -> float | None:
        """Start each channel that has items and is not under way. ``wait``: wait for every
        channel under way and return when the earliest item left falls due; else (the run
        loop) return at once, with when the earliest channel held by its last round falls
        due (those that end later wake the loop)."""
        aside: list[str] = []
        read = partial(live_items, per_channel=PER_CHANNEL, set_aside=aside)
        # the channels under way before the read: one that ends during the awaits below must
        # not be started again with what was read while it still delivered (sent twice)
        under_way = set(self._busy)
        items = await self.writer.run(read, urgent=True)
        if IntentKind.PUBLISH.value in aside and self.ending.settler is not None:
            await self.resettle()  # its draft, still "publishing", moves on to failed
        channels: dict[Channel, list[OutboxItem]] = {}
        for item in items:
            if self._unpublishable(item):
                await self._no_publisher(item)
            elif self._configured(item.intent.platform):
                channels.setdefault((item.intent.platform, item.intent.channel), []).append(item)
        self._note_due(channels)
        held: list[float] = []
        busy = False  # a channel was under way: what it read may be stale once it ends
        ended = under_way - self._busy.keys()  # during the awaits above: what was read is stale
        for channel, queue in channels.items():
            if channel in self._busy or channel in ended:
                busy = True
                continue  # its items are under way: the channel's own order holds
            if not wait and (due := self.timing.held(channel)) is not None:
                held.append(due)
                continue
            self._start(channel, queue)
        if not wait:
            if ended:  # read again at once (its task woke the loop too)
                held.append(self.timing.wall())
            return min(held, default=None)
        tasks = list(self._busy.values())
        if not tasks:
            return None
        done, late = await asyncio.wait(tasks, timeout=self.timing.left())
        waiting = [due for t in done if not t.cancelled() and (due := t.result()) is not None]
        if late or busy:  # a flush's deadline came (due now: the next start), or a channel
            waiting.append(self.timing.wall())  # that was under way ended: read it again now
        return min(waiting, default=None)

    def _start(self, channel: Channel, queue: list[OutboxItem]) -> None:
        """Deliver a channel's items in a task of its own; when it ends, the channel is held
        until its next item falls due and the run loop wakes."""
        task = asyncio.create_task(self._apart(channel, queue), name=f"deliver:{channel}")
        self._busy[channel] = task

        def ended(task: asyncio.Task[float | None]) -> None:
            if self._busy.get(channel) is task:
                del self._busy[channel]
            if not task.cancelled():
                self.timing.hold(channel, task.result())
            elif not self._stopping:  # a platform's stray CancelledError: not at once again
                logger.warning(
                    "delivering to %s %r was cancelled; tried again in %.0f s",
                    *channel,
                    CHANNEL_PAUSE_SECONDS,
                )
                self.timing.hold(channel, self.timing.wall() + CHANNEL_PAUSE_SECONDS)
            self._wake.set()

        task.add_done_callback(ended)

    def _note_due(self, channels: Mapping[Channel, list[OutboxItem]]) -> None:
        """Remember since when each item read has waited to go out (``oldest_due_seconds``):
        from the first round that saw it due, kept while it waits for a retry (an outage
        shows as an age that grows), forgotten once it is no longer live."""
        now, mono = self.timing.wall(), self.timing.monotonic()
        since = {}
        for queue in channels.values():
            for item in queue:
                if item.id in self._due_since:
                    since[item.id] = self._due_since[item.id]
                elif item.next_attempt_at <= now:
                    late = now - item.next_attempt_at if item.next_attempt_at > 0 else 0.0
                    since[item.id] = mono - late  # a retry: due since its time; else from now
        self._due_since = since

    async def _apart(self, channel: Channel, queue: list[OutboxItem]) -> float | None:
        """One channel's round, which fails alone: an error never cancels another channel's
        delivery under way (that one would be sent again, the platform unable to tell)."""
        fault = self._channel_faults.setdefault(
            channel, Fault(f"delivering to {channel[0]} {channel[1]!r}", logger)
        )
        try:
            due = await self._channel(queue)
        except Exception as error:
            fault.failed(error, f"that channel is tried again in {CHANNEL_PAUSE_SECONDS:.0f} s")
            return self.timing.wall() + CHANNEL_PAUSE_SECONDS
        fault.ok()
        self._channel_faults.pop(channel, None)  # a channel that works is remembered no longer
        return due

    async def _channel(self, queue: list[OutboxItem]) -> float | None:
        """Deliver one channel's items in order; stop at the first that must wait. A full
        queue (``PER_CHANNEL`` items) all delivered means more may wait: due now."""
        for index, item in enumerate(queue):
            now = self.timing.wall()
            if self.timing.past_deadline():
                return now
            if (due := self.timing.due_at(item, now)) > now:
                return due
            if self._superseded(item, queue[index + 1 :]):
                await self.writer.run(partial(mark_superseded, item_id=item.id), urgent=True)
                self.timing.forget(item.id)
                self._due_since.pop(item.id, None)
                self._count(item, "superseded")
                continue
            retry_at = await self._one(item)
            if retry_at is not None:
                return retry_at
        return self.timing.wall() if len(queue) >= PER_CHANNEL else None

    def _configured(self, platform: str) -> bool:
        """Whether this start knows ``platform``. Items for a chat platform it does not know
        (credentials missing this time) are left waiting, untried, for a start that does."""
        if platform in self.platforms:
            if platform in self._unconfigured:
                self._unconfigured.discard(platform)
                self.errors.pop(platform, None)
            return True
        if platform not in self._unconfigured:
            self._unconfigured.add(platform)
            self.errors[platform] = "not configured: its notifications wait in the outbox"
            logger.warning(
                "platform %r is not configured: its notifications wait in the outbox, untried, "
                "and go out from a start where it is configured",
                platform,
            )
        return False

    def _unpublishable(self, item: OutboxItem) -> bool:
        """A reply to publish through a source this start cannot publish with. Unlike a chat
        platform's backlog it does not wait: the approver believes it is on its way, and the
        draft would say "publishing…" for good. It fails, so that people can Retry or post it
        by hand."""
        return item.intent.kind is IntentKind.PUBLISH and item.intent.platform not in self.platforms

    async def _no_publisher(self, item: OutboxItem) -> None:
        platform = item.intent.platform
        unset = (
            f"{platform} is not set up to publish at this start (credentials missing, or the "
            "source renamed)"
        )
        if item.state == "sending":  # an earlier start began publishing it: it may be out
            error = (
                f"{unset}; an earlier start was publishing it, so {MAY_BE_OUT}: "
                "check the post by hand before posting or retrying it"
            )
        else:
            error = f"{unset}: nothing was sent"
        logger.error("outbox %s: %s", item.intent.key, error)
        self.errors[platform] = error
        try:
            await self._finish(item, "", error)
        except Exception:  # the database: it fails again at the next round
            logger.exception("outbox %s: recording its failure failed", item.intent.key)
            return
        self._count(item, "failed")

    @staticmethod
    def _superseded(item: OutboxItem, later: list[OutboxItem]) -> bool:
        """An edit of a card is pointless when a later edit of the same card is queued."""
        if item.intent.kind is not IntentKind.UPDATE or item.state == "sending":
            return False
        return any(
            other.intent.kind in (IntentKind.UPDATE, IntentKind.RESOLVE)
            and other.intent.incident_id == item.intent.incident_id
            and other.intent.part == item.intent.part
            for other in later
        )

    async def _one(self, item: OutboxItem) -> float | None:
        intent = item.intent
        platform = self.platforms.get(intent.platform)
        if platform is None:  # unconfigured since the round began: it waits
            return None
        if (posted := self._unrecorded.get(item.id)) is not None:
            await self._sent(item, posted)  # delivered, its end not recorded: record it, only
            return None
        # the channel's pace first: a look-up (Slack's history: one call a minute) whose answer
        # would be thrown away while the channel waits is not made at every round
        if (paced := self.timing.pace((intent.platform, intent.channel))) is not None:
            return paced  # the channel waits; the round ends, the others are not held
        ref = await self.writer.run(lambda db: ref_for(db, intent), urgent=True)
        if item.state == "sending":
            try:
                found = await self._limited(platform.find(intent, ref), "whether it has it")
            except Exception as error:  # cannot tell whether it went out: try again later
                return await self._failed(item, error, looked_up=True)
            if found is not None:
                await self._finish(item, found, None)
                return None
        await self.writer.run(lambda db: mark_sending(db, item.id), urgent=True)
        try:
            posted = await self._limited(platform.deliver(intent, ref), "it may have gone out")
        except Exception as error:
            return await self._failed(item, error)
        await self._sent(item, posted)
        return None

    async def _limited(self, call: Awaitable[T], unclear: str) -> T:
        """A platform call within ``call_seconds``; one still unanswered then raises a
        retryable ``DeliveryError`` that does not say it was unsent: it may have gone out."""
        try:
            async with asyncio.timeout(self.call_seconds) as limit:
                return await call
        except TimeoutError:
            if not limit.expired():
                raise  # the platform's own timeout
            raise DeliveryError(f"no answer within {self.call_seconds:g} s ({unclear})") from None

    async def _sent(self, item: OutboxItem, posted: str) -> None:
        """Record a delivery. Until that is done, this start remembers it: if recording fails
        (the database), the next round records it again rather than deliver it again."""
        self._unrecorded[item.id] = posted
        await self._finish(item, posted, None)
        del self._unrecorded[item.id]
        self.errors.pop(item.intent.platform, None)
        self.delivered += 1
        self._count(item, "sent")

    async def _failed(
        self, item: OutboxItem, error: Exception, *, looked_up: bool = False
    ) -> float | None:
        """An attempt failed: retry it later, or give it up. ``looked_up``: what failed was
        asking the platform whether it has the item (``find``), which sent nothing, so it
        counts no attempt (unless a bug) and the item stays as it was."""
        bug = not isinstance(error, NOT_BUGS)
        said = (
            str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"
        )
        self.errors[item.intent.platform] = said[:300]
        retryable = not isinstance(error, DeliveryError) or error.retryable
        counted = bug or not looked_up
        attempts = item.attempts + 1 if counted else item.attempts
        limit = self.max_attempts_for.get(item.intent.platform, self.max_attempts)
        if bug:  # a bug does not mend by waiting: a few tries (it may hang on a moment's state)
            limit = BUG_ATTEMPTS if limit is None else min(limit, BUG_ATTEMPTS)
            logger.error("outbox %s: delivery raised %s", item.intent.key, said, exc_info=error)
        if not retryable or (counted and limit is not None and attempts >= limit):
            said = self._given_up(item, error, said, looked_up=looked_up)
            logger.error(
                "outbox %s: giving up after %d attempt(s): %s", item.intent.key, attempts, said
            )
            self.errors[item.intent.platform] = said[:300]
            self.last_failure = f"{item.intent.key}: {said}"[:300]
            await self._finish(replace(item, attempts=attempts), "", said)
            self._count(item, "failed")
            return None
        if not counted:
            self._lookups_failed[item.id] = self._lookups_failed.get(item.id, 0) + 1
        tries = min(64, max(1, attempts + self._lookups_failed.get(item.id, 0)))  # no overflow
        backoff = min(self.timing.max_backoff_seconds, 2.0 ** (tries - 1))
        if isinstance(error, DeliveryError) and error.retry_after is not None:
            backoff = max(backoff, error.retry_after)
        retry_at = self.timing.retry_in(item.id, backoff)
        logger.warning(
            "outbox %s: %s failed (%s); retrying in %.0fs",
            item.intent.key,
            f"attempt {attempts}" if counted else "looking it up",
            said,
            backoff,
        )
        state = None if looked_up else self._state_after(item, error)
        await self.writer.run(
            lambda db: mark_retry(db, item.id, said, retry_at, attempts, state=state),
            urgent=True,
        )
        self._count(item, "retried")
        return retry_at

    @staticmethod
    def _state_after(item: OutboxItem, error: Exception) -> str:
        """The state a failed attempt leaves its item in: 'sending' (the next attempt asks the
        platform first) when it may have gone out, else 'pending'. A publication stays
        'sending' once an attempt may have reached the source: its ``find`` cannot tell (and
        costs nothing), and that state is what its failure says people must check the post."""
        if not unsent(error):
            return "sending"
        if item.intent.kind is IntentKind.PUBLISH and item.state == "sending":
            return "sending"
        return "pending"

    @staticmethod
    def _given_up(item: OutboxItem, error: Exception, said: str, *, looked_up: bool) -> str:
        """What a publication given up says: that it may be out, unless every attempt was
        certainly refused (``failure_text`` then says to check the post before a Retry)."""
        if item.intent.kind is not IntentKind.PUBLISH:
            return said
        if item.state != "sending" and not looked_up and unsent(error):
            return said
        return f"{said[:160]} (an attempt got no clear answer, so {MAY_BE_OUT})"

    async def _finish(self, item: OutboxItem, ref: str, error: str | None) -> None:
        failed = self.ending.failed
        # shielded: a stop that cancels this channel's task right after the platform answered
        # must not cancel the record too (the writer skips cancelled work, and the next start
        # would post again what Teams and the console cannot look up)
        record = self.writer.run(lambda db: self.ending.record(db, item, ref, error), urgent=True)
        await asyncio.shield(record)
        self.timing.forget(item.id)
        self._lookups_failed.pop(item.id, None)
        self._due_since.pop(item.id, None)
        if self.ending.failed != failed and self._resettle_at is None:
            self._resettle_at = self.timing.wall() + RESETTLE_SECONDS
        if self.ending.settler is not None:
            self._wake.set()  # settling may have queued more (a card showing the outcome)

    def _count(self, item: OutboxItem, outcome: str) -> None:
        if outcome == "failed":
            self.failed += 1
        self.metrics.notifications.labels(item.intent.platform, outcome).inc()
