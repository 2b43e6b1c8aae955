"""A brand's numbers over a period: volume, negative share, who complains most, about what."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from storage.mentions import timestamp


@dataclass(frozen=True, slots=True)
class BrandStats:
    brand: str
    mentions: int
    negative: int
    top_authors: list[tuple[str, int]]  # by negative mentions
    top_themes: list[tuple[str, int]]  # from the brand's incidents in the period
    incidents: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.mentions if self.mentions else 0.0


def brand_stats(db: sqlite_utils.Database, brand: str, since: datetime, top: int = 5) -> BrandStats:
    since_text = timestamp(since)
    mentions, negative = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(m.sentiment = 'negative'), 0) FROM mention_brands b "
        "JOIN mentions m USING (source, native_id) WHERE b.brand = ? AND b.created_at >= ?",
        [brand, since_text],
    ).fetchone()
    authors = db.execute(
        "SELECT m.author_handle, COUNT(*) AS n FROM mention_brands b "
        "JOIN mentions m USING (source, native_id) WHERE b.brand = ? AND b.created_at >= ? "
        "AND m.sentiment = 'negative' AND m.author_handle != '' "
        "GROUP BY m.author_handle ORDER BY n DESC, m.author_handle LIMIT ?",
        [brand, since_text, top],
    ).fetchall()
    themes: dict[str, int] = {}
    rows = db.execute(
        "SELECT data FROM incidents WHERE brand = ? AND opened_at >= ?", [brand, since_text]
    ).fetchall()
    for (data,) in rows:
        for theme, count in json.loads(data).get("themes", {}).items():
            themes[theme] = themes.get(theme, 0) + int(count)
    ranked = sorted(themes.items(), key=lambda item: (-item[1], item[0]))[:top]
    return BrandStats(
        brand,
        int(mentions),
        int(negative),
        [(str(a), int(n)) for a, n in authors],
        ranked,
        len(rows),
    )
