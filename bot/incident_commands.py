"""``python -m bot incidents`` and ``python -m bot incident ID``: what happened, from storage."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import sqlite_utils
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.config import AppConfig
from bot.incidents.model import AuditEntry, Incident, topic_label
from storage.database import StorageError, open_database
from storage.incidents import audit_of, get_incident, list_incidents
from storage.mentions import timestamp

EXIT_OK, EXIT_FAILED = 0, 1


def incident_record(incident: Incident) -> dict[str, Any]:
    """The stable JSON shape of one incident (event times only, so replays compare equal)."""
    return {
        "id": incident.id,
        "brand": incident.brand,
        "topic": incident.topic,
        "theme": incident.theme,
        "status": incident.status.value,
        "level": incident.level_name,
        "levels": [
            {"level": change.level, "at": timestamp(change.at), "why": change.why}
            for change in incident.levels
        ],
        "mentions": incident.mention_count,
        "peak_risk": incident.peak_risk,
        "opened_at": timestamp(incident.opened_at),
        "notified_at": timestamp(incident.notified_at) if incident.notified_at else None,
        "acknowledged_by": incident.acknowledged_by or None,
        "resolved_at": timestamp(incident.resolved_at) if incident.resolved_at else None,
        "resolved_by": incident.resolved_by or None,
        "merged_into": incident.merged_into,
    }


def audit_record(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": timestamp(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "detail": entry.detail,
    }


def _open(config: AppConfig, stderr: Console) -> sqlite_utils.Database | None:
    try:
        return open_database(config.storage.path, read_only=True)
    except StorageError as error:
        stderr.print(f"[red]{escape(str(error))}[/]", highlight=False)
        return None


def list_command(
    config: AppConfig, args: argparse.Namespace, stdout: Console, stderr: Console
) -> int:
    db = _open(config, stderr)
    if db is None:
        return EXIT_FAILED
    try:
        incidents = list_incidents(db, only_open=args.status == "open")
    finally:
        db.close()
    if args.json:
        for incident in incidents:
            sys.stdout.write(json.dumps(incident_record(incident), ensure_ascii=False) + "\n")
        return EXIT_OK
    names = {brand.brand_slug: brand.name for brand in config.brands}
    table = Table(title=f"{len(incidents)} incident(s)")
    for column in ("id", "brand", "topic", "status", "level", "history", "mentions", "peak"):
        table.add_column(column, justify="right" if column in ("mentions", "peak") else "left")
    for incident in incidents:
        history = " → ".join(f"{c.level} {c.at:%d %b %H:%M}" for c in incident.levels)
        theme = f" ({incident.theme.replace('_', ' ')})" if incident.theme else ""
        table.add_row(  # names and topics come from configuration and posts: never markup
            f"#{incident.id}",
            escape(names.get(incident.brand, incident.brand)),
            escape(topic_label(incident.topic) + theme),
            incident.status.value,
            escape(incident.level_name),
            escape(history),
            str(incident.mention_count),
            str(incident.peak_risk),
        )
    stdout.print(table)
    return EXIT_OK


def show_command(
    config: AppConfig, args: argparse.Namespace, stdout: Console, stderr: Console
) -> int:
    db = _open(config, stderr)
    if db is None:
        return EXIT_FAILED
    try:
        incident = get_incident(db, args.id)
        audit = audit_of(db, args.id) if incident else []
        deliveries = db.execute(
            "SELECT key, kind, platform, channel, state, attempts, last_error FROM outbox "
            "WHERE incident_id = ? ORDER BY id",
            [args.id],
        ).fetchall()
    finally:
        db.close()
    if incident is None:
        stderr.print(f"[red]no incident #{args.id}[/]")
        return EXIT_FAILED
    record = {
        **incident_record(incident),
        "explanation": incident.explanation,
        "audit": [audit_record(entry) for entry in audit],
        "notifications": [
            dict(
                zip(
                    ("key", "kind", "platform", "channel", "state", "attempts", "error"),
                    row,
                    strict=True,
                )
            )
            for row in deliveries
        ],
    }
    if args.json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    name = next((b.name for b in config.brands if b.brand_slug == incident.brand), incident.brand)
    title = f"#{incident.id} {escape(name)} {escape(topic_label(incident.topic))}"
    stdout.print(
        f"[bold]{title}[/]: {incident.status.value}, {escape(incident.level_name)}, "
        f"peak risk {incident.peak_risk}, {incident.mention_count} mentions",
        highlight=False,
    )
    stdout.print(f"risk now {escape(incident.explanation)}", highlight=False)  # "34: why"
    table = Table(title="timeline")
    for column in ("at (UTC)", "who", "what", "detail"):
        table.add_column(column)
    for entry in audit:
        table.add_row(
            f"{entry.at:%Y-%m-%d %H:%M}",
            escape(entry.actor),
            escape(entry.action),
            escape(entry.detail),
        )
    stdout.print(table)
    states: dict[str, int] = {}
    for row in deliveries:
        states[row[4]] = states.get(row[4], 0) + 1
    stdout.print(f"notifications: {', '.join(f'{n} {s}' for s, n in states.items()) or 'none'}")
    return EXIT_OK
