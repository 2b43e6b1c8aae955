"""The Mastodon source: statuses read right (recorded payloads), then the real client against a
fake instance (tests/fake_mastodon.py): streams with their gaps filled, searches paginated and
resumed, trouble reported once, replies posted; and through the whole service, a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.clock import SystemClock
from bot.config import ConfigError, load_config
from bot.config.source_mastodon import MastodonSourceSettings
from bot.drafts.addressing import addressed_on_mastodon
from bot.matching import BrandMatcher
from bot.metrics import Metrics
from bot.model import Author, Brand, Mention
from bot.sources import SourceContext, build_source
from bot.sources.mastodon import MastodonSource
from bot.sources.mastodon_api import MastodonApi, plan_feeds, read_back
from bot.sources.mastodon_sse import SseError, SseEvent, SseParser
from bot.sources.mastodon_status import (
    MalformedStatus,
    RecentIds,
    StatusReader,
    as_status,
    is_newer,
    newest,
    to_mention,
)
from bot.sources.mastodon_text import content_text
from bot.sources.polite import Pacer, SourceError, client_session, retry_after
from bot.sources.redirects import Address, resolve
from storage.database import open_database
from storage.mentions import find_mentions
from tests.conftest import (
    SHARED_DATA,
    RecordingInbox,
    running_service,
    wait_for,
    write_config,
)
from tests.fake_mastodon import FakeMastodon

PAYLOADS = SHARED_DATA / "payloads" / "mastodon"
KESTREL = Brand(
    name="Kestrel Mobile",
    slug="kestrel-mobile",
    keywords=("kestrel mobile", "kestrel"),
    hashtags=("#kestreldown",),
)
TOKEN = "test-token"
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def payload(name: str) -> Any:
    path = PAYLOADS / name
    if not path.exists():
        pytest.skip(f"shared payload not present: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


# -- HTML to text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Kestrel is down</p><p>again</p>", "Kestrel is down\n\nagain"),
        ("<p>first line<br>second<br />third</p>", "first line\nsecond\nthird"),
        ("<p>you can&#39;t &amp; won&apos;t &lt;3 &quot;x&quot;</p>", "you can't & won't <3 \"x\""),
        (
            '<p><a href="https://k.example/x" rel="nofollow"><span class="invisible">https://'
            '</span><span class="ellipsis">kestrel.example/outage-map-of-e</span><span '
            'class="invisible">urope</span></a></p>',
            "https://kestrel.example/outage-map-of-europe",
        ),
        (
            '<p><span class="h-card"><a href="https://m.example/@kestrel" class="u-url mention">'
            '@<span>kestrel</span></a></span> <a href="https://m.example/tags/down" '
            'class="mention hashtag" rel="tag">#<span>down</span></a> again</p>',
            "@kestrel #down again",
        ),
        ("<p>spread\n   over\tlines</p>", "spread over lines"),
        ("<ul><li>one</li><li>two</li></ul><p>after</p>", "one\ntwo\n\nafter"),
        ("<p>a</p><script>alert(1)</script><p>b</p>", "a\n\nb"),
        ("no tags at all", "no tags at all"),
        ("", ""),
    ],
)
def test_content_becomes_plain_text(html: str, text: str) -> None:
    assert content_text(html) == text


def test_recorded_timeline_reads_as_people_wrote_it() -> None:
    texts = [content_text(status["content"]) for status in payload("timeline_public.json")]
    assert "you can't say that on television" in texts
    assert "@mastodonpy_test beep beep I'm a jeep" in texts
    assert all("<" not in text and "&#" not in text for text in texts)


# -- statuses to mentions -----------------------------------------------------------------------


def test_a_status_becomes_a_mention() -> None:
    status = as_status(payload("status_get.json"))
    mention = to_mention("masto", status, "localhost:3000")
    assert mention.source == "masto"
    assert mention.native_id == "117020583223442465"
    assert mention.url == "http://localhost:3000/@mastodonpy_test/117020583223442465"
    assert mention.created_at == datetime(2026, 8, 1, 13, 53, 15, 378000, tzinfo=UTC)
    assert mention.text == "Toot!"
    assert mention.author == Author("mastodonpy_test@localhost:3000", "John Lennon", 0)
    assert mention.language == "en"
    assert mention.parent_id == ""
    assert mention.raw["id"] == status["id"]


def test_a_boost_counts_as_the_status_it_boosts() -> None:
    boost = as_status(payload("status_reblog.json"))
    mention = to_mention("masto", boost, "localhost:3000")
    original = boost["reblog"]
    assert original is not None
    assert mention.native_id == original["id"] == "117020574416668515"
    assert mention.url == original["url"]
    assert mention.text == "Toot!"
    assert mention.engagement.reposts == 1
    assert mention.raw["id"] == boost["id"]  # who boosted is kept


def test_spoiler_counts_and_engagement_replies_language() -> None:
    status = as_status(payload("status_get.json"))
    status = {
        **status,
        "spoiler_text": "rant about Kestrel",
        "content": "<p>no signal</p>",
        "reblogs_count": 4,
        "favourites_count": 7,
        "replies_count": 2,
        "quotes_count": 1,
        "language": None,
        "in_reply_to_id": "42",
        "account": {**status["account"], "acct": "bob@other.example", "followers_count": 900},
    }
    mention = to_mention("masto", as_status(status), "localhost:3000")
    assert mention.text == "rant about Kestrel\n\nno signal"
    assert (mention.engagement.reposts, mention.engagement.likes) == (4, 7)
    assert (mention.engagement.replies, mention.engagement.quotes) == (2, 1)
    assert mention.language == ""
    assert mention.parent_id == "42"
    assert mention.author.handle == "bob@other.example"
    assert mention.author.followers == 900


@pytest.mark.parametrize(
    "change",
    [
        {"account": None},
        {"created_at": "yesterday-ish"},
        {"account": {"username": "no-acct"}},
    ],
)
def test_a_broken_status_is_malformed(change: dict[str, Any]) -> None:
    status = {**payload("status_get.json"), **change}
    with pytest.raises(MalformedStatus):
        to_mention("masto", as_status(status), "localhost:3000")


@pytest.mark.parametrize("value", [None, [], {"id": 5}, "117020583223442465"])
def test_something_else_is_not_a_status(value: Any) -> None:
    with pytest.raises(MalformedStatus):
        as_status(value)


def test_ids_order_as_numbers_and_as_fixed_width_text() -> None:
    assert is_newer("100", "99")
    assert not is_newer("99", "100")
    assert is_newer("1", None)
    assert newest(["108914327388663283", "99", "117020583223442465"]) == "117020583223442465"
    assert newest([]) is None
    assert is_newer("AbCdEf9", "AbCdEf1")  # Pleroma flake ids


def test_recent_ids_forget_the_oldest() -> None:
    seen = RecentIds(size=2)
    assert seen.add("1")
    assert seen.add("2")
    assert not seen.add("1")
    assert seen.add("3")  # evicts 2, the least recently heard
    assert seen.add("2")
    assert not seen.add("3")


def test_a_post_the_public_timeline_leaves_is_still_taken_from_its_hashtag_once() -> None:
    """With ``public: all``, a post tagged #KestrelDown whose words do not name the brand comes
    on the public stream first, which leaves it (it keeps only what names a brand); the
    hashtag's stream must still take it, and only once."""
    reader = StatusReader("masto", "social.example", BrandMatcher([KESTREL]), lambda count: None)
    status = as_status(
        {
            "id": "110",
            "created_at": "2026-03-10T09:00:00.000Z",
            "content": "<p>still no signal</p>",
            "uri": "https://social.example/users/alice/statuses/110",
            "account": {"id": "1", "username": "alice", "acct": "alice", "display_name": "A"},
        }
    )
    assert reader.read([status], firehose=True) == []
    [taken] = reader.read([status], firehose=False)
    assert taken.native_id == "110"
    assert reader.read([status], firehose=False) == []
    assert reader.read([status], firehose=True) == []


