"""Where a chat platform lets Vigie post unprompted (Teams conversation references), by channel
key: the channel's own id, stored when Vigie is installed, or a name bound by a command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from storage.mentions import timestamp


def save_reference(
    db: sqlite_utils.Database,
    platform: str,
    channel: str,
    reference: dict[str, Any],
    name: str = "",
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO conversations (channel, platform, reference, name, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            channel,
            platform,
            json.dumps(reference, sort_keys=True),
            name,
            timestamp(datetime.now(UTC)),
        ],
    )


def load_reference(db: sqlite_utils.Database, platform: str, channel: str) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT reference FROM conversations WHERE platform = ? AND channel = ?",
        [platform, channel],
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))
