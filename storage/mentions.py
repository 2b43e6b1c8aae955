"""Stored mentions: idempotent batch writes on (source, native id), and queries."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

from bot.accounts import is_own
from bot.model import Author, Engagement, Mention, ScoredMention, Sentiment
from bot.urls import canonical_url
from storage.cursors import save_cursors

_KEYS_PER_LOOKUP = 400  # two SQL variables each, well under SQLite's limit


def timestamp(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


_MENTION_COLUMNS = (
    "source", "native_id", "url", "author_handle", "author_name", "author_followers", "text",
    "language", "language_confidence", "created_at", "reposts", "likes", "replies", "quotes",
    "parent_id", "negativity", "sentiment", "compound", "matched_terms", "received_at", "raw",
    "canonical_url",
)  # fmt: skip
# The hot path: a prepared statement run by executemany is several times cheaper per row than
# building dicts for sqlite-utils' insert_all (see bench/pipeline.py).
_INSERT_MENTION = (
    f"INSERT INTO mentions ({', '.join(_MENTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _MENTION_COLUMNS)})"
)
_INSERT_BRAND = (
    "INSERT OR IGNORE INTO mention_brands (brand, source, native_id, created_at) "
    "VALUES (?, ?, ?, ?)"
)


def save_batch(
    db: sqlite_utils.Database,
    batch: Sequence[ScoredMention],
    positions: Mapping[str, str] | None = None,
    same_link_sources: frozenset[str] = frozenset(),
) -> list[ScoredMention]:
    """Store the mentions not stored yet and the sources' positions, in one transaction.

    Returns the mentions that were new. Repeats are left alone: the same source and native id,
    or the same canonical link heard through another source (a post seen by two sources, an
    article in the feeds of two ``rss`` sources). Within one source only its ids tell mentions
    apart (app-store reviews sent to one webhook may all link to the same product page), except
    for ``same_link_sources``, whose feeds can carry one item under different ids (an article
    in two feeds of one ``rss`` source): for those a link the source holds is a repeat too.
    """
    with db.atomic():
        known = _existing_keys(db, {scored.mention.key for scored in batch})
        links = {scored.mention.key: canonical_url(scored.mention.url) for scored in batch}
        holders = _link_holders(db, {link for link in links.values() if link})
        fresh: list[ScoredMention] = []
        for scored in batch:
            key, link = scored.mention.key, links[scored.mention.key]
            if key in known or _repeat(holders.get(link), scored.mention.source, same_link_sources):
                continue
            known.add(key)
            if link:
                holders.setdefault(link, set()).add(scored.mention.source)
            fresh.append(scored)
        rows = [(*_row(scored), links[scored.mention.key]) for scored in fresh]
        db.conn.executemany(_INSERT_MENTION, rows)
        db.conn.executemany(
            _INSERT_BRAND,
            [
                (brand, row[0], row[1], row[9])
                for scored, row in zip(fresh, rows, strict=True)
                for brand in scored.brands
            ],
        )
        save_cursors(db, positions or {})
    return fresh


def _existing_keys(db: sqlite_utils.Database, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``keys`` are stored already: one primary-key lookup per source and chunk."""
    by_source: dict[str, list[str]] = {}
    for source, native_id in keys:
        by_source.setdefault(source, []).append(native_id)
    found: set[tuple[str, str]] = set()
    for source, native_ids in by_source.items():
        for start in range(0, len(native_ids), _KEYS_PER_LOOKUP):
            chunk = native_ids[start : start + _KEYS_PER_LOOKUP]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT native_id FROM mentions WHERE source = ? AND native_id IN ({marks})"
            found.update((source, str(row[0])) for row in db.execute(sql, [source, *chunk]))
    return found


def _link_holders(db: sqlite_utils.Database, links: set[str]) -> dict[str, set[str]]:
    """Of these canonical links, those stored already, each with sources holding it: the first
    and the last by name (one when they are the same: enough to tell whether another one does).
    Each is one search of the (canonical_url, source) index, however many mentions share it."""
    found: dict[str, set[str]] = {}
    ordered = sorted(links)
    for start in range(0, len(ordered), _KEYS_PER_LOOKUP):
        chunk = ordered[start : start + _KEYS_PER_LOOKUP]
        sql = _HOLDERS.format(wanted=", ".join("(?)" for _ in chunk))
        for link, first, last in db.execute(sql, chunk):
            if first is not None:
                found[str(link)] = {first, last}
    return found


_HOLDERS = (
    "WITH wanted(link) AS (VALUES {wanted}) SELECT link, "
    "(SELECT source FROM mentions WHERE canonical_url = link ORDER BY source LIMIT 1), "
    "(SELECT source FROM mentions WHERE canonical_url = link ORDER BY source DESC LIMIT 1) "
    "FROM wanted"
)


def _repeat(holders: set[str] | None, source: str, same_link_sources: frozenset[str]) -> bool:
    """Whether a link held by ``holders`` makes a mention of ``source`` a repeat: held by another
    source, or by any (itself too) for one of ``same_link_sources``."""
    if not holders:
        return False
    return source in same_link_sources or holders != {source}


def _row(scored: ScoredMention) -> tuple[Any, ...]:
    mention = scored.mention
    return (
        mention.source,
        mention.native_id,
        mention.url,
        mention.author.handle,
        mention.author.name,
        mention.author.followers,
        mention.text,
        scored.language.code,
        round(scored.language.confidence, 4),
        timestamp(mention.created_at),
        mention.engagement.reposts,
        mention.engagement.likes,
        mention.engagement.replies,
        mention.engagement.quotes,
        mention.parent_id,
        scored.negativity.score,
        scored.negativity.sentiment.value,
        scored.negativity.compound,
        orjson.dumps(scored.matched_terms).decode(),
        timestamp(scored.received_at),
        _raw_json(mention.raw),
    )


