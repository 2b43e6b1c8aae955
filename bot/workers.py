"""Where the pure pipeline runs: inline, or in worker processes to use every core.

Language identification and VADER are CPU-bound Python, so threads would not help; the pipeline
has no I/O and its inputs and outputs are plain frozen dataclasses, so processes can share the load.
Each worker builds its own pipeline once (models load in parallel), then scores chunks of a batch.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any, Protocol

from bot.model import Brand, Mention, ScoredMention, Verdict
from bot.pipeline import Pipeline

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Failure:
    """The pipeline raised on one mention; the others of its batch go on."""

    error: str
    key: tuple[str, str] = ("", "")


Outcome = ScoredMention | Failure | None  # None: not about any brand
Task = tuple[str, str]  # text, language declared by the source


def judge_all(pipeline: Pipeline, tasks: Sequence[Task]) -> list[Verdict | Failure | None]:
    """One bad mention never stops the stream: its failure is reported in its place."""
    return [
        Failure(f"{type(outcome).__name__}: {outcome}")
        if isinstance(outcome, Exception)
        else outcome
        for outcome in pipeline.judge_many(tasks)
    ]


def _outcomes(
    mentions: Sequence[Mention], verdicts: Sequence[Verdict | Failure | None], now: datetime
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for mention, verdict in zip(mentions, verdicts, strict=True):
        if isinstance(verdict, Verdict):
            outcomes.append(ScoredMention.of(mention, verdict, now))
        elif isinstance(verdict, Failure):
            outcomes.append(Failure(verdict.error, mention.key))
        else:
            outcomes.append(None)
    return outcomes


def _tasks(mentions: Sequence[Mention]) -> list[Task]:
    return [(mention.text, mention.language) for mention in mentions]


class Scorer(Protocol):
    parallelism: int

    async def score(self, mentions: Sequence[Mention], now: datetime) -> list[Outcome]: ...

    def stopping(self) -> None: ...

    def close(self) -> None: ...


class InlineScorer:
    """Scores in the event loop's thread: no start-up cost, one core."""

    parallelism = 1

    def __init__(self, brands: Sequence[Brand]) -> None:
        self.pipeline = Pipeline.for_brands(brands)

    async def score(self, mentions: Sequence[Mention], now: datetime) -> list[Outcome]:
        return _outcomes(mentions, judge_all(self.pipeline, _tasks(mentions)), now)

    def stopping(self) -> None:
        pass

    def close(self) -> None:
        pass


_worker_pipeline: Pipeline | None = None
_PARENT_CHECK_SECONDS = 0.5
STOP_GRACE_SECONDS = 0.2
"""How long a broken pool waits for the service's own stop signal before it is taken for a
worker dying (a signal to the whole group reaches the workers and the service at once)."""


WRITE_GRACE_SECONDS = 2.0
"""How long a worker signalled to stop while it sends a result may take to finish sending."""


