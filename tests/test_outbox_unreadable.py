"""One row this Vigie cannot read (an intent kind it does not know, a payload that is not JSON,
a kept mention it cannot rebuild) holds back no other: it is set aside, said once, and the rest
of the queue goes on."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

from bot.delivery import Deliverer
from bot.incidents.model import IntentKind
from storage.database import open_database
from storage.mentions import save_batch
from storage.outbox import ended_items, enqueue, live_items, mark_retry, mark_sending
from storage.unfiled import count_unfiled, keep_unfiled, unfiled
from storage.writer import Writer
from tests.test_delivery import FakeClock, Recorder, intent, put, rows
from tests.test_storage import scored


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / "vigie.db")


def spoil(db: sqlite_utils.Database, key: str, column: str, value: str) -> None:
    db.execute(f"UPDATE outbox SET {column} = ? WHERE key = ?", [value, key])


def outbox(db: sqlite_utils.Database) -> dict[str, tuple[str, str, str, str]]:
    return {
        str(key): (str(state), str(kind), str(payload), str(error))
        for key, state, kind, payload, error in db.execute(
            "SELECT key, state, kind, payload, last_error FROM outbox"
        ).fetchall()
    }


async def test_an_outbox_item_this_vigie_cannot_read_holds_back_no_delivery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = Writer(tmp_path / "vigie.db")
    try:
        await put(writer, intent("1-new-kind"), intent("1-bad-json"), intent("1-fine"))
        await put(writer, intent("2-fine", channel="#other", incident=2))

        def spoil_them(db: sqlite_utils.Database) -> None:
            spoil(db, "1-new-kind", "kind", "hologram")
            spoil(db, "1-bad-json", "payload", "{not json")

        await writer.run(spoil_them)
        fake = Recorder()
        deliverer = Deliverer(writer, {"fake": fake}, wall=FakeClock())
        with caplog.at_level(logging.ERROR, logger="storage.outbox"):
            assert await deliverer.deliver_due() is None
            assert await deliverer.deliver_due() is None

        assert sorted(fake.sent_keys()) == ["1-fine", "2-fine"]
        stored = await rows(writer)
        assert stored["1-new-kind"]["state"] == "failed"
        assert stored["1-bad-json"]["state"] == "failed"
        assert "cannot read" in stored["1-new-kind"]["last_error"]
        assert "hologram" in stored["1-new-kind"]["last_error"]
        assert "cannot read" in stored["1-bad-json"]["last_error"]
        said = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
        assert len(said) == 2  # once each, with its id and why
        assert any("1-new-kind" in line and "hologram" in line for line in said)
        assert any("1-bad-json" in line and "JSON" in line for line in said)
    finally:
        writer.close()


def test_an_unreadable_item_is_set_aside_as_it_was_and_says_it_may_have_gone_out(
    db: sqlite_utils.Database,
) -> None:
    for key in ("a", "b", "c"):
        enqueue(db, intent(key))
    [a, *_] = live_items(db)
    mark_sending(db, a.id)
    mark_retry(db, a.id, "HTTP 503", 0, 1)
    spoil(db, "a", "kind", "hologram")
    spoil(db, "b", "payload", '["a list"]')
    payloads = {key: row[2] for key, row in outbox(db).items()}

    assert [item.intent.key for item in live_items(db)] == ["c"]
    after = outbox(db)
    assert after["a"][:3] == ("failed", "hologram", payloads["a"])  # kept as it was
    assert "may have gone out" in after["a"][3]
    assert after["a"][3].endswith("HTTP 503")  # the error it had is kept
    assert after["b"][0] == "failed"
    assert after["b"][2] == payloads["b"]
    assert "may have gone out" not in after["b"][3]
    assert after["c"][0] == "pending"
    assert [item.intent.key for item in live_items(db)] == ["c"]


def test_an_ended_publication_this_vigie_cannot_read_is_passed_over(
    db: sqlite_utils.Database,
) -> None:
    for key in ("p1", "p2"):
        enqueue(db, replace(intent(key, platform="source:x"), kind=IntentKind.PUBLISH))
    db.execute("UPDATE outbox SET state = 'failed'")
    spoil(db, "p1", "payload", "")
    assert [
        ended.item.intent.key for ended in ended_items(db, IntentKind.PUBLISH, ["p1", "p2"])
    ] == ["p2"]


def test_a_kept_mention_this_vigie_cannot_read_holds_back_no_refiling(
    db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    batch = [scored(number) for number in (1, 2, 3, 4)]
    save_batch(db, batch)
    for item in batch:
        keep_unfiled(db, item, "KeyError: a bug in filing")
    db.execute("UPDATE mention_issues SET scored = '{half' WHERE native_id = 'm-1'")
    data = json.loads(
        db.execute("SELECT scored FROM mention_issues WHERE native_id = 'm-2'").fetchone()[0]
    )
    data["negativity"]["sentiment"] = "bewildered"
    db.execute("UPDATE mention_issues SET scored = ? WHERE native_id = 'm-2'", [json.dumps(data)])

    with caplog.at_level(logging.ERROR, logger="storage.unfiled"):
        # the two it cannot read come first (oldest), and a round of two takes them
        assert unfiled(db, limit=2) == []
        # they count as tried once more: the next round takes the others
        assert [item.mention.native_id for item in unfiled(db, limit=2)] == ["m-3", "m-4"]
        assert [item.mention.native_id for item in unfiled(db)] == ["m-3", "m-4"]

    said = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(said) == 2  # once each
    assert any("m-1" in line for line in said)
    assert any("m-2" in line and "bewildered" in line for line in said)
    assert count_unfiled(db) == 4  # kept, as they were: a later version may read them
    kept = dict(
        db.execute(
            "SELECT native_id, error FROM mention_issues WHERE native_id IN ('m-1', 'm-2')"
        ).fetchall()
    )
    assert all("cannot read" in error for error in kept.values())
    assert all(error.endswith("KeyError: a bug in filing") for error in kept.values())
    assert all(error.count("cannot read") == 1 for error in kept.values())
    scored_m1 = db.execute("SELECT scored FROM mention_issues WHERE native_id = 'm-1'")
    assert scored_m1.fetchone()[0] == "{half"
