"""Forgetting what is old (storage.keep_days) on a real SQLite file: old mentions go unless an
incident or a reply draft holds them; old engagement readings and delivered notifications go
unless their incident is still live; incidents and the decision log stay."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bot.retention import forget_once
from storage.database import open_database
from storage.mentions import count_mentions, save_batch, timestamp
from storage.retention import Pruned, prune_batch
from storage.writer import Writer
from tests.test_storage import T0, scored

OLD, NEW = T0 - timedelta(days=400), T0
CUTOFF = T0 - timedelta(days=365)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / "vigie.db")


def store(db: sqlite_utils.Database, number: int, received: datetime) -> None:
    save_batch(db, [replace(scored(number), received_at=received)])


def incident(db: sqlite_utils.Database, incident_id: int, status: str) -> None:
    db.execute(
        "INSERT INTO incidents (id, status, data) VALUES (?, ?, '{}')", [incident_id, status]
    )


def outbox_item(db: sqlite_utils.Database, item_id: int, incident_id: int, state: str) -> None:
    db.execute(
        "INSERT INTO outbox (id, key, incident_id, kind, platform, channel, created_at, payload, "
        "state, attempts, next_attempt_at, last_error, sent_at, ref) "
        "VALUES (?, ?, ?, 'open', 'console', '#a', ?, '{}', ?, 1, 0, '', '', '')",
        [item_id, f"k{item_id}", incident_id, timestamp(OLD), state],
    )


def ids(db: sqlite_utils.Database, sql: str) -> set[str]:
    return {str(row[0]) for row in db.execute(sql).fetchall()}


def test_old_mentions_go_unless_an_incident_or_a_draft_holds_them(
    db: sqlite_utils.Database,
) -> None:
    for number in (1, 2, 3):
        store(db, number, OLD)
    store(db, 4, NEW)
    db.execute("INSERT INTO incident_mentions VALUES (1, 'replay', 'm-2')")
    db.execute(
        "INSERT INTO draft_sets (id, incident_id, kind, source, native_id, data, brand) "
        "VALUES (1, 1, 'reply', 'replay', 'm-3', '{}', 'kestrel')"
    )
    pruned = prune_batch(db, CUTOFF)
    assert pruned.mentions == 1
    assert ids(db, "SELECT native_id FROM mentions") == {"m-2", "m-3", "m-4"}
    assert ids(db, "SELECT native_id FROM mention_brands") == {"m-2", "m-3", "m-4"}


def test_an_old_mention_waiting_to_be_filed_stays_and_a_gone_ones_issue_goes_with_it(
    db: sqlite_utils.Database,
) -> None:
    """A mention whose filing failed waits to be filed: it is not forgotten before it is; the
    note of why a forgotten mention was stored unscored goes with it."""
    for number in (1, 2):
        store(db, number, OLD)
    for native_id, stage in (("m-1", "filing"), ("m-2", "scoring")):
        db.execute(
            "INSERT INTO mention_issues VALUES ('replay', ?, ?, 'boom', 1, ?, '{}')",
            [native_id, stage, timestamp(OLD)],
        )
    pruned = prune_batch(db, CUTOFF)
    assert pruned.mentions == 1
    assert ids(db, "SELECT native_id FROM mentions") == {"m-1"}
    assert ids(db, "SELECT native_id || ':' || stage FROM mention_issues") == {"m-1:filing"}


def test_old_readings_and_notifications_go_but_a_live_incident_keeps_its_own(
    db: sqlite_utils.Database,
) -> None:
    incident(db, 1, "resolved")
    incident(db, 2, "open")
    outbox_item(db, 1, 1, "sent")
    outbox_item(db, 2, 1, "pending")  # not delivered yet: never forgotten
    outbox_item(db, 3, 2, "sent")  # its incident is still open
    outbox_item(db, 4, 1, "failed")
    for when in (OLD, NEW):
        db.execute(
            "INSERT INTO observations VALUES ('replay', 'm-1', ?, 1, 2, 3, 4)", [timestamp(when)]
        )
    pruned = prune_batch(db, CUTOFF)
    assert (pruned.outbox, pruned.observations) == (2, 1)
    assert ids(db, "SELECT id FROM outbox") == {"2", "3"}
    assert ids(db, "SELECT at FROM observations") == {timestamp(NEW)}
    assert ids(db, "SELECT id FROM incidents") == {"1", "2"}  # incidents are kept


def plans(db: sqlite_utils.Database, statements: list[str]) -> list[str]:
    """Every step of the query plans of ``statements`` (the reads and deletes among them)."""
    return [
        str(row[3])
        for sql in statements
        if sql.lstrip().upper().startswith(("SELECT", "DELETE"))
        for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    ]


def test_a_batch_finds_every_row_it_checks_or_deletes_through_an_index(
    db: sqlite_utils.Database,
) -> None:
    """A lookup per old row must be an index search: a scan of draft_sets or mention_brands
    for each of 2,000 mentions held the single writer for seconds (100k mentions: 87 s)."""
    incident(db, 1, "resolved")
    for number in (1, 2, 3):
        store(db, number, OLD)
    db.execute("INSERT INTO incident_mentions VALUES (1, 'replay', 'm-2')")
    db.execute(
        "INSERT INTO draft_sets (id, incident_id, kind, source, native_id, data, brand) "
        "VALUES (1, 1, 'reply', 'replay', 'm-3', '{}', 'kestrel')"
    )
    db.execute("INSERT INTO observations VALUES ('replay', 'm-1', ?, 1, 2, 3, 4)", [timestamp(OLD)])
    outbox_item(db, 1, 1, "sent")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        pruned = prune_batch(db, CUTOFF)
    finally:
        db.conn.set_trace_callback(None)
    assert (pruned.mentions, pruned.observations, pruned.outbox) == (1, 1, 1)
    steps = plans(db, statements)
    tables = re.compile(r"^(SCAN|SEARCH)( TABLE)? (\w+)")
    touched = {match[3] for step in steps if (match := tables.match(step))}
    assert {"m", "i", "d", "mention_brands", "mentions", "observations", "o"} <= touched
    # old SQLite says "SCAN TABLE x"; an automatic index is built afresh by every batch
    assert [step for step in steps if step.startswith("SCAN") or "AUTOMATIC" in step] == []
    assert [step for step in steps if "TEMP B-TREE" in step] == []  # read in index order
    assert all("INDEX" in step or "PRIMARY KEY" in step for step in steps if tables.match(step))
    [old_outbox] = [step for step in steps if re.match(r"SEARCH( TABLE)? o ", step)]
    assert "created_at<" in old_outbox  # not every delivered item read to find the old ones


def counting(batches: list[int]) -> Callable[..., Pruned]:
    """prune_batch, noting how many mentions each batch forgot."""

    def prune(db: sqlite_utils.Database, before: datetime, **batch: Any) -> Pruned:
        pruned = prune_batch(db, before, **batch)
        batches.append(pruned.mentions)
        return pruned

    return prune


async def test_forgetting_goes_batch_after_batch_until_nothing_old_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.retention.BATCH", 2)
    writer = Writer(tmp_path / "vigie.db")
    try:
        await writer.run(
            lambda db: save_batch(db, [replace(scored(n), received_at=OLD) for n in range(5)])
        )
        batches: list[int] = []
        monkeypatch.setattr("bot.retention.prune_batch", counting(batches))
        pruned = await forget_once(writer, CUTOFF)
        assert pruned.mentions == 5
        assert batches == [2, 2, 1]
        assert await writer.run(count_mentions) == 0
    finally:
        writer.close()


async def test_mentions_kept_for_good_are_passed_over_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six old mentions an incident holds, then three that may go: batches of two look at each
    mention once, rather than every batch reading the kept ones again from the start."""
    monkeypatch.setattr("bot.retention.BATCH", 2)
    writer = Writer(tmp_path / "vigie.db")
    try:

        def setup(db: sqlite_utils.Database) -> None:
            save_batch(db, [replace(scored(n), received_at=OLD) for n in range(9)])
            for n in range(6):
                db.execute("INSERT INTO incident_mentions VALUES (1, 'replay', ?)", [f"m-{n}"])

        await writer.run(setup)
        batches: list[int] = []
        monkeypatch.setattr("bot.retention.prune_batch", counting(batches))
        pruned = await forget_once(writer, CUTOFF)
        assert pruned.mentions == 3
        assert batches == [0, 0, 0, 2, 1]  # 2 + 2 + 2 + 2 + 1 looked at: each mention once
        assert await writer.run(count_mentions) == 6
    finally:
        writer.close()