class _WriteGuard:
    """Stands in for the result queue's write lock in a worker, so a SIGTERM never stops the
    worker in the middle of a result: CPython's process pool reads results from one pipe that
    every worker writes and the pool itself keeps open, so half a message is never followed by
    an end of file, and the pool's reader waits for the rest for ever (its futures never fail,
    the service's drain waits, and its stop hangs). A signal between results stops the worker
    at once, as the default action did; one during a write stops it as the write ends."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.writing = False
        self.stop_after: int | None = None

    def __enter__(self) -> bool:
        entered = bool(self.lock.__enter__())
        self.writing = True
        return entered

    def __exit__(self, *exc: object) -> None:
        self.writing = False
        self.lock.__exit__(*exc)
        if self.stop_after is not None:
            _die_of(self.stop_after)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.writing:
            _die_of(signum)
        elif self.stop_after is None:
            self.stop_after = signum
            # a write still going after this is blocked on a pool that has stopped reading
            # (a broken pool terminates its survivors, then joins them): do not wait for it
            stuck = threading.Timer(WRITE_GRACE_SECONDS, os.kill, (os.getpid(), signal.SIGKILL))
            stuck.daemon = True
            stuck.start()


_write_guard: _WriteGuard | None = None


def _die_of(signum: int) -> None:
    """End this process as the signal's default action would (the pool sees a worker killed)."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _guard_result_writes() -> bool:
    """Put a :class:`_WriteGuard` on the result queue of the process pool running this worker
    (found on the stack: the initializer is called by the pool's worker loop, which holds it).
    False, and the default SIGTERM kept, on a Python whose pool is not laid out so."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "_process_worker":
        frame = frame.f_back  # type: ignore[assignment]
    queue = frame.f_locals.get("result_queue") if frame is not None else None
    lock = getattr(queue, "_wlock", None)
    if lock is None:
        return False
    global _write_guard
    _write_guard = guard = _WriteGuard(lock)
    queue._wlock = guard  # type: ignore[union-attr]
    signal.signal(signal.SIGTERM, guard.on_signal)
    return True


def _start_worker(brands: tuple[Brand, ...], parent: int) -> None:
    global _worker_pipeline
    # Ctrl-C reaches the whole process group: the parent stops the pool, a worker that took
    # the interrupt itself would only print a KeyboardInterrupt traceback on its way out
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not _guard_result_writes():
        logger.warning("scoring worker: unknown process pool layout; a SIGTERM may hang a stop")
    # Watch first: the parent may die while the models load, and then getppid() is already init.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker_pipeline = Pipeline.for_brands(brands)


def _exit_with_parent(parent: int) -> None:
    """A parent killed with SIGKILL cannot stop its workers; they notice and stop themselves."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _judge_in_worker(tasks: Sequence[Task]) -> list[Verdict | Failure | None]:
    assert _worker_pipeline is not None, "worker not initialised"
    return judge_all(_worker_pipeline, tasks)


