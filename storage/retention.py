"""Forgetting what is no longer needed, so a database listening for years does not fill the disk.

A mention received before the cut-off goes, unless an incident holds it (its evidence), a
reply draft answers it or it waits to be filed into incidents (``storage.unfiled``).
Engagement observations before the cut-off go, and so do outbox items delivered (or given up
on) before it whose incident is over, except a reply's publication whose draft still says
"publishing" (recording its end on the draft failed, and is tried again from the item).
Incidents, their timelines and the decision log of reply drafts are kept: they are the audit
trail.

Each call deletes one bounded batch in one transaction, so the single writer never stalls the
mentions arriving meanwhile for long. Whatever a batch looks up once per old row (what holds
a mention, its brands) is found through an index (``migrations._v9_retention``): a scan of
the table for each of them made one batch hold the writer for seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.drafts.model import DraftState
from bot.incidents.model import IntentKind, Status
from storage.mentions import timestamp

BATCH = 2_000
FINAL_STATES = ("sent", "failed", "superseded")
LIVE = tuple(status.value for status in Status if status.live)
PUBLISHING = DraftState.PUBLISHING.value


Position = tuple[str, int]
"""Where a batch's look at old mentions stopped: (received_at, rowid) of the last one seen."""

EXAMINED_ALL: Position = ("\uffff", 0)
"""A position past every mention: the mentions are done, the other tables may not be."""


@dataclass(frozen=True, slots=True)
class Pruned:
    mentions: int = 0
    observations: int = 0
    outbox: int = 0
    mentions_after: Position | None = None  # more old mentions to look at from here; None: done
    more: bool = False  # a batch filled its limit: the next may find more

    @property
    def total(self) -> int:
        return self.mentions + self.observations + self.outbox

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.mentions + other.mentions,
            self.observations + other.observations,
            self.outbox + other.outbox,
            other.mentions_after,
            other.more,
        )


def prune_batch(
    db: sqlite_utils.Database,
    before: datetime,
    limit: int = BATCH,
    after: Position | None = None,
) -> Pruned:
    """Delete at most ``limit`` rows of each kind older than ``before``; what was deleted.

    Old mentions are looked at in the order they were received, from ``after`` (the previous
    batch's ``mentions_after``): those kept for ever (an incident's, a draft's) are passed over
    once per run rather than read again by every batch."""
    cutoff = timestamp(before)
    start, last_rowid = after or ("", -1)
    with db.atomic():
        seen = db.execute(
            "SELECT rowid, source, native_id, received_at, "
            "EXISTS (SELECT 1 FROM incident_mentions AS i "
            "WHERE i.source = m.source AND i.native_id = m.native_id) "
            "OR EXISTS (SELECT 1 FROM draft_sets AS d "
            "WHERE d.source = m.source AND d.native_id = m.native_id) "
            "OR EXISTS (SELECT 1 FROM mention_issues AS u WHERE u.source = m.source "
            "AND u.native_id = m.native_id AND u.stage = 'filing') "
            "FROM mentions AS m WHERE received_at >= ? AND received_at < ? "
            "AND NOT (received_at = ? AND rowid <= ?) ORDER BY received_at, rowid LIMIT ?",
            [start, cutoff, start, last_rowid, limit],
        ).fetchall()
        doomed = [
            (rowid, source, native_id) for rowid, source, native_id, _, kept in seen if not kept
        ]
        position = (str(seen[-1][3]), int(seen[-1][0])) if len(seen) == limit else None
        db.conn.executemany(
            "DELETE FROM mention_brands WHERE source = ? AND native_id = ?",
            [(source, native_id) for _, source, native_id in doomed],
        )
        db.conn.executemany("DELETE FROM mentions WHERE rowid = ?", [(r[0],) for r in doomed])
        db.conn.executemany(  # why one was stored unscored goes with it
            "DELETE FROM mention_issues WHERE source = ? AND native_id = ?",
            [(source, native_id) for _, source, native_id in doomed],
        )
        observations = db.execute(
            "DELETE FROM observations WHERE rowid IN "
            "(SELECT rowid FROM observations WHERE at < ? LIMIT ?)",
            [cutoff, limit],
        ).rowcount
        outbox = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox AS o "
            f"WHERE o.state IN ({', '.join('?' * len(FINAL_STATES))}) AND o.created_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM incidents AS i WHERE i.id = o.incident_id "
            f"AND i.status IN ({', '.join('?' * len(LIVE))})) "
            # a publication whose draft still says "publishing" (settling it failed): it is
            # settled again from this item (bot.drafts.publishing.DraftSettler.unsettled)
            "AND NOT (o.kind = ? AND EXISTS (SELECT 1 FROM drafts AS p "
            "WHERE p.id = CASE WHEN json_valid(o.payload) "  # (an unreadable one is no draft's)
            "THEN json_extract(o.payload, '$.card.draft') END AND p.state = ?)) LIMIT ?)",
            [*FINAL_STATES, cutoff, *LIVE, IntentKind.PUBLISH.value, PUBLISHING, limit],
        ).rowcount
    observations, outbox = max(0, observations), max(0, outbox)
    more = position is not None or max(observations, outbox) >= limit
    return Pruned(len(doomed), observations, outbox, position, more)
