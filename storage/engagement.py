"""Successive counts of posts in open incidents (how far they travel), and what to re-read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import sqlite_utils

from bot.model import Engagement
from storage.mentions import timestamp

LIVE = ("pending", "open", "acknowledged")
_LIVE_IN = f"i.status IN ({', '.join('?' for _ in LIVE)})"

# Each live incident's posts take turns, most reposted first, then newest: a flood of new
# complaints cannot push out the post that is actually spreading, nor one incident crowd out
# another. A post is re-read once and credited to every live incident that holds it.
# Its counts are the most read so far (the mention's, and its stored readings'): a reading that
# dropped (a count a source left out and read as 0, a replica behind, reposts deleted) is kept
# in observations as read, but never lowers what the post is known to have reached.
_TO_REFRESH = f"""
WITH held AS (
    SELECT im.source, im.native_id, COALESCE(m.reposts, 0) AS reposts, m.created_at,
        ROW_NUMBER() OVER (
            PARTITION BY im.incident_id ORDER BY COALESCE(m.reposts, 0) DESC, m.created_at DESC
        ) AS turn
    FROM incident_mentions im JOIN incidents i ON i.id = im.incident_id
    JOIN mentions m ON m.source = im.source AND m.native_id = im.native_id
    WHERE {_LIVE_IN}
), chosen AS (
    SELECT source, native_id, MIN(turn) AS turn, reposts, created_at FROM held
    GROUP BY source, native_id
    ORDER BY turn, reposts DESC, created_at DESC, source, native_id LIMIT ?
), most AS (
    SELECT o.source, o.native_id, MAX(o.reposts) AS reposts, MAX(o.likes) AS likes,
        MAX(o.replies) AS replies, MAX(o.quotes) AS quotes
    FROM chosen c JOIN observations o ON o.source = c.source AND o.native_id = c.native_id
    GROUP BY o.source, o.native_id
)
SELECT m.source, m.native_id, m.created_at,
    MAX(COALESCE(m.reposts, 0), COALESCE(o.reposts, 0)),
    MAX(COALESCE(m.likes, 0), COALESCE(o.likes, 0)),
    MAX(COALESCE(m.replies, 0), COALESCE(o.replies, 0)),
    MAX(COALESCE(m.quotes, 0), COALESCE(o.quotes, 0)),
    i.brand, i.topic
FROM chosen c JOIN mentions m ON m.source = c.source AND m.native_id = c.native_id
LEFT JOIN most o ON o.source = c.source AND o.native_id = c.native_id
JOIN incident_mentions im ON im.source = c.source AND im.native_id = c.native_id
JOIN incidents i ON i.id = im.incident_id
WHERE {_LIVE_IN}
ORDER BY c.turn, c.reposts DESC, c.created_at DESC, m.source, m.native_id, i.id
"""


@dataclass(frozen=True, slots=True)
class Tracked:
    """A post held by live incidents, as the refresher needs it."""

    source: str
    native_id: str
    created_at: datetime
    engagement: Engagement  # the most counted so far (a reading that dropped is no undoing)
    groups: tuple[tuple[str, str], ...]  # (brand, topic) of each live incident holding it


def mentions_to_refresh(db: sqlite_utils.Database, limit: int) -> list[Tracked]:
    """Up to ``limit`` posts of live incidents: each incident's most reposted, then newest."""
    found: dict[tuple[str, str], Tracked] = {}
    for row in db.execute(_TO_REFRESH, [*LIVE, limit, *LIVE]).fetchall():
        source, native_id, created_at, *counts = row[:7]
        group = (row[7], row[8])
        known = found.get((source, native_id))
        if known is None:
            engagement = Engagement(*(int(c or 0) for c in counts))
            when = datetime.fromisoformat(created_at)
            found[source, native_id] = Tracked(source, native_id, when, engagement, (group,))
        elif group not in known.groups:
            found[source, native_id] = replace(known, groups=(*known.groups, group))
    return list(found.values())


def record_observations(
    db: sqlite_utils.Database, source: str, at: datetime, counts: Mapping[str, Engagement]
) -> None:
    """Keep this reading of each post as read, and raise the mention's current counts to it.

    The current counts are a running maximum, as ``bot.spread.reach.count_events`` takes them: a
    count that drops (missing from the answer and read as 0, a replica behind, reposts deleted)
    does not lower them, so the next reading is not measured from the dip (the risk is about
    how far a post spread, and a post back at its old count has not travelled again)."""
    when = timestamp(at)
    with db.atomic():
        db.conn.executemany(
            "INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (source, native_id, when, e.reposts, e.likes, e.replies, e.quotes)
                for native_id, e in counts.items()
            ],
        )
        db.conn.executemany(
            "UPDATE mentions SET reposts = MAX(COALESCE(reposts, 0), ?), "
            "likes = MAX(COALESCE(likes, 0), ?), replies = MAX(COALESCE(replies, 0), ?), "
            "quotes = MAX(COALESCE(quotes, 0), ?) WHERE source = ? AND native_id = ?",
            [
                (e.reposts, e.likes, e.replies, e.quotes, source, native_id)
                for native_id, e in counts.items()
            ],
        )


def observations_of(
    db: sqlite_utils.Database, source: str, native_ids: Sequence[str]
) -> dict[str, list[tuple[datetime, Engagement]]]:
    """Every reading of these posts, oldest first."""
    found: dict[str, list[tuple[datetime, Engagement]]] = {}
    for start in range(0, len(native_ids), 400):
        chunk = list(native_ids[start : start + 400])
        rows = db.execute(
            "SELECT native_id, at, reposts, likes, replies, quotes FROM observations "
            f"WHERE source = ? AND native_id IN ({', '.join('?' for _ in chunk)}) ORDER BY at",
            [source, *chunk],
        ).fetchall()
        for native_id, at, *counts in rows:
            found.setdefault(native_id, []).append(
                (datetime.fromisoformat(at), Engagement(*(int(c) for c in counts)))
            )
    return found
