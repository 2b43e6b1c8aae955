"""Reads beside the writer: a long query on the reader thread holds up no write."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import sqlite_utils

from storage.database import StorageError
from storage.writer import Writer


def count_outbox(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


async def test_a_long_read_does_not_hold_up_a_write(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "vigie.db")
    started, release = threading.Event(), threading.Event()

    def slow_read(db: sqlite_utils.Database) -> int:
        started.set()
        assert release.wait(30)  # a year of stats, say
        return count_outbox(db)

    def write(db: sqlite_utils.Database) -> int:
        with db.conn:
            db.execute("CREATE TABLE marks (n INTEGER)")
            db.execute("INSERT INTO marks VALUES (1)")
        return 1

    try:
        reading = asyncio.create_task(writer.read(slow_read))
        assert await asyncio.to_thread(started.wait, 30)
        assert await asyncio.wait_for(writer.run(write), 30) == 1  # while the read runs
        release.set()
        assert await reading == 0
        rows = await writer.read(lambda db: db.execute("SELECT n FROM marks").fetchall())
        assert rows == [(1,)]  # a later read sees the write
        with pytest.raises(Exception, match="readonly"):
            await writer.read(lambda db: db.execute("INSERT INTO marks VALUES (2)"))
    finally:
        release.set()
        writer.close()
    with pytest.raises(StorageError, match="closed"):
        await writer.read(count_outbox)
