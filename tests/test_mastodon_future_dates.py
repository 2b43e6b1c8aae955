"""Mastodon and webhook mentions dated in the future are dated now, as every source does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.matching import BrandMatcher
from bot.sources.base import MAX_CLOCK_SKEW
from bot.sources.mastodon_status import StatusReader
from tests.conftest import WEBHOOK_SECRET, mention_record, running_service, write_config
from tests.fake_mastodon import FakeMastodon
from tests.test_source_mastodon import KESTREL
from tests.test_webhook import post, signed, stored

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def test_a_status_dated_in_the_future_is_dated_now() -> None:
    async with FakeMastodon() as fake:
        ahead = fake.post("Kestrel down", ago=-timedelta(days=3))
        close = fake.post("Kestrel down", ago=-timedelta(minutes=1))
    reader = StatusReader("masto", fake.host, BrandMatcher([KESTREL]), lambda n: None, lambda: NOW)
    late_clock = StatusReader(
        "masto", fake.host, BrandMatcher([KESTREL]), lambda n: None, lambda: datetime.now(UTC)
    )
    [dated] = reader.read([ahead], firehose=False)
    assert dated.created_at == NOW
    [kept] = late_clock.read([close], firehose=False)  # within MAX_CLOCK_SKEW: believed
    assert kept.created_at > datetime.now(UTC)
    assert kept.created_at <= datetime.now(UTC) + MAX_CLOCK_SKEW


async def test_a_webhook_mention_dated_in_the_future_is_stored_dated_now(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    body = json.dumps([mention_record(1, created_at="2099-01-01T00:00:00Z")]).encode()
    async with running_service(config) as service:
        status, _ = await post(service.http_port, body, signed(body))
    assert status == 200
    [row] = stored(config)
    assert datetime.fromisoformat(row["created_at"]) <= datetime.now(UTC)
