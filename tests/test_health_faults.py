"""Faults that persist show in /healthz and /metrics, and are logged once, not in a loop: the
incident clock failing at every tick, storage locked at every try; and ``vigie_source_up``
says which sources work."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from bot.app import build, serve
from bot.config import load_config
from bot.health import Fault
from bot.incidents.desk import IncidentDesk
from tests.conftest import WEBHOOK_SECRET, running_service, wait_for, write_config
from tests.test_intake_sqlite_bugs import Filing, intake_run
from tests.test_replay import replay_source

WEBHOOK = {"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}


async def get(port: int | None, path: str) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if path == "/healthz":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_a_failing_incident_clock_degrades_health_until_a_tick_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The review: /healthz said ok while every tick failed, and each logged a traceback."""
    broken = [True]
    real = IncidentDesk.tick
    ticks: list[bool] = []

    def tick(desk: IncidentDesk, *args: Any, **kwargs: Any) -> Any:
        ticks.append(broken[0])
        if broken[0]:
            raise RuntimeError("the engine is broken")
        return real(desk, *args, **kwargs)

    monkeypatch.setattr(IncidentDesk, "tick", tick)
    config = write_config(tmp_path, [WEBHOOK], delivery={"tick_seconds": 0.02})
    with caplog.at_level(logging.INFO, logger="bot.app"):
        async with running_service(config) as service:
            await wait_for(lambda: ticks.count(True) >= 5, timeout=30)
            status, health = await get(service.http_port, "/healthz")
            _, metrics = await get(service.http_port, "/metrics")
            assert status == 200  # mentions are still stored and filed
            assert health["status"] == "degraded"
            clock = health["incident_clock"]
            assert clock["error"] == "RuntimeError: the engine is broken"
            assert clock["failures"] >= 5
            assert clock["since"] <= clock["last"]
            assert health["notifications"]["oldest_due_seconds"] == 0.0
            failures = [line for line in metrics.splitlines() if line.startswith("vigie_tick_f")]
            assert failures
            assert float(failures[0].split()[-1]) >= 5
            assert "vigie_outbox_oldest_due_seconds 0.0" in metrics

            broken[0] = False
            await wait_for(lambda: ticks[-1:] == [False], timeout=30)
            await wait_for(lambda: service.ticking.error is None, timeout=30)
            status, health = await get(service.http_port, "/healthz")
            assert health["status"] == "ok"
            assert health["incident_clock"] == {"error": None}
    said = [r for r in caplog.records if r.getMessage().startswith("the incident clock")]
    assert [r.exc_info is not None for r in said[:1]] == [True]  # one traceback
    assert len([r for r in said if r.levelno == logging.ERROR]) == 1  # not one per tick
    assert "works again" in said[-1].getMessage()


def test_a_fault_reminds_at_most_every_few_minutes_and_logs_each_new_error() -> None:
    now = [0.0]
    lines: list[str] = []

    class Log(logging.Logger):
        def _log(self, level: int, msg: object, args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            lines.append(str(msg) % args)

    fault = Fault("the clock", Log("test"), monotonic=lambda: now[0], remind_seconds=300)
    for _ in range(10):
        fault.failed(ValueError("a"))
        now[0] += 60
    fault.failed(KeyError("b"))
    assert fault.count == 11
    assert lines == [
        "the clock failed: ValueError: a",
        "the clock still fails (6 times in a row): ValueError: a",
        "the clock failed: KeyError: 'b'",
    ]
    fault.ok()
    assert lines[-1] == "the clock works again, after 11 failure(s) in a row"
    assert fault.shown() == {"error": None}


async def test_a_locked_database_is_logged_once_while_the_intake_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    Filing(monkeypatch, sqlite3.OperationalError("database is locked"), times=4)
    with caplog.at_level(logging.INFO, logger="bot.intake"):
        receipt, stored, _, _, _ = await intake_run(tmp_path)
    assert stored == ["a", "b-POISON", "c"]
    assert receipt.stored == 3
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("storing")]
    assert len(said) == 2  # was a line per retry
    assert said[0].startswith("storing mentions failed: OperationalError: database is locked")
    assert said[1] == "storing mentions works again, after 4 failure(s) in a row"


async def test_source_up_is_1_for_a_running_source_and_0_for_a_failed_replay(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [WEBHOOK])
    async with running_service(config) as service:
        _, metrics = await get(service.http_port, "/metrics")
    assert 'vigie_source_up{source="inbound"} 1.0' in metrics

    folder = tmp_path / "replay"
    folder.mkdir()
    config = write_config(folder, [replay_source(folder / "absent.jsonl")], http={"enabled": False})
    service = build(load_config(config), Console(file=io.StringIO()))
    assert not await serve(service, exit_when_idle=True, stop=asyncio.Event())
    assert 'vigie_source_up{source="file"} 0.0' in service.metrics.exposition().decode()
