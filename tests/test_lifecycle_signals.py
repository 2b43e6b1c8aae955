"""A second SIGINT or SIGTERM during a slow shutdown exits at once, with the shell's code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SLOW_SHUTDOWN = """
import asyncio
from bot.app import install_signal_handlers

async def main() -> None:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    print("ready", flush=True)
    await stop.wait()
    print("stopping", flush=True)
    await asyncio.sleep(60)  # a shutdown step that takes its time
    print("stopped", flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_forces_the_exit(signum: signal.Signals, code: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_SHUTDOWN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        os.kill(process.pid, signum)
        assert process.stdout.readline() == "stopping\n"  # the first one: an orderly stop
        os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "stopped" not in stdout
    assert "shutdown forced" in stderr
