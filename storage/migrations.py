"""Forward-only schema migrations; ``schema_version`` records which have run.

Append a function to ``MIGRATIONS`` to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils


def _v1_mentions(db: sqlite_utils.Database) -> None:
    db.table("mentions").create(
        {
            "source": str,
            "native_id": str,
            "url": str,
            "author_handle": str,
            "author_name": str,
            "author_followers": int,
            "text": str,
            "language": str,
            "language_confidence": float,
            "created_at": str,
            "reposts": int,
            "likes": int,
            "replies": int,
            "quotes": int,
            "parent_id": str,
            "negativity": float,
            "sentiment": str,
            "compound": float,
            "matched_terms": str,
            "received_at": str,
            "raw": str,
        },
        pk=("source", "native_id"),
    )
    db.table("mentions").create_index(["created_at"])
    db.table("mention_brands").create(
        {"brand": str, "source": str, "native_id": str, "created_at": str},
        pk=("brand", "source", "native_id"),
        foreign_keys=[(("source", "native_id"), "mentions", ("source", "native_id"))],
    )
    db.table("mention_brands").create_index(["brand", "created_at"])
    db.table("cursors").create({"source": str, "position": str, "updated_at": str}, pk="source")


def _v2_incidents(db: sqlite_utils.Database) -> None:
    db.table("incidents").create(
        {
            "id": int,
            "brand": str,
            "topic": str,
            "theme": str,
            "status": str,
            "level": str,
            "risk": int,
            "peak_risk": int,
            "mention_count": int,
            "opened_at": str,
            "notified_at": str,
            "updated_at": str,
            "resolved_at": str,
            "data": str,  # the whole incident, policy snapshot included (storage.incidents)
        },
        pk="id",
    )
    db.table("incidents").create_index(["status"])
    db.table("incidents").create_index(["brand", "opened_at"])
    db.table("incident_mentions").create(
        {"incident_id": int, "source": str, "native_id": str},
        pk=("incident_id", "source", "native_id"),
    )
    db.table("audit").create(
        {"id": int, "incident_id": int, "at": str, "actor": str, "action": str, "detail": str},
        pk="id",
    )
    db.table("audit").create_index(["incident_id", "id"])
    db.table("outbox").create(
        {
            "id": int,
            "key": str,
            "incident_id": int,
            "kind": str,
            "platform": str,
            "channel": str,
            "created_at": str,
            "payload": str,
            "state": str,  # pending, sending, sent, superseded, failed
            "attempts": int,
            "next_attempt_at": float,  # wall-clock epoch seconds (delivery runs in real time)
            "last_error": str,
            "sent_at": str,
            "ref": str,
        },
        pk="id",
    )
    db.table("outbox").create_index(["key"], unique=True)
    db.table("outbox").create_index(["state", "id"])
    db.table("alerts").create(
        {"incident_id": int, "platform": str, "channel": str, "ref": str, "posted_at": str},
        pk=("incident_id", "platform", "channel"),
    )
    db.table("silences").create(
        {"id": int, "expires_at": str, "data": str},
        pk="id",
    )
    db.table("engine_groups").create({"key": str, "state": str}, pk="key")
    db.table("engine_meta").create({"name": str, "value": str}, pk="name")


def _v3_observations(db: sqlite_utils.Database) -> None:
    db.table("observations").create(
        {
            "source": str,
            "native_id": str,
            "at": str,
            "reposts": int,
            "likes": int,
            "replies": int,
            "quotes": int,
        },
        pk=("source", "native_id", "at"),
    )


def _v4_canonical_urls(db: sqlite_utils.Database) -> None:
    db.table("mentions").add_column("canonical_url", str, not_null_default="")
    db.table("mentions").create_index(["canonical_url"])


def _v5_drafts(db: sqlite_utils.Database) -> None:
    db.table("draft_sets").create(
        {"id": int, "incident_id": int, "kind": str, "source": str, "native_id": str, "data": str},
        pk="id",
    )
    db.table("draft_sets").create_index(["incident_id", "kind", "source", "native_id"], unique=True)
    db.table("drafts").create(
        {"id": int, "set_id": int, "incident_id": int, "state": str, "data": str}, pk="id"
    )
    db.table("drafts").create_index(["set_id"])
    # where each set's message was posted, and the platform's id of every thread part
    db.table("draft_posts").create(
        {"set_id": int, "platform": str, "channel": str}, pk=("set_id", "platform", "channel")
    )
    db.table("message_parts").create(
        {"incident_id": int, "platform": str, "channel": str, "part": str, "ref": str},
        pk=("incident_id", "platform", "channel", "part"),
    )
    db.table("decisions").create(
        {
            "id": int,
            "at": str,
            "actor": str,
            "action": str,
            "incident_id": int,
            "draft_id": int,
            "text": str,
            "detail": str,
        },
        pk="id",
    )
    db.table("decisions").create_index(["incident_id", "id"])


def _v6_conversations(db: sqlite_utils.Database) -> None:
    # Teams: where the bot may post, by channel key (a channel id, or a name bound by "watch")
    db.table("conversations").create(
        {"channel": str, "platform": str, "reference": str, "name": str, "updated_at": str},
        pk=("platform", "channel"),
    )


def _v7_people(db: sqlite_utils.Database) -> None:
    # Teams: people's display names by their platform id (the audit keeps the ids)
    db.table("people").create(
        {"platform": str, "id": str, "name": str, "updated_at": str}, pk=("platform", "id")
    )


def _v8_draft_set_brands(db: sqlite_utils.Database) -> None:
    # A post gets one reply per brand whichever incidents count it: its sets are looked up by
    # (brand, source, native_id). The per-incident unique index stays: a database may already
    # hold a post's sets under two incidents, and the drafts decide which of them is live.
    db.table("draft_sets").add_column("brand", str, not_null_default="")
    rows = db.execute("SELECT id, data FROM draft_sets").fetchall()
    for set_id, data in rows:
        db.execute("UPDATE draft_sets SET brand = ? WHERE id = ?", [_brand_in(data), set_id])
    db.table("draft_sets").create_index(["brand", "source", "native_id"])


def _brand_in(data: str | None) -> str:
    """The brand in a stored set's JSON; "" when it cannot be read (the row is kept)."""
    try:
        brand = json.loads(data or "{}").get("brand")
    except (ValueError, TypeError, AttributeError):
        return ""
    return brand if isinstance(brand, str) else ""