def _start_ignoring_ctrl_c(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now with Ctrl-C blocked in this thread: a process inherits the mask
    through exec, so a worker never sees the Ctrl-C the whole process group gets while it is
    still importing (before its initializer ignores it: a KeyboardInterrupt traceback and a false
    "worker died"). Here a Ctrl-C meanwhile waits, blocked, and is taken when this ends."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for _ in range(workers):  # each submit with no idle worker starts one more (spawn)
            pool.submit(int)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


MAX_RESTARTS = 3
RESTART_WINDOW = 600.0
"""Worker pools started again within this many seconds before scoring goes in-process for good
(workers that keep dying, e.g. under a memory limit too small for their models)."""


class PoolScorer:
    """Splits each batch across worker processes. A worker that dies (killed by the system for
    memory, or crashed by a text in native code) takes its pool with it: the pool is started
    again and the batch scored again; if the workers die again on the same batch, its mentions
    are scored one at a time in a pool of their own, and one a worker dies on is a
    :class:`Failure` (stored unscored), so one text can neither stop the stream nor cost
    another batch's mentions. Pools that keep dying (``MAX_RESTARTS`` in ``RESTART_WINDOW``)
    leave scoring in-process, as on one core."""

    work = staticmethod(_judge_in_worker)  # what a worker runs on a chunk (importable by name)

    def __init__(self, brands: Sequence[Brand], workers: int) -> None:
        self.brands = tuple(brands)
        self.parallelism = workers
        self.restarts = 0  # pools started again since the start (a worker died)
        self._restarted_at: list[float] = []
        self._restarting = asyncio.Lock()
        self._inline: InlineScorer | None = None
        self._loading: asyncio.Future[InlineScorer] | None = None
        self._stopping = False
        self._pool = self._start(workers)

    def stopping(self) -> None:
        """The service is stopping on SIGINT or SIGTERM. A signal to the whole process group
        (systemd's KillMode=control-group, ``timeout``, kill -TERM -PGID) stops the workers
        too: from now on a broken pool is no worker dying to report. The pool is still started
        again to score what is left (the queue's drain): loading the models in this process
        instead, and joining the broken pool at close, hung a shutdown under load."""
        self._stopping = True

    def _start(self, workers: int) -> ProcessPoolExecutor:
        # spawn, not fork: the parent has threads (the SQLite writer) that fork would copy badly
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.brands, os.getpid()),
        )
        _start_ignoring_ctrl_c(pool, workers)
        return pool

    async def score(self, mentions: Sequence[Mention], now: datetime) -> list[Outcome]:
        if self._inline is not None:
            return await self._inline.score(mentions, now)
        tasks = _tasks(mentions)
        pool = self._pool
        try:
            verdicts = await self._judge(pool, tasks)
        except BrokenProcessPool:
            if not self._stopping:  # a signal to the whole group may be on its way to us too
                await asyncio.sleep(STOP_GRACE_SECONDS)
            if self._stopping:
                logger.info("the scoring workers stopped with the service; starting them again")
            else:
                logger.error("a pipeline worker process died; starting the workers again")
            if not await self._restart(pool):
                return await self.score(mentions, now)
            pool = self._pool
            try:
                verdicts = await self._judge(pool, tasks)
            except BrokenProcessPool:
                logger.error("the workers died again on the same batch; scoring it one by one")
                if not await self._restart(pool):  # for the other batches
                    return await self.score(mentions, now)
                verdicts = await self._one_by_one(tasks)
        return _outcomes(mentions, verdicts, now)

    async def _judge(
        self, pool: ProcessPoolExecutor, tasks: Sequence[Task]
    ) -> list[Verdict | Failure | None]:
        loop = asyncio.get_running_loop()
        size = -(-len(tasks) // self.parallelism) or 1
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, self.work, chunk) for chunk in chunks)
        )
        return [verdict for result in results for verdict in result]

    async def _one_by_one(self, tasks: Sequence[Task]) -> list[Verdict | Failure | None]:
        """Each task alone in a one-worker pool of this batch's own (another batch's text
        killing the shared pool meanwhile is not blamed on one of these)."""
        loop = asyncio.get_running_loop()
        verdicts: list[Verdict | Failure | None] = []
        apart = await asyncio.to_thread(self._start, 1)
        deaths = 0
        try:
            for task in tasks:
                if deaths >= MAX_RESTARTS:  # every text kills it: not one text's fault
                    await self._go_inline()
                    assert self._inline is not None
                    verdicts += judge_all(self._inline.pipeline, [task])
                    continue
                try:
                    [verdict] = await loop.run_in_executor(apart, self.work, [task])
                except BrokenProcessPool:
                    deaths += 1
                    verdict = Failure("a pipeline worker process died scoring it")
                    apart.shutdown(wait=False, cancel_futures=True)
                    apart = await asyncio.to_thread(self._start, 1)
                verdicts.append(verdict)
        finally:
            apart.shutdown(wait=False, cancel_futures=True)
        return verdicts

    async def _restart(self, broken: ProcessPoolExecutor) -> bool:
        """A new pool in place of ``broken`` (replaced once, however many batches found it
        broken); False when scoring has gone in-process instead."""
        async with self._restarting:
            if self._pool is broken and self._inline is None:
                now = time.monotonic()
                self._restarted_at = [t for t in self._restarted_at if now - t < RESTART_WINDOW]
                if len(self._restarted_at) >= MAX_RESTARTS:
                    await self._go_inline()
                    return False
                self._restarted_at.append(now)
                self.restarts += 1
                try:
                    self._pool = await asyncio.to_thread(self._start, self.parallelism)
                except Exception:
                    logger.exception("the workers could not be started again")
                    await self._go_inline()
                    return False
                await asyncio.to_thread(broken.shutdown, wait=False, cancel_futures=True)
            return self._inline is None

    async def _go_inline(self) -> None:
        """Score in-process from now on; the models load in a thread (a second), once."""
        if self._inline is not None:
            return
        if self._loading is None:
            logger.error("pipeline workers keep dying; scoring in-process from now on")
            self._loading = asyncio.ensure_future(asyncio.to_thread(InlineScorer, self.brands))
        inline = await asyncio.shield(self._loading)
        if self._inline is None:
            self._inline = inline
            self._pool.shutdown(wait=False)  # what other batches sent it still completes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
