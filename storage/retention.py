"""Forgetting what is no longer needed, so a database listening for years does not fill the disk.

A mention received before the cut-off goes, unless an incident holds it (its evidence) or a
reply draft answers it. Engagement observations before the cut-off go, and so do outbox items
delivered (or given up on) before it whose incident is over. Incidents, their timelines and
the decision log of reply drafts are kept: they are the audit trail.

Each call deletes one bounded batch in one transaction, so the single writer never stalls the
mentions arriving meanwhile for long. Whatever a batch looks up once per old row (what holds
a mention, its brands) is found through an index (``migrations._v9_retention``): a scan of
the table for each of them made one batch hold the writer for seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.incidents.model import Status
from storage.mentions import timestamp

BATCH = 2_000
FINAL_STATES = ("sent", "failed", "superseded")
LIVE = tuple(status.value for status in Status if status.live)


@dataclass(frozen=True, slots=True)
class Pruned:
    mentions: int = 0
    observations: int = 0
    outbox: int = 0

    @property
    def total(self) -> int:
        return self.mentions + self.observations + self.outbox

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.mentions + other.mentions,
            self.observations + other.observations,
            self.outbox + other.outbox,
        )


def prune_batch(db: sqlite_utils.Database, before: datetime, limit: int = BATCH) -> Pruned:
    """Delete at most ``limit`` rows of each kind older than ``before``; what was deleted."""
    cutoff = timestamp(before)
    with db.atomic():
        doomed = db.execute(
            "SELECT rowid, source, native_id FROM mentions AS m WHERE received_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM incident_mentions AS i "
            "WHERE i.source = m.source AND i.native_id = m.native_id) "
            "AND NOT EXISTS (SELECT 1 FROM draft_sets AS d "
            "WHERE d.source = m.source AND d.native_id = m.native_id) LIMIT ?",
            [cutoff, limit],
        ).fetchall()
        db.conn.executemany(
            "DELETE FROM mention_brands WHERE source = ? AND native_id = ?",
            [(source, native_id) for _, source, native_id in doomed],
        )
        db.conn.executemany("DELETE FROM mentions WHERE rowid = ?", [(r[0],) for r in doomed])
        observations = db.execute(
            "DELETE FROM observations WHERE rowid IN "
            "(SELECT rowid FROM observations WHERE at < ? LIMIT ?)",
            [cutoff, limit],
        ).rowcount
        outbox = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox AS o "
            f"WHERE o.state IN ({', '.join('?' * len(FINAL_STATES))}) AND o.created_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM incidents AS i WHERE i.id = o.incident_id "
            f"AND i.status IN ({', '.join('?' * len(LIVE))})) LIMIT ?)",
            [*FINAL_STATES, cutoff, *LIVE, limit],
        ).rowcount
    return Pruned(len(doomed), max(0, observations), max(0, outbox))
