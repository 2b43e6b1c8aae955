"""The commands that read the database (mentions, incidents, incident, audit): open it
read-only once it is known to be Vigie's, otherwise say why in one line and exit 1."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from bot.config import AppConfig, default_config_path, load_config

if TYPE_CHECKING:
    import sqlite_utils

EXIT_FAILED = 1


def config_of(args: argparse.Namespace) -> AppConfig:
    return load_config(default_config_path(args.config))


def incidents(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.incident_commands import list_command

    config = config_of(args)
    return read_command(
        config.storage.path, stderr, lambda: list_command(config, args, stdout, stderr)
    )


def incident(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.incident_commands import show_command

    config = config_of(args)
    return read_command(
        config.storage.path, stderr, lambda: show_command(config, args, stdout, stderr)
    )


def audit(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.audit_command import audit_command

    config = config_of(args)
    return read_command(
        config.storage.path, stderr, lambda: audit_command(config, args, stdout, stderr)
    )


class _Unreadable(Exception):
    """The database cannot be read (none yet, not Vigie's, damaged); the message says which."""


def read_command(database: Path, stderr: Console, command: Callable[[], int]) -> int:
    """Run a command that reads the database once it is known to be Vigie's: otherwise one
    line and exit 1, never a traceback or an empty table."""
    try:
        open_for_reading(database).close()
        return command()
    except _Unreadable as error:
        problem = str(error)
    except sqlite3.DatabaseError as error:  # found wanting half-way: damaged, locked, too old
        problem = _database_trouble(database, error)
    stderr.print(f"[red]{escape(problem)}[/]", highlight=False)
    return EXIT_FAILED


def open_for_reading(database: Path) -> sqlite_utils.Database:
    """The database, read-only, once it is known to be one Vigie wrote."""
    from storage.database import StorageError, open_database
    from storage.migrations import current_version

    try:
        db = open_database(database, read_only=True)
    except StorageError as error:
        raise _Unreadable(str(error)) from None
    try:
        version = current_version(db)
    except sqlite3.DatabaseError as error:
        db.close()
        raise _Unreadable(_database_trouble(database, error)) from None
    if version == 0:  # SQLite takes an empty file, or another program's database, as its own
        db.close()
        what = "the file is empty" if database.stat().st_size == 0 else "it has no Vigie tables"
        raise _Unreadable(f"{database} is not a Vigie database: {what}")
    return db


def _database_trouble(database: Path, error: sqlite3.DatabaseError) -> str:
    if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
        return f"{database} is not a Vigie database: {error}"
    return f"{database}: cannot read the database: {error}"
