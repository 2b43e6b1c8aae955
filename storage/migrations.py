"""Forward-only schema migrations; ``schema_version`` records which have run.

Append a function to ``MIGRATIONS`` to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

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


class SchemaTooNew(Exception):
    """The database was written by a newer Vigie."""


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = [_v1_mentions]


def current_version(db: sqlite_utils.Database) -> int:
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite_utils.Database) -> int:
    """Run every migration not yet applied, each in its own transaction; return the version."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    version = current_version(db)
    if version > len(MIGRATIONS):
        raise SchemaTooNew(
            f"the database is at schema version {version}, newer than this Vigie "
            f"({len(MIGRATIONS)}); upgrade Vigie"
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            migration(db)
            db.table("schema_version").insert(
                {"version": number, "applied_at": datetime.now(UTC).isoformat()}
            )
    return len(MIGRATIONS)
