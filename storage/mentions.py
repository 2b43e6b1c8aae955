"""Stored mentions: idempotent batch writes on (source, native id), and queries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.model import ScoredMention, Sentiment
from storage.cursors import save_cursors

_KEYS_PER_LOOKUP = 400  # two SQL variables each, well under SQLite's limit


def timestamp(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def save_batch(
    db: sqlite_utils.Database,
    batch: Sequence[ScoredMention],
    positions: Mapping[str, str] | None = None,
) -> list[ScoredMention]:
    """Store the mentions not stored yet and the sources' positions, in one transaction.

    Returns the mentions that were new; repeats (same source and native id) are left alone.
    """
    with db.atomic():
        known = _existing_keys(db, {scored.mention.key for scored in batch})
        fresh: list[ScoredMention] = []
        for scored in batch:
            if scored.mention.key not in known:
                known.add(scored.mention.key)
                fresh.append(scored)
        if fresh:
            db.table("mentions").insert_all((_row(scored) for scored in fresh), batch_size=200)
            db.table("mention_brands").insert_all(
                (
                    {
                        "brand": brand,
                        "source": scored.mention.source,
                        "native_id": scored.mention.native_id,
                        "created_at": timestamp(scored.mention.created_at),
                    }
                    for scored in fresh
                    for brand in scored.brands
                ),
                batch_size=500,
            )
        save_cursors(db, positions or {})
    return fresh


def _existing_keys(db: sqlite_utils.Database, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    pending = list(keys)
    for start in range(0, len(pending), _KEYS_PER_LOOKUP):
        chunk = pending[start : start + _KEYS_PER_LOOKUP]
        values = ",".join("(?, ?)" for _ in chunk)
        params = [part for key in chunk for part in key]
        sql = (
            f"SELECT source, native_id FROM mentions WHERE (source, native_id) IN (VALUES {values})"
        )
        found.update((str(source), str(native)) for source, native in db.execute(sql, params))
    return found


def _row(scored: ScoredMention) -> dict[str, Any]:
    mention = scored.mention
    return {
        "source": mention.source,
        "native_id": mention.native_id,
        "url": mention.url,
        "author_handle": mention.author.handle,
        "author_name": mention.author.name,
        "author_followers": mention.author.followers,
        "text": mention.text,
        "language": scored.language.code,
        "language_confidence": round(scored.language.confidence, 4),
        "created_at": timestamp(mention.created_at),
        "reposts": mention.engagement.reposts,
        "likes": mention.engagement.likes,
        "replies": mention.engagement.replies,
        "quotes": mention.engagement.quotes,
        "parent_id": mention.parent_id,
        "negativity": scored.negativity.score,
        "sentiment": scored.negativity.sentiment.value,
        "compound": scored.negativity.compound,
        "matched_terms": json.dumps(scored.matched_terms, ensure_ascii=False),
        "received_at": timestamp(scored.received_at),
        "raw": json.dumps(mention.raw, ensure_ascii=False, default=str),
    }


def find_mentions(
    db: sqlite_utils.Database,
    *,
    brand: str | None = None,
    since: datetime | None = None,
    negative: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Mentions, newest first; each filter is optional (no filter: everything)."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if brand is not None:
        where.append(
            "EXISTS (SELECT 1 FROM mention_brands f WHERE f.brand = ? "
            "AND f.source = m.source AND f.native_id = m.native_id)"
        )
        params.append(brand)
    if since is not None:
        where.append("m.created_at >= ?")
        params.append(timestamp(since))
    if negative:
        where.append("m.sentiment = ?")
        params.append(Sentiment.NEGATIVE.value)
    sql = f"""
        SELECT m.*, (SELECT group_concat(b.brand, ',') FROM mention_brands b
                     WHERE b.source = m.source AND b.native_id = m.native_id) AS brands
        FROM mentions m WHERE {" AND ".join(where)}
        ORDER BY m.created_at DESC, m.source, m.native_id
    """
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    return [_public(dict(zip(columns, row, strict=True))) for row in cursor]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("raw", None)
    row["brands"] = sorted((row.get("brands") or "").split(",")) if row.get("brands") else []
    row["matched_terms"] = json.loads(row["matched_terms"] or "[]")
    return row


def count_mentions(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
