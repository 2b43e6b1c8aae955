"""Retention keeps a reply's publication whose draft still says "publishing": settling it failed,
and it is settled again from that outbox item (DraftSettler.unsettled)."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from bot.drafts.model import DraftState, Target
from bot.drafts.publishing import DraftSettler, publish_intent
from storage import drafts as store
from storage.database import open_database
from storage.outbox import enqueue
from storage.retention import prune_batch
from tests.test_migrations import draft
from tests.test_retention import CUTOFF, OLD, incident, outbox_item

TARGET = Target("mastodon", 500, "characters", "test", "m31", author="ana@m.example")


def publication(db: sqlite_utils.Database, draft_id: int, state: DraftState, end: str) -> str:
    """A draft in ``state`` and its (old) publication, ended as ``end``; its outbox key."""
    one = draft(draft_id, 1, 1, state)
    store.save_draft(db, one)
    intent = publish_intent(one, TARGET, OLD)
    enqueue(db, intent)
    db.execute("UPDATE outbox SET state = ? WHERE key = ?", [end, intent.key])
    return intent.key


def keys(db: sqlite_utils.Database) -> set[str]:
    return {str(row[0]) for row in db.execute("SELECT key FROM outbox").fetchall()}


def test_an_ended_publication_whose_draft_is_still_publishing_is_kept_until_settled(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "vigie.db")
    try:
        incident(db, 1, "resolved")
        stuck = publication(db, 7, DraftState.PUBLISHING, "failed")
        sent = publication(db, 8, DraftState.PUBLISHING, "sent")
        publication(db, 9, DraftState.PUBLISHED, "sent")
        outbox_item(db, 50, 1, "sent")  # a card's notification: goes as before
        settler = DraftSettler({}, lambda: OLD)
        assert {ended.item.intent.key for ended in settler.unsettled(db)} == {stuck, sent}

        pruned = prune_batch(db, CUTOFF)

        assert pruned.outbox == 2
        assert keys(db) == {stuck, sent}
        assert {ended.item.intent.key for ended in settler.unsettled(db)} == {stuck, sent}

        # once the draft moves on, its publication goes like any other notification
        store.save_draft(db, draft(7, 1, 1, DraftState.FAILED))
        store.save_draft(db, draft(8, 1, 1, DraftState.PUBLISHED))
        assert prune_batch(db, CUTOFF).outbox == 2
        assert keys(db) == set()
    finally:
        db.close()


def test_an_unreadable_publication_does_not_stop_retention(tmp_path: Path) -> None:
    """A publish item whose payload is not JSON (set aside as failed by the deliverer) is
    forgotten like any other; it must not make every pruning fail."""
    db = open_database(tmp_path / "vigie.db")
    try:
        incident(db, 1, "resolved")
        spoiled = publication(db, 7, DraftState.PUBLISHED, "failed")
        db.execute("UPDATE outbox SET payload = '' WHERE key = ?", [spoiled])
        assert prune_batch(db, CUTOFF).outbox == 1
        assert keys(db) == set()
    finally:
        db.close()
