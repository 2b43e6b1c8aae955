"""Where each source stopped, so a restart resumes without gaps or repeats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlite_utils


def load_cursor(db: sqlite_utils.Database, source: str) -> str | None:
    row = db.execute("SELECT position FROM cursors WHERE source = ?", [source]).fetchone()
    return None if row is None else str(row[0])


def save_cursors(db: sqlite_utils.Database, positions: Mapping[str, str]) -> None:
    """Record positions; call inside the transaction that stores what was read before them."""
    if positions:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        db.table("cursors").upsert_all(
            [{"source": s, "position": p, "updated_at": now} for s, p in positions.items()],
            pk="source",
        )
