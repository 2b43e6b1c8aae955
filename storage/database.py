"""Opening the SQLite file: WAL mode, sane pragmas, and the schema brought up to date; and the
lock that lets one Vigie at a time write it."""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import suppress
from pathlib import Path

import sqlite_utils

from storage.migrations import MIGRATIONS, SchemaTooNew, current_version, migrate, too_new

try:
    import fcntl

    CAN_LOCK = True
except ImportError:  # not Linux or macOS: not a target, but say so rather than fail
    CAN_LOCK = False

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """The store cannot be used; the message says why and what to do."""


def lock_for_writing(path: Path) -> int | None:
    """Take the lock on ``<database>.lock`` that one writing Vigie holds while it runs: a
    second one (an overlapping restart, a second ``bot run``) would deliver every notification
    again. Returns the lock's file descriptor, for :func:`unlock`; the system lets go of it
    when the process ends, however it ends. Readers (``bot mentions`` …) take no lock.

    The lock file stands beside the database's real file (a symbolic link followed), so two
    paths to one database take one lock. A lock file that exists but cannot be opened is
    refused (StorageError): running unlocked might run beside another Vigie."""
    if not CAN_LOCK:
        logger.warning("%s: no file locks here; make sure one Vigie at a time runs on it", path)
        return None
    with suppress(OSError):  # a folder that cannot be made: opening the database says so
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop: opening the database says so
        real = path
    lock = real.with_name(f"{real.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:  # another user's lock file: locking needs no write access
            fd = os.open(lock, os.O_RDONLY)
        except OSError as error:
            if not os.path.lexists(lock):  # a folder Vigie cannot write: opening the DB says so
                return None
            # refused rather than run unlocked: whoever made that file may be running on it
            raise StorageError(
                f"{path}: cannot open its lock file {lock} ({error.strerror}), so cannot make "
                "sure no other Vigie runs on it; make the file readable, or remove it if no "
                "Vigie is running"
            ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise StorageError(
            f"another Vigie is already running on {path}"
            + (f" (pid {holder})" if holder.isdigit() else "")
            + "; stop it first, or give this one another storage.path"
        ) from None
    except OSError as error:  # a file system without locks (some network ones)
        logger.warning(
            "%s: cannot lock %s (%s); make sure one Vigie at a time runs", path, lock, error
        )
        return fd
    with suppress(OSError):  # who holds it, for the message of the next one (if writable)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def unlock(fd: int | None) -> None:
    """Let another Vigie write the database (closing the file releases the lock)."""
    if fd is not None:
        os.close(fd)


def open_database(path: Path, *, read_only: bool = False) -> sqlite_utils.Database:
    """Open (and for writers, create and migrate) the database at ``path``."""
    try:
        if read_only:
            if not path.exists():
                raise StorageError(f"{path}: no database yet; run `python -m bot run` first")
            # a URI, its path escaped: a '#', '?' or '%' in it would otherwise open another file
            # (read-write, created empty)
            uri = path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            return _checked_for_reading(path, conn)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
    except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic link loop
        raise StorageError(f"{path}: cannot create the database: {error}") from error
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path}: cannot open the database: {error}") from error
    try:
        db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before it returns, so a webhook sender told "stored" is
        # right even after a power cut (NORMAL in WAL mode may lose the last commits)
        conn.execute("PRAGMA synchronous = FULL")
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


def _checked_for_reading(path: Path, conn: sqlite3.Connection) -> sqlite_utils.Database:
    """A read-only database, once its schema is known to be this Vigie's: a reader cannot
    migrate, and a database older or newer than this Vigie fails its queries with "no such
    table" or "no such column" instead of saying what to do."""
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        db = sqlite_utils.Database(conn)
        version = current_version(db)
    except sqlite3.DatabaseError as error:
        conn.close()
        if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
            raise StorageError(f"{path} is not a Vigie database: {error}") from None
        raise StorageError(f"{path}: cannot read the database: {error}") from None
    expected = len(MIGRATIONS)
    if version == expected:
        return db
    conn.close()
    if version > expected:
        raise StorageError(f"{path}: {too_new(version)}")
    if version == 0:  # SQLite takes an empty file, or another program's database, as its own
        what = "the file is empty" if path.stat().st_size == 0 else "it has no Vigie tables"
        raise StorageError(f"{path} is not a Vigie database: {what}")
    raise StorageError(
        f"{path}: the database is at schema version {version}, older than this Vigie "
        f"({expected}); run `python -m bot run` once to upgrade it, then try again"
    )


def database_fault(error: sqlite3.Error) -> bool:
    """Whether a database error is the database's (locked, busy, disk I/O, disk full, a file
    it cannot open: OperationalError; a damaged file: DatabaseError itself), retried until it
    clears, never dropping the batch. Others (ProgrammingError, InterfaceError, IntegrityError
    …) are bugs in what stores or files the mentions: retrying them stalls the intake for good."""
    return isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError
