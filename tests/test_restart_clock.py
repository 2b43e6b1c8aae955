"""The deliverer when the wall clock is set back (NTP, an operator) and when a shutdown's flush
has a deadline: no channel stalls for the hour the clock lost, no retry waits longer than it
was told, and ``flush(within)`` returns in time whatever round is under way.

Bounds such as ``wait_for(..., 20)`` are there so that the old behaviour (waits of an hour)
fails instead of hanging; what passes takes well under a second."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.delivery import Deliverer, DeliveryError
from bot.incidents.model import Intent
from storage.writer import Writer
from tests.test_delivery import OPEN, FakeClock, Recorder, intent, put, states

HOUR = 3600.0
NEVER = 20.0  # far beyond what the fixed code takes, far below the old waits of an hour


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


@pytest.mark.parametrize("monotonic", ["real", "set back too"])
async def test_a_wall_clock_set_back_does_not_stall_a_paced_channel(
    writer: Writer, monotonic: str
) -> None:
    wall = FakeClock()
    platform = Recorder()
    # "set back too": even a clock that goes backwards never makes a pause longer than the pace
    clocks = {"monotonic": wall} if monotonic == "set back too" else {}
    deliverer = Deliverer(
        writer, {"fake": platform}, pace_seconds={"fake": 0.05}, wall=wall, **clocks
    )
    await put(writer, intent("a"))
    assert await deliverer.deliver_due() is None

    wall.now -= HOUR
    await put(writer, intent("b"))
    for _ in range(100):  # a round never waits for the pace: it says when the channel may send
        due = await asyncio.wait_for(deliverer.deliver_due(), NEVER)
        if due is None:
            break
        assert due - wall.now <= 0.05 + 1e-6  # the pace at most, never the hour
        await asyncio.sleep(due - wall.now)
        wall.now = due

    assert platform.sent_keys() == ["a", "b"]


async def test_a_retry_waits_its_backoff_not_the_hour_the_clock_was_set_back(
    writer: Writer,
) -> None:
    wall, monotonic = FakeClock(), FakeClock(1000.0)
    platform = Recorder()
    platform.errors["k"] = [DeliveryError("busy")]
    await put(writer, intent("k", OPEN))
    deliverer = Deliverer(writer, {"fake": platform}, wall=wall, monotonic=monotonic)
    assert await deliverer.deliver_due() == wall.now + 1  # first backoff: 1 s

    wall.now -= HOUR
    assert await deliverer.deliver_due() == wall.now + 1  # still 1 s away, not 3601 s
    assert platform.calls == ["k"]
    wall.now += 1
    monotonic.now += 1
    assert await deliverer.deliver_due() is None
    assert platform.sent_keys() == ["k"]


async def test_after_a_restart_a_retry_waits_max_backoff_at_most(writer: Writer) -> None:
    """The clock set back while Vigie was stopped: what the stored time says cannot be
    trusted beyond the longest backoff."""
    wall = FakeClock()
    platform = Recorder()
    platform.errors["k"] = [DeliveryError("busy")]
    await put(writer, intent("k", OPEN))
    first = Deliverer(writer, {"fake": platform}, max_backoff_seconds=60, wall=wall)
    assert await first.deliver_due() == wall.now + 1

    wall.now -= HOUR
    monotonic = FakeClock(5000.0)  # a new process
    restarted = Deliverer(
        writer, {"fake": platform}, max_backoff_seconds=60, wall=wall, monotonic=monotonic
    )
    assert await restarted.deliver_due() == wall.now + 60
    wall.now += 30
    monotonic.now += 30
    assert await restarted.deliver_due() == wall.now + 30  # the same moment: no moving target
    wall.now += 30
    monotonic.now += 30
    assert await restarted.deliver_due() is None
    assert platform.sent_keys() == ["k"]


class Stuck(Recorder):
    """A platform whose delivery of ``stuck`` does not answer until told to."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()
        self.asked = asyncio.Event()

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        if intent.key == "stuck":
            self.calls.append(intent.key)
            self.asked.set()
            await self.answer.wait()
            self.delivered.append((intent.key, card_ref))
            return "ref-stuck"
        return await super().deliver(intent, card_ref)


async def test_flush_keeps_its_deadline_while_another_round_is_stuck(writer: Writer) -> None:
    platform = Stuck()
    await put(writer, intent("stuck", OPEN, channel="#a"), intent("next", channel="#a"))
    deliverer = Deliverer(writer, {"fake": platform})
    loop_round = asyncio.create_task(deliverer.deliver_due())  # the run loop's round
    try:
        await asyncio.wait_for(platform.asked.wait(), NEVER)

        # the shutdown's flush: the round holds the lock and the platform does not answer
        left = await asyncio.wait_for(deliverer.flush(0.2), NEVER)

        assert left == 2  # 'stuck' may have gone out (sending), 'next' waits behind it
        assert await states(writer) == {"stuck": "sending", "next": "pending"}
    finally:
        platform.answer.set()
        await asyncio.wait_for(loop_round, NEVER)
    assert platform.sent_keys() == ["stuck", "next"]  # the round itself went on afterwards


async def test_flush_does_not_pace_past_its_deadline(writer: Writer) -> None:
    """A slow pace, a backlog, a flush of 2 s: the flush sends what fits and leaves the rest
    pending for the next start, rather than pacing on past its deadline."""
    platform = Recorder()
    await put(writer, intent("1"), intent("2"), intent("3"))
    deliverer = Deliverer(writer, {"fake": platform}, pace_seconds={"fake": 60.0})

    left = await asyncio.wait_for(deliverer.flush(2.0), NEVER)

    assert left == 2
    assert platform.sent_keys() == ["1"]
    # not 'sending': they were never handed to the platform, so no lookup is needed later
    assert await states(writer) == {"1": "sent", "2": "pending", "3": "pending"}
