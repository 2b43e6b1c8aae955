"""Our own code failing around a delivery: a delivered item is never sent again, one channel's
failure never cancels another's delivery, and a bug is not retried for ever."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.app
import bot.delivery
import bot.delivery_end
from bot.app import Notices
from bot.config.incidents import IncidentPolicy
from bot.delivery import BUG_ATTEMPTS, Deliverer
from storage.outbox import Ended, OutboxItem, counts
from storage.writer import Writer
from tests.conftest import WEBHOOK_SECRET, running_service, wait_for, write_config
from tests.test_delivery import THREAD, FakeClock, Recorder, intent, put, rows


class CannotTell(Recorder):
    """Like Teams, the console or a publisher: after a crash it cannot say what it has."""

    async def find(self, intent: Any, card_ref: str | None = None) -> str | None:
        self.finds.append(intent.key)
        return None


class PoisonedSettler:
    """What waits on the delivery of ``poison`` (a published reply's draft) has a bug."""

    def settle(self, db: Any, item: OutboxItem, ref: str, error: str | None) -> None:
        if item.intent.key == "poison":
            db.execute("UPDATE outbox SET channel = 'changed' WHERE id = ?", [item.id])  # undone
            raise ValueError("bug in what waits on this delivery")

    def unsettled(self, db: Any) -> list[Ended]:
        return []


async def test_a_failing_settle_leaves_the_item_sent_and_cancels_no_other_channel(
    writer: Writer,
) -> None:
    """The review's e3: the settle error rolled mark_sent back and, through the round's task
    group, cancelled the slower channel mid-request; both were sent again every 5 s."""
    platform = CannotTell()
    platform.slow = {f"b{i}": 0.2 for i in range(3)}
    await put(writer, *(intent(f"b{i}", channel="#other", incident=2) for i in range(3)))
    await put(writer, intent("poison", channel="#alerts"))
    deliverer = Deliverer(writer, {"fake": platform}, settler=PoisonedSettler())
    for _ in range(3):
        await deliverer.deliver_due()
    assert sorted(platform.calls) == ["b0", "b1", "b2", "poison"]  # each once
    outbox = await rows(writer)
    assert {key: row["state"] for key, row in outbox.items()} == dict.fromkeys(outbox, "sent")
    assert "bug in what waits" in outbox["poison"]["last_error"]
    assert outbox["poison"]["ref"] == "ref-poison"
    assert deliverer.settle_failed == 1
    assert "ValueError" in (deliverer.settle_error or "")
    channels = await writer.run(lambda db: db.execute("SELECT DISTINCT channel FROM outbox"))
    assert "changed" not in {row[0] for row in channels}


async def test_a_channel_whose_round_fails_stops_alone(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in one channel's round (here recording its delivery: a disk error)
    never cancels another channel's delivery under way; the delivered item is recorded at the
    next round, not delivered again."""
    platform = CannotTell()
    platform.slow = {"slow": 0.2}
    await put(writer, intent("slow", channel="#other", incident=2), intent("k", channel="#alerts"))
    real = bot.delivery_end.mark_sent
    failures = iter([sqlite3.OperationalError("disk I/O error")])

    def mark_sent(db: Any, item: OutboxItem, ref: str) -> None:
        if item.intent.key == "k" and (error := next(failures, None)) is not None:
            raise error
        real(db, item, ref)

    monkeypatch.setattr(bot.delivery_end, "mark_sent", mark_sent)
    deliverer = Deliverer(writer, {"fake": platform})
    due = await deliverer.deliver_due()
    assert due is not None  # the failed channel is tried again soon
    assert sorted(platform.sent_keys()) == ["k", "slow"]
    assert await writer.run(counts) == {"sent": 1, "sending": 1}
    await deliverer.deliver_due()
    assert await writer.run(counts) == {"sent": 2}
    assert sorted(platform.calls) == ["k", "slow"]  # nothing delivered twice
    assert platform.finds == []


async def test_a_bug_while_delivering_gives_up_after_a_few_tries_and_frees_the_channel(
    writer: Writer,
) -> None:
    """The review's e4: a KeyError rendering a card was retried for ever (max_attempts None),
    holding every later notification of its channel."""
    clock = FakeClock()
    platform = Recorder()
    platform.errors["bad"] = [KeyError("blocks") for _ in range(10)]
    await put(writer, intent("bad"), intent("next", incident=2), intent("another", incident=3))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)
    for _ in range(10):
        await deliverer.deliver_due()
        clock.now += 400
    assert platform.calls.count("bad") == BUG_ATTEMPTS
    assert platform.sent_keys() == ["next", "another"]
    outbox = await rows(writer)
    assert outbox["bad"]["state"] == "failed"
    assert "KeyError" in outbox["bad"]["last_error"]
    assert deliverer.failed == 1
    assert "KeyError" in (deliverer.last_failure or "")


async def test_a_network_error_is_still_retried_past_the_bug_limit(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    platform.errors["k"] = [ConnectionResetError("reset") for _ in range(BUG_ATTEMPTS + 2)]
    await put(writer, intent("k"))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)
    for _ in range(BUG_ATTEMPTS + 3):
        await deliverer.deliver_due()
        clock.now += 400
    assert (await rows(writer))["k"]["state"] == "sent"


@pytest.mark.parametrize(
    "error",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("Response payload is not completed"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["disconnected", "payload", "database"],
)
async def test_a_dropped_connection_or_a_locked_database_is_no_bug(
    writer: Writer, error: Exception
) -> None:
    """The review's f3: neither is an OSError, so they counted as bugs in Vigie: failed for good
    after 3 tries though ``max_attempts`` is None (keep trying)."""
    clock = FakeClock()
    platform = Recorder()
    platform.errors["k"] = [error for _ in range(BUG_ATTEMPTS + 2)]
    await put(writer, intent("k"))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)
    for _ in range(BUG_ATTEMPTS + 3):
        await deliverer.deliver_due()
        clock.now += 400
    assert (await rows(writer))["k"]["state"] == "sent"
    assert deliverer.failed == 0


async def test_a_failing_flush_at_shutdown_still_closes_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Deliverer, within: float) -> int:
        raise RuntimeError("a bug in the flush")

    monkeypatch.setattr(Deliverer, "flush", broken)
    config = write_config(tmp_path, [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}])
    async with running_service(config):
        pass
    Writer(tmp_path / "vigie.db").close()  # the lock was let go: the database was closed


async def test_two_notices_in_one_microsecond_are_both_kept(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Frozen(bot.app.datetime):  # type: ignore[name-defined,misc]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return bot.app.datetime(2026, 3, 10, 9, tzinfo=tz)  # type: ignore[attr-defined]

    monkeypatch.setattr(bot.app, "datetime", Frozen)
    deliverer = Deliverer(writer, {})
    notices = Notices(writer, IncidentPolicy(), deliverer)
    notices.say("Source a is in trouble")
    notices.say("Source b is in trouble")
    await asyncio.gather(*notices._tasks)
    assert (await writer.run(counts)).get("pending") == 2


async def test_a_notice_written_while_the_database_is_locked_is_written_later(
    tmp_path: Path, writer: Writer
) -> None:
    """A source's trouble is said once (``alarmed``): a notice whose write failed was lost."""
    holder = sqlite3.connect(tmp_path / "vigie.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the database
    notices = Notices(writer, IncidentPolicy(), Deliverer(writer, {}))
    notices.say("Source a is in trouble")
    try:
        await wait_for(lambda: notices._fault.count >= 1, timeout=60)  # after the busy wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await asyncio.wait_for(asyncio.gather(*notices._tasks), 60)
    assert (await writer.run(counts)).get("pending") == 1
    assert notices._fault.error is None


@pytest.fixture
def writer(tmp_path: Path) -> Any:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


async def test_a_channel_that_fails_shows_in_health_until_it_works_again(
    tmp_path: Path,
) -> None:
    """A channel's own failure (here the database cannot say where its card is) was only
    logged: /healthz said nothing, and the record of it was kept for ever once it worked."""
    writer = Writer(tmp_path / "vigie.db")
    try:
        await put(writer, intent("t1", THREAD, channel="#team"))
        deliverer = Deliverer(writer, {"fake": Recorder()})
        await writer.run(lambda db: db.execute("ALTER TABLE alerts RENAME TO alerts_away"))
        await deliverer.deliver_due()
        shown = deliverer.faults()
        assert list(shown) == ["fake #team"]
        assert "no such table: alerts" in shown["fake #team"]["error"]
        assert shown["fake #team"]["failures"] == 1

        await writer.run(lambda db: db.execute("ALTER TABLE alerts_away RENAME TO alerts"))
        await deliverer.deliver_due()
        assert deliverer.faults() == {}
        assert deliverer.delivered == 1
    finally:
        writer.close()
