"""One Vigie at a time writes a database (two would deliver every notification twice), readers
still read while it runs, and a commit is durable before Vigie says "stored"."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from storage.database import StorageError, open_database
from storage.writer import Writer
from tests.conftest import WEBHOOK_SECRET, write_config

ROOT = Path(__file__).resolve().parents[1]
SYNCHRONOUS_FULL = 2


def test_a_second_writer_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    first = Writer(path)
    try:
        with pytest.raises(StorageError) as refused:
            Writer(path)
        assert f"another Vigie is already running on {path} (pid {os.getpid()})" in str(
            refused.value
        )
    finally:
        first.close()
    again = Writer(path)  # the first let go: a restart starts
    again.close()


def test_readers_still_read_while_the_writer_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}])
    writer = Writer(tmp_path / "vigie.db")
    try:
        reader = open_database(tmp_path / "vigie.db", read_only=True)
        reader.close()
        for command in (["mentions"], ["incidents"], ["audit"]):
            assert main([*command, "-c", str(config)]) == 0, capsys.readouterr()
    finally:
        writer.close()


async def test_commits_are_durable_before_they_are_acknowledged(tmp_path: Path) -> None:
    """synchronous = FULL: in WAL mode, NORMAL may lose the last commits on a power cut,
    after webhook senders were told their mentions were stored."""
    writer = Writer(tmp_path / "vigie.db")
    try:
        level = await writer.run(lambda db: db.execute("PRAGMA synchronous").fetchone()[0])
    finally:
        writer.close()
    assert level == SYNCHRONOUS_FULL


def start(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-c", str(config), *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def test_a_second_vigie_on_the_same_database_is_refused_clearly(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}])
    first_log, second_log, third_log = (tmp_path / f"{n}.log" for n in ("1", "2", "3"))
    first = start(config, first_log)
    try:
        deadline = time.monotonic() + 60
        while not re.search("listening on", first_log.read_text(errors="replace")):
            assert first.poll() is None, first_log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the first Vigie did not start in time"
            time.sleep(0.05)

        second = start(config, second_log)
        assert second.wait(60) == 1
        said = second_log.read_text(errors="replace")
        database = tmp_path / "vigie.db"
        assert f"another Vigie is already running on {database} (pid {first.pid})" in said
        assert "Traceback" not in said
        assert first.poll() is None  # the first one runs on, untroubled

        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0, first_log.read_text(errors="replace")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)

    # the first one stopped: the next one starts (and, with nothing finite to do, ends at once)
    third = start(config, third_log, "--exit-when-idle")
    assert third.wait(60) == 0, third_log.read_text(errors="replace")
    assert "already running" not in third_log.read_text(errors="replace")


def test_a_database_reached_through_a_symbolic_link_takes_the_same_lock(tmp_path: Path) -> None:
    """Two paths to one database (a link in another folder) must not let two Vigies run."""
    (tmp_path / "real").mkdir()
    (tmp_path / "other").mkdir()
    real = tmp_path / "real" / "vigie.db"
    link = tmp_path / "other" / "vigie.db"
    link.symlink_to(real)
    first = Writer(real)
    try:
        with pytest.raises(StorageError, match="another Vigie is already running"):
            Writer(link)
    finally:
        first.close()
    second = Writer(link)
    second.close()
    assert (tmp_path / "real" / "vigie.db.lock").exists()
    assert not (tmp_path / "other" / "vigie.db.lock").exists()


def test_a_lock_file_that_cannot_be_opened_is_refused_not_ignored(tmp_path: Path) -> None:
    """Running without the lock could run beside another Vigie: refuse, naming the file."""
    lock = tmp_path / "vigie.db.lock"
    lock.symlink_to(lock)  # opens for nobody, not even root
    with pytest.raises(StorageError) as refused:
        Writer(tmp_path / "vigie.db")
    assert f"cannot open its lock file {lock}" in str(refused.value)
    assert not (tmp_path / "vigie.db").exists()  # refused before the database was touched
