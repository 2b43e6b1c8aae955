"""``python -m bot audit [--incident ID] [--json]``: the decision log of reply drafts, from
storage: who proposed, edited, approved, rejected or published what, when, with the exact text."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.config import AppConfig
from bot.drafts.model import Decision
from storage.database import StorageError, open_database
from storage.drafts import decisions
from storage.incidents import get_incident
from storage.mentions import timestamp

EXIT_OK, EXIT_FAILED = 0, 1


def decision_record(decision: Decision) -> dict[str, Any]:
    return {
        "at": timestamp(decision.at),
        "incident": decision.incident_id,
        "draft": decision.draft_id,
        "actor": decision.actor,
        "action": decision.action,
        "text": decision.text,
        "detail": decision.detail,
    }


def audit_command(
    config: AppConfig, args: argparse.Namespace, stdout: Console, stderr: Console
) -> int:
    try:
        db = open_database(config.storage.path, read_only=True)
    except StorageError as error:
        stderr.print(f"[red]{escape(str(error))}[/]", highlight=False)
        return EXIT_FAILED
    try:
        log = decisions(db, args.incident) if "decisions" in db.table_names() else []
        unknown = args.incident is not None and get_incident(db, args.incident) is None
    finally:
        db.close()
    if unknown:
        stderr.print(f"[red]no incident #{args.incident}[/]", highlight=False)
        return EXIT_FAILED
    if args.json:
        for decision in log:
            sys.stdout.write(json.dumps(decision_record(decision), ensure_ascii=False) + "\n")
        return EXIT_OK
    about = f" for incident #{args.incident}" if args.incident is not None else ""
    table = Table(title=f"{len(log)} decision(s){about}")
    for column in ("at (UTC)", "incident", "draft", "who", "what", "text", "detail"):
        table.add_column(column, overflow="fold")
    for decision in log:
        table.add_row(
            f"{decision.at:%Y-%m-%d %H:%M:%S}",
            f"#{decision.incident_id}",
            str(decision.draft_id or ""),
            escape(decision.actor),
            decision.action,
            escape(decision.text),
            escape(decision.detail),
        )
    stdout.print(table)
    return EXIT_OK
