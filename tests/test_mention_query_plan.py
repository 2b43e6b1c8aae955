"""A brand's mentions are read through ``mention_brands``' (brand, created_at) index, on a real
SQLite file: the query walks that brand's mentions of the period, newest first, not every
brand's (the mentions table's created_at index), so ``mentions BRAND`` stays quick on a large
database. Checked with SQLite's own query plan, not with timing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlite_utils

from bot.accounts import own_accounts
from storage.database import open_database
from storage.mentions import find_mentions, save_batch
from tests.test_storage import T0, scored

BRAND_INDEX = "SEARCH f USING INDEX idx_mention_brands_brand_created_at (brand=?"


def plans_of(db: sqlite_utils.Database, **query: object) -> list[str]:
    """Each query ``find_mentions`` ran, as its plan (one line per step)."""
    ran: list[str] = []
    db.conn.set_trace_callback(ran.append)
    try:
        find_mentions(db, **query)  # type: ignore[arg-type]
    finally:
        db.conn.set_trace_callback(None)
    return [
        "\n".join(row[3] for row in db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in ran
        if sql.lstrip().startswith("SELECT")
    ]


def test_a_brands_mentions_are_read_through_its_own_index(tmp_path: Path) -> None:
    db = open_database(tmp_path / "vigie.db")
    batch = [scored(n, brands=("big",) if n % 50 else ("small",)) for n in range(1, 501)]
    save_batch(db, batch)
    db.conn.execute("ANALYZE")
    window = {"since": T0, "until": T0 + timedelta(days=1), "limit": 501}
    own = {"small": own_accounts(["@small"])}
    for query in (
        {"brand": "small", **window},
        {"brand": "small", "negative": True, "own": own, **window},
        {"brand": "small"},
    ):
        (plan,) = plans_of(db, **query)
        assert plan.startswith(BRAND_INDEX), plan  # the brand's rows first, in index order
        assert "idx_mentions_created_at" not in plan
    rows = find_mentions(db, brand="small", **window)  # type: ignore[arg-type]
    assert [row["native_id"] for row in rows] == [f"m-{n}" for n in range(500, 0, -50)]
    db.close()
