"""Scoring in worker processes: the same outcomes as in-process, and a worker that dies (killed
for memory, or crashed by a text in native code) costs neither a mention nor the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.model import Brand, Mention, ScoredMention, Verdict
from bot.workers import Failure, InlineScorer, PoolScorer, Task, _judge_in_worker

BRANDS = [Brand(name="Kestrel", slug="kestrel")]
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def mentions(*texts: str) -> list[Mention]:
    return [Mention("test", f"m{n}", text, NOW) for n, text in enumerate(texts)]


def dying(tasks: Sequence[Task]) -> list[Verdict | Failure | None]:
    """A worker that cannot live here (a memory limit too small for its models)."""
    os._exit(1)


class Doomed(PoolScorer):
    work = staticmethod(dying)


def killing(tasks: Sequence[Task]) -> list[Verdict | Failure | None]:
    """A worker that dies (as in native code) on a text holding POISON."""
    if any("POISON" in text for text, _ in tasks):
        os._exit(1)
    return _judge_in_worker(tasks)


def kill_workers(pool: PoolScorer) -> None:
    for process in list(pool._pool._processes.values()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.join()


class Poisoned(PoolScorer):
    work = staticmethod(killing)


@pytest.fixture
def texts() -> list[str]:
    return [
        "Kestrel cancelled my flight again, awful",
        "Kestrel is great today",
        "nothing about any brand",
        "Kestrel lost my bag, still waiting",
    ]


async def test_workers_score_as_the_process_itself_does(texts: list[str]) -> None:
    pool = PoolScorer(BRANDS, 2)
    try:
        pooled = await pool.score(mentions(*texts), NOW)
    finally:
        pool.close()
    inline = await InlineScorer(BRANDS).score(mentions(*texts), NOW)
    assert pooled == inline
    assert isinstance(pooled[0], ScoredMention)
    assert pooled[2] is None


async def test_a_killed_worker_is_replaced_and_nothing_is_lost(texts: list[str]) -> None:
    pool = PoolScorer(BRANDS, 2)
    try:
        await pool.score(mentions(*texts), NOW)
        kill_workers(pool)  # the system kills them
        again = await pool.score(mentions(*texts), NOW)
        later = await pool.score(mentions(*texts), NOW)
    finally:
        pool.close()
    assert pool.restarts == 1
    assert again == later == await InlineScorer(BRANDS).score(mentions(*texts), NOW)


async def test_a_text_that_kills_its_worker_fails_alone(texts: list[str]) -> None:
    pool = Poisoned(BRANDS, 1)
    try:
        scored = await pool.score(mentions(texts[0], "Kestrel POISON", texts[3]), NOW)
        after = await pool.score(mentions(*texts), NOW)
    finally:
        pool.close()
    assert isinstance(scored[0], ScoredMention)
    assert isinstance(scored[2], ScoredMention)
    assert scored[1] == Failure("a pipeline worker process died scoring it", ("test", "m1"))
    assert after == await InlineScorer(BRANDS).score(mentions(*texts), NOW)
    assert pool.restarts == 2  # for the batch again, then for the other batches
    # (the poison was scored alone in a pool of its own)


async def test_workers_that_keep_dying_leave_scoring_in_process(texts: list[str]) -> None:
    pool = Doomed(BRANDS, 2)
    try:
        first = await pool.score(mentions(*texts), NOW)
        second = await pool.score(mentions(*texts), NOW)
    finally:
        pool.close()
    inline = await InlineScorer(BRANDS).score(mentions(*texts), NOW)
    assert second == inline  # scored in-process, nothing unscored for the workers' sake
    assert sum(isinstance(o, Failure) for o in first) <= 3  # only until it is clear
    assert pool.restarts <= 3


async def test_batches_in_flight_start_one_new_pool(texts: list[str]) -> None:
    pool = PoolScorer(BRANDS, 2)
    try:
        await pool.score(mentions(*texts), NOW)
        kill_workers(pool)
        both = await asyncio.gather(
            pool.score(mentions(*texts), NOW), pool.score(mentions(*texts[:2]), NOW)
        )
    finally:
        pool.close()
    assert pool.restarts == 1
    assert both[0] == await InlineScorer(BRANDS).score(mentions(*texts), NOW)


async def test_workers_signalled_with_the_service_are_no_failure_to_report(
    texts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """systemd (KillMode=control-group), `timeout` and kill -TERM -PGID signal every process:
    once the service is stopping, workers dying is no error to report; the pool is started
    again to score the queue's drain, and nothing is lost. (Workers keep the default SIGTERM:
    a broken pool's survivors are stopped with it, and one that ignored it could hang.)"""
    pool = PoolScorer(BRANDS, 2)
    try:
        await pool.score(mentions(*texts), NOW)
        workers = list(pool._pool._processes.values())
        pool.stopping()
        for process in workers:
            os.kill(process.pid, signal.SIGTERM)
        with caplog.at_level(logging.INFO, logger="bot.workers"):
            scored = await pool.score(mentions(*texts), NOW)
    finally:
        pool.close()
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert any("stopped with the service" in r.getMessage() for r in caplog.records)
    assert scored == await InlineScorer(BRANDS).score(mentions(*texts), NOW)
