"""Mastodon: a stream is told fine only once it is heard, not as soon as it connects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.config.source_mastodon import MastodonSourceSettings
from bot.sources.mastodon import MastodonSource
from tests.conftest import wait_for
from tests.fake_mastodon import FakeMastodon
from tests.test_source_mastodon import KESTREL, TOKEN, Reports, context, running


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(token=TOKEN, heartbeat=0.05) as instance:
        yield instance


def source_for(fake: FakeMastodon, reports: Reports, stable_seconds: float) -> MastodonSource:
    settings = MastodonSourceSettings.model_validate(
        {
            "type": "mastodon",
            "name": "masto",
            "base_url": fake.url,
            "access_token": TOKEN,
            "hashtags": ["kestreldown"],
            "search": [],
            "backfill": "0s",
            "max_backoff": 1,
        }
    )
    return MastodonSource(
        settings, context([KESTREL], reports), backoff_base=0.01, stable_seconds=stable_seconds
    )


async def drop_every_stream(fake: FakeMastodon, connections: int) -> None:
    """A streaming server that hangs up each connection as soon as it is made."""
    while fake.stream_connections < connections:
        fake.drop_streams()
        await asyncio.sleep(0.01)


async def test_a_stream_that_hangs_up_at_once_is_reported_once_not_at_every_retry(
    fake: FakeMastodon,
) -> None:
    reports = Reports()
    async with running(source_for(fake, reports, stable_seconds=30)):
        await fake.wait_for_streams(1)
        await drop_every_stream(fake, connections=6)
    assert reports.said == ["#kestreldown: the server ended the stream"]


async def test_a_stream_is_fine_again_at_its_first_event(fake: FakeMastodon) -> None:
    reports = Reports()
    async with running(source_for(fake, reports, stable_seconds=30)) as inbox:
        await fake.wait_for_streams(1)
        await drop_every_stream(fake, connections=3)
        await fake.wait_for_streams(1)
        await asyncio.sleep(0.2)  # heartbeats only: not heard for stable_seconds yet
        assert reports.said[-1] is not None
        posted = fake.post("Kestrel down", tags=("kestreldown",))
        await wait_for(lambda: posted["id"] in inbox.ids)
        await wait_for(lambda: reports.said[-1] is None)
    assert reports.said == ["#kestreldown: the server ended the stream", None]


async def test_a_stream_heard_for_stable_seconds_is_fine_again(fake: FakeMastodon) -> None:
    reports = Reports()
    async with running(source_for(fake, reports, stable_seconds=0.3)):
        await fake.wait_for_streams(1)
        fake.fail("/api/v1/timelines/tag/kestreldown", 503)  # the catch-up fails once
        fake.drop_streams()
        await wait_for(lambda: bool(reports.said))
        await fake.wait_for_streams(1)
        await wait_for(lambda: reports.said[-1] is None)  # heartbeats for 0.3 s
    assert "HTTP 503" in " ".join(str(said) for said in reports.said)
    assert None not in reports.said[:-1]  # trouble until heard, then fine once
