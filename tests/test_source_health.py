"""A live source in trouble: /healthz says degraded, the metric drops, the chat hears it once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import _run_source
from tests.conftest import running_service, wait_for, write_config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notices(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line["kind"] == "notice"]


async def test_a_failing_source_is_reported_in_health_metrics_and_once_in_the_chat(
    tmp_path: Path,
) -> None:
    feed = f"http://127.0.0.1:{closed_port()}/feed.xml"  # nobody listens: connection refused
    out = tmp_path / "deliveries.jsonl"
    config = write_config(
        tmp_path,
        [{"type": "rss", "name": "news", "feeds": [feed], "poll_seconds": 60}],
        platforms={"file": {"path": str(out)}},
        incidents={"targets": {"team": {"platform": "file", "channel": "#ops"}}},
    )
    async with running_service(config) as service:
        await wait_for(lambda: service.sources["news"].state == "degraded", timeout=20)
        await wait_for(lambda: bool(notices(out)), timeout=20)
        base = f"http://127.0.0.1:{service.http_port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as response:
                health = await response.json()
                assert response.status == 200  # the instance still takes webhooks and clicks
            async with session.get(f"{base}/metrics") as response:
                metrics = await response.text()
        assert health["status"] == "degraded"
        assert "connect" in health["sources"]["news"]["error"].lower()
        assert 'vigie_source_up{source="news"} 0.0' in metrics
    said = notices(out)
    assert len(said) == 1
    assert said[0]["channel"] == "#ops"
    assert "Source news is in trouble" in str(said[0]["text"])


async def test_a_live_source_that_stops_on_an_unexpected_error_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met on a strange answer must not end listening: the source is degraded for a
    moment, then runs again from its stored position."""
    monkeypatch.setattr("bot.app.RESTART_FIRST_SECONDS", 0.05)
    feed = f"http://127.0.0.1:{closed_port()}/feed.xml"
    config = write_config(
        tmp_path, [{"type": "rss", "name": "news", "feeds": [feed], "poll_seconds": 60}]
    )
    async with running_service(config) as service:
        state = service.sources["news"]
        real_run, runs = state.source.run, []

        async def run_that_breaks_once(inbox: Any, position: str | None) -> None:
            runs.append(position)
            if len(runs) == 1:
                raise KeyError("a field this version did not expect")
            await real_run(inbox, position)

        state.source.run = run_that_breaks_once  # type: ignore[method-assign]
        task = asyncio.create_task(_run_source(service, state))
        await wait_for(lambda: len(runs) == 2, timeout=10)
        assert state.state in ("running", "degraded")  # degraded: the feed itself is down
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
