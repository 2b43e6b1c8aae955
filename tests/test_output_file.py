"""``--output`` that is not a plain file in a writable folder: a pipe (``/dev/stdout``), a FIFO,
a file whose folder is read-only, a file with hard links or another owner. Each is written, and
keeps what it is."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
SERIES = "timestamp,value\n2026-03-10 00:00:00,3\n2026-03-10 00:05:00,4\n2026-03-10 00:10:00,5\n"
HEADER = "timestamp,value,surprise,burst"


def series(tmp_path: Path) -> Path:
    path = tmp_path / "volume.csv"
    path.write_text(SERIES, encoding="utf-8")
    return path


def detect_bursts(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "bot", "detect-bursts", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_output_to_dev_stdout_goes_down_the_pipe(tmp_path: Path) -> None:
    result = detect_bursts(str(series(tmp_path)), "--output", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 4


def test_output_to_a_fifo_is_read_as_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[str] = []

    def read() -> None:
        with fifo.open(encoding="utf-8") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)  # a rename over the FIFO strands it
    reader.start()
    assert main(["detect-bursts", str(series(tmp_path)), "--output", str(fifo)]) == 0
    reader.join(timeout=10)
    assert not reader.is_alive(), "nothing was written into the FIFO"
    assert received[0].splitlines()[0] == HEADER
    assert fifo.is_fifo()
    assert {path.name for path in tmp_path.iterdir()} == {"out.fifo", "volume.csv"}


def test_a_hard_linked_output_is_rewritten_in_place_after_a_run_that_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.csv"
    output.write_text("earlier\n", encoding="utf-8")
    other = tmp_path / "same.csv"
    other.hardlink_to(output)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2026-03-10 00:00:00,x\n", encoding="utf-8")
    assert main(["detect-bursts", str(bad), "--output", str(output)]) == 1
    assert other.read_text(encoding="utf-8") == "earlier\n"  # a failed run leaves it as it was
    bad.unlink()
    assert main(["detect-bursts", str(series(tmp_path)), "--output", str(output)]) == 0
    assert other.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert output.stat().st_ino == other.stat().st_ino
    assert {path.name for path in tmp_path.iterdir()} == {"out.csv", "same.csv", "volume.csv"}


def test_an_output_owned_by_someone_else_keeps_its_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to someone else")
    output = tmp_path / "out.csv"
    output.write_text("earlier\n", encoding="utf-8")
    output.chmod(0o640)
    os.chown(output, 12345, 23456)
    assert main(["detect-bursts", str(series(tmp_path)), "--output", str(output)]) == 0
    status = output.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (12345, 23456, 0o640)
    assert output.read_text(encoding="utf-8").splitlines()[0] == HEADER


def unprivileged_in(folder: Path, writable: Path) -> tuple[str, ...]:
    """A command prefix under which ``folder`` (mode 0o555) refuses new files while
    ``writable`` (0o666) takes writes, even for root (a user namespace drops the capability to
    override modes). Skips where that cannot be had."""
    prefix: tuple[str, ...] = ("unshare", "--user") if os.geteuid() == 0 else ()
    probe = (
        f"open({str(writable)!r}, 'a').close()\n"
        f"try:\n    open({str(folder / 'new')!r}, 'w')\nexcept PermissionError:\n    print('ok')"
    )
    try:
        check = subprocess.run(
            [*prefix, sys.executable, "-c", probe], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        pytest.skip("running as root without unshare: a read-only folder cannot stop root")
    if check.returncode != 0 or check.stdout.strip() != "ok":
        pytest.skip(f"cannot run with a read-only folder here: {check.stderr[-300:]}")
    return prefix


def test_a_writable_file_in_a_read_only_folder_is_rewritten_in_place(tmp_path: Path) -> None:
    """No temporary file can be made beside it: the output naming its input is still read
    whole, then written over."""
    folder = tmp_path / "shared"
    folder.mkdir()
    data = series(folder)
    data.chmod(0o666)
    folder.chmod(0o555)
    try:
        prefix = unprivileged_in(folder, data)
        result = detect_bursts(str(data), "--output", str(data), prefix=prefix)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stderr
    lines = data.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 4
    assert {path.name for path in folder.iterdir()} == {"volume.csv"}
