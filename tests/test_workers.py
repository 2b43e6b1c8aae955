"""Scoring in worker processes: the same outcomes as in-process, and a worker that dies (killed
for memory, or crashed by a text in native code) costs neither a mention nor the service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import bot.workers
from bot.model import Brand, Mention, ScoredMention, Verdict
from bot.workers import Failure, InlineScorer, PoolScorer, Task, _judge_in_worker

ROOT = Path(__file__).resolve().parent.parent
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
    again to score the queue's drain, and nothing is lost. (Workers stop on SIGTERM as by
    default, only never in the middle of a result: a broken pool's survivors are stopped with
    it, and one that ignored it could hang.)"""
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


PAYLOAD = "x" * 8_000_000  # far more than a pipe holds: sending it takes many writes


def signalled_while_sending(tasks: Sequence[Task]) -> list[str]:
    """Returns a large result and has this worker signalled (as systemd or `timeout` would)
    while it is in the middle of sending it to the pool."""
    guard = bot.workers._write_guard
    assert guard is not None, "the worker's result writes are not guarded"

    def signal_mid_write() -> None:
        while not guard.writing:
            time.sleep(0.0001)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=signal_mid_write, daemon=True).start()
    return [PAYLOAD]


def send_when_signalled() -> None:
    """Run in a process of its own by the test below (a hang must not hang pytest)."""
    pool = PoolScorer(BRANDS, 1)
    [worker] = pool._pool._processes.values()
    future = pool._pool.submit(signalled_while_sending, [])
    result = future.result(timeout=30)  # a cut message never completes: this times out
    worker.join(timeout=30)
    pool.close()
    print(json.dumps({"complete": result == [PAYLOAD], "exitcode": worker.exitcode}))


def test_a_worker_signalled_while_it_sends_a_result_finishes_sending_then_stops() -> None:
    """The stop hang under load: a worker killed in the middle of a result left half a message
    in the pool's result pipe, and the pool waited for the rest for ever (no error, no result;
    the service's drain, then its stop, hung). The result now arrives whole, then the worker
    stops of that signal."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from tests.test_workers import *; send_when_signalled()"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the pool waited for ever for the rest of the result\n{stderr}")
    assert process.returncode == 0, stderr
    assert json.loads(stdout) == {"complete": True, "exitcode": -signal.SIGTERM}


def hold_a_write(lock: Any, writer: Any, started: Any) -> None:
    """A worker whose reader has stopped reading: its write blocks for good."""
    guard = bot.workers._WriteGuard(lock)
    signal.signal(signal.SIGTERM, guard.on_signal)
    with guard:
        started.set()
        writer.send_bytes(b"x" * 8_000_000)


def idle(started: Any) -> None:
    guard = bot.workers._WriteGuard(multiprocessing.get_context("spawn").Lock())
    signal.signal(signal.SIGTERM, guard.on_signal)
    started.set()
    time.sleep(60)


def test_a_write_that_cannot_end_does_not_keep_a_signalled_worker_alive() -> None:
    """A broken pool terminates its survivors without reading their results, then joins
    them: a worker whose write is blocked stops anyway, shortly after the signal."""
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    started, lock = context.Event(), context.Lock()  # kept: start() lets go of the arguments
    process = context.Process(target=hold_a_write, args=(lock, writer, started))
    process.start()
    try:
        assert started.wait(30)
        time.sleep(0.2)  # in the write, blocked on the full pipe
        process.terminate()
        process.join(timeout=bot.workers.WRITE_GRACE_SECONDS + 20)
    finally:
        process.kill()
        reader.close()
    assert process.exitcode == -signal.SIGKILL


def test_a_signalled_worker_between_results_stops_at_once_as_by_default() -> None:
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    process = context.Process(target=idle, args=(started,))
    process.start()
    try:
        assert started.wait(30)
        process.terminate()
        process.join(timeout=20)
    finally:
        process.kill()
    assert process.exitcode == -signal.SIGTERM
