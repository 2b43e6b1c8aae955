"""Shared test helpers: configs in temporary folders, a running service, the shared data sets."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from bot.app import Service, build, serve
from bot.config import load_config
from bot.intake import Envelope
from bot.model import Mention
from storage.database import open_database
from storage.mentions import find_mentions

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AIRLINE_TWEETS = SHARED_DATA / "airline_tweets" / "Tweets.csv"
WEBHOOK_SECRET = "test-secret-0123456789"

BRANDS: list[dict[str, Any]] = [
    {
        "name": "Kestrel Mobile",
        "keywords": ["kestrel mobile", "kestrel"],
        "handles": ["@kestrelmobile"],
        "hashtags": ["#kestreldown"],
        "exclude": ["american kestrel"],
        "languages": ["en", "fr"],
    }
]


@pytest.fixture
def airline_tweets() -> Path:
    if not AIRLINE_TWEETS.exists():
        pytest.skip(f"shared data set not present: {AIRLINE_TWEETS}")
    return AIRLINE_TWEETS


def write_config(folder: Path, sources: list[dict[str, Any]], **sections: Any) -> Path:
    """An app.yaml in ``folder`` with the test brands, the given sources and overrides."""
    config: dict[str, Any] = {
        "storage": {"path": "vigie.db"},
        "http": {"port": 0},
        "console": {"show": "none"},
        "pipeline": {"workers": 0},
        "brands": BRANDS,
        "sources": sources,
    }
    config.update(sections)
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def mention_record(number: int, text: str | None = None, **fields: Any) -> dict[str, Any]:
    record = {
        "id": f"m-{number}",
        "text": text or f"Kestrel Mobile outage again, no signal for hours #{number}",
        "created_at": f"2026-03-10T09:{number // 60 % 60:02d}:{number % 60:02d}Z",
        "author": f"user{number}",
        "followers": number,
    }
    record.update(fields)
    return record


@asynccontextmanager
async def running_service(config_path: Path) -> AsyncIterator[Service]:
    """The whole service, started in this event loop, stopped in order at the end."""
    service = build(load_config(config_path), Console(file=io.StringIO()))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(service, exit_when_idle=False, stop=stop))
    # listening, and every source started (a webhook answers 503 until its source runs)
    await wait_for(
        lambda: (
            task.done()
            or (
                service.http_port is not None
                and all(s.state != "starting" for s in service.sources.values())
            )
        )
    )
    if task.done():
        task.result()
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def stored_mentions(config_path: Path) -> list[dict[str, Any]]:
    """Every mention stored by the service configured at ``config_path``, newest first."""
    db = open_database(config_path.parent / "vigie.db", read_only=True)
    try:
        return find_mentions(db)
    finally:
        db.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class RecordingInbox:
    """An inbox that keeps what a source queues, as the intake would take it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def submit(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def offer(self, envelope: Envelope) -> bool:
        self.envelopes.append(envelope)
        return True

    @property
    def mentions(self) -> list[Mention]:
        return [mention for envelope in self.envelopes for mention in envelope.mentions]
