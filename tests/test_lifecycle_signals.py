"""A second SIGINT or SIGTERM during a slow shutdown exits at once, with the shell's code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SLOW_SHUTDOWN = """
import asyncio
import sys
from bot.app import install_signal_handlers

async def main() -> None:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    print("ready", flush=True)
    await stop.wait()
    print("stopping", flush=True)
    await asyncio.sleep(float(sys.argv[1]))  # a shutdown step that takes its time
    print("stopped", flush=True)

asyncio.run(main())
"""


def slow_shutdown(seconds: int) -> subprocess.Popen[str]:
    """A process with Vigie's signal handlers whose shutdown step takes ``seconds``."""
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_SHUTDOWN, str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_forces_the_exit(signum: signal.Signals, code: int) -> None:
    process = slow_shutdown(60)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        os.kill(process.pid, signum)
        assert process.stdout.readline() == "stopping\n"  # the first one: an orderly stop
        time.sleep(1.5)  # a person insisting, not the same stop delivered twice
        os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "stopped" not in stdout
    assert "shutdown forced" in stderr


def test_the_same_stop_delivered_twice_is_one_orderly_stop() -> None:
    """coreutils `timeout` signals the service, then its whole process group: both arrive at
    once, and the shutdown must still run to its end."""
    process = slow_shutdown(2)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        os.kill(process.pid, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "stopped" in stdout
    assert "shutdown forced" not in stderr