@pytest.mark.parametrize(
    ("text", "handle", "expected"),
    [
        ("Sorry!", "bob@other.example", "@bob@other.example Sorry!"),
        ("@Bob@Other.example sorry!", "bob@other.example", "@Bob@Other.example sorry!"),
        ("@Bob sorry!", "bob@other.example", "@bob@other.example @Bob sorry!"),
        ("Hi @bob@other.example.", "bob@other.example", "Hi @bob@other.example."),
        ("Hi @bobby", "bob@other.example", "@bob@other.example Hi @bobby"),
        ("Hello", "", "Hello"),
    ],
)
def test_a_reply_addresses_its_author_once(text: str, handle: str, expected: str) -> None:
    assert addressed_on_mastodon(text, handle) == expected


# -- server-sent events -------------------------------------------------------------------------


def docs_stream() -> bytes:
    path = PAYLOADS / "streaming_events_from_docs.sse"
    if not path.exists():
        pytest.skip(f"shared payload not present: {path}")
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(5))
def test_the_documented_stream_parses_in_any_chunking(seed: int) -> None:
    data = b":)\n" + docs_stream() + b":thump\n"
    rng = random.Random(seed)
    parser, events, start = SseParser(), [], 0
    while start < len(data):
        end = start + rng.randint(1, 700)
        events += parser.feed(data[start:end])
        start = end
    assert events == SseParser().feed(data)
    kinds = [event.event for event in events]
    assert kinds.count("update") == 4
    assert kinds.count("status.update") == 4
    assert kinds.count("delete") == 3
    assert {"notification", "filters_changed", "announcement", "conversation"} <= set(kinds)
    for event in events:
        if event.event in ("update", "status.update"):
            to_mention("masto", as_status(json.loads(event.data)), "mastodon.social")
    assert next(e.data for e in events if e.event == "delete") == "107214471804101576"


def test_sse_comments_crlf_and_multiline_data() -> None:
    parser = SseParser()
    assert parser.feed(b":thump\r\n\r\n:thump\n") == []
    assert parser.feed(b'event: update\r\ndata: {"a":\r\ndata: 1}\r\n') == []
    assert parser.feed(b"\r\n") == [SseEvent("update", '{"a":\n1}')]
    assert parser.feed(b"data: no event name\n\n") == [SseEvent("message", "no event name")]
    assert parser.feed(b"event: delete\n\n") == []  # no data: nothing to dispatch


