"""Reply drafts, the sets they come in, where each set's message was posted, and the decision
log. Every function runs inside the caller's transaction (the storage writer)."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.drafts.model import Decision, Draft, DraftKind, DraftSet, DraftState, Target
from storage.mentions import timestamp
from storage.rows import build


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def next_id(db: sqlite_utils.Database, table: str) -> int:
    row = db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()
    return int(row[0])


def install_id(db: sqlite_utils.Database) -> str:
    """This database's own id, made once (kept in ``engine_meta``): what tells its drafts'
    publications apart from another installation's, or from a database started afresh."""
    row = db.execute("SELECT value FROM engine_meta WHERE name = 'install'").fetchone()
    if row is not None:
        return str(row[0])
    made = secrets.token_hex(4)
    db.execute("INSERT INTO engine_meta (name, value) VALUES ('install', ?)", [made])
    return made


def save_set(db: sqlite_utils.Database, drafts: DraftSet) -> None:
    data = {
        "brand": drafts.brand,
        "created_at": drafts.created_at.isoformat(),
        "target": asdict(drafts.target),
    }
    db.execute(
        "INSERT OR REPLACE INTO draft_sets (id, incident_id, kind, brand, source, native_id, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            drafts.id,
            drafts.incident_id,
            drafts.kind.value,
            drafts.brand,
            drafts.target.source,
            drafts.target.native_id,
            json.dumps(data, ensure_ascii=False, sort_keys=True),
        ],
    )


def _set(row: tuple[Any, ...]) -> DraftSet:
    set_id, incident_id, kind, data = row
    fields = json.loads(data)
    return DraftSet(
        id=set_id,
        incident_id=incident_id,
        brand=fields["brand"],
        kind=DraftKind(kind),
        target=_target(fields["target"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
    )


def _target(fields: dict[str, Any]) -> Target:
    also = tuple((str(platform), int(limit)) for platform, limit in fields.pop("also", ()))
    return build(Target, {**fields, "also": also})


def get_set(db: sqlite_utils.Database, set_id: int) -> DraftSet | None:
    row = db.execute(
        "SELECT id, incident_id, kind, data FROM draft_sets WHERE id = ?", [set_id]
    ).fetchone()
    return None if row is None else _set(row)


def sets_of(db: sqlite_utils.Database, incident_id: int) -> list[DraftSet]:
    rows = db.execute(
        "SELECT id, incident_id, kind, data FROM draft_sets WHERE incident_id = ? ORDER BY id",
        [incident_id],
    ).fetchall()
    return [_set(row) for row in rows]


def save_draft(db: sqlite_utils.Database, draft: Draft) -> None:
    data = asdict(draft)
    for name in ("created_at", "expires_at", "edited_at", "decided_at", "published_at"):
        data[name] = _time(data[name])
    data["state"] = draft.state.value
    data["notes"] = list(draft.notes)
    db.execute(
        "INSERT OR REPLACE INTO drafts (id, set_id, incident_id, state, data) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            draft.id,
            draft.set_id,
            draft.incident_id,
            draft.state.value,
            json.dumps(data, ensure_ascii=False, sort_keys=True),
        ],
    )


def _draft(data: str) -> Draft:
    fields = json.loads(data)
    for name in ("created_at", "expires_at", "edited_at", "decided_at", "published_at"):
        fields[name] = _parse_time(fields[name])
    fields["state"] = DraftState(fields["state"])
    fields["notes"] = tuple(fields.get("notes", ()))
    return build(Draft, fields)


def get_draft(db: sqlite_utils.Database, draft_id: int) -> Draft | None:
    row = db.execute("SELECT data FROM drafts WHERE id = ?", [draft_id]).fetchone()
    return None if row is None else _draft(row[0])


def publishing(db: sqlite_utils.Database) -> list[Draft]:
    """The drafts whose publication is under way."""
    rows = db.execute(
        "SELECT data FROM drafts WHERE state = ? ORDER BY id", [DraftState.PUBLISHING.value]
    )
    return [_draft(row[0]) for row in rows.fetchall()]


def drafts_in(db: sqlite_utils.Database, set_id: int) -> list[Draft]:
    rows = db.execute("SELECT data FROM drafts WHERE set_id = ? ORDER BY id", [set_id])
    return [_draft(row[0]) for row in rows.fetchall()]


def post_drafts(db: sqlite_utils.Database, brand: str, source: str, native_id: str) -> list[Draft]:
    """Every reply draft of ``brand`` to one post, whichever incident's set it is in."""
    rows = db.execute(
        "SELECT d.data FROM drafts d JOIN draft_sets s ON s.id = d.set_id "
        "WHERE s.brand = ? AND s.source = ? AND s.native_id = ? AND s.kind = ? ORDER BY d.id",
        [brand, source, native_id, DraftKind.REPLY.value],
    )
    return [_draft(row[0]) for row in rows.fetchall()]


def note_posted(db: sqlite_utils.Database, set_id: int, platform: str, channel: str) -> bool:
    """Remember that a set's message goes to a channel; False if it already did."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO draft_posts (set_id, platform, channel) VALUES (?, ?, ?)",
        [set_id, platform, channel],
    )
    return cursor.rowcount > 0


def next_intent(db: sqlite_utils.Database, set_id: int, platform: str, channel: str) -> int:
    """The number of the next post or edit of a set's message in one channel (its outbox
    key's suffix), one more than the last. Counted here rather than from the outbox, whose
    delivered rows retention deletes: a number that went back would repeat a key still
    stored, and the edit would be dropped as a duplicate."""
    where = [set_id, platform, channel]
    db.execute(
        "INSERT INTO draft_posts (set_id, platform, channel, intents) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (set_id, platform, channel) DO UPDATE SET intents = intents + 1",
        where,
    )
    row = db.execute(
        "SELECT intents FROM draft_posts WHERE set_id = ? AND platform = ? AND channel = ?",
        where,
    ).fetchone()
    return int(row[0])


def posted_in(db: sqlite_utils.Database, set_id: int) -> list[tuple[str, str]]:
    rows = db.execute(
        "SELECT platform, channel FROM draft_posts WHERE set_id = ? ORDER BY platform, channel",
        [set_id],
    )
    return [(str(platform), str(channel)) for platform, channel in rows.fetchall()]


def record(db: sqlite_utils.Database, decision: Decision) -> None:
    db.execute(
        "INSERT INTO decisions (at, actor, action, incident_id, draft_id, text, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            timestamp(decision.at),
            decision.actor,
            decision.action,
            decision.incident_id,
            decision.draft_id,
            decision.text,
            decision.detail,
        ],
    )


def decisions(db: sqlite_utils.Database, incident_id: int | None = None) -> list[Decision]:
    """The decision log, oldest first; one incident's when ``incident_id`` is given."""
    query = "SELECT at, actor, action, incident_id, draft_id, text, detail FROM decisions"
    args: list[Any] = []
    if incident_id is not None:
        query += " WHERE incident_id = ?"
        args.append(incident_id)
    rows = db.execute(query + " ORDER BY id", args).fetchall()
    return [
        Decision(datetime.fromisoformat(at), actor, action, incident, draft, text, detail)
        for at, actor, action, incident, draft, text, detail in rows
    ]
