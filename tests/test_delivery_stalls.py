"""A slow or hung platform call holds its own channel only, is given up on after a time limit
(as an unclear answer: it may have gone out), and shows as the age of the oldest item due."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import pytest

from bot.delivery import Deliverer, DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.file_output import FilePlatform
from storage.outbox import OutboxItem, mark_sending
from storage.writer import Writer
from tests.conftest import wait_for
from tests.test_delivery import FakeClock, Recorder, intent, put, rows

NEVER = 60.0  # a generous bound: these tests check order and outcome, not durations


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


class Hung(Recorder):
    """A platform whose deliveries to ``#slow`` do not answer until told to."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()
        self.asked = asyncio.Event()
        self.fast_done = asyncio.Event()

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        if intent.channel == "#slow":
            self.calls.append(intent.key)
            self.asked.set()
            await self.answer.wait()
            self.delivered.append((intent.key, card_ref))
            return f"ref-{intent.key}"
        posted = await super().deliver(intent, card_ref)
        if len(self.sent_keys()) == 3:
            self.fast_done.set()
        return posted


async def test_a_hung_channel_does_not_hold_a_paced_channel_in_the_run_loop(
    writer: Writer,
) -> None:
    """The review's slow channel: each round waited for every channel, so a paced channel sent
    one message per round of the slow one. Now its whole backlog goes out meanwhile."""
    platform = Hung()
    await put(writer, intent("s0", channel="#slow", incident=9), intent("s1", channel="#slow"))
    await put(writer, *(intent(f"f{n}", channel="#fast", incident=n) for n in range(3)))
    deliverer = Deliverer(writer, {"fake": platform}, pace_seconds={"fake": 0.01})
    task = asyncio.create_task(deliverer.run())
    try:
        await asyncio.wait_for(platform.asked.wait(), NEVER)
        await asyncio.wait_for(platform.fast_done.wait(), NEVER)  # while #slow still hangs
        assert platform.sent_keys() == ["f0", "f1", "f2"]
        assert platform.calls.count("s1") == 0  # the hung channel keeps its own order
        platform.answer.set()
        for _ in range(int(NEVER * 20)):
            if len(platform.sent_keys()) == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert platform.sent_keys()[3:] == ["s0", "s1"]
    assert {row["state"] for row in (await rows(writer)).values()} == {"sent"}


async def test_a_delivery_past_its_time_limit_may_have_gone_out(writer: Writer) -> None:
    """A call that never answers is given up on; its item is looked up before the next
    attempt (it may be out), which here finds it: it is not posted twice."""
    clock = FakeClock()
    platform = Hung()
    platform.found["s0"] = "ref-found"
    await put(writer, intent("s0", channel="#slow"), intent("next", channel="#slow", incident=2))
    deliverer = Deliverer(
        writer, {"fake": platform}, wall=clock, monotonic=clock, call_seconds=0.05
    )

    due = await asyncio.wait_for(deliverer.deliver_due(), NEVER)

    outbox = await rows(writer)
    assert outbox["s0"]["state"] == "sending"
    assert outbox["s0"]["attempts"] == 1
    assert "no answer within 0.05 s (it may have gone out)" in outbox["s0"]["last_error"]
    assert "no answer" in deliverer.errors["fake"]
    assert outbox["next"]["state"] == "pending"  # in order, behind it
    clock.now = due or clock.now
    platform.answer.set()
    await asyncio.wait_for(deliverer.deliver_due(), NEVER)
    assert platform.finds == ["s0"]
    assert platform.calls == ["s0", "next"]
    outbox = await rows(writer)
    assert outbox["s0"]["state"] == "sent"
    assert outbox["s0"]["ref"] == "ref-found"


class HungFind(Recorder):
    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        self.finds.append(intent.key)
        await asyncio.Event().wait()
        return None


async def test_a_look_up_past_its_time_limit_is_no_attempt(writer: Writer) -> None:
    platform = HungFind()
    await put(writer, intent("a", IntentKind.OPEN))
    row = (await rows(writer))["a"]
    await writer.run(lambda db: mark_sending(db, row["id"]))  # a crash left it 'sending'
    deliverer = Deliverer(writer, {"fake": platform}, call_seconds=0.05)

    assert await asyncio.wait_for(deliverer.deliver_due(), NEVER) is not None

    outbox = await rows(writer)
    assert outbox["a"]["state"] == "sending"
    assert outbox["a"]["attempts"] == 1
    assert "no answer within 0.05 s (whether it has it)" in outbox["a"]["last_error"]
    assert platform.calls == []