_RETENTION_INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("mentions", ["received_at"]),
    ("mention_brands", ["source", "native_id"]),
    ("incident_mentions", ["source", "native_id"]),
    ("draft_sets", ["source", "native_id"]),
    ("observations", ["at"]),
    ("outbox", ["state", "created_at"]),
)
"""Version 9's indexes (what storage.retention looks up per old row); repaired by version 12."""


def _v9_retention(db: sqlite_utils.Database) -> None:
    # storage.retention: what is old by when it was received or written, and what holds it.
    # A batch looks these up once per old row (its NOT EXISTS, and deleting a mention's brands
    # and its foreign-key check): each must be an index search, never a scan of the table.
    for table, columns in _RETENTION_INDEXES:
        db.table(table).create_index(columns, if_not_exists=True)
    _count_draft_messages(db)


def _count_draft_messages(db: sqlite_utils.Database) -> None:
    # A drafts message numbers its outbox keys from this counter (storage.drafts.next_intent),
    # no longer by counting its outbox rows: retention deletes them, and a count that goes back
    # repeats a key still stored, so the edit is dropped as a duplicate. Each counter starts
    # after the keys already given out (all still stored: nothing was deleted before v9).
    db.table("draft_posts").add_column("intents", int, not_null_default=0)
    posts = db.execute("SELECT set_id, platform, channel FROM draft_posts").fetchall()
    for set_id, platform, channel in posts:
        prefix = f"drafts-{set_id}-{platform}:{channel}-"
        db.execute(
            "UPDATE draft_posts SET intents = ? WHERE set_id = ? AND platform = ? AND channel = ?",
            [_last_number(db, prefix), set_id, platform, channel],
        )


def _last_number(db: sqlite_utils.Database, prefix: str) -> int:
    """The highest number among the outbox keys ``prefix`` + digits; 0 when there are none."""
    rows = db.execute(
        "SELECT key FROM outbox WHERE key >= ? AND key < ?", [prefix, prefix + "\uffff"]
    ).fetchall()
    suffixes = (str(key)[len(prefix) :] for (key,) in rows)
    return max((int(n) for n in suffixes if n.isascii() and n.isdigit()), default=0)


def _v10_mention_issues(db: sqlite_utils.Database) -> None:
    # storage.unfiled: mentions stored but not filed into incidents (the filing failed; filed
    # again later, from the scored mention kept here), and mentions stored without a score
    db.table("mention_issues").create(
        {
            "source": str,
            "native_id": str,
            "stage": str,
            "error": str,
            "attempts": int,
            "noted_at": str,
            "scored": str,
        },
        pk=("source", "native_id", "stage"),
    )
    db.table("mention_issues").create_index(["stage", "noted_at"])


def _v11_engine_overflow(db: sqlite_utils.Database) -> None:
    # The mentions a group counted beyond the references its bins keep (a storm of hundreds in
    # five minutes): an incident that opens or reopens on the group links them from here.
    db.table("engine_overflow").create(
        {"brand": str, "topic": str, "at": str, "source": str, "native_id": str},
        pk=("brand", "topic", "source", "native_id"),
    )
    db.table("engine_overflow").create_index(["brand", "topic", "at"])
    db.table("engine_overflow").create_index(["at"])


