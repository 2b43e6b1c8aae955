"""A live source that stops on an unexpected error and is started again: /healthz, the metric and
the chat say what the source says afterwards, not what its stop said."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from bot.app import Service, build, serve
from bot.config import load_config
from bot.sources.polite import SourceError
from tests.conftest import wait_for, write_config

Poll = Callable[[int], Awaitable[None]]
"""What the n-th poll does (from 1): return (nothing new) or raise."""


def notices(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [str(line["text"]) for line in lines if line["kind"] == "notice"]


def source_up(service: Service) -> str:
    exposition = service.metrics.exposition().decode()
    return next(line for line in exposition.splitlines() if line.startswith("vigie_source_up{"))


@asynccontextmanager
async def feed_polled_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poll: Poll
) -> AsyncIterator[tuple[Service, list[float]]]:
    """The service with one RSS source whose polls ``poll`` decides, polling every 50 ms;
    yields it and the (loop) time each poll started."""
    monkeypatch.setattr("bot.app.RESTART_FIRST_SECONDS", 0.1)

    async def fast_pause(seconds: float) -> None:
        await asyncio.sleep(0.05)

    monkeypatch.setattr("bot.sources.polling.pause", fast_pause)
    config = write_config(
        tmp_path,
        [{"type": "rss", "name": "feed", "feeds": ["http://127.0.0.1:9/feed.xml"]}],
        platforms={"file": {"path": str(tmp_path / "out.jsonl")}},
        incidents={"targets": {"team": {"platform": "file", "channel": "#ops"}}},
    )
    service = build(load_config(config), Console(file=io.StringIO()))
    polls: list[float] = []

    async def polled(session: aiohttp.ClientSession, cursor: Any) -> tuple[list[Any], Any]:
        polls.append(asyncio.get_running_loop().time())
        await poll(len(polls))
        return [], cursor

    service.sources["feed"].source.poll = polled  # type: ignore[attr-defined]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(service, exit_when_idle=False, stop=stop))
    try:
        await wait_for(lambda: service.http_port is not None or task.done())
        yield service, polls
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def health(service: Service) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{service.http_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_a_healthy_source_after_one_stop_is_running_again_and_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.app.STABLE_SECONDS", 0.5, raising=False)

    async def poll(number: int) -> None:
        if number == 1:
            raise RuntimeError("boom")

    async with feed_polled_by(tmp_path, monkeypatch, poll) as (service, polls):
        await wait_for(lambda: len(polls) >= 5, timeout=10)
        status, report = await health(service)
        assert status == 200
        assert report["sources"]["feed"] == {"state": "running"}  # no stale "boom"
        assert source_up(service).endswith(" 1.0")
        out = tmp_path / "out.jsonl"
        await wait_for(lambda: len(notices(out)) == 2, timeout=10)
    said = notices(out)
    assert said[0] == "Source feed is in trouble (boom); Vigie keeps retrying."
    assert said[1] == "Source feed works again."


async def test_a_failing_source_that_also_stopped_once_stays_degraded_until_it_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mended = asyncio.Event()

    async def poll(number: int) -> None:
        if number == 2:
            raise RuntimeError("boom")
        if not mended.is_set():
            raise SourceError("http://x/feed: HTTP 500", retryable=True, wait=0.05)

    async with feed_polled_by(tmp_path, monkeypatch, poll) as (service, polls):
        await wait_for(lambda: len(polls) >= 6, timeout=10)
        status, report = await health(service)
        assert (status, report["status"]) == (200, "degraded")
        assert report["sources"]["feed"]["state"] == "degraded"
        assert "HTTP 500" in report["sources"]["feed"]["error"]
        assert source_up(service).endswith(" 0.0")
        mended.set()
        await wait_for(lambda: service.sources["feed"].state == "running", timeout=10)
        assert source_up(service).endswith(" 1.0")
        out = tmp_path / "out.jsonl"
        await wait_for(lambda: len(notices(out)) == 2, timeout=10)
    said = notices(out)
    assert said[0].startswith("Source feed is in trouble (http://x/feed: HTTP 500)")
    assert said[1] == "Source feed works again."  # and nothing said of the stop in between


async def test_the_restart_pause_starts_over_after_a_long_healthy_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stops right away wait 0.1, 0.2, 0.4 s; a stop after running well waits 0.1 s again."""
    monkeypatch.setattr("bot.app.STABLE_SECONDS", 0.4, raising=False)

    async def poll(number: int) -> None:
        if number <= 3:
            raise RuntimeError(f"boom {number}")
        if number == 4:
            await asyncio.sleep(0.6)  # a long healthy run
            raise RuntimeError("boom after a while")

    async with feed_polled_by(tmp_path, monkeypatch, poll) as (_, polls):
        await wait_for(lambda: len(polls) >= 5, timeout=10)
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    assert gaps[2] >= 0.4  # the third stop in a row waited 0.4 s
    assert gaps[3] < 0.6 + 0.35  # not 0.8 s: the series was over
