"""Successive counts of posts in open incidents (how far they travel), and what to re-read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.model import Engagement
from storage.mentions import timestamp

LIVE = ("pending", "open", "acknowledged")


@dataclass(frozen=True, slots=True)
class Tracked:
    """A mention of a live incident, as the refresher needs it."""

    source: str
    native_id: str
    created_at: datetime
    brand: str
    topic: str
    engagement: Engagement


def mentions_to_refresh(db: sqlite_utils.Database, limit: int) -> list[Tracked]:
    """The newest mentions of live incidents (each once, with its incident's brand and topic)."""
    rows = db.execute(
        "SELECT m.source, m.native_id, m.created_at, i.brand, i.topic, "
        "m.reposts, m.likes, m.replies, m.quotes "
        "FROM incident_mentions im JOIN incidents i ON i.id = im.incident_id "
        "JOIN mentions m ON m.source = im.source AND m.native_id = im.native_id "
        f"WHERE i.status IN ({', '.join('?' for _ in LIVE)}) "
        "GROUP BY m.source, m.native_id ORDER BY m.created_at DESC LIMIT ?",
        [*LIVE, limit],
    ).fetchall()
    return [
        Tracked(
            row[0],
            row[1],
            datetime.fromisoformat(row[2]),
            row[3],
            row[4],
            Engagement(row[5] or 0, row[6] or 0, row[7] or 0, row[8] or 0),
        )
        for row in rows
    ]


def record_observations(
    db: sqlite_utils.Database, source: str, at: datetime, counts: Mapping[str, Engagement]
) -> None:
    """Keep this reading of each post, and make it the mention's current counts."""
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
            "UPDATE mentions SET reposts = ?, likes = ?, replies = ?, quotes = ? "
            "WHERE source = ? AND native_id = ?",
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
