"""Opening the SQLite file: WAL mode, sane pragmas, and the schema brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from storage.migrations import SchemaTooNew, migrate


class StorageError(Exception):
    """The store cannot be used; the message says why and what to do."""


def open_database(path: Path, *, read_only: bool = False) -> sqlite_utils.Database:
    """Open (and for writers, create and migrate) the database at ``path``."""
    try:
        if read_only:
            if not path.exists():
                raise StorageError(f"{path}: no database yet; run `python -m bot run` first")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            return sqlite_utils.Database(conn)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
    except OSError as error:
        raise StorageError(f"{path}: cannot create the database: {error}") from error
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path}: cannot open the database: {error}") from error
    try:
        db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA foreign_keys = ON")
        # SQLite opens a file it may not write read-only without a word; writing a header
        # field to its own value says so now (BEGIN IMMEDIATE does not)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
        migrate(db)
        return db
    except SchemaTooNew as error:
        conn.close()
        raise StorageError(f"{path}: {error}") from None
    except sqlite3.DatabaseError as error:
        conn.close()
        if "readonly" in str(error):
            raise StorageError(
                f"{path}: the database is read-only ({error}); Vigie needs to write it and its "
                "folder (for the -wal and -shm files)"
            ) from error
        raise StorageError(f"{path}: cannot open the database: {error}") from error
    except OSError as error:
        raise StorageError(f"{path}: cannot create the database: {error}") from error
