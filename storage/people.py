"""People's display names by their platform id, so a chat platform whose ids are opaque
(Teams: Entra object ids) can show names. Ids stay what is audited and checked."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from storage.mentions import timestamp


def save_name(db: sqlite_utils.Database, platform: str, user: str, name: str) -> None:
    db.execute(
        "INSERT OR REPLACE INTO people (platform, id, name, updated_at) VALUES (?, ?, ?, ?)",
        [platform, user, name, timestamp(datetime.now(UTC))],
    )


def load_names(db: sqlite_utils.Database, platform: str) -> dict[str, str]:
    """Every known id of ``platform`` and its name."""
    rows = db.execute("SELECT id, name FROM people WHERE platform = ?", [platform])
    return {str(user): str(name) for user, name in rows}
