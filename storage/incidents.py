"""Incidents, their mentions, audit, silences and the engine's state, in SQLite.

``SqliteJournal`` is the incident engine's storage; it writes inside the caller's transaction.
An incident is kept whole as JSON (``data``), policy snapshot included, with the columns
commands filter on beside it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils
from pydantic import ValidationError

from bot.config.incidents import MAX_DURATION, IncidentPolicy
from bot.durations import parse_duration
from bot.incidents.engine import EngineState
from bot.incidents.groups import GroupRisk
from bot.incidents.model import AuditEntry, Chain, Incident, Intent, LevelChange, Silence, Status
from storage.mentions import timestamp
from storage.outbox import enqueue
from storage.rows import build

logger = logging.getLogger(__name__)
OVERFLOW_KEPT = timedelta(hours=2)  # longer than a group's hour, with late mentions

_TIMES = (
    "opened_at", "updated_at", "last_mention_at", "notified_at", "acknowledged_at",
    "snoozed_until", "calm_since", "last_card_at", "last_reminder_at", "last_paged_at",
    "resolved_at",
)  # fmt: skip


def _time(value: datetime | None) -> str | None:
    return None if value is None else timestamp(value)


def incident_to_json(incident: Incident) -> str:
    data: dict[str, Any] = {f.name: getattr(incident, f.name) for f in fields(incident)}
    data["status"] = incident.status.value
    data["policy"] = incident.policy.model_dump(mode="json")
    for name in _TIMES:
        data[name] = _time(data[name])
    data["levels"] = [
        {"level": c.level, "at": timestamp(c.at), "why": c.why} for c in incident.levels
    ]
    chain = incident.chain
    data["chain"] = (
        None
        if chain is None
        else {
            **asdict(chain),
            **{name: _time(getattr(chain, name)) for name in _CHAIN_TIMES},
        }
    )
    data["channels"] = [list(channel) for channel in incident.channels]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


_CHAIN_TIMES = ("due", "started_at", "unsnoozed_due")


def incident_from_json(
    text: str,
    policies: dict[str, IncidentPolicy] | None = None,
    fallback: IncidentPolicy | None = None,
) -> Incident:
    """An incident as stored. A policy snapshot this version cannot read (a setting renamed or
    removed since, a time zone this host does not know) is replaced by ``fallback`` (the
    configured policy; the defaults when None), with a warning: one old incident must not stop
    the service from starting."""
    data = json.loads(text)
    policy_json = json.dumps(data["policy"], sort_keys=True)
    cache = policies if policies is not None else {}
    if policy_json not in cache:
        cache[policy_json] = _policy(data["policy"], fallback, data.get("id"))
    data["policy"] = policy = cache[policy_json]
    data["status"] = Status(data["status"])
    for name in _TIMES:  # a time added since the incident was saved is None
        data[name] = None if data.get(name) is None else datetime.fromisoformat(data[name])
    data["levels"] = tuple(
        LevelChange(c["level"], datetime.fromisoformat(c["at"]), c["why"]) for c in data["levels"]
    )
    if data["chain"] is not None:
        chain = data["chain"]
        for name in _CHAIN_TIMES:  # (one added since the incident was saved is None)
            chain[name] = None if chain.get(name) is None else datetime.fromisoformat(chain[name])
        data["chain"] = build(Chain, chain)
    data["channels"] = tuple((platform, channel) for platform, channel in data["channels"])
    data["trend"] = tuple(data.get("trend", ()))
    data["examples"] = tuple(data.get("examples", ()))
    data["joined"] = tuple(data.get("joined", ()))
    top = len(policy.levels) - 1  # a fallback policy may have fewer levels
    data["level"] = min(int(data["level"]), top)
    if data["chain"] is not None and data["chain"].level > top:
        data["chain"] = replace(data["chain"], level=top, step=0)
    return build(Incident, data)


def _policy(snapshot: Any, fallback: IncidentPolicy | None, incident_id: Any) -> IncidentPolicy:
    try:
        return IncidentPolicy.model_validate(snapshot)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        logger.warning(
            "incident #%s: its policy snapshot cannot be read by this version (%s: %s); "
            "the %s policy is used for it",
            incident_id,
            where,
            first["msg"],
            "configured" if fallback is not None else "default",
        )
        return fallback if fallback is not None else IncidentPolicy()


HELD_CHUNK = 400  # mentions per look-up: two parameters each, well under SQLite's limit


class SqliteJournal:
    """The engine's journal on one database connection (used on the writer thread)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.enqueued: list[Intent] = []  # this transaction's intents, for what follows cards
        self._attached: list[tuple[int, str, str]] = []
        self._overflow: list[tuple[str, str, str, str, str]] = []

    def next_incident_id(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM incidents").fetchone()
        next_id = int(row[0])
        # reserve it now, so two incidents opened in one transaction get two ids
        self.db.execute(
            "INSERT INTO incidents (id, status, data) VALUES (?, 'reserved', '{}')", [next_id]
        )
        return next_id

    def save_incident(self, incident: Incident) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO incidents (id, brand, topic, theme, status, level, risk, "
            "peak_risk, mention_count, opened_at, notified_at, updated_at, resolved_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                incident.id,
                incident.brand,
                incident.topic,
                incident.theme,
                incident.status.value,
                incident.level_name,
                incident.risk,
                incident.peak_risk,
                incident.mention_count,
                timestamp(incident.opened_at),
                _time(incident.notified_at),
                timestamp(incident.updated_at),
                _time(incident.resolved_at),
                incident_to_json(incident),
            ],
        )

    def audit(self, entry: AuditEntry) -> None:
        self.db.execute(
            "INSERT INTO audit (incident_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            [entry.incident_id, timestamp(entry.at), entry.actor, entry.action, entry.detail],
        )

    def enqueue(self, intent: Intent) -> None:
        enqueue(self.db, intent)
        self.enqueued.append(intent)

    def attach(self, incident_id: int, refs: Sequence[tuple[str, str]]) -> None:
        """Note mentions as an incident's; written together by :meth:`flush` (one statement
        per step rather than one per mention: the hot path of a storm)."""
        self._attached.extend((incident_id, source, native_id) for source, native_id in refs)

    def flush(self) -> None:
        """Write what was noted; the desk calls it before the step's transaction commits."""
        if self._attached:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO incident_mentions (incident_id, source, native_id) "
                "VALUES (?, ?, ?)",
                self._attached,
            )
            self._attached = []
        if self._overflow:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO engine_overflow (brand, topic, at, source, native_id) "
                "VALUES (?, ?, ?, ?, ?)",
                self._overflow,
            )
            self._overflow = []

    def incident_holding(self, ref: tuple[str, str], among: Sequence[int]) -> int | None:
        """The first of ``among`` (incident ids) that holds the mention ``ref``, if any."""
        self.flush()
        for incident_id in among:  # each a primary-key look-up
            row = self.db.execute(
                "SELECT 1 FROM incident_mentions WHERE incident_id = ? AND source = ? "
                "AND native_id = ?",
                [incident_id, *ref],
            ).fetchone()
            if row is not None:
                return incident_id
        return None

    def held_counts(self, refs: Sequence[tuple[str, str]], among: Sequence[int]) -> dict[int, int]:
        """How many of the mentions ``refs`` each of ``among`` (incident ids) holds."""
        self.flush()
        counts: dict[int, int] = {}
        if not among:
            return counts
        unique = list(dict.fromkeys(refs))
        marks = ", ".join("?" * len(among))
        for start in range(0, len(unique), HELD_CHUNK):
            chunk = unique[start : start + HELD_CHUNK]
            pairs = ", ".join("(?, ?)" for _ in chunk)
            rows = self.db.execute(  # a primary-key look-up per mention, however big
                f"WITH refs (source, native_id) AS (VALUES {pairs}) "  # the incidents are
                "SELECT held.incident_id, COUNT(*) FROM refs JOIN incident_mentions AS held "
                "ON held.source = refs.source AND held.native_id = refs.native_id "
                f"WHERE held.incident_id IN ({marks}) GROUP BY held.incident_id",
                [*(part for ref in chunk for part in ref), *among],
            ).fetchall()
            for incident_id, count in rows:
                counts[int(incident_id)] = counts.get(int(incident_id), 0) + int(count)
        return counts

    def move_mentions(self, source_id: int, target_id: int) -> int:
        self.flush()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO incident_mentions (incident_id, source, native_id) "
            "SELECT ?, source, native_id FROM incident_mentions WHERE incident_id = ?",
            [target_id, source_id],
        )
        return max(0, cursor.rowcount)

    def note_overflow(self, key: tuple[str, str], at: datetime, ref: tuple[str, str]) -> None:
        """A mention a group counted at ``at`` beyond the references its bin keeps."""
        self._overflow.append((*key, timestamp(at), *ref))

    def attach_overflow(self, incident_id: int, key: tuple[str, str], since: datetime) -> None:
        """Link to an incident the mentions its group counted since ``since`` that its bins
        keep no reference of."""
        self.flush()
        self.db.execute(
            "INSERT OR IGNORE INTO incident_mentions (incident_id, source, native_id) "
            "SELECT ?, source, native_id FROM engine_overflow "
            "WHERE brand = ? AND topic = ? AND at >= ?",
            [incident_id, *key, timestamp(since)],
        )

    def drop_overflow(self, key: tuple[str, str]) -> None:
        """The group's hour was dealt with (``GroupRisk.consume``)."""
        self.flush()
        self.db.execute("DELETE FROM engine_overflow WHERE brand = ? AND topic = ?", list(key))

    def save_groups(self, states: Sequence[dict[str, Any]], dropped: Sequence[str]) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO engine_groups (key, state) VALUES (?, ?)",
            [("\x1f".join(state["key"]), json.dumps(state)) for state in states],
        )
        self.db.conn.executemany("DELETE FROM engine_groups WHERE key = ?", [(k,) for k in dropped])

    def save_clock(self, now: datetime) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO engine_meta (name, value) VALUES ('now', ?)", [timestamp(now)]
        )
        # what no group's hour counts any more (an index search: nothing, most of the time)
        self.db.execute(
            "DELETE FROM engine_overflow WHERE at < ?", [timestamp(now - OVERFLOW_KEPT)]
        )

    def save_silence(self, silence: Silence) -> None:
        data = {**asdict(silence)}
        for name in ("created_at", "expires_at"):
            data[name] = timestamp(data[name])
        self.db.execute(
            "INSERT OR REPLACE INTO silences (id, expires_at, data) VALUES (?, ?, ?)",
            [silence.id, data["expires_at"], json.dumps(data)],
        )

    def next_silence_id(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM silences").fetchone()
        return int(row[0])


_MERGED_INTO = (
    "WITH RECURSIVE merged(id, into_id) AS ("
    "SELECT id, json_extract(data, '$.merged_into') FROM incidents WHERE status = 'merged' "
    "UNION "  # not UNION ALL: a cycle (never made, but stored data may hold one) ends
    "SELECT merged.id, json_extract(link.data, '$.merged_into') FROM merged "
    "JOIN incidents AS link ON link.id = merged.into_id WHERE link.status = 'merged')"
)
"""Each merged incident with every incident down its chain of merges (#2 into #1, #1 into #3:
#2 with #1 and #3)."""


def load_engine_state(
    db: sqlite_utils.Database, keep_resolved: timedelta, fallback: IncidentPolicy | None = None
) -> EngineState:
    """Live incidents, those resolved recently enough to reopen, those merged (directly or down
    a chain of merges) into one of those, groups, silences, time (``fallback``: see
    ``incident_from_json``)."""
    row = db.execute("SELECT value FROM engine_meta WHERE name = 'now'").fetchone()
    now = datetime.fromisoformat(row[0]) if row else None
    # each resolved incident is kept as long as its own policy snapshot says: load all those
    # the longest stored window may keep, the engine forgets the others at its next step
    horizon = timestamp(now - max(keep_resolved, _longest_kept(db))) if now else ""
    policies: dict[str, IncidentPolicy] = {}
    incidents = [
        incident_from_json(data, policies, fallback)
        for (data,) in db.execute(
            f"{_MERGED_INTO} SELECT data FROM incidents "
            "WHERE status IN ('pending', 'open', 'acknowledged') "
            "OR (status = 'resolved' AND resolved_at >= ?) "
            "OR id IN (SELECT merged.id FROM merged JOIN incidents AS target "  # its topic still
            "ON target.id = merged.into_id "  # goes where its chain of merges ends (or will,
            "WHERE target.status IN ('pending', 'open', 'acknowledged') "  # once reopened)
            "OR (target.status = 'resolved' AND target.resolved_at >= ?)) "
            "ORDER BY id",
            [horizon, horizon],
        ).fetchall()
    ]
    groups = []
    for key, state in db.execute("SELECT key, state FROM engine_groups ORDER BY key").fetchall():
        try:
            groups.append(GroupRisk.from_state(json.loads(state)))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # a state from another version of the detector (or damaged: a null where a record
            # was): that group learns its baseline anew
            logger.warning("incident group %r starts afresh: %s", key.replace("\x1f", " "), error)
    silences = []
    for (data,) in db.execute(
        "SELECT data FROM silences WHERE expires_at >= ? ORDER BY id", [horizon]
    ).fetchall():
        fields_ = json.loads(data)
        for name in ("created_at", "expires_at"):
            fields_[name] = datetime.fromisoformat(fields_[name])
        silences.append(build(Silence, fields_))
    return EngineState(now, incidents, groups, silences)


def _longest_kept(db: sqlite_utils.Database) -> timedelta:
    """The longest ``reopen_within`` or ``resolve_after`` of the stored resolved incidents'
    policy snapshots (a few distinct values; an unreadable one counts for nothing)."""
    longest = timedelta(0)
    for (value,) in db.execute(
        "SELECT DISTINCT json_extract(data, '$.policy.reopen_within') FROM incidents "
        "WHERE status = 'resolved' UNION SELECT DISTINCT "
        "json_extract(data, '$.policy.resolve_after') FROM incidents WHERE status = 'resolved'"
    ).fetchall():
        try:
            longest = max(longest, parse_duration(str(value)))
        except (ValueError, OverflowError):
            continue
    return min(longest, MAX_DURATION)


def list_incidents(db: sqlite_utils.Database, *, only_open: bool) -> list[Incident]:
    where = "WHERE status IN ('pending', 'open', 'acknowledged')" if only_open else ""
    rows = db.execute(
        f"SELECT data FROM incidents {where} {'AND' if where else 'WHERE'} status != 'reserved' "
        "ORDER BY id"
    ).fetchall()
    policies: dict[str, IncidentPolicy] = {}
    return [incident_from_json(data, policies) for (data,) in rows]


def get_incident(db: sqlite_utils.Database, incident_id: int) -> Incident | None:
    row = db.execute(
        "SELECT data FROM incidents WHERE id = ? AND status != 'reserved'", [incident_id]
    ).fetchone()
    return None if row is None else incident_from_json(row[0])


def merge_group(db: sqlite_utils.Database, incident_id: int) -> list[Incident]:
    """Incident ``incident_id`` with every incident merged with it: the one its chain of merges
    ends in (a loop, or an incident no longer stored, ends it sooner) and every incident merged
    into that one, directly or in turn."""
    end, seen = incident_id, {incident_id}
    while (incident := get_incident(db, end)) is not None and incident.status is Status.MERGED:
        if incident.merged_into is None or incident.merged_into in seen:
            break
        seen.add(end := incident.merged_into)
    rows = db.execute(  # up from the end only: not every merge ever made (each approval)
        "WITH RECURSIVE into_end(id) AS (SELECT ? UNION "  # UNION: a stored cycle ends
        "SELECT i.id FROM incidents AS i JOIN into_end "
        "ON json_extract(i.data, '$.merged_into') = into_end.id WHERE i.status = 'merged') "
        "SELECT data FROM incidents WHERE status != 'reserved' "
        "AND (id = ? OR id IN (SELECT id FROM into_end)) ORDER BY id",
        [end, incident_id],
    ).fetchall()
    return [incident_from_json(data) for (data,) in rows]


def audit_of(db: sqlite_utils.Database, incident_id: int) -> list[AuditEntry]:
    rows = db.execute(
        "SELECT incident_id, at, actor, action, detail FROM audit WHERE incident_id = ? "
        "ORDER BY id",
        [incident_id],
    ).fetchall()
    return [
        AuditEntry(row[0], datetime.fromisoformat(row[1]), row[2], row[3], row[4]) for row in rows
    ]