def test_an_endless_line_is_refused() -> None:
    parser = SseParser(max_line=100)
    with pytest.raises(SseError):
        parser.feed(b"data: " + b"x" * 200)


def test_data_without_an_end_is_dropped_and_the_stream_resyncs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Data lines with no blank line between them were kept for ever: memory without bound."""
    parser = SseParser(max_data=1000)
    with caplog.at_level(logging.WARNING):
        for _ in range(500):  # each line is short; together they are far over the bound
            assert parser.feed(b"event: update\ndata: " + b"x" * 50 + b"\n") == []
    assert sum(len(part) for part in parser._data) <= 1000
    assert parser.dropped == 1
    assert "over 1000 characters of data dropped" in caplog.text
    assert parser.feed(b"data: still the big one\n\n") == []  # its end: nothing dispatched
    assert parser.feed(b"event: update\ndata: {}\n\n") == [SseEvent("update", "{}")]
    assert parser.feed(b"data: " + b"y" * 999 + b"\n\n") == [SseEvent("message", "y" * 999)]


def test_websocket_frames_carry_the_same_statuses() -> None:
    path = PAYLOADS / "streaming_websocket_messages_from_docs.jsonl"
    if not path.exists():
        pytest.skip(f"shared payload not present: {path}")
    frames = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    updates = [frame for frame in frames if frame["event"] == "update"]
    assert updates
    for frame in updates:
        mention = to_mention("masto", as_status(json.loads(frame["payload"])), "mastodon.social")
        assert mention.text


# -- settings -----------------------------------------------------------------------------------


def settings(**fields: Any) -> MastodonSourceSettings:
    return MastodonSourceSettings.model_validate(
        {"type": "mastodon", "name": "masto", "base_url": "https://mastodon.example", **fields}
    )


def test_settings_clean_what_people_type() -> None:
    chosen = settings(
        base_url="https://mastodon.example/",
        hashtags=["#KestrelDown", " kestrel "],
        search=["  kestrel mobile "],
        access_token="  ",
    )
    assert chosen.base_url == "https://mastodon.example"
    assert chosen.hashtags == ["KestrelDown", "kestrel"]
    assert chosen.search == ["kestrel mobile"]
    assert chosen.access_token is None


@pytest.mark.parametrize(
    "fields",
    [
        {"base_url": "mastodon.example"},
        {"hashtags": ["two words"]},
        {"hashtags": ["#"]},
        {"search": [" "]},
        {"poll_seconds": 0},
        {"backfill": "-1h"},
        {"reply_visibility": "direct"},
        {"max_pages": 0},
    ],
)
def test_settings_refuse_what_cannot_work(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings(**fields)


def test_feeds_default_to_the_brands() -> None:
    with_token = plan_feeds(settings(access_token=TOKEN), [KESTREL])
    assert [feed.key for feed in with_token] == [
        "tag:kestreldown",
        "search:Kestrel Mobile",
        "search:kestrel",
    ]
    assert with_token[0].stream_path == "/api/v1/streaming/hashtag?tag=kestreldown"
    assert with_token[0].path == "/api/v1/timelines/tag/kestreldown"
    without = plan_feeds(settings(), [KESTREL])
    assert [feed.key for feed in without] == ["tag:kestreldown"]  # search needs a token


def test_feeds_local_public_and_explicit_lists() -> None:
    feeds = plan_feeds(
        settings(hashtags=["A", "a", "b"], search=[], public="local", local_only=True), [KESTREL]
    )
    assert [feed.key for feed in feeds] == ["tag:a", "tag:b", "public:local"]
    assert feeds[0].stream_path == "/api/v1/streaming/hashtag/local?tag=a"
    assert dict(feeds[0].params) == {"local": "true"}
    assert feeds[2].stream_path == "/api/v1/streaming/public/local"
    assert feeds[2].firehose


def test_a_source_with_nothing_to_follow_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="nothing to follow"):
        build_source(settings(hashtags=[], search=[]), context([]))


def test_app_yaml_takes_a_mastodon_source(tmp_path: Path) -> None:
    source = {
        "type": "mastodon",
        "name": "masto",
        "base_url": "https://mastodon.example",
        "access_token": "${MASTODON_TOKEN}",
        "backfill": "30m",
    }
    path = write_config(tmp_path, [source])
    config = load_config(path, environ={"MASTODON_TOKEN": "secret"})
    loaded = config.sources[0]
    assert isinstance(loaded, MastodonSourceSettings)
    assert loaded.access_token is not None
    assert loaded.access_token.get_secret_value() == "secret"
    assert loaded.backfill == timedelta(minutes=30)


# -- against a fake instance --------------------------------------------------------------------


class Inbox(RecordingInbox):
    """Collects what a source queues, as the intake would."""

    @property
    def ids(self) -> list[str]:
        return [mention.native_id for mention in self.mentions]

    @property
    def cursor(self) -> dict[str, str]:
        positions = [e.position for e in self.envelopes if e.position]
        return json.loads(positions[-1]) if positions else {}


class Reports:
    def __init__(self) -> None:
        self.said: list[str | None] = []

    def __call__(self, name: str, trouble: str | None) -> None:
        self.said.append(trouble)


def context(brands: list[Brand], report: Callable[[str, str | None], None] | None = None) -> Any:
    return SourceContext(SystemClock(), Metrics(), report or Reports(), tuple(brands))


class Ticker:
    """A monotonic clock that moves only when told (``seconds``)."""

    def __init__(self) -> None:
        self.seconds = 1_000.0

    def __call__(self) -> float:
        return self.seconds


def source_for(
    fake: FakeMastodon,
    reports: Reports | None = None,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    **fields: Any,
) -> MastodonSource:
    fields = {"access_token": TOKEN, "search": [], "idle_seconds": 2, "max_backoff": 1, **fields}
    chosen = MastodonSourceSettings.model_validate(
        {"type": "mastodon", "name": "masto", "base_url": fake.url, **fields}
    )
    return MastodonSource(
        chosen, context([KESTREL], reports), backoff_base=0.05, monotonic=monotonic
    )


@asynccontextmanager
async def running(source: MastodonSource, position: str | None = None) -> AsyncIterator[Inbox]:
    inbox = Inbox()
    task = asyncio.create_task(source.run(inbox, position))
    try:
        yield inbox
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(token=TOKEN, heartbeat=0.05) as instance:
        yield instance


async def test_a_hashtag_stream_is_heard_with_its_cursor(fake: FakeMastodon) -> None:
    async with running(source_for(fake)) as inbox:
        await fake.wait_for_streams(1)
        fake.post("Kestrel down again #kestreldown", tags=("kestreldown",), followers=321)
        fake.post("lovely weather #sunny", tags=("sunny",))
        tagged = fake.post("still no signal", tags=("KestrelDown",))
        await wait_for(lambda: len(inbox.mentions) == 2)
        await asyncio.sleep(0.2)  # heartbeats come and go; nothing else arrives
    assert [m.text for m in inbox.mentions] == [
        "Kestrel down again #kestreldown",
        "still no signal",
    ]
    first = inbox.mentions[0]
    assert first.author.handle == f"alice@{fake.host}"
    assert first.author.followers == 321
    assert inbox.cursor == {"tag:kestreldown": tagged["id"]}
    stream = fake.calls_to("/api/v1/streaming/hashtag")[0]
    assert stream.query == {"tag": "kestreldown"}
    assert stream.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_the_first_start_hears_only_the_backfill_window(fake: FakeMastodon) -> None:
    fake.post("old news", tags=("kestreldown",), ago=timedelta(hours=3))
    recent = fake.post("recent trouble", tags=("kestreldown",), ago=timedelta(minutes=10))
    async with running(source_for(fake, backfill="1h")) as inbox:
        await fake.wait_for_streams(1)
        await wait_for(lambda: bool(inbox.envelopes))
    assert inbox.ids == [recent["id"]]
    assert inbox.cursor == {"tag:kestreldown": recent["id"]}


async def test_a_dropped_stream_reconnects_and_fills_the_gap_once(fake: FakeMastodon) -> None:
    reports = Reports()
    async with running(source_for(fake, reports, backfill="0s")) as inbox:
        await fake.wait_for_streams(1)
        first = fake.post("one", tags=("kestreldown",))
        await wait_for(lambda: len(inbox.mentions) == 1)
        fake.drop_streams()
        missed = [fake.post(f"missed {n}", tags=("kestreldown",)) for n in range(3)]
        await fake.wait_for_streams(1)
        await wait_for(lambda: len(inbox.mentions) == 4)
        fake.publish("update", missed[1])  # streamed again after the catch-up read it
        after = fake.post("after", tags=("kestreldown",))
        await wait_for(lambda: len(inbox.mentions) == 5)
        await asyncio.sleep(0.1)
    assert inbox.ids == [first["id"], *(s["id"] for s in missed), after["id"]]
    assert fake.stream_connections == 2
    fills = [
        call.query.get("min_id") for call in fake.calls_to("/api/v1/timelines/tag/kestreldown")
    ]
    # the gap from the cursor (the feed was read back at the start, not again so soon), then
    # the page after it (empty unless 'after' is in)
    gap = fills.index(first["id"])
    assert fills[gap : gap + 2] == [first["id"], missed[-1]["id"]]
    assert inbox.cursor == {"tag:kestreldown": after["id"]}
    assert "ended the stream" in str(reports.said[0])
    assert reports.said[-1] is None


async def test_a_streamed_catch_up_reads_past_a_page_short_of_dropped_posts(
    fake: FakeMastodon,
) -> None:
    """The stream moves the cursor past whatever the catch-up leaves: it must read to the end."""
    async with running(source_for(fake, backfill="0s")) as inbox:
        await fake.wait_for_streams(1)
        first = fake.post("one", tags=("kestreldown",))
        await wait_for(lambda: len(inbox.mentions) == 1)
        fake.drop_streams()
        missed = [
            fake.post(f"missed {n}", tags=("kestreldown",), _filtered=n % 10 == 0)
            for n in range(60)
        ]
        shown = [status["id"] for status in missed if not status["_filtered"]]
        await fake.wait_for_streams(1)
        await wait_for(lambda: len(inbox.mentions) == 1 + len(shown))
        after = fake.post("after", tags=("kestreldown",))
        await wait_for(lambda: after["id"] in inbox.ids)
    assert inbox.ids == [first["id"], *shown, after["id"]]
    pages = [
        call.query.get("min_id") for call in fake.calls_to("/api/v1/timelines/tag/kestreldown")
    ]
    # from the cursor (read back at the start, not again so soon): a page of 36 (4 dropped),
    # one of 18, and the empty page that ends the catch-up
    gap = pages.index(first["id"])
    assert pages[gap : gap + 3] == [first["id"], missed[39]["id"], missed[59]["id"]]


async def test_a_polled_feed_stops_at_a_short_page_and_goes_on_at_the_next_poll(
    fake: FakeMastodon,
) -> None:
    start = fake.post("before", tags=("kestreldown",), ago=timedelta(minutes=20))
    posts = [
        fake.post(f"post {n}", tags=("kestreldown",), _filtered=n % 10 == 0) for n in range(60)
    ]
    shown = [status["id"] for status in posts if not status["_filtered"]]
    source = source_for(fake, access_token=None, poll_seconds=0.2)
    async with running(source, json.dumps({"tag:kestreldown": start["id"]})) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 1 + len(shown))
    assert inbox.ids == [start["id"], *shown]  # the cursor's post read again (storage drops it)
    pages = [call.query["min_id"] for call in fake.calls_to("/api/v1/timelines/tag/kestreldown")]
    # the short first page (36 of 40, read back LOOKBACK below the stored cursor) ends a poll;
    # the next poll reads the rest from its cursor: what the first page ended with
    assert pages[:2] == [read_back(start["id"]), posts[38]["id"]]


async def test_a_silent_stream_is_reconnected(fake: FakeMastodon) -> None:
    async with running(source_for(fake, idle_seconds=0.3)):
        await fake.wait_for_streams(1)
        fake.hang_streams()
        await wait_for(lambda: fake.stream_connections == 2, timeout=5)


async def test_edits_deletes_boosts_and_odd_events(fake: FakeMastodon) -> None:
    source = source_for(fake, backfill="0s")
    async with running(source) as inbox:
        await fake.wait_for_streams(1)
        first = fake.post("Kestrel slow", tags=("kestreldown",))
        await wait_for(lambda: len(inbox.mentions) == 1)
        fake.edit(first["id"], "Kestrel slow, now down")
        fake.delete(first["id"])
        fake.push("filters_changed", "undefined")
        fake.push("notification", '{"id": "1", "type": "mention"}')
        fake.push("update", "not json")
        fake.push("update", '{"id": "7", "content": "<p>no account</p>"}')
        boosted = fake.post("boost me", tags=("elsewhere",))
        boost = {**boosted, "id": "999999999999999999", "reblog": boosted, "content": ""}
        fake.push("update", json.dumps({k: v for k, v in boost.items() if k != "_local"}))
        fake.push("update", json.dumps({k: v for k, v in boost.items() if k != "_local"}))
        await wait_for(lambda: len(inbox.mentions) == 3)
        await asyncio.sleep(0.2)
    assert [m.text for m in inbox.mentions] == [
        "Kestrel slow",
        "Kestrel slow, now down",
        "boost me",
    ]
    assert inbox.mentions[1].native_id == first["id"]  # an edit is the same post
    assert inbox.mentions[2].native_id == boosted["id"]  # a boost counts as the original
    malformed = source.context.metrics.malformed.labels("masto")._value.get()
    assert malformed == 2


async def test_without_a_token_hashtags_are_polled(fake: FakeMastodon) -> None:
    source = source_for(fake, access_token=None, poll_seconds=0.1, backfill="0s")
    assert not source.streams
    async with running(source) as inbox:
        await wait_for(lambda: bool(fake.calls_to("/api/v1/timelines/tag/kestreldown")))
        posted = fake.post("Kestrel is down", tags=("kestreldown",))
        await wait_for(lambda: inbox.ids == [posted["id"]])
    assert not fake.calls_to("/api/v1/streaming")
    assert all("Authorization" not in call.headers for call in fake.calls)


async def test_a_long_gap_is_read_forward_a_few_pages_per_poll(fake: FakeMastodon) -> None:
    start = fake.post("Kestrel before", tags=("kestreldown",), ago=timedelta(minutes=20))
    gap = [
        fake.post(f"Kestrel {n}", tags=("kestreldown",), ago=timedelta(minutes=10 - n / 20))
        for n in range(100)
    ]
    source = source_for(fake, access_token=None, poll_seconds=0.1, max_pages=2)
    async with running(source, json.dumps({"tag:kestreldown": start["id"]})) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 101)
    assert inbox.ids == [s["id"] for s in [start, *gap]]  # the cursor's post read again
    asked = [call.query["min_id"] for call in fake.calls_to("/api/v1/timelines/tag/")]
    # two pages (read back: the first with 'before'), then the rest from the cursor
    assert asked[:3] == [read_back(start["id"]), gap[38]["id"], gap[78]["id"]]


async def test_a_search_gap_beyond_max_pages_is_said(
    fake: FakeMastodon, caplog: pytest.LogCaptureFixture
) -> None:
    start = fake.post("Kestrel before", ago=timedelta(minutes=20))
    gap = [fake.post(f"Kestrel {n}", ago=timedelta(minutes=10 - n / 20)) for n in range(50)]
    source = source_for(fake, search=["kestrel"], max_pages=1)
    async with running(source, json.dumps({"search:kestrel": start["id"]})) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 40)
    assert inbox.ids == [s["id"] for s in gap[10:]]  # the newest, the oldest skipped
    assert "more than 40 posts to catch up; the oldest are skipped" in caplog.text


async def test_a_refused_stream_is_reported_once(fake: FakeMastodon) -> None:
    reports = Reports()
    async with running(source_for(fake, reports, access_token="wrong")):
        await wait_for(lambda: len(fake.calls_to("/api/v1/streaming")) >= 2, timeout=5)
    assert len(reports.said) == 1
    trouble = reports.said[0]
    assert trouble is not None
    for words in ("#kestreldown", "HTTP 401", "access_token"):
        assert words in trouble


async def test_the_streaming_server_is_found_through_the_instance() -> None:
    async with (
        FakeMastodon(token=TOKEN, heartbeat=0.05) as web,
        FakeMastodon(token=TOKEN, heartbeat=0.05) as streaming,
    ):
        web.streaming_url = f"wss://{streaming.host}".replace("wss://", "ws://")
        async with running(source_for(web)) as inbox:
            await streaming.wait_for_streams(1)
            streaming.post("Kestrel down", tags=("kestreldown",))
            await wait_for(lambda: len(inbox.mentions) == 1)
        assert not web.calls_to("/api/v1/streaming")
        assert web.calls_to("/api/v1/timelines/tag/kestreldown")


async def test_a_public_instance_naming_a_private_streaming_host_streams_from_itself(
    fake: FakeMastodon,
) -> None:
    """Where streams are is the instance's word: one on the internet naming an address inside
    Vigie's network (here the fake, taken for public, names 127.0.0.1:9) is not followed there,
    token and all. An instance that is private itself may name a private host."""
    fake.streaming_url = "ws://127.0.0.1:9"

    async def fake_seen_as_public(host: str, port: int) -> list[Address]:
        return [ip_address("93.184.216.34")] if port == fake.port else await resolve(host, port)

    chosen = settings(base_url=fake.url, access_token=TOKEN)
    async with client_session() as session:
        outside = MastodonApi(session, chosen, resolve=fake_seen_as_public)
        assert await outside.streaming_base() == fake.url
        inside = MastodonApi(session, chosen)
        assert await inside.streaming_base() == "http://127.0.0.1:9"


async def test_an_instance_naming_a_streaming_host_that_is_no_host_name_is_trouble(
    fake: FakeMastodon,
) -> None:
    """Connecting there raised a UnicodeError (IDNA) that no loop caught: the source crashed
    and was restarted for ever. Now it is trouble, reported, and retried with backoff."""
    fake.streaming_url = f"ws://{'a' * 64}.example"
    reports = Reports()
    async with running(source_for(fake, reports)):
        await wait_for(lambda: bool(reports.said))
    trouble = reports.said[0] or ""
    assert "#kestreldown" in trouble
    assert "not a valid host name" in trouble


async def test_a_malformed_status_is_skipped_and_the_others_are_refreshed(
    fake: FakeMastodon, caplog: pytest.LogCaptureFixture
) -> None:
    """MalformedStatus (a ValueError) escaped engagement(), and bot/engagement.py catches only
    SourceError: the whole round of every source's refresh was lost."""
    good = fake.post("Kestrel down", reblogs_count=7)
    odd = fake.post("Kestrel slow")
    fake.statuses[odd["id"]] = {**odd, "account": "nobody", "created_at": "yesterday"}
    source = source_for(fake)
    mentions = [Mention("masto", s["id"], "", datetime.now(UTC)) for s in (odd, good)]
    with caplog.at_level(logging.WARNING):
        counts = await source.engagement(mentions)
    assert list(counts) == [good["id"]]
    assert counts[good["id"]].reposts == 7
    assert f"status {odd['id']} skipped" in caplog.text


