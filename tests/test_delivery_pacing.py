"""Per-channel pacing never holds another channel: a round sends what each channel may send
now and ends, reporting when a paced channel may send again (clocks injected: no real waits)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.delivery import Deliverer
from bot.incidents.model import Intent, IntentKind
from storage.writer import Writer
from tests.test_delivery import FakeClock, Recorder, intent, put, rows


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


PACE = 1000.0  # on the injected clocks: a round that waited for it would never end


async def test_a_paced_backlog_does_not_hold_a_card_for_another_channel(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    await put(writer, *(intent(f"a{n}", channel="#social-care", incident=n) for n in range(5)))
    await put(writer, intent("crisis", IntentKind.OPEN, channel="#comms-crisis", incident=99))
    deliverer = Deliverer(
        writer, {"fake": platform}, pace_seconds={"fake": PACE}, wall=clock, monotonic=clock
    )

    due = await asyncio.wait_for(deliverer.deliver_due(), 60)  # it waited PACE seconds before

    assert sorted(platform.sent_keys()) == ["a0", "crisis"]
    assert due == clock.now + PACE  # when #social-care may take its next message


async def test_pacing_still_spaces_one_channel_in_order(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    await put(writer, *(intent(f"a{n}", channel="#social-care", incident=n) for n in range(3)))
    deliverer = Deliverer(
        writer, {"fake": platform}, pace_seconds={"fake": PACE}, wall=clock, monotonic=clock
    )
    sent_per_round = []
    while (due := await deliverer.deliver_due()) is not None:
        sent_per_round.append(list(platform.sent_keys()))
        assert due == clock.now + PACE  # early rounds send nothing more
        assert await deliverer.deliver_due() == due
        clock.now = due

    assert sent_per_round == [["a0"], ["a0", "a1"]]
    assert platform.sent_keys() == ["a0", "a1", "a2"]
    assert {row["state"] for row in (await rows(writer)).values()} == {"sent"}


class Signalling(Recorder):
    """A recorder that says when a delivery went out."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = asyncio.Event()

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        posted = await super().deliver(intent, card_ref)
        self.sent.set()
        return posted


async def test_the_run_loop_sends_a_new_card_before_a_paced_backlog_goes_on(
    writer: Writer,
) -> None:
    """Through ``run``, on real clocks with a long pace: the new card for an empty channel goes
    out while the busy channel still waits (order, not durations, is checked)."""
    platform = Signalling()
    await put(writer, *(intent(f"a{n}", channel="#social-care", incident=n) for n in range(5)))
    deliverer = Deliverer(writer, {"fake": platform}, pace_seconds={"fake": 3600.0})
    task = asyncio.create_task(deliverer.run())
    try:
        await asyncio.wait_for(platform.sent.wait(), 60)
        platform.sent.clear()
        await put(writer, intent("crisis", IntentKind.OPEN, channel="#comms-crisis", incident=99))
        deliverer.wake()
        await asyncio.wait_for(platform.sent.wait(), 60)  # it waited for the pace before
    finally:
        task.cancel()
    assert platform.sent_keys() == ["a0", "crisis"]


async def test_a_flush_deadline_stops_a_paced_channel(writer: Writer) -> None:
    platform = Recorder()
    await put(writer, *(intent(f"a{n}", channel="#social-care", incident=n) for n in range(3)))
    deliverer = Deliverer(writer, {"fake": platform}, pace_seconds={"fake": 3600.0})

    left = await asyncio.wait_for(deliverer.flush(0.2), 60)

    assert left == 2
    assert platform.sent_keys() == ["a0"]


async def test_an_item_to_look_up_in_a_waiting_channel_is_looked_up_once(writer: Writer) -> None:
    """A card caught mid-delivery must be looked up (Slack's history: one call a minute) before
    it is sent again; while its channel waits for its pace, the rounds do not ask each time."""
    from bot.incidents.model import IntentKind as Kind
    from storage.outbox import mark_sending

    clock = FakeClock()
    platform = Recorder()
    await put(writer, intent("a0", channel="#social-care", incident=1))
    await put(writer, intent("a1", Kind.UPDATE, channel="#social-care", incident=2))
    row = (await rows(writer))["a1"]
    await writer.run(lambda db: mark_sending(db, row["id"]))  # a crash left it 'sending'
    deliverer = Deliverer(
        writer, {"fake": platform}, pace_seconds={"fake": PACE}, wall=clock, monotonic=clock
    )
    due = await deliverer.deliver_due()
    for _ in range(3):  # rounds while #social-care waits (woken by other channels' news)
        assert await deliverer.deliver_due() == due
    assert platform.finds == []
    clock.now = due or clock.now
    await deliverer.deliver_due()
    assert platform.finds == ["a1"]
    assert platform.sent_keys() == ["a0", "a1"]
