"""Mastodon: posts federated late, the look-back below the cursor, the first start's backfill.

Mastodon gives a status from another server the snowflake id of when it was posted, not of when
it arrived (the fake does too: ``post(ago=...)`` ids follow ``created_at``), so a post federated
late sorts below posts heard before it. A feed is read back once per ``READ_BACK_EVERY`` (the
tests move a fake monotonic clock); other reads start at the cursor: one request when quiet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import EventClock
from bot.config.source_mastodon import MastodonSourceSettings
from bot.metrics import Metrics
from bot.sources import SourceContext
from bot.sources.mastodon import MastodonSource
from bot.sources.mastodon_api import (
    LOOKBACK,
    LOOKBACK_PAGES,
    PAGE_SIZE,
    READ_BACK_EVERY,
    read_back,
)
from bot.sources.mastodon_status import snowflake_at, snowflake_time
from tests.conftest import wait_for
from tests.fake_mastodon import FakeMastodon
from tests.test_source_mastodon import KESTREL, TOKEN, Reports, Ticker, running, source_for

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


def later(ticker: Ticker) -> None:
    """Time enough for the next read of a feed to read back again."""
    ticker.seconds += READ_BACK_EVERY.total_seconds()


async def test_a_polled_hashtag_hears_a_post_federated_late(fake: FakeMastodon) -> None:
    ticker = Ticker()
    source = source_for(fake, access_token=None, poll_seconds=0.05, backfill="0s", monotonic=ticker)
    async with running(source) as inbox:
        await wait_for(lambda: bool(fake.calls_to(TAG_TIMELINE)))
        first = fake.post("Kestrel is down", tags=("kestreldown",))
        await wait_for(lambda: first["id"] in inbox.ids)
        late = late_remote(fake, "Kestrel down here too", tags=("kestreldown",))
        later(ticker)
        after = fake.post("Kestrel still down", tags=("kestreldown",))
        await wait_for(lambda: late["id"] in inbox.ids and after["id"] in inbox.ids)
        await asyncio.sleep(0.2)  # polls go on: nothing is queued twice
    assert sorted(inbox.ids) == sorted([first["id"], late["id"], after["id"]])
    assert inbox.cursor == {"tag:kestreldown": after["id"]}  # still the newest heard


async def test_a_search_hears_a_post_federated_late(fake: FakeMastodon) -> None:
    ticker = Ticker()
    source = source_for(
        fake, search=["kestrel"], hashtags=[], poll_seconds=0.05, backfill="0s", monotonic=ticker
    )
    async with running(source) as inbox:
        await wait_for(lambda: bool(fake.calls_to("/api/v2/search")))
        first = fake.post("kestrel is down")
        await wait_for(lambda: first["id"] in inbox.ids)
        late = late_remote(fake, "kestrel down for me too")
        later(ticker)
        after = fake.post("kestrel still down")
        await wait_for(lambda: late["id"] in inbox.ids and after["id"] in inbox.ids)
        await asyncio.sleep(0.2)
    assert sorted(inbox.ids) == sorted([first["id"], late["id"], after["id"]])
    assert inbox.cursor == {"search:kestrel": after["id"]}


async def test_the_gap_fill_after_a_reconnection_hears_a_post_federated_late(
    fake: FakeMastodon,
) -> None:
    ticker = Ticker()
    async with running(source_for(fake, backfill="0s", monotonic=ticker)) as inbox:
        await fake.wait_for_streams(1)
        first = fake.post("Kestrel is down", tags=("kestreldown",))
        await wait_for(lambda: first["id"] in inbox.ids)
        later(ticker)
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


# -- what reading back costs: Mastodon allows 300 requests per 5 minutes per token --------------


def min_ids(fake: FakeMastodon, path: str) -> list[str | None]:
    return [call.query.get("min_id") for call in fake.calls_to(path)]


async def test_a_quiet_polled_hashtag_asks_once_per_poll_between_read_backs(
    fake: FakeMastodon,
) -> None:
    posts = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=5 - n / 10))
        for n in range(5)
    ]
    cursor = posts[-1]["id"]
    ticker = Ticker()
    source = source_for(fake, access_token=None, poll_seconds=0.01, monotonic=ticker)
    async with running(source, json.dumps({"tag:kestreldown": cursor})):
        await wait_for(lambda: len(fake.calls_to(TAG_TIMELINE)) >= 6)
        later(ticker)
        read_backs = len(fake.calls_to(TAG_TIMELINE))
        await wait_for(lambda: len(fake.calls_to(TAG_TIMELINE)) >= read_backs + 4)
    asked = min_ids(fake, TAG_TIMELINE)
    # the first poll reads back (a page of what was heard, then the empty one above the
    # cursor); the next ones ask from the cursor, once each
    assert asked[:2] == [read_back(cursor), cursor]
    assert set(asked[2:read_backs]) == {cursor}
    # READ_BACK_EVERY later, a poll reads back again (the poll in flight may ask first)
    assert read_back(cursor) in asked[read_backs : read_backs + 2]
    assert asked.count(read_back(cursor)) == 2


async def test_a_busy_search_reads_back_no_more_than_lookback_pages(fake: FakeMastodon) -> None:
    busy = LOOKBACK_PAGES * PAGE_SIZE + 30  # posted in the look-back, heard already
    posts = [fake.post(f"kestrel {n}", ago=timedelta(minutes=9, seconds=-n)) for n in range(busy)]
    cursor = posts[-1]["id"]
    ticker = Ticker()
    source = source_for(fake, search=["kestrel"], poll_seconds=0.01, monotonic=ticker)
    async with running(source, json.dumps({"search:kestrel": cursor})):
        await wait_for(lambda: len(fake.calls_to("/api/v2/search")) >= LOOKBACK_PAGES + 3)
    calls = fake.calls_to("/api/v2/search")
    offsets = [call.query["offset"] for call in calls]
    # the read-back: LOOKBACK_PAGES pages down; then each poll asks one page from the cursor
    assert offsets[:LOOKBACK_PAGES] == [str(n * PAGE_SIZE) for n in range(LOOKBACK_PAGES)]
    assert {call.query["min_id"] for call in calls[:LOOKBACK_PAGES]} == {read_back(cursor)}
    assert offsets[LOOKBACK_PAGES:] == ["0"] * (len(calls) - LOOKBACK_PAGES)
    assert {call.query["min_id"] for call in calls[LOOKBACK_PAGES:]} == {cursor}


async def test_a_stream_reconnected_soon_after_a_read_back_asks_once(fake: FakeMastodon) -> None:
    posts = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=9, seconds=-n))
        for n in range(200)
    ]
    cursor = posts[-1]["id"]
    source = source_for(fake, monotonic=Ticker())
    async with running(source, json.dumps({"tag:kestreldown": cursor})):
        await fake.wait_for_streams(1)
        await wait_for(lambda: min_ids(fake, TAG_TIMELINE)[-1:] == [cursor])  # read back
        first = len(fake.calls_to(TAG_TIMELINE))
        fake.drop_streams()
        await wait_for(lambda: fake.stream_connections == 2)
        await wait_for(lambda: len(fake.calls_to(TAG_TIMELINE)) > first)
        await asyncio.sleep(0.1)  # nothing more is asked
    asked = min_ids(fake, TAG_TIMELINE)
    # the read-back at the start: LOOKBACK_PAGES pages, then the empty page above the cursor
    assert asked[:first] == [read_back(cursor), posts[39]["id"], posts[79]["id"], cursor]
    assert asked[first:] == [cursor]  # the gap fill after the reconnection: one empty page


async def test_the_first_start_backfill_counts_from_the_real_present_under_an_event_clock(
    fake: FakeMastodon,
) -> None:
    """``clock: event`` says when the replayed events were; how far back a first start reads
    from an instance is counted from now."""
    old = fake.post("Kestrel long ago", tags=("kestreldown",), ago=timedelta(hours=2))
    recent = fake.post("Kestrel down now", tags=("kestreldown",), ago=timedelta(minutes=5))
    chosen = MastodonSourceSettings.model_validate(
        {
            "type": "mastodon",
            "name": "masto",
            "base_url": fake.url,
            "hashtags": ["kestreldown"],
            "search": [],
            "poll_seconds": 60,
            "backfill": "1h",
        }
    )
    events = EventClock(start=datetime(2025, 3, 10, 9, 0, tzinfo=UTC))  # a replay's time
    context = SourceContext(events, Metrics(), Reports(), (KESTREL,))
    async with running(MastodonSource(chosen, context)) as inbox:
        await wait_for(lambda: recent["id"] in inbox.ids)
        await asyncio.sleep(0.1)
    assert old["id"] not in inbox.ids
