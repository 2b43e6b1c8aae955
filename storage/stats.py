"""A brand's numbers over a period (up to now): volume, negative share, who complains most, the
incidents open during it and their themes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.mentions import own_accounts_param, own_post, timestamp


@dataclass(frozen=True, slots=True)
class BrandStats:
    brand: str
    mentions: int
    negative: int  # complaints: the brand's own posts are never counted, however they read
    top_authors: list[tuple[str, int]]  # by negative mentions
    top_themes: list[tuple[str, int]]  # of those incidents, over their whole life
    incidents: int  # open at some time in the period: opened before its end, not resolved before

    @property
    def negative_share(self) -> float:
        return self.negative / self.mentions if self.mentions else 0.0


def brand_stats(
    db: sqlite_utils.Database,
    brand: str,
    since: datetime,
    top: int = 5,
    own: Mapping[str, frozenset[str]] | None = None,
) -> BrandStats:
    """``own``: brand slug -> the brand's own accounts (:func:`bot.accounts.own_accounts`), whose
    posts count as mentions but never as negative ones, nor their authors as complainers."""
    # named parameters: the complaint condition appears at a different place in each query
    values = {"brand": brand, "since": timestamp(since), "top": top, "own": own_accounts_param({})}
    complaint = "m.sentiment = 'negative'"
    if own:
        complaint += f" AND NOT {own_post(db, 'b.brand', 'm.author_handle', ':own')}"
        values["own"] = own_accounts_param(own)
    mentions, negative = db.execute(
        f"SELECT COUNT(*), COALESCE(SUM({complaint}), 0) FROM mention_brands b "
        "JOIN mentions m USING (source, native_id) WHERE b.brand = :brand "
        "AND b.created_at >= :since",
        values,
    ).fetchone()
    authors = db.execute(
        "SELECT m.author_handle, COUNT(*) AS n FROM mention_brands b "
        "JOIN mentions m USING (source, native_id) WHERE b.brand = :brand "
        f"AND b.created_at >= :since AND {complaint} AND m.author_handle != '' "
        "GROUP BY m.author_handle ORDER BY n DESC, m.author_handle LIMIT :top",
        values,
    ).fetchall()
    # an incident still open, or resolved since the period began, was open during it, however
    # long ago it opened; one merged into another counts as that one, its themes with it
    rows = db.execute(
        "SELECT id, data FROM incidents WHERE brand = :brand "
        "AND status NOT IN ('reserved', 'merged') "
        "AND (resolved_at IS NULL OR resolved_at >= :since)",
        values,
    ).fetchall()
    counted = {int(number): json.loads(data) for number, data in rows}
    themes: dict[str, int] = {}
    for incident in [*counted.values(), *_merged_into(db, brand, set(counted))]:
        for theme, count in incident.get("themes", {}).items():
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


def _merged_into(db: sqlite_utils.Database, brand: str, targets: set[int]) -> list[dict[str, Any]]:
    """The stored incidents of ``brand`` merged into one of ``targets``, directly or through
    others merged in turn."""
    merged = {
        int(number): json.loads(data)
        for number, data in db.execute(
            "SELECT id, data FROM incidents WHERE brand = ? AND status = 'merged'", [brand]
        )
    }
    found = []
    for number, incident in merged.items():
        seen = {number}
        into = incident.get("merged_into")
        while into in merged and into not in seen:  # a chain: #3 into #2, #2 into #1
            seen.add(into)
            into = merged[into].get("merged_into")
        if into in targets:
            found.append(incident)
    return found