def _raw_json(raw: Any) -> str:
    """The source's payload as JSON; the standard library's encoder where orjson refuses
    (integers past 64 bits, lone surrogates: both escaped, nothing lost)."""
    try:
        return orjson.dumps(raw, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(raw, default=str)


def find_mentions(
    db: sqlite_utils.Database,
    *,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    negative: bool = False,
    limit: int | None = None,
    own: Mapping[str, frozenset[str]] | None = None,
) -> list[dict[str, Any]]:
    """Mentions, newest first; each filter is optional (no filter: everything). ``since`` and
    ``until`` bound when the post was made, both included.

    ``negative`` keeps the negative mentions that are complaints: with ``own`` (brand slug ->
    the brand's own accounts, :func:`bot.accounts.own_accounts`), not a post by the brand's own
    account (an apology reads negative), for ``brand`` or, without it, for some brand it names.
    """
    # a brand's mentions are read through mention_brands' (brand, created_at) index, in order:
    # the mentions table's own index would walk every brand's mentions of the period
    posted = "m.created_at" if brand is None else "f.created_at"
    where: list[str] = ["1 = 1"] if brand is None else ["f.brand = ?"]
    params: list[Any] = [] if brand is None else [brand]
    if since is not None:
        where.append(f"{posted} >= ?")
        params.append(timestamp(since))
    if until is not None:
        where.append(f"{posted} <= ?")
        params.append(timestamp(until))
    if negative:
        where.append("m.sentiment = ?")
        params.append(Sentiment.NEGATIVE.value)
    if negative and own:
        where.append(
            "EXISTS (SELECT 1 FROM mention_brands c WHERE c.source = m.source "
            "AND c.native_id = m.native_id AND c.brand = COALESCE(?, c.brand) "
            f"AND NOT {own_post(db, 'c.brand', 'm.author_handle')})"
        )
        params += [brand, own_accounts_param(own)]
    rows = (
        "mentions m"
        if brand is None
        else "mention_brands f CROSS JOIN mentions m "
        "ON m.source = f.source AND m.native_id = f.native_id"
    )
    sql = f"""
        SELECT m.*, (SELECT group_concat(b.brand, ',') FROM mention_brands b
                     WHERE b.source = m.source AND b.native_id = m.native_id) AS brands
        FROM {rows} WHERE {" AND ".join(where)}
        ORDER BY {posted} DESC, m.source, m.native_id
    """
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    return [_public(dict(zip(columns, row, strict=True))) for row in cursor]


def own_post(db: sqlite_utils.Database, brand: str, author: str, parameter: str = "?") -> str:
    """An SQL condition, whose ``parameter`` is :func:`own_accounts_param`'s value: the SQL
    expression ``author`` is one of the own accounts of the brand (slug) ``brand``. Decided by
    :func:`bot.accounts.is_own`, as the incident engine and the console decide it, from the
    configured handles, so a database written before a handle was configured reads right too."""
    # the same function every time: when a running statement holds it, that one serves
    with suppress(sqlite3.Error):
        db.conn.create_function("vigie_own_post", 3, _own_post, deterministic=True)
    return f"vigie_own_post({brand}, {author}, {parameter})"


def own_accounts_param(own: Mapping[str, frozenset[str]]) -> str:
    """The parameter of :func:`own_post`'s condition."""
    return json.dumps({slug: sorted(accounts) for slug, accounts in own.items()}, sort_keys=True)


def _own_post(brand: str | None, author: str | None, own: str) -> bool:
    return is_own(author or "", _decoded(own).get(brand or "", frozenset()))


@functools.lru_cache(maxsize=16)
def _decoded(own: str) -> dict[str, frozenset[str]]:
    return {slug: frozenset(accounts) for slug, accounts in json.loads(own).items()}


def _public(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("raw", None)
    row["brands"] = sorted((row.get("brands") or "").split(",")) if row.get("brands") else []
    row["matched_terms"] = json.loads(row["matched_terms"] or "[]")
    return row


def count_mentions(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])


def load_mention(db: sqlite_utils.Database, source: str, native_id: str) -> Mention | None:
    """A stored mention as its source heard it (raw payload included), or None."""
    row = db.execute(
        "SELECT url, author_handle, author_name, author_followers, text, language, created_at, "
        "reposts, likes, replies, quotes, parent_id, raw FROM mentions "
        "WHERE source = ? AND native_id = ?",
        [source, native_id],
    ).fetchone()
    if row is None:
        return None
    (url, handle, name, followers, text, language, created_at, reposts, likes, replies, quotes,
     parent_id, raw) = row  # fmt: skip
    return Mention(
        source=source,
        native_id=native_id,
        text=text,
        created_at=datetime.fromisoformat(created_at),
        url=url or "",
        author=Author(handle or "", name or "", followers or 0),
        engagement=Engagement(reposts or 0, likes or 0, replies or 0, quotes or 0),
        language=language or "",
        parent_id=parent_id or "",
        raw=json.loads(raw) if raw else {},
    )


def latest_post_time(db: sqlite_utils.Database) -> datetime | None:
    """When the newest stored mention was posted (where event time resumes after a restart)."""
    row = db.execute("SELECT MAX(created_at) FROM mentions").fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None
