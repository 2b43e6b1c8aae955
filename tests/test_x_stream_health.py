"""X: the stream is told fine only once it is heard, not as soon as it connects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.sources.polite import Backoff
from bot.sources.x import XSource
from tests.conftest import RecordingInbox, wait_for
from tests.fake_x import FakeX
from tests.test_source_x import ALICE, KESTREL, brand_rules, settings_for


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX(keepalive=0.05) as server:
        server.add_user(ALICE, "alice", "Alice", followers=1200)
        yield server


def source_for(fake: FakeX, reports: list[str | None], stable_seconds: float) -> XSource:
    return XSource(
        settings_for(fake),
        brand_rules(KESTREL),
        report=lambda name, trouble: reports.append(trouble),
        backoff=Backoff(base=0.01, cap=0.05),
        stable_seconds=stable_seconds,
    )


async def drop_every_stream(fake: FakeX, connections: int) -> None:
    """A stream endpoint that hangs up each connection as soon as it is made."""
    while len(fake.connections) < connections:
        await fake.drop()
        await asyncio.sleep(0.01)


async def test_a_stream_that_hangs_up_at_once_is_reported_once_not_at_every_retry(
    fake: FakeX,
) -> None:
    reports: list[str | None] = []
    source = source_for(fake, reports, stable_seconds=30)
    task = asyncio.create_task(source.run(RecordingInbox(), None))
    try:
        await wait_for(lambda: bool(fake.streams))
        await drop_every_stream(fake, connections=6)
        assert len(reports) == 1
        assert reports[0] is not None
        fake.post("Kestrel Mobile has no signal", ALICE)  # heard: fine again
        await wait_for(lambda: reports[-1] is None)
        assert len(reports) == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_stream_heard_for_stable_seconds_is_fine_again(fake: FakeX) -> None:
    reports: list[str | None] = []
    source = source_for(fake, reports, stable_seconds=0.3)
    task = asyncio.create_task(source.run(RecordingInbox(), None))
    try:
        await wait_for(lambda: bool(fake.streams))
        await fake.drop()
        await wait_for(lambda: bool(reports))
        await wait_for(lambda: reports[-1] is None)  # keep-alives only, for 0.3 s
        assert reports[0] is not None
        assert len(reports) == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