async def test_a_stuck_delivery_shows_as_the_age_of_the_oldest_item_due(writer: Writer) -> None:
    clock = FakeClock()
    platform = Hung()
    await put(writer, intent("s0", channel="#slow"), intent("s1", channel="#slow", incident=2))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)
    assert deliverer.oldest_due_seconds() == 0.0
    round_ = asyncio.create_task(deliverer.deliver_due())
    try:
        await asyncio.wait_for(platform.asked.wait(), NEVER)
        clock.now += 120
        assert deliverer.oldest_due_seconds() == 120.0
        exposition = deliverer.metrics.exposition().decode()
        assert "vigie_outbox_oldest_due_seconds 120.0" in exposition
    finally:
        platform.answer.set()
        await asyncio.wait_for(round_, NEVER)
    assert platform.sent_keys() == ["s0", "s1"]
    assert deliverer.oldest_due_seconds() == 0.0


class StrayCancel(Recorder):
    """A platform that lets a CancelledError of its own out (a shared future another waiter
    cancelled), though nobody cancelled the delivery."""

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.calls.append(intent.key)
        raise asyncio.CancelledError()


async def test_a_platform_s_stray_cancellation_pauses_its_channel(writer: Writer) -> None:
    """It used to end the channel's task with no hold and wake the loop: thousands of tries a
    second, no backoff, no attempt limit."""
    platform = StrayCancel()
    await put(writer, intent("A", IntentKind.OPEN))
    deliverer = Deliverer(writer, {"fake": platform}, max_attempts=3)
    task = asyncio.create_task(deliverer.run())
    try:
        await wait_for(lambda: bool(platform.calls), NEVER)
        await asyncio.sleep(0.5)
        assert len(platform.calls) == 1  # paused CHANNEL_PAUSE_SECONDS, not tried again at once
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Down(Recorder):
    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.calls.append(intent.key)
        raise DeliveryError("503 service unavailable")


async def test_the_oldest_due_age_grows_through_an_outage(writer: Writer) -> None:
    """An item failing for hours is due again after each backoff: its age counts from the
    first round that saw it due, not from its last retry (an alert on it would never fire)."""
    clock = FakeClock()
    await put(writer, intent("A", IntentKind.OPEN))
    deliverer = Deliverer(writer, {"fake": Down()}, wall=clock, monotonic=clock)
    start = clock.now
    for _ in range(12):
        due = await deliverer.deliver_due()
        assert due is not None
        while clock.now < due:  # the run loop's rounds meanwhile
            clock.now = min(due, clock.now + 30)
            await deliverer.deliver_due()
    assert deliverer.oldest_due_seconds() >= clock.now - start - 1
    assert clock.now - start > 600


class Gate(Recorder):
    """Holds the first delivery of ``A`` until told to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.asked = asyncio.Event()

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.calls.append(intent.key)
        if intent.key == "A" and len(self.calls) == 1:
            self.asked.set()
            await self.release.wait()
        self.delivered.append((intent.key, card_ref))
        return f"ref-{intent.key}"


class AnswersDuringTheRound:
    """A settler that lets the platform answer ``A`` while the round records ``pub1``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, answer: asyncio.Event) -> None:
        self.loop, self.answer = loop, answer
        self.settled: list[str] = []

    def settle(self, db: object, item: OutboxItem, ref: str | None, error: str) -> None:
        self.settled.append(item.intent.key)
        if item.intent.key == "pub1":
            self.loop.call_soon_threadsafe(self.answer.set)

    def unsettled(self, db: object) -> list[OutboxItem]:
        return []


