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


def reference_for(db: sqlite_utils.Database, platform: str, channel: str) -> dict[str, Any] | None:
    """The reference to post to ``channel`` (a key: a channel id or a bound name) with.

    - A channel id Vigie has heard nothing from (install and team events come from the team's
      General channel): the newest reference kept, whose service URL, tenant and bot start a
      thread in that channel by its id.
    - A name: its own, with the service URL of a newer reference kept for the same channel
      (refreshed by every activity there), which Teams may have moved since the name was bound.
    """
    row = db.execute(
        "SELECT reference, updated_at FROM conversations WHERE platform = ? AND channel = ?",
        [platform, channel],
    ).fetchone()
    if row is None:
        if ":" not in channel:  # a name nobody bound
            return None
        newest = db.execute(
            "SELECT reference FROM conversations WHERE platform = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            [platform],
        ).fetchone()
        return None if newest is None else dict(json.loads(newest[0]))
    reference = dict(json.loads(row[0]))
    conversation = str((reference.get("conversation") or {}).get("id") or "").split(";")[0]
    if conversation and conversation != channel:
        fresher = db.execute(
            "SELECT reference FROM conversations WHERE platform = ? AND channel = ? "
            "AND updated_at > ?",
            [platform, conversation, row[1]],
        ).fetchone()
        moved = json.loads(fresher[0]).get("serviceUrl") if fresher else None
        if moved:
            reference["serviceUrl"] = moved
    return reference