async def test_search_walks_every_page_since_the_cursor_then_resumes(fake: FakeMastodon) -> None:
    posts = [  # those heard before the cursor's are older than the look-back below it
        fake.post(f"Kestrel outage {n}", ago=timedelta(minutes=30 - n / 10 + (n < 9) * 60))
        for n in range(100)
    ]
    fake.post("nothing to see", ago=timedelta(minutes=1))
    source = source_for(fake, search=["kestrel"], poll_seconds=0.2)
    position = json.dumps({"search:kestrel": posts[9]["id"]})
    async with running(source, position) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 91)
        later = [fake.post("Kestrel again"), fake.post("kestrel AGAIN")]
        await wait_for(lambda: len(inbox.mentions) == 93)
        await asyncio.sleep(0.3)
    assert inbox.ids == [s["id"] for s in posts[9:] + later]  # the cursor's post read again
    searches = fake.calls_to("/api/v2/search")
    assert [call.query["offset"] for call in searches[:3]] == ["0", "40", "80"]
    assert all(call.query["type"] == "statuses" for call in searches)
    assert all(call.query["resolve"] == "false" for call in searches)
    assert searches[0].query["min_id"] == read_back(posts[9]["id"])
    assert inbox.cursor == {"search:kestrel": later[-1]["id"]}