async def test_a_channel_that_ends_during_a_round_is_not_started_with_what_it_read(
    writer: Writer,
) -> None:
    """The round read A as live, then recorded replies it cannot publish; A's delivery ended
    meanwhile, and the round started #a again with A: posted twice."""
    platform = Gate()
    settler = AnswersDuringTheRound(asyncio.get_running_loop(), platform.release)
    deliverer = Deliverer(writer, {"fake": platform}, settler=settler)  # type: ignore[arg-type]
    await put(writer, intent("A", IntentKind.OPEN, channel="#a"))
    task = asyncio.create_task(deliverer.run())
    try:
        await asyncio.wait_for(platform.asked.wait(), NEVER)
        unpublishable = [
            replace(intent(f"pub{n}", platform="source:gone", incident=9), kind=IntentKind.PUBLISH)
            for n in (1, 2)
        ]
        await put(writer, *unpublishable)
        deliverer.wake()
        for _ in range(int(NEVER / 0.02)):
            await asyncio.sleep(0.02)
            if (await rows(writer))["A"]["state"] == "sent" and len(settler.settled) >= 3:
                break
        await asyncio.sleep(0.3)
        assert platform.calls == ["A"]
        assert settler.settled.count("A") == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_pipe_nobody_reads_holds_the_file_platform_only(tmp_path: Path) -> None:
    """Each timed-out write to a stalled pipe left a thread of the shared pool blocked: the
    pool ran out, and with it DNS look-ups, the Teams token and the shutdown's database close."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read: a stalled `| less`
    writer = Writer(tmp_path / "vigie.db")
    try:
        big = "x" * 40_000  # more than a pipe holds
        await put(
            writer,
            *(
                intent(f"k{n}", IntentKind.OPEN, channel=f"#c{n % 3}", incident=n, text=big)
                for n in range(6)
            ),
        )
        deliverer = Deliverer(
            writer, {"fake": FilePlatform(fifo)}, call_seconds=0.2, max_backoff_seconds=0.2
        )
        task = asyncio.create_task(deliverer.run())
        await asyncio.sleep(2.0)
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 1), NEVER) == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        os.close(reader)  # the blocked write ends (EPIPE)
        writer.close()


class Answers(Recorder):
    """Answers ``A`` when told to."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.asked = asyncio.Event()

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.asked.set()
        await self.go.wait()
        return await super().deliver(intent, card_ref)


async def test_a_stop_right_after_the_platform_answered_still_records_it(writer: Writer) -> None:
    """The channel's task cancelled while its record waits for the writer: the record was
    cancelled with it (the writer skips cancelled work), so the next start posted it again."""
    platform = Answers()
    await put(writer, intent("A", IntentKind.OPEN))
    deliverer = Deliverer(writer, {"fake": platform})
    round_ = asyncio.create_task(deliverer.deliver_due())
    await asyncio.wait_for(platform.asked.wait(), NEVER)
    busy, release = threading.Event(), threading.Event()

    def block(db: object) -> None:
        busy.set()
        release.wait(NEVER)

    blocker = asyncio.create_task(writer.run(block))
    assert await asyncio.to_thread(busy.wait, NEVER)
    platform.go.set()  # the platform answers; the record queues behind the blocker
    for _ in range(50):
        await asyncio.sleep(0.01)
    for task in [round_, *deliverer._busy.values()]:
        task.cancel()  # the stop
    await asyncio.gather(round_, return_exceptions=True)
    release.set()
    await blocker
    for _ in range(100):
        if (await rows(writer))["A"]["state"] == "sent":
            break
        await asyncio.sleep(0.02)
    assert (await rows(writer))["A"]["state"] == "sent"


async def test_a_stream_gets_a_notification_once_though_it_was_tried_again(
    tmp_path: Path,
) -> None:
    """An attempt timed out while its write to a full pipe was blocked, and was tried again:
    both writes went through once the reader read again. The second one now sees the first."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        platform = FilePlatform(fifo)
        one = intent("k-1", IntentKind.OPEN)
        await platform.deliver(one, None)
        await platform.deliver(one, None)  # the retry, queued behind the first
        data = b""
        with suppress(BlockingIOError):
            while chunk := os.read(reader, 1 << 16):
                data += chunk
        assert data.count(b'"key": "k-1"') == 1
    finally:
        os.close(reader)


async def test_a_stop_as_the_loop_is_woken_still_stops_it(writer: Writer) -> None:
    """CI's hang: the run loop waited for its wake-up with ``asyncio.wait_for``, which in
    Python 3.11 returns the wake-up and drops a cancellation that comes in the same turn
    (a channel ending as the service stops): the loop went on for ever and the stop hung."""
    deliverer = Deliverer(writer, {"fake": Recorder()})
    task = asyncio.create_task(deliverer.run())
    await asyncio.sleep(0.05)  # at its wait
    deliverer.wake()
    task.cancel()
    stopped, _ = await asyncio.wait({task}, timeout=5)
    if not stopped:
        task.cancel()  # the old loop: stop it for good
        await asyncio.gather(task, return_exceptions=True)
        pytest.fail("the run loop went on after it was cancelled")
    assert task.cancelled()
