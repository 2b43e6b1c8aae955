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

from sqlite_utils import Database

from bot.metrics import Metrics
from bot.model import Mention, ScoredMention
from bot.sanitize import clean_mention
from bot.workers import Failure, Outcome, Scorer
from storage.mentions import save_batch
from storage.writer import Writer

logger = logging.getLogger(__name__)

Sink = Callable[[Sequence[ScoredMention]], None]
Store = Callable[[Database, list[ScoredMention], dict[str, str]], list[ScoredMention]]


def _one(store: Store, item: ScoredMention) -> Callable[[Database], list[ScoredMention]]:
    return lambda db: store(db, [item], {})


_CLOSED = object()
_MAX_BACKOFF = 5.0


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one envelope once its batch was stored."""

    accepted: int
    matched: int
    stored: int


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
        store: Store = save_batch,
    ) -> None:
        self.scorer = scorer
        self.now = now
        self.writer = writer
        self.metrics = metrics
        self.capacity = capacity
        self.batch_size = batch_size
        self.sinks = tuple(sinks)
        self.on_event_time = on_event_time
        self.store = store
        self.storage_error: str | None = None
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
            fresh = await self._store(scored, positions)
        except BaseException:
            for envelope in batch:
                if envelope.done is not None and not envelope.done.done():
                    envelope.done.set_exception(RuntimeError("not stored: shutting down"))
            raise
        finally:
            await self._release(batch)
        self._notify(fresh)
        unclaimed = {item.mention.key for item in fresh}  # each new mention counts once: for
        # the first envelope carrying it (two identical requests in one batch: one stored it)
        for envelope, group in zip(batch, groups, strict=True):
            stored = 0
            for item in group:
                if item.mention.key in unclaimed:
                    unclaimed.discard(item.mention.key)
                    stored += 1
            if envelope.done is not None and not envelope.done.done():
                envelope.done.set_result(Receipt(len(envelope.mentions), len(group), stored))

    async def _score(self, batch: list[Envelope]) -> list[list[ScoredMention]]:
        """Score every mention of the batch, grouped back by envelope."""
        mentions = [mention for envelope in batch for mention in envelope.mentions]
        if self.on_event_time is not None:
            for mention in mentions:
                self.on_event_time(mention.created_at)
        outcomes = await self.scorer.score(mentions, self.now()) if mentions else []
        groups: list[list[ScoredMention]] = []
        start = 0
        for envelope in batch:
            end = start + len(envelope.mentions)
            groups.append([item for item in outcomes[start:end] if isinstance(item, ScoredMention)])
            start = end
        self._count(batch, outcomes)
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
                logger.error("pipeline failed on %r/%r, skipped: %r", *outcome.key, outcome.error)
                self.metrics.failed.inc()
        for counter, metric in (
            (received, self.metrics.received),
            (sentiments, self.metrics.scored),
            (brands, self.metrics.matched),
        ):
            for label, count in counter.items():
                metric.labels(label).inc(count)

    async def _store(
        self, scored: list[ScoredMention], positions: dict[str, str]
    ) -> list[ScoredMention]:
        """Write the batch; a failing disk or a locked database is retried, never dropped."""
        delay = 0.1
        while True:
            try:
                with self.metrics.store_latency.time():
                    fresh = await self._store_batch(scored, positions)
            except sqlite3.Error as error:
                self.storage_error = str(error)
                logger.error(
                    "storing %d mentions failed (%s); retrying in %.1fs", len(scored), error, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
                continue
            self.storage_error = None
            self.metrics.stored.inc(len(fresh))
            self.metrics.duplicates.inc(len(scored) - len(fresh))
            return fresh

    async def _store_batch(
        self, scored: list[ScoredMention], positions: dict[str, str]
    ) -> list[ScoredMention]:
        """One transaction; if something other than the database fails (a mention that cannot
        be stored), mention by mention so that one bad mention does not stop the others."""
        try:
            return await self.writer.run(lambda db: self.store(db, scored, positions))
        except sqlite3.Error:
            raise
        except Exception:
            logger.exception("storing %d mentions failed; storing them one by one", len(scored))
            return await self._store_each(scored, positions)

    async def _store_each(
        self, scored: list[ScoredMention], positions: dict[str, str]
    ) -> list[ScoredMention]:
        """Store mention by mention, skipping (and logging) those that fail, then the sources'
        positions. A database error goes back to ``_store``'s retry."""
        fresh: list[ScoredMention] = []
        for item in scored:
            try:
                fresh += await self.writer.run(_one(self.store, item))
            except sqlite3.Error:
                raise
            except Exception:
                logger.exception("mention %r/%r cannot be stored; skipped", *item.mention.key)
                self.metrics.failed.inc()
        await self.writer.run(lambda db: self.store(db, [], positions))
        return fresh

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