async def test_a_first_search_reads_one_page_of_recent_posts(fake: FakeMastodon) -> None:
    fake.post("Kestrel outage long ago", ago=timedelta(days=2))
    recent = [fake.post(f"Kestrel outage {n}", ago=timedelta(minutes=5)) for n in range(3)]
    async with running(source_for(fake, search=["kestrel"], backfill="1h")) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 3)
    assert inbox.ids == [s["id"] for s in recent]
    assert len(fake.calls_to("/api/v2/search")) == 1


async def test_a_rate_limited_search_waits_then_recovers(fake: FakeMastodon) -> None:
    reports = Reports()
    fake.fail("/api/v2/search", 429, retry_after=0.3)
    posted = fake.post("Kestrel down", ago=timedelta(minutes=1))
    source = source_for(fake, reports, search=["kestrel"], poll_seconds=0.05)
    async with running(source) as inbox:
        await wait_for(lambda: inbox.ids == [posted["id"]])
    assert len(reports.said) == 2
    assert "HTTP 429" in str(reports.said[0])
    assert reports.said[1] is None
    first, second = fake.calls_to("/api/v2/search")[:2]
    assert (first.status, second.status) == (429, 200)


async def test_a_search_page_short_of_filtered_posts_does_not_end_the_walk(
    fake: FakeMastodon,
) -> None:
    start = fake.post("Kestrel before", ago=timedelta(minutes=20))
    posts = [
        fake.post(f"Kestrel {n}", ago=timedelta(minutes=10 - n / 20), _filtered=n % 10 == 0)
        for n in range(60)
    ]
    shown = [status["id"] for status in posts if not status["_filtered"]]
    source = source_for(fake, search=["kestrel"])
    async with running(source, json.dumps({"search:kestrel": start["id"]})) as inbox:
        await wait_for(lambda: len(inbox.mentions) == 1 + len(shown))
        await asyncio.sleep(0.1)
    assert inbox.ids == [start["id"], *shown]  # the cursor's post read again
    offsets = [call.query["offset"] for call in fake.calls_to("/api/v2/search")]
    # a short first page, then one short of the look-back below the cursor, then an empty one
    assert offsets == ["0", "40", "80"]


