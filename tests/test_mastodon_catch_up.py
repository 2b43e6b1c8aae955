"""Mastodon: posts federated late, the look-back below the cursor, the first start's backfill.

Mastodon gives a status from another server the snowflake id of when it was posted, not of when
it arrived (the fake does too: ``post(ago=...)`` ids follow ``created_at``), so a post federated
late sorts below posts heard before it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.mastodon_api import LOOKBACK, LOOKBACK_PAGES, PAGE_SIZE, read_back
from bot.sources.mastodon_status import snowflake_at, snowflake_time
from tests.conftest import wait_for
from tests.fake_mastodon import FakeMastodon
from tests.test_source_mastodon import TOKEN, running, source_for

TAG_TIMELINE = "/api/v1/timelines/tag/kestreldown"


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(token=TOKEN, heartbeat=0.05) as instance:
        yield instance


def late_remote(fake: FakeMastodon, text: str, **fields: object) -> dict[str, object]:
    """A post from another server, delivered now but posted 20 s ago: its id is below the
    newest heard. Not streamed (it arrived while no stream was open)."""
    return fake.post(
        text, ago=timedelta(seconds=20), local=False, acct="bob@other.example", **fields
    )


async def test_a_polled_hashtag_hears_a_post_federated_late(fake: FakeMastodon) -> None:
    source = source_for(fake, access_token=None, poll_seconds=0.05, backfill="0s")
    async with running(source) as inbox:
        await wait_for(lambda: bool(fake.calls_to(TAG_TIMELINE)))
        first = fake.post("Kestrel is down", tags=("kestreldown",))
        await wait_for(lambda: first["id"] in inbox.ids)
        late = late_remote(fake, "Kestrel down here too", tags=("kestreldown",))
        after = fake.post("Kestrel still down", tags=("kestreldown",))
        await wait_for(lambda: late["id"] in inbox.ids and after["id"] in inbox.ids)
        await asyncio.sleep(0.2)  # polls go on: nothing is queued twice
    assert sorted(inbox.ids) == sorted([first["id"], late["id"], after["id"]])
    assert inbox.cursor == {"tag:kestreldown": after["id"]}  # still the newest heard


async def test_a_search_hears_a_post_federated_late(fake: FakeMastodon) -> None:
    source = source_for(fake, search=["kestrel"], hashtags=[], poll_seconds=0.05, backfill="0s")
    async with running(source) as inbox:
        await wait_for(lambda: bool(fake.calls_to("/api/v2/search")))
        first = fake.post("kestrel is down")
        await wait_for(lambda: first["id"] in inbox.ids)
        late = late_remote(fake, "kestrel down for me too")
        after = fake.post("kestrel still down")
        await wait_for(lambda: late["id"] in inbox.ids and after["id"] in inbox.ids)
        await asyncio.sleep(0.2)
    assert sorted(inbox.ids) == sorted([first["id"], late["id"], after["id"]])
    assert inbox.cursor == {"search:kestrel": after["id"]}


async def test_the_gap_fill_after_a_reconnection_hears_a_post_federated_late(
    fake: FakeMastodon,
) -> None:
    async with running(source_for(fake, backfill="0s")) as inbox:
        await fake.wait_for_streams(1)
        first = fake.post("Kestrel is down", tags=("kestreldown",))
        await wait_for(lambda: first["id"] in inbox.ids)
        fake.drop_streams()
        late = late_remote(fake, "Kestrel down here too", tags=("kestreldown",))
        await fake.wait_for_streams(1)
        await wait_for(lambda: late["id"] in inbox.ids)
    assert inbox.ids == [first["id"], late["id"]]
    assert inbox.cursor == {"tag:kestreldown": first["id"]}  # the late post is older


async def test_a_restart_reads_back_below_its_stored_cursor(fake: FakeMastodon) -> None:
    heard = fake.post("Kestrel is down", tags=("kestreldown",), ago=timedelta(minutes=1))
    late = late_remote(fake, "Kestrel down here too", tags=("kestreldown",))
    source = source_for(fake, access_token=None, poll_seconds=0.05)
    async with running(source, json.dumps({"tag:kestreldown": heard["id"]})) as inbox:
        await wait_for(lambda: late["id"] in inbox.ids)
    assert fake.calls_to(TAG_TIMELINE)[0].query["min_id"] == read_back(heard["id"])


async def test_a_busy_look_back_still_reaches_the_newest_posts(fake: FakeMastodon) -> None:
    """More look-back than LOOKBACK_PAGES pages: the walk jumps to the cursor, bounded."""
    busy = LOOKBACK_PAGES * PAGE_SIZE + 30
    behind = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=5, seconds=-n / 100))
        for n in range(busy)
    ]
    cursor = behind[-1]["id"]
    new = [fake.post(f"Kestrel new {n}", tags=("kestreldown",)) for n in range(3)]
    source = source_for(fake, access_token=None, poll_seconds=60)
    async with running(source, json.dumps({"tag:kestreldown": cursor})) as inbox:
        await wait_for(lambda: all(status["id"] in inbox.ids for status in new))
    asked = [call.query["min_id"] for call in fake.calls_to(TAG_TIMELINE)]
    assert asked[0] == read_back(cursor)
    assert asked[LOOKBACK_PAGES] == cursor  # on from the cursor after the look-back pages
    assert len(asked) == LOOKBACK_PAGES + 1  # the newest page is short: the poll ends


def test_the_look_back_starts_at_the_snowflake_of_the_cursor_time_minus_lookback() -> None:
    posted = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cursor = str((int(posted.timestamp() * 1000) << 16) | 12345)
    start = read_back(cursor)
    assert start == snowflake_at(posted - LOOKBACK)
    assert start is not None
    assert int(start) < int(cursor)
    assert snowflake_time(start) == posted - LOOKBACK


@pytest.mark.parametrize("cursor", [None, "AbCdEf123", "9Zxq1", "42", "0"])
def test_ids_that_are_no_snowflakes_are_read_from_the_cursor_itself(cursor: str | None) -> None:
    assert read_back(cursor) == cursor


async def test_the_first_start_reads_back_as_far_as_backfill(fake: FakeMastodon) -> None:
    old = fake.post("Kestrel long ago", tags=("kestreldown",), ago=timedelta(hours=2))
    recent = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=50 - n / 10))
        for n in range(100)
    ]
    source = source_for(fake, access_token=None, poll_seconds=60, backfill="1h")
    async with running(source) as inbox:
        await wait_for(lambda: len(inbox.ids) == 100)
        await asyncio.sleep(0.1)
    assert sorted(inbox.ids) == sorted(status["id"] for status in recent)
    assert old["id"] not in inbox.ids
    assert inbox.cursor == {"tag:kestreldown": recent[-1]["id"]}
    asked = fake.calls_to(TAG_TIMELINE)
    assert [call.query.get("max_id") for call in asked] == [
        None,
        recent[60]["id"],
        recent[20]["id"],  # this page holds 'long ago': older than backfill, the last
    ]


async def test_the_first_start_reads_no_more_than_max_pages(fake: FakeMastodon) -> None:
    recent = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=50 - n / 10))
        for n in range(100)
    ]
    source = source_for(fake, access_token=None, poll_seconds=60, backfill="1h", max_pages=2)
    async with running(source) as inbox:
        await wait_for(lambda: len(inbox.ids) == 80)
        await asyncio.sleep(0.1)
    assert sorted(inbox.ids) == sorted(status["id"] for status in recent[20:])  # the newest
    assert len(fake.calls_to(TAG_TIMELINE)) == 2