def _v12_repairs(db: sqlite_utils.Database) -> None:
    # v9 was extended after it had shipped (three more indexes and draft_posts.intents): a
    # database migrated by the first v9 lacked them, and every drafts message then failed.
    # Each step is a no-op where it was done. Also: v4 added canonical_url empty for the
    # mentions already stored, so a repost or a second feed of one of them was not found as a
    # duplicate by its link. Holding statements stored before their sets kept every platform
    # they must fit get them. And stored JSON gained fields (a chain's unsnoozed_due, a target's
    # also) at version 11: from here an older Vigie refuses the database instead of crashing.
    for table, columns in _RETENTION_INDEXES:
        db.table(table).create_index(columns, if_not_exists=True)
    if "intents" not in db.table("draft_posts").columns_dict:
        _count_draft_messages(db)
    _fill_canonical_urls(db)
    _fill_statement_limits(db)


def _v13_link_holders(db: sqlite_utils.Database) -> None:
    # storage.mentions asks which sources hold a link (the first and the last by name): with
    # the source in the index each is one search of it, not a walk through every mention
    # sharing the link (thousands of app-store reviews linking to one product page). The index
    # on canonical_url alone is its prefix: no longer needed.
    db.table("mentions").create_index(["canonical_url", "source"], if_not_exists=True)
    db.execute("DROP INDEX IF EXISTS idx_mentions_canonical_url")


def _fill_canonical_urls(db: sqlite_utils.Database, chunk: int = 5000) -> None:
    from bot.urls import canonical_url  # what storage.mentions stores for new mentions

    last = 0
    while True:
        rows = db.execute(
            "SELECT rowid, url FROM mentions WHERE rowid > ? AND canonical_url = '' "
            "AND url != '' ORDER BY rowid LIMIT ?",
            [last, chunk],
        ).fetchall()
        if not rows:
            return
        db.conn.executemany(
            "UPDATE mentions SET canonical_url = ? WHERE rowid = ?",
            [(canonical_url(url), rowid) for rowid, url in rows],
        )
        last = rows[-1][0]


def _fill_statement_limits(db: sqlite_utils.Database) -> None:
    # Holding statements were fitted to every platform the incident's replies went to when the
    # statement was drafted, before the set kept them (target.also): an edit of one stored
    # without them was checked against one platform only. Those replies' sets say which.
    from bot.drafts.limits import limit_for  # the platform names the planner uses

    def limit_of(target: dict[str, object]) -> tuple[str, int]:
        limit = int(str(target["limit"]))
        return limit_for(str(target["platform"]), limit).platform, limit

    statements = db.execute(
        "SELECT id, incident_id, data FROM draft_sets WHERE kind = 'statement'"
    ).fetchall()
    for set_id, incident_id, data in statements:
        try:
            fields = json.loads(data)
            target = fields["target"]
            if "also" in target:
                continue
            own, drafted = limit_of(target), str(fields["created_at"])
        except (ValueError, TypeError, KeyError):
            continue  # an unreadable set is left as it is (its reader says so)
        limits: set[tuple[str, int]] = set()
        replies = db.execute(
            "SELECT data FROM draft_sets WHERE incident_id = ? AND kind = 'reply'", [incident_id]
        )
        for (reply,) in replies:
            try:
                other = json.loads(reply)
                if str(other["created_at"]) <= drafted:  # replies the statement was fitted to
                    limits.add(limit_of(other["target"]))
            except (ValueError, TypeError, KeyError):
                continue
        target["also"] = [list(limit) for limit in sorted(limits - {own})]
        db.execute("UPDATE draft_sets SET data = ? WHERE id = ?", [json.dumps(fields), set_id])


class SchemaTooNew(Exception):
    """The database was written by a newer Vigie."""


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = [
    _v1_mentions,
    _v2_incidents,
    _v3_observations,
    _v4_canonical_urls,
    _v5_drafts,
    _v6_conversations,
    _v7_people,
    _v8_draft_set_brands,
    _v9_retention,
    _v10_mention_issues,
    _v11_engine_overflow,
    _v12_repairs,
    _v13_link_holders,
]


def current_version(db: sqlite_utils.Database) -> int:
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def too_new(version: int) -> str:
    """Why a database at schema ``version``, newer than this Vigie, is refused."""
    return (
        f"the database is at schema version {version}, newer than this Vigie "
        f"({len(MIGRATIONS)}); upgrade Vigie"
    )


def migrate(db: sqlite_utils.Database) -> int:
    """Run every migration not yet applied, each in its own transaction; return the version."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    version = current_version(db)
    if version > len(MIGRATIONS):
        raise SchemaTooNew(too_new(version))
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            migration(db)
            db.table("schema_version").insert(
                {"version": number, "applied_at": datetime.now(UTC).isoformat()}
            )
    return len(MIGRATIONS)