async def test_a_search_answer_cut_short_is_retried_and_the_feed_goes_on(
    fake: FakeMastodon,
) -> None:
    reports = Reports()
    fake.break_next("/api/v2/search")
    posted = fake.post("Kestrel down", ago=timedelta(minutes=1))
    source = source_for(fake, reports, search=["kestrel"], poll_seconds=0.05)
    async with running(source) as inbox:
        await wait_for(lambda: inbox.ids == [posted["id"]])
    assert len(reports.said) == 2
    assert "the answer broke off" in str(reports.said[0])
    assert reports.said[1] is None


async def test_a_429_waits_until_the_iso_8601_reset_time(fake: FakeMastodon) -> None:
    fake.remaining = 0  # Mastodon's 429 has no Retry-After: only X-RateLimit-Reset
    fake.reset_at = datetime.now(UTC) + timedelta(hours=1)
    chosen = settings(base_url=fake.url, access_token=TOKEN, search=["kestrel"], hashtags=[])
    [feed] = plan_feeds(chosen, [KESTREL])
    async with client_session() as session:
        api = MastodonApi(session, chosen)
        with pytest.raises(SourceError, match="HTTP 429") as limited:
            await anext(api.since(feed, None))
    assert limited.value.retryable
    assert limited.value.wait is not None
    assert 3500 < limited.value.wait <= 3600


