"""The bounded queue between sources and storage, and the task that drains it.

Sources put envelopes (mentions plus the source position after them). One consumer scores them
through the pure pipeline and writes each batch, with the positions, in one transaction, so a
restart resumes exactly after what was stored. Backpressure, not memory: ``submit`` waits for room,
``offer`` says no at once (a webhook answers 503 rather than dropping).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlite_utils import Database

from bot.health import Fault
from bot.metrics import Metrics
from bot.model import Mention, ScoredMention
from bot.sanitize import clean_mention
from bot.unscored import unscored, unscored_reason
from bot.workers import Failure, Outcome, Scorer
from storage.database import database_fault
from storage.unfiled import Stored, keep_unfiled, save_noted
from storage.writer import Writer

T = TypeVar("T")

logger = logging.getLogger(__name__)

Sink = Callable[[Sequence[ScoredMention]], None]
Store = Callable[[Database, list[ScoredMention], dict[str, str]], Stored]
"""Stores a batch and the sources' positions in one transaction; says what was new (and, for
the incident desk, what it could not file yet)."""


def _call(
    store: Store, scored: list[ScoredMention], positions: dict[str, str]
) -> Callable[[Database], Stored]:
    return lambda db: store(db, scored, positions)


_CLOSED = object()
_MAX_BACKOFF = 5.0


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one envelope once its batch was stored: of the ``accepted`` mentions,
    ``matched`` are about a brand and ``unscored`` made the pipeline fail (stored all the same,
    neutral); of those, ``stored`` are new, ``failed`` could not be stored (their data), the
    others were stored before. ``unfiled`` of the new ones wait to be filed into incidents."""

    accepted: int
    matched: int
    stored: int
    failed: int = 0
    unfiled: int = 0
    unscored: int = 0

    @property
    def duplicates(self) -> int:
        return self.matched + self.unscored - self.stored - self.failed


@dataclass(frozen=True, slots=True)
class Envelope:
    """Mentions from one source, the source's position after them, and who waits for them."""

    source: str
    mentions: tuple[Mention, ...]
    position: str | None = None
    done: asyncio.Future[Receipt] | None = field(default=None, compare=False)


_Scoring = tuple[list[Envelope], "asyncio.Future[list[list[ScoredMention]]]"]


