"""Killing the service with SIGKILL mid-replay loses nothing and stores nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import mention_record, write_config, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
ROWS = 3000


def start(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "-c", str(config), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stored_count(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def kill_when_stored(process: subprocess.Popen[bytes], database: Path, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while (count := stored_count(database)) < at_least:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, f"only {count} stored in time"
        time.sleep(0.005)
    workers = worker_processes(process.pid)
    assert workers, "scoring runs in worker processes"
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    if process.stderr:
        process.stderr.close()
    # orphaned scoring workers notice and exit by themselves
    deadline = time.monotonic() + 30  # generous: a loaded CI box is slow to schedule them
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "scoring workers outlived their parent"
        time.sleep(0.05)
    return count


@pytest.mark.slow
@pytest.mark.timeout(300)  # four service starts: over a minute on a loaded 2-core CI box
@pytest.mark.parametrize("kill_points", [(0.3, 0.6), (0.05, 0.7)])
def test_sigkill_midway_then_restart_stores_every_row_exactly_once(
    tmp_path: Path, kill_points: tuple[float, ...]
) -> None:
    records = [
        mention_record(n, created_at=f"2026-03-10T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z")
        for n in range(ROWS)
    ]
    data = write_jsonl(tmp_path / "mentions.jsonl", records)
    # 3,000 s of event time at 1,500x: about two seconds per uninterrupted run
    source = {"type": "replay", "name": "file", "path": str(data), "speed": 1500}
    # small batches: many commits, so a kill lands between two of them even on a slow machine
    config = write_config(
        tmp_path,
        [source],
        http={"enabled": False},
        pipeline={"workers": 2},
        storage={"path": "vigie.db", "batch_size": 50},
    )
    database = tmp_path / "vigie.db"

    killed_at = [kill_when_stored(start(config), database, int(ROWS * p)) for p in kill_points]
    assert killed_at == sorted(killed_at)
    assert killed_at[-1] < ROWS, "not killed mid-way"

    final = start(config, "--exit-when-idle")
    _, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors.decode()
    with closing(sqlite3.connect(database)) as conn:
        ids = [row[0] for row in conn.execute("SELECT native_id FROM mentions")]
        brand_rows = conn.execute("SELECT COUNT(*) FROM mention_brands").fetchone()[0]
    assert len(ids) == len(set(ids)) == ROWS
    assert set(ids) == {f"m-{n}" for n in range(ROWS)}
    assert brand_rows == ROWS


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for an init that may never reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def worker_processes(parent: int) -> list[int]:
    """Live child processes of ``parent`` (the scoring workers)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() != str(parent) or "Z" in fields.get("State", ""):
            continue
        command = (status.parent / "cmdline").read_bytes()
        if b"spawn_main" in command:  # not multiprocessing's resource tracker
            children.append(int(status.parent.name))
    return children


@pytest.mark.slow
def test_sigterm_stops_in_order_and_the_next_run_continues(tmp_path: Path) -> None:
    records = [
        mention_record(n, created_at=f"2026-03-10T09:{n // 60:02d}:{n % 60:02d}Z")
        for n in range(1200)
    ]
    data = write_jsonl(tmp_path / "mentions.jsonl", records)
    # 1,200 s of events at 100x: twelve seconds, so SIGTERM lands mid-way
    source = {"type": "replay", "name": "file", "path": str(data), "speed": 100}
    config = write_config(tmp_path, [source], http={"enabled": False}, pipeline={"workers": 2})
    database = tmp_path / "vigie.db"
    process = start(config)
    deadline = time.monotonic() + 60
    while stored_count(database) < 100:
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.01)
    workers = worker_processes(process.pid)
    assert len(workers) == 2
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors.decode()
    stopped_at = stored_count(database)
    assert 100 <= stopped_at < len(records)
    assert not any(alive(pid) for pid in workers)

    # the same source at full speed finishes the file from where the first run stopped
    fast = write_config(tmp_path, [{**source, "speed": 0}], http={"enabled": False})
    final = start(fast, "--exit-when-idle")
    _, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors.decode()
    assert b"resuming after record" in errors
    assert stored_count(database) == len(records)