async def test_requests_are_spaced_out_when_the_rate_limit_runs_low(fake: FakeMastodon) -> None:
    start = fake.post("Kestrel before", ago=timedelta(minutes=20))
    for n in range(100):
        fake.post(f"Kestrel {n}", ago=timedelta(minutes=10 - n / 20))
    fake.remaining = 4
    fake.reset_at = datetime.now(UTC) + timedelta(seconds=120)
    waits: list[float] = []
    clock = [1_000.0]

    async def sleep(seconds: float) -> None:  # time passes as it would
        waits.append(seconds)
        clock[0] += seconds

    chosen = settings(base_url=fake.url, access_token=TOKEN, search=["kestrel"], hashtags=[])
    [feed] = plan_feeds(chosen, [KESTREL])
    async with client_session() as session:
        api = MastodonApi(session, chosen, Pacer(clock=lambda: clock[0], sleep=sleep))
        page = await anext(api.since(feed, start["id"]))
    assert len(page.statuses) == 101  # 'before' too: the cursor's post
    # 3 left after the first answer: 120 s / 3 apart; then 120 s / 2, 120 s / 1 (the fourth
    # page, empty, ends the walk down to the look-back below the cursor)
    assert waits == [pytest.approx(w, abs=1) for w in (40, 60, 120)]
    assert fake.remaining == 0