class Intake:
    def __init__(
        self,
        scorer: Scorer,
        writer: Writer,
        metrics: Metrics,
        *,
        capacity: int,
        batch_size: int,
        now: Callable[[], datetime],
        sinks: Sequence[Sink] = (),
        on_event_time: Callable[[datetime], None] | None = None,
        store: Store = save_noted,
        same_link_sources: frozenset[str] = frozenset(),
    ) -> None:
        """``same_link_sources``: the sources for which a link they hold already is a repeat
        (``save_batch``); ``save_noted`` and the intake's fallbacks are given it, another
        ``store`` must honour it itself."""
        self.scorer = scorer
        self.now = now
        self.writer = writer
        self.metrics = metrics
        self.capacity = capacity
        self.batch_size = batch_size
        self.sinks = tuple(sinks)
        self.on_event_time = on_event_time
        self.same_link_sources = same_link_sources
        self.files = store is not save_noted  # a store filing into incidents (the desk's)
        if store is save_noted:
            store = partial(save_noted, same_link_sources=same_link_sources)
        self.store = store
        self.storage_error: str | None = None
        self._storing = Fault("storing mentions", logger, trace=False)  # logged once, not in a loop
        self.unscored = 0  # mentions the pipeline failed on, stored unscored (this start)
        self.failed = 0  # mentions that could not be stored, their data being bad (this start)
        # mentions stored unfiled here, the store failing on them with a bug (this start)
        self.kept_unfiled = 0
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._waiting = 0
        self._room = asyncio.Condition()

    @property
    def depth(self) -> int:
        """Mentions accepted and not yet stored."""
        return self._waiting

    async def submit(self, envelope: Envelope) -> None:
        """Queue an envelope, waiting while the queue is full."""
        async with self._room:
            await self._room.wait_for(lambda: self._fits(len(envelope.mentions)))
            self._put(envelope)

    def offer(self, envelope: Envelope) -> bool:
        """Queue an envelope if there is room now; False if not."""
        if not self._fits(len(envelope.mentions)):
            return False
        self._put(envelope)
        return True

    async def drained(self) -> None:
        """Wait until everything queued so far is stored."""
        await self._queue.join()

    def close(self) -> None:
        """No more input: ``run`` returns once what is queued is stored."""
        self._queue.put_nowait(_CLOSED)

    async def run(self) -> None:
        """Score batches (several in flight when scoring runs in workers); store them in order."""
        in_flight: asyncio.Queue[_Scoring | None] = asyncio.Queue(self.scorer.parallelism)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._store_loop(in_flight))
            await self._score_loop(in_flight)

    async def _score_loop(self, in_flight: asyncio.Queue[_Scoring | None]) -> None:
        while True:
            batch, closing = await self._next_batch()
            if batch:
                await in_flight.put((batch, asyncio.ensure_future(self._score(batch))))
            if closing:
                self._queue.task_done()
                await in_flight.put(None)
                return

    async def _store_loop(self, in_flight: asyncio.Queue[_Scoring | None]) -> None:
        while (item := await in_flight.get()) is not None:
            batch, scoring = item
            try:
                await self._commit(batch, await scoring)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _fits(self, count: int) -> bool:
        return self._waiting == 0 or self._waiting + count <= self.capacity

    def _put(self, envelope: Envelope) -> None:
        cleaned = tuple(clean_mention(mention) for mention in envelope.mentions)
        if any(a is not b for a, b in zip(cleaned, envelope.mentions, strict=True)):
            envelope = replace(envelope, mentions=cleaned)
        self._waiting += len(envelope.mentions)
        self.metrics.queue_depth.set(self._waiting)
        self._queue.put_nowait(envelope)

    async def _next_batch(self) -> tuple[list[Envelope], bool]:
        batch: list[Envelope] = []
        size = 0
        item = await self._queue.get()
        while True:
            if item is _CLOSED:
                return batch, True
            assert isinstance(item, Envelope)
            batch.append(item)
            size += len(item.mentions)
            if size >= self.batch_size or self._queue.empty():
                return batch, False
            item = self._queue.get_nowait()

    async def _commit(self, batch: list[Envelope], groups: list[list[ScoredMention]]) -> None:
        scored = [item for group in groups for item in group]
        positions = {e.source: e.position for e in batch if e.position is not None}
        try:
            result = await self._store(scored, positions)
        except BaseException:
            for envelope in batch:
                if envelope.done is not None and not envelope.done.done():
                    envelope.done.set_exception(RuntimeError("not stored: shutting down"))
            raise
        finally:
            await self._release(batch)
        self._notify(result.fresh)
        unclaimed = {item.mention.key for item in result.fresh}  # each new mention counts once:
        # for the first envelope carrying it (two identical requests in one batch: one stored it)
        for envelope, group in zip(batch, groups, strict=True):
            if envelope.done is not None and not envelope.done.done():
                envelope.done.set_result(_receipt(envelope, group, result, unclaimed))

    async def _score(self, batch: list[Envelope]) -> list[list[ScoredMention]]:
        """Score every mention of the batch, grouped back by envelope."""
        mentions = [mention for envelope in batch for mention in envelope.mentions]
        if self.on_event_time is not None:
            for mention in mentions:
                self.on_event_time(mention.created_at)
        now = self.now()
        outcomes = await self.scorer.score(mentions, now) if mentions else []
        self._count(batch, outcomes)
        kept = [
            unscored(mention, outcome.error, now) if isinstance(outcome, Failure) else outcome
            for mention, outcome in zip(mentions, outcomes, strict=True)
        ]
        groups: list[list[ScoredMention]] = []
        start = 0
        for envelope in batch:
            end = start + len(envelope.mentions)
            groups.append([item for item in kept[start:end] if item is not None])
            start = end
        return groups

    def _count(self, batch: list[Envelope], outcomes: list[Outcome]) -> None:
        """Metrics (counted per batch: a labelled increment costs microseconds) and failures."""
        received: Counter[str] = Counter()
        for envelope in batch:
            received[envelope.source] += len(envelope.mentions)
        sentiments: Counter[str] = Counter()
        brands: Counter[str] = Counter()
        for outcome in outcomes:
            if isinstance(outcome, ScoredMention):
                sentiments[outcome.negativity.sentiment.value] += 1
                brands.update(outcome.brands)
            elif isinstance(outcome, Failure):
                logger.error(
                    "pipeline failed on %r/%r, stored unscored: %r", *outcome.key, outcome.error
                )
                self.metrics.failed.inc()
                self.unscored += 1
        for counter, metric in (
            (received, self.metrics.received),
            (sentiments, self.metrics.scored),
            (brands, self.metrics.matched),
        ):
            for label, count in counter.items():
                metric.labels(label).inc(count)

    async def _store(self, scored: list[ScoredMention], positions: dict[str, str]) -> Stored:
        """Write the batch; a failing disk or a locked database (``database_fault``) is retried,
        never dropped."""
        delay = 0.1
        while True:
            try:
                with self.metrics.store_latency.time():
                    result = await self._store_batch(scored, positions)
            except sqlite3.Error as error:
                self.storage_error = str(error)
                self._storing.failed(error, f"{len(scored)} mentions retried in {delay:.1f}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
                continue
            self.storage_error = None
            self._storing.ok()
            self.metrics.stored.inc(len(result.fresh))
            self.metrics.duplicates.inc(len(scored) - len(result.fresh) - len(result.failed))
            return result

    async def _store_batch(self, scored: list[ScoredMention], positions: dict[str, str]) -> Stored:
        """One transaction; if something other than a database fault fails (a mention whose
        data cannot be stored, a bug raising an sqlite3 error that is no fault of the database's,
        such as ProgrammingError), mention by mention so that one bad mention does not stop the
        others. (A failure to file mentions into incidents is the store's: it keeps them, raises
        not, unless the error is an sqlite3 one: then ``_store_each`` keeps them.)"""
        try:
            return await self.writer.run(lambda db: self.store(db, scored, positions))
        except sqlite3.Error as error:
            if database_fault(error):
                raise
            logger.exception(
                "storing %d mentions failed (%s: a bug, not the database); storing them one by one",
                len(scored),
                type(error).__name__,
            )
            return await self._store_each(scored, positions)
        except Exception:
            logger.exception("storing %d mentions failed; storing them one by one", len(scored))
            return await self._store_each(scored, positions)

    async def _store_each(self, scored: list[ScoredMention], positions: dict[str, str]) -> Stored:
        """Store mention by mention, skipping (and logging) those that fail, then the sources'
        positions. A mention the store fails on with an error that is not the database's fault
        (``database_fault``: a bug, in filing it most likely) is stored unfiled, kept to be filed
        later as a filing that fails keeps it. A database fault is retried where it happened."""
        fresh: list[ScoredMention] = []
        unfiled: set[tuple[str, str]] = set()
        failed: set[tuple[str, str]] = set()
        for item in scored:
            try:
                one = await self._run_through_faults(_call(self.store, [item], {}), 1)
            except Exception as error:
                # a bug raising an sqlite3 error (which the desk does not take for a filing
                # failure): stored unfiled if it can be; anything else is the mention's data
                kept = await self._store_unfiled(item, error)
                if kept is None:
                    self.metrics.failed.inc()
                    self.failed += 1
                    failed.add(item.mention.key)
                    continue
                one = kept
            fresh += one.fresh
            unfiled |= one.unfiled
        try:
            await self._run_through_faults(_call(self.store, [], positions), 0)
        except Exception:  # the sources read these mentions again: no worse than a restart
            logger.exception("the sources' positions could not be stored; kept the old ones")
        return Stored(fresh, frozenset(unfiled), frozenset(failed))

    async def _run_through_faults(self, work: Callable[[Database], T], mentions: int) -> T:
        """Run one step of ``_store_each``, retrying a database fault in place (as ``_store``
        retries a batch): going back to the whole batch would store again the mentions already
        committed one by one, count them as duplicates and fail the bad one twice."""
        delay = 0.1
        while True:
            try:
                result = await self.writer.run(work)
            except sqlite3.Error as error:
                if not database_fault(error):
                    raise
                self.storage_error = str(error)
                self._storing.failed(error, f"{mentions} mentions retried in {delay:.1f}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
                continue
            return result

    async def _store_unfiled(self, item: ScoredMention, error: Exception) -> Stored | None:
        """Store a mention the store failed on with an sqlite3 error (not the database's
        fault) without filing it, kept to be filed later (``storage.unfiled``); None when it
        cannot be stored at all. Another error, or one of a store that files nothing
        (``save_noted``), is the mention's own: None at once."""
        key = item.mention.key
        if not isinstance(error, sqlite3.Error) or not self.files:
            logger.error("mention %r/%r cannot be stored; skipped", *key, exc_info=error)
            return None
        logger.error(
            "mention %r/%r could not be stored and filed; storing it unfiled, to file later",
            *key,
            exc_info=error,
        )
        try:
            kept = await self._run_through_faults(
                partial(
                    _keep_unfiled,
                    item=item,
                    error=_said(error),
                    same_link_sources=self.same_link_sources,
                ),
                1,
            )
        except Exception:
            logger.exception("mention %r/%r cannot be stored; skipped", *key)
            return None
        self.kept_unfiled += len(kept.unfiled)
        return kept

    async def _release(self, batch: list[Envelope]) -> None:
        self._waiting -= sum(len(envelope.mentions) for envelope in batch)
        self.metrics.queue_depth.set(self._waiting)
        async with self._room:
            self._room.notify_all()

    def _notify(self, fresh: list[ScoredMention]) -> None:
        for sink in self.sinks:
            try:
                sink(fresh)
            except Exception:
                logger.exception("a mention sink failed; the mentions are stored")


def _said(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _keep_unfiled(
    db: Database, item: ScoredMention, error: str, same_link_sources: frozenset[str]
) -> Stored:
    """Store one mention without filing it; if it is new, keep it to be filed later."""
    with db.atomic():
        stored = save_noted(db, [item], {}, same_link_sources)
        for scored in stored.fresh:
            keep_unfiled(db, scored, error)
    return Stored(stored.fresh, frozenset(scored.mention.key for scored in stored.fresh))


def _receipt(
    envelope: Envelope, group: list[ScoredMention], result: Stored, unclaimed: set[tuple[str, str]]
) -> Receipt:
    """What became of one envelope's mentions (``unclaimed``: new mentions not yet counted)."""
    stored = failed = unfiled = unscored_ = 0
    for item in group:
        key = item.mention.key
        unscored_ += unscored_reason(item) is not None
        if key in unclaimed:
            unclaimed.discard(key)
            stored += 1
            unfiled += key in result.unfiled
        elif key in result.failed:
            failed += 1
    matched = len(group) - unscored_
    return Receipt(len(envelope.mentions), matched, stored, failed, unfiled, unscored_)
