"""The X source against a fake X API v2 on 127.0.0.1 (tests/fake_x.py).

Pure parts first (rules from brands, rule sync plans, stream lines -> mentions, settings), then
the source over a real chunked stream (rules synced, tweets queued, keep-alives, drops, error
objects, silence, malformed lines, refusals, rate limits), engagement look-ups, and the whole
service storing and restarting with real SQLite.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.clock import SystemClock
from bot.config.loader import ConfigError
from bot.config.source_x import XSourceSettings
from bot.metrics import Metrics
from bot.model import Brand, Mention
from bot.sources import SourceContext, build_source
from bot.sources.polite import Backoff, SourceError, client_session
from bot.sources.x import XSource
from bot.sources.x_api import XApi, rate_limit_wait
from bot.sources.x_wire import (
    LineSplitter,
    MalformedTweet,
    StreamFailed,
    brand_rules,
    decode_position,
    encode_position,
    plan_rules,
    read_line,
)
from tests.conftest import (
    RecordingInbox,
    running_service,
    stored_mentions,
    wait_for,
    write_config,
)
from tests.fake_x import OPERATIONAL_DISCONNECT, TOKEN, FakeX

KESTREL = Brand(
    "Kestrel Mobile",
    "kestrel-mobile",
    keywords=("kestrel mobile", "kestrel"),
    hashtags=("#kestreldown",),
    handles=("@kestrelmobile",),
    exclude=("american kestrel",),
    languages=("en", "fr"),
)
RULE = (
    '("kestrel mobile" OR kestrel OR #kestreldown OR @kestrelmobile) -"american kestrel" '
    "-is:retweet (lang:en OR lang:fr)"
)
TAG = "vigie:x"
ALICE = "2244994945"


# -- pure ---------------------------------------------------------------------------------------


def test_a_brand_becomes_one_rule_with_its_exclusions_no_retweets_and_its_languages() -> None:
    assert brand_rules(KESTREL) == [RULE]
    plain = Brand("Acme", "acme", keywords=('say "hi"',))
    assert brand_rules(plain) == ['(acme OR "say  hi ") -is:retweet lang:en']


def test_long_brands_are_split_into_rules_under_the_limit() -> None:
    many = Brand("Acme", "acme", keywords=tuple(f"product number {n}" for n in range(60)))
    rules = brand_rules(many)
    assert len(rules) > 1
    assert all(len(rule) <= 512 and rule.endswith(" -is:retweet lang:en") for rule in rules)
    assert sum(rule.count('"product number') for rule in rules) == 60
    with pytest.raises(ValueError, match="longer than 40"):
        brand_rules(Brand("Acme", "acme", keywords=("a rather long phrase indeed",)), limit=40)


def test_a_rule_plan_adds_what_is_missing_and_deletes_only_its_own_stale_rules() -> None:
    existing = [
        {"id": "1", "value": "old rule", "tag": TAG},
        {"id": "2", "value": "someone else's", "tag": "other"},
        {"id": "3", "value": RULE, "tag": "other"},  # already there: used, not duplicated
    ]
    plan = plan_rules(existing, [RULE, "kestrel lang:de"], TAG)
    assert plan.add == ("kestrel lang:de",)
    assert plan.delete == ("1",)
    assert plan.kept == {"3": RULE}


def streamed(
    data: dict[str, Any], users: list[dict[str, Any]] | None = None, **extra: Any
) -> bytes:
    item = {"data": data, "includes": {"users": users or []}, **extra}
    return json.dumps(item).encode()


def test_a_streamed_reply_maps_to_every_mention_field() -> None:
    data = {
        "id": "1800000000000000001",
        "text": "@kestrelmobile no signal since noon &amp; nobody answers",
        "author_id": ALICE,
        "created_at": "2026-03-10T09:15:02.000Z",
        "lang": "en",
        "conversation_id": "1799999999999999999",
        "referenced_tweets": [
            {"type": "quoted", "id": "1700000000000000000"},
            {"type": "replied_to", "id": "1799999999999999999"},
        ],
        "public_metrics": {"retweet_count": 3, "reply_count": 2, "like_count": 7, "quote_count": 1},
    }
    user = {
        "id": ALICE,
        "username": "alice",
        "name": "Alice",
        "public_metrics": {"followers_count": 1200},
    }
    heard = read_line("x", streamed(data, [user], matching_rules=[{"id": "9", "tag": TAG}]))
    mention = heard.mention
    assert (heard.rules, heard.tags) == (("9",), (TAG,))
    assert mention.native_id == "1800000000000000001"
    assert mention.url == "https://x.com/alice/status/1800000000000000001"
    assert mention.text == "@kestrelmobile no signal since noon & nobody answers"
    assert mention.created_at == datetime(2026, 3, 10, 9, 15, 2, tzinfo=UTC)
    assert (mention.author.handle, mention.author.name, mention.author.followers) == (
        "alice",
        "Alice",
        1200,
    )
    assert (mention.engagement.reposts, mention.engagement.likes) == (3, 7)
    assert (mention.engagement.replies, mention.engagement.quotes) == (2, 1)
    assert (mention.language, mention.parent_id) == ("en", "1799999999999999999")


def test_a_tweet_without_its_author_or_time_still_reads() -> None:
    heard = read_line(
        "x", streamed({"id": "1800000000000000001", "text": "kestrel", "lang": "und"})
    )
    mention = heard.mention
    assert mention.url == "https://x.com/i/status/1800000000000000001"
    assert mention.created_at.year == 2024  # from the snowflake id
    assert mention.language == ""
    long = {"id": "1", "text": "cut…", "note_tweet": {"text": "the whole long kestrel post"}}
    assert read_line("x", streamed(long)).mention.text == "the whole long kestrel post"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{oops", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"meta": {}}', "neither data nor errors"),
        (b'{"data": {"text": "kestrel"}}', "tweet id"),
        (b'{"data": {"id": "12"}}', "no text"),
        (b'{"data": {"id": "12", "text": "k"}, "matching_rules": "all"}', "matching_rules"),
    ],
)
def test_malformed_lines_are_refused_saying_why(line: bytes, message: str) -> None:
    with pytest.raises(MalformedTweet, match=message):
        read_line("x", line)


def test_an_error_object_ends_the_stream() -> None:
    with pytest.raises(StreamFailed, match="operational-disconnect"):
        read_line("x", json.dumps(OPERATIONAL_DISCONNECT).encode())


def test_lines_are_cut_whatever_the_reads_and_blank_ones_are_keep_alives() -> None:
    whole = b'{"a": 1}\r\n\r\n{"b": 2}\r\n'
    for cut in range(len(whole)):
        splitter = LineSplitter()
        assert splitter.feed(whole[:cut]) + splitter.feed(whole[cut:]) == [
            b'{"a": 1}',
            b"",
            b'{"b": 2}',
        ]
    with pytest.raises(MalformedTweet, match="longer than 8"):
        LineSplitter(max_line=8).feed(b"0123456789")


def test_positions_round_trip() -> None:
    assert decode_position(encode_position("1800000000000000001")) == "1800000000000000001"
    assert decode_position(None) is None
    assert decode_position("garbage") is None


def test_x_rate_limit_headers_give_the_wait() -> None:
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1780000030"}
    assert rate_limit_wait(headers, now=1_780_000_000.0) == 30.0
    assert rate_limit_wait({**headers, "x-rate-limit-remaining": "3"}, now=1_780_000_000.0) is None
    assert rate_limit_wait({"Retry-After": "7"}) == 7.0


def test_settings_need_a_token_and_keep_rules_and_backfill_within_x_limits() -> None:
    base = {"type": "x", "name": "x", "bearer_token": "t"}
    settings = XSourceSettings.model_validate(base)
    assert (settings.api_url, settings.backfill_minutes, settings.rules) == (
        "https://api.x.com",
        0,
        None,
    )
    for wrong, field in (
        ({"bearer_token": None}, "bearer_token"),
        ({"bearer_token": " "}, "bearer_token"),
        ({"rules": ["x" * 513]}, "longer than 512"),
        ({"rules": []}, "must not be empty"),
        ({"backfill_minutes": 6}, "backfill_minutes"),
        ({"api_url": "api.x.com"}, "not an http"),
    ):
        with pytest.raises(ValidationError, match=field):
            XSourceSettings.model_validate({**base, **wrong})


def test_without_brands_or_rules_there_is_nothing_to_listen_for() -> None:
    settings = XSourceSettings.model_validate({"type": "x", "name": "x", "bearer_token": "t"})
    with pytest.raises(ConfigError, match="nothing to listen for"):
        build_source(settings, SourceContext(SystemClock(), Metrics()))


# -- the source over a real stream --------------------------------------------------------------


Inbox = RecordingInbox


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX(keepalive=0.05) as server:
        server.add_user(ALICE, "alice", "Alice", followers=1200)
        yield server


def settings_for(fake: FakeX, **overrides: Any) -> XSourceSettings:
    values = {"type": "x", "name": "x", "bearer_token": TOKEN, "api_url": fake.url}
    return XSourceSettings.model_validate({**values, **overrides})


class Running:
    def __init__(self, source: XSource, inbox: Inbox, reports: list[str | None]) -> None:
        self.source, self.inbox, self.reports = source, inbox, reports


@asynccontextmanager
async def start(
    fake: FakeX, position: str | None = None, *, connected: bool = True, **overrides: Any
) -> AsyncIterator[Running]:
    reports: list[str | None] = []
    source = XSource(
        settings_for(fake, **overrides),
        brand_rules(KESTREL),
        report=lambda name, trouble: reports.append(trouble),
        backoff=Backoff(base=0.02, cap=0.1),
    )
    running = Running(source, Inbox(), reports)
    task = asyncio.create_task(source.run(running.inbox, position))
    try:
        if connected:
            await wait_for(lambda: bool(fake.streams) or task.done())
        yield running
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_rules_are_synced_stale_ones_removed_others_left_alone(fake: FakeX) -> None:
    stale = fake.add_rule("kestrel lang:de", TAG)
    other = fake.add_rule("something else entirely", "another-tool")
    async with start(fake) as running:
        values = {r["value"]: r.get("tag") for r in fake.rules.values()}
        assert values == {RULE: TAG, "something else entirely": "another-tool"}
        assert stale not in fake.rules
        assert other in fake.rules
        (ours,) = (rule_id for rule_id, r in fake.rules.items() if r["value"] == RULE)
        assert running.source.ours == {ours}
    posts = [c.body for c in fake.calls_to("POST", "/2/tweets/search/stream/rules")]
    assert posts == [{"delete": {"ids": [stale]}}, {"add": [{"value": RULE, "tag": TAG}]}]
    async with start(fake):  # already in place: nothing posted again
        pass
    assert len(fake.calls_to("POST", "/2/tweets/search/stream/rules")) == 2


async def test_matching_tweets_are_queued_with_the_newest_id_as_position(fake: FakeX) -> None:
    fake.add_rule("weather", "another-tool")
    async with start(fake) as running:
        query = fake.connections[0].query
        assert query["expansions"] == "author_id"
        assert "public_metrics" in query["tweet.fields"]
        assert query["user.fields"] == "username,name,public_metrics"
        assert "backfill_minutes" not in query
        first = fake.post("Kestrel Mobile has no signal again", ALICE, metrics={"like_count": 4})
        fake.post("American kestrel spotted in the garden", ALICE)  # excluded by the rule
        await wait_for(lambda: len(running.inbox.mentions) == 1)
        weather = fake.post("lovely weather", ALICE)  # another tool's rule: not ours
        await wait_for(lambda: running.inbox.envelopes[-1].position == encode_position(weather))
    (mention,) = running.inbox.mentions
    assert (mention.native_id, mention.author.handle, mention.author.followers) == (
        first,
        "alice",
        1200,
    )
    assert mention.engagement.likes == 4
    assert mention.url == f"https://x.com/alice/status/{first}"


async def test_keep_alives_keep_the_stream_and_silence_reconnects(fake: FakeX) -> None:
    fake.keepalive = 0.2  # one keep-alive a fifth of a second, silence after more than 1.2 s
    async with start(fake, idle_seconds=1.2) as running:
        # the fake sends them no faster than that: 15 of them span 2.5 times idle_seconds
        await wait_for(lambda: running.source.keepalives >= 15, timeout=60)
        assert len(fake.connections) == 1
        assert running.reports == []
        fake.keepalive = 60.0
        fake.send_raw(b"")  # the next wait for a line starts with the new keep-alive
        await wait_for(lambda: len(fake.connections) >= 2, timeout=30)
        assert running.reports[0] == "the stream was silent for 1.2s"


async def test_a_dropped_stream_reconnects_with_backoff_and_backfill(fake: FakeX) -> None:
    async with start(fake, backfill_minutes=2) as running:
        before = fake.post("kestrel down", ALICE)
        await wait_for(lambda: len(running.inbox.mentions) == 1)
        await fake.drop()
        await wait_for(lambda: len(fake.connections) == 2 and bool(fake.streams))
        assert fake.connections[1].query["backfill_minutes"] == "2"
        after = fake.post("kestrel still down", ALICE)
        await wait_for(lambda: after in {m.native_id for m in running.inbox.mentions})
        assert [m.native_id for m in running.inbox.mentions] == [before, before, after]
        assert running.reports[-1] is None
        assert running.reports[0] is not None
        assert "stream" in running.reports[0]


async def test_an_error_object_reconnects_after_queueing_what_came_before(fake: FakeX) -> None:
    async with start(fake) as running:
        fake.post("kestrel outage", ALICE)
        fake.disconnect()
        await wait_for(lambda: len(fake.connections) == 2)
        assert len(running.inbox.mentions) == 1
        assert running.reports[0] == (
            "X ended the stream: operational-disconnect: "
            "This stream has been disconnected for operational reasons."
        )
        fake.post("kestrel outage again", ALICE)  # heard again: fine (connected is not enough)
        await wait_for(lambda: running.reports[-1] is None)


async def test_malformed_lines_are_skipped_counted_and_the_stream_goes_on(fake: FakeX) -> None:
    metrics = Metrics()
    source = build_source(
        settings_for(fake), SourceContext(SystemClock(), metrics, brands=(KESTREL,))
    )
    assert isinstance(source, XSource)
    inbox = Inbox()
    task = asyncio.create_task(source.run(inbox, None))
    try:
        await wait_for(lambda: bool(fake.streams))
        fake.send_raw("{oops")
        fake.send_raw('{"data": {"text": "kestrel, but no id"}}')
        fake.post("kestrel no signal", ALICE)
        await wait_for(lambda: len(inbox.mentions) == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert source.malformed == 2
    assert metrics.malformed.labels("x")._value.get() == 2
    assert len(fake.connections) == 1


async def test_a_refused_token_is_reported_once_and_retried_slowly(fake: FakeX) -> None:
    fake.token = "rotated"
    started = time.monotonic()
    async with start(fake, connected=False) as running:
        await wait_for(lambda: len(fake.calls) >= 4)
        assert time.monotonic() - started >= 0.3  # every retry waited max_backoff (0.1 here)
        assert len(running.reports) == 1
        (trouble,) = running.reports
        assert trouble is not None
        for words in ("rules", "HTTP 401", "Unauthorized", "bearer_token"):
            assert words in trouble
        fake.token = TOKEN
        await wait_for(lambda: bool(fake.streams))
        await wait_for(lambda: running.reports[-1:] == [None])
    assert len(running.reports) == 2


async def test_a_429_waits_for_the_rate_limit_reset(fake: FakeX) -> None:
    reset = int(time.time()) + 2
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    fake.refuse(429, headers=headers)
    async with start(fake, connected=False) as running:
        await wait_for(lambda: bool(fake.streams), timeout=5)
        assert time.time() >= reset - 0.05
        assert running.reports[0] is not None
        assert "HTTP 429" in running.reports[0]
        assert "maximum allowed connection limit" in running.reports[0]
        fake.post("kestrel outage", ALICE)  # heard: fine (connected is not enough)
        await wait_for(lambda: running.reports[-1] is None)


@pytest.mark.parametrize("how", ["cut", "stall"])
async def test_an_answer_that_breaks_off_is_a_retryable_source_error(fake: FakeX, how: str) -> None:
    fake.break_next(how)
    async with client_session() as session:
        api = XApi(session, settings_for(fake), seconds=0.5)
        with pytest.raises(SourceError, match="the answer broke off") as broken:
            await api.rules()
        assert broken.value.retryable
        assert await api.rules() == []  # and the next request works


async def test_engagement_is_read_100_ids_a_request_and_deleted_ones_left_out(
    fake: FakeX,
) -> None:
    source = XSource(settings_for(fake), [RULE])
    posted = fake.post("kestrel", ALICE, metrics={"retweet_count": 5, "like_count": 9})
    others = [str(1_800_000_000_000_000_000 + n) for n in range(150)]  # deleted or never seen
    mentions = [
        Mention("x", tweet_id, "kestrel", datetime.now(UTC)) for tweet_id in [posted, *others]
    ]
    counts = await source.engagement(mentions)
    assert list(counts) == [posted]
    assert (counts[posted].reposts, counts[posted].likes) == (5, 9)
    lookups = fake.calls_to("GET", "/2/tweets")
    assert [len(c.query["ids"].split(",")) for c in lookups] == [100, 51]
    assert lookups[0].query["tweet.fields"] == "public_metrics"


# -- the whole service --------------------------------------------------------------------------


async def test_the_service_stores_tweets_once_and_backfills_after_a_restart(
    tmp_path: Path, fake: FakeX
) -> None:
    source = {
        "type": "x",
        "name": "x",
        "bearer_token": TOKEN,
        "api_url": fake.url,
        "backfill_minutes": 5,
    }
    config = write_config(tmp_path, [source])
    async with running_service(config) as service:
        await wait_for(lambda: bool(fake.streams))
        first = fake.post("Kestrel Mobile has no signal again, awful service", ALICE)
        fake.post("Kestrel Mobile : pas de réseau depuis ce matin", ALICE, lang="fr")
        await wait_for(lambda: len(stored_mentions(config)) == 2)
        assert service.sources["x"].state == "running"
        assert "backfill_minutes" not in fake.connections[0].query  # a first start: from now
    await fake.drop()
    while_down = fake.post("@kestrelmobile still down, day two", ALICE, reply_to=first)
    async with running_service(config):
        await wait_for(lambda: len(stored_mentions(config)) == 3)
        await asyncio.sleep(0.2)
    assert fake.connections[-1].query["backfill_minutes"] == "5"  # resent all three
    rows = {row["native_id"]: row for row in stored_mentions(config)}
    assert len(rows) == 3  # the two replayed by backfill are stored once
    assert rows[while_down]["parent_id"] == first
    assert rows[first]["author_handle"] == "alice"
    assert rows[first]["url"] == f"https://x.com/alice/status/{first}"
    assert len(fake.calls_to("POST", "/2/tweets/search/stream/rules")) == 1