async def test_a_spent_quota_holds_requests_until_the_reset_and_no_longer() -> None:
    waits: list[float] = []
    clock = [1_000.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep, now=lambda: NEW_YEAR)
    await pacer.wait()
    pacer.note({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-01-01T00:00:30Z"})
    for _ in range(3):  # three feeds of one account, each wanting its turn
        await pacer.wait()
    assert waits == [30]  # all go at the reset, when the quota is whole again
    pacer.note({"X-RateLimit-Remaining": "299", "X-RateLimit-Reset": "2026-01-01T00:05:30Z"})
    await pacer.wait()
    assert waits == [30]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "30"}, 30),
        ({"Retry-After": "Thu, 01 Jan 2026 00:01:00 GMT"}, 60),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-01-01T00:05:00.000Z"}, 300),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-01-01T00:02:30.5+00:00"}, 150.5),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2025-12-31T23:59:00Z"}, 0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-01-01T00:00:10"}, 10),
        ({"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"}, 42),  # Reddit
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NEW_YEAR + 20)}, 20),
        ({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "2026-01-01T00:05:00Z"}, None),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_dates_epochs_and_iso_8601_resets(
    headers: dict[str, str], wait: float | None
) -> None:
    assert retry_after(headers, lambda: NEW_YEAR) == wait


async def test_the_public_timeline_keeps_only_posts_naming_a_brand(fake: FakeMastodon) -> None:
    source = source_for(fake, hashtags=[], public="local", backfill="0s")
    async with running(source) as inbox:
        await fake.wait_for_streams(1)
        fake.post("from afar: Kestrel Mobile is down", local=False)
        named = fake.post("Kestrel Mobile is down here")
        fake.post("lovely weather")
        await wait_for(lambda: len(inbox.mentions) == 1)
        await asyncio.sleep(0.2)
    assert inbox.ids == [named["id"]]
    assert fake.calls_to("/api/v1/streaming/public/local")


async def test_a_reply_is_posted_in_the_thread(fake: FakeMastodon) -> None:
    source = source_for(fake, reply_visibility="unlisted")
    status = fake.post("Kestrel down", acct="bob@other.example")
    mention = to_mention("masto", as_status(status), fake.host)
    url = await source.reply(mention, "Sorry, we are on it.", idempotency_key="incident-7")
    again = await source.reply(mention, "Sorry, we are on it.", idempotency_key="incident-7")
    assert url == again
    assert len(fake.posted) == 1
    reply = fake.posted[0]
    assert url == reply["url"]
    assert reply["in_reply_to_id"] == status["id"]
    assert reply["visibility"] == "unlisted"
    assert reply["content"] == "<p>@bob@other.example Sorry, we are on it.</p>"
    call = fake.calls_to("/api/v1/statuses")[0]
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Idempotency-Key"] == "incident-7"


async def test_a_reply_says_clearly_why_it_cannot_be_posted(fake: FakeMastodon) -> None:
    status = fake.post("Kestrel down")
    mention = to_mention("masto", as_status(status), fake.host)
    with pytest.raises(SourceError, match="access_token") as no_token:
        await source_for(fake, access_token=None).reply(mention, "Sorry")
    assert not no_token.value.retryable
    elsewhere = to_mention("other", as_status(status), fake.host)
    with pytest.raises(SourceError, match="heard by source other"):
        await source_for(fake).reply(elsewhere, "Sorry")
    with pytest.raises(SourceError, match="HTTP 422") as too_long:
        await source_for(fake).reply(mention, "x" * 600)
    assert not too_long.value.retryable
    fake.fail("/api/v1/statuses", 503)
    with pytest.raises(SourceError, match="HTTP 503") as down:
        await source_for(fake).reply(mention, "Sorry")
    assert down.value.retryable
    assert not fake.posted


# -- through the whole service ------------------------------------------------------------------


def stored(config: Path) -> list[dict[str, Any]]:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return find_mentions(db)
    finally:
        db.close()


async def test_the_service_stores_what_it_hears_and_resumes_after_a_restart(
    tmp_path: Path, fake: FakeMastodon
) -> None:
    config = write_config(tmp_path, [fake.source(TOKEN)])
    async with running_service(config) as service:
        await fake.wait_for_streams(1)
        first = fake.post("Kestrel Mobile outage, no signal at all", tags=("kestreldown",))
        await wait_for(lambda: len(stored(config)) == 1)
        assert service.sources["masto"].state == "running"
    await wait_for(lambda: not fake.streams)
    while_down = [
        fake.post(f"Kestrel Mobile still down, day {n}", tags=("kestreldown",)) for n in range(3)
    ]
    async with running_service(config):
        await wait_for(lambda: len(stored(config)) == 4)
        await fake.wait_for_streams(1)
    assert sorted(row["native_id"] for row in stored(config)) == sorted(
        s["id"] for s in [first, *while_down]
    )
    fills = [
        call.query.get("min_id") for call in fake.calls_to("/api/v1/timelines/tag/kestreldown")
    ]
    assert fills[-2:] == [
        read_back(first["id"]),
        while_down[-1]["id"],
    ]  # the gap (from LOOKBACK below the cursor), then the empty page ending it
