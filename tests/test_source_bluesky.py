"""The Bluesky source against a fake Jetstream and a fake XRPC on 127.0.0.1.

Pure translation of real Jetstream frames first, then the source over a real WebSocket (batching,
cursor, reconnection, silence, malformed frames, backpressure, profiles), the whole service
storing and resuming, and replies published through XRPC.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import time
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.clock import SystemClock
from bot.config.source_bluesky import BlueskySourceSettings
from bot.drafts.limits import limit_for
from bot.intake import Envelope
from bot.matching import BrandMatcher
from bot.metrics import Metrics
from bot.model import Brand, Mention
from bot.sources import SourceContext, build_source
from bot.sources.bluesky import BlueskySource, decode_position, encode_position, subscribe_url
from bot.sources.bluesky_events import JetstreamReader, MalformedEvent
from bot.sources.bluesky_facets import FACET, find_spans
from bot.sources.bluesky_reply import BlueskyReplier, new_tid
from bot.sources.polite import Backoff, SourceError, client_session
from storage.cursors import load_cursor
from storage.database import open_database
from tests.conftest import (
    RecordingInbox,
    running_service,
    stored_mentions,
    wait_for,
    write_config,
)
from tests.fake_bluesky import SAMPLES, FakeBluesky, load_samples, post_event

KESTREL = Brand("Kestrel Mobile", "kestrel-mobile", ("kestrel mobile", "kestrel"))
T0 = 1_783_175_888_000_000  # 2026-07-04T14:38:08Z, when the samples were captured
ALICE = "did:plc:alice"


def reader() -> JetstreamReader:
    return JetstreamReader("bsky", BrandMatcher([KESTREL]))


def frame(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


@pytest.fixture
def samples() -> list[dict[str, Any]]:
    if not SAMPLES.exists():
        pytest.skip(f"shared data set not present: {SAMPLES}")
    return load_samples()


# -- frames -> mentions (pure) -------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_events_are_read_and_only_posts_naming_a_brand_become_mentions(
    samples: list[dict[str, Any]],
) -> None:
    heard = [reader().read(frame(event)) for event in samples]
    assert [h.time_us for h in heard] == [e["time_us"] for e in samples]
    assert all(h.mention is None for h in heard)  # the capture names no brand of ours

    planted = copy.deepcopy(samples)
    posts = [
        e
        for e in planted
        if e["kind"] == "commit"
        and e["commit"]["operation"] == "create"
        and e["commit"]["collection"] == "app.bsky.feed.post"
    ]
    for event in posts:
        event["commit"]["record"]["text"] += " Kestrel Mobile"
    mentions = [m for e in planted if (m := reader().read(frame(e)).mention) is not None]
    assert len(mentions) == len(posts) == 17


@pytest.mark.shared_data
def test_a_real_reply_post_maps_to_every_mention_field(samples: list[dict[str, Any]]) -> None:
    event = next(
        e for e in samples if e.get("commit", {}).get("record", {}).get("reply") is not None
    )
    event = copy.deepcopy(event)
    event["commit"]["record"]["text"] = "Kestrel has had no signal since noon"
    did, commit = event["did"], event["commit"]
    mention = reader().read(frame(event)).mention
    assert mention is not None
    rkey = commit["rkey"]
    assert mention.native_id == f"at://{did}/app.bsky.feed.post/{rkey}"
    assert mention.url == f"https://bsky.app/profile/{did}/post/{rkey}"
    assert mention.author.handle == did
    assert mention.parent_id == commit["record"]["reply"]["parent"]["uri"]
    assert mention.language == commit["record"]["langs"][0]
    assert mention.created_at == datetime.fromisoformat(commit["record"]["createdAt"])
    assert mention.raw["commit"]["cid"] == commit["cid"]  # kept for reply refs
    assert mention.source == "bsky"


def test_other_collections_deletes_and_identity_events_only_move_the_cursor() -> None:
    like = {
        "did": ALICE,
        "time_us": T0,
        "kind": "commit",
        "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "3k"},
    }
    delete = {
        "did": ALICE,
        "time_us": T0 + 1,
        "kind": "commit",
        "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3k"},
    }
    identity = {"did": ALICE, "time_us": T0 + 2, "kind": "identity", "identity": {"did": ALICE}}
    for event in (like, delete, identity):
        heard = reader().read(frame(event))
        assert (heard.time_us, heard.mention) == (event["time_us"], None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"kind": "commit"}', "time_us"),
        (frame({"time_us": "soon", "kind": "identity"}), "time_us"),
        (frame({"time_us": T0, "kind": "commit", "commit": "x"}), "without a commit object"),
        (
            frame(
                {
                    "time_us": T0,
                    "kind": "commit",
                    "commit": {"operation": "create", "collection": "app.bsky.feed.post"},
                }
            ),
            "without a record text",
        ),
        (frame(post_event("not-a-did", "3k", "kestrel down", T0)), "did is"),
        (frame(post_event(ALICE, "", "kestrel down", T0)), "rkey is"),
    ],
)
def test_malformed_frames_are_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        reader().read(data)


@pytest.mark.parametrize(
    ("claimed", "expected"),
    [
        ("2026-07-04T14:38:02+00:00", datetime(2026, 7, 4, 14, 38, 2, tzinfo=UTC)),
        ("2026-07-04T14:37:59.500Z", datetime(2026, 7, 4, 14, 37, 59, 500_000, tzinfo=UTC)),
        ("2015-02-16T23:36:05Z", None),  # an imported archive: placed when the network saw it
        ("2027-01-01T00:00:00Z", None),  # a clock far ahead
        ("yesterday-ish", None),
    ],
)
def test_created_at_is_the_claimed_time_when_plausible(
    claimed: str, expected: datetime | None
) -> None:
    event = post_event(ALICE, "3k", "kestrel down", T0, created_at=claimed)
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.created_at == (expected or datetime.fromtimestamp(T0 / 1e6, UTC))


def test_hashtags_outside_the_text_count_and_are_kept_in_the_text() -> None:
    event = post_event(ALICE, "3k", "no signal all day", T0, tags=["kestrel", "outage"])
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.text == "no signal all day\n#kestrel #outage"


NYT = "https://www.nytimes.com/2026/03/10/technology/kestrel-mobile-outage.html"


def link(text: str, shown: str, uri: str) -> dict[str, Any]:
    """A link facet over the first ``shown`` in ``text`` (UTF-8 byte offsets)."""
    start = len(text[: text.index(shown)].encode())
    index = {"byteStart": start, "byteEnd": start + len(shown.encode())}
    return {"index": index, "features": [{"$type": f"{FACET}#link", "uri": uri}]}


def card(title: str, description: str = "", uri: str = NYT) -> dict[str, Any]:
    external = {"uri": uri, "title": title, "description": description}
    return {"$type": "app.bsky.embed.external", "external": external}


def images(*alts: str) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": [{"alt": alt} for alt in alts]}


def test_a_brand_named_only_in_a_shortened_link_and_its_card_is_heard() -> None:
    """The review's t_bsky_embed.py: Bluesky shortens a link's text and shares news as a
    card; the brand was in neither the text nor the tags, and the post was dropped."""
    text = "Third outage this month. nytimes.com/2026/03/10/tec... 🙄"
    facet = link(text, "nytimes.com/2026/03/10/tec...", NYT)
    embed = card("Kestrel Mobile outage leaves millions without signal", "...")
    event = post_event(ALICE, "3k", text, T0, facets=[facet], embed=embed)
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.text == (
        f"Third outage this month. {NYT} 🙄\nKestrel Mobile outage leaves millions without signal"
    )
    assert mention.raw["commit"]["record"]["text"] == text  # as written, for replies


def test_the_full_address_of_a_link_alone_names_the_brand() -> None:
    text = "Look at this: read the story"
    uri = "https://example.com/kestrel-mobile-fined"
    event = post_event(ALICE, "3k", text, T0, facets=[link(text, "read the story", uri)])
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.text == f"{text}\n{uri}"  # words hiding an address: the address after


@pytest.mark.parametrize(
    "embed",
    [
        images("a photo of a shop", "Kestrel Mobile shop, closed"),
        {
            "$type": "app.bsky.embed.recordWithMedia",
            "record": {"record": {"uri": "at://did:plc:bob/app.bsky.feed.post/3j", "cid": "b"}},
            "media": images("Kestrel Mobile shop, closed"),
        },
        {
            "$type": "app.bsky.embed.recordWithMedia",
            "record": {"record": {"uri": "at://did:plc:bob/app.bsky.feed.post/3j", "cid": "b"}},
            "media": card("A story", "Kestrel Mobile shop, closed", "https://x.example/a"),
        },
    ],
)
def test_alt_texts_and_cards_beside_a_quote_name_the_brand(embed: dict[str, Any]) -> None:
    event = post_event(ALICE, "3k", "again???", T0, embed=embed)
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.text.startswith("again???\n")
    assert "Kestrel Mobile shop, closed" in mention.text.splitlines()


def test_what_the_text_already_says_is_not_repeated_and_bad_facets_are_harmless() -> None:
    text = f"Kestrel Mobile down {NYT}"
    facets = [
        link(text, NYT, NYT),
        {"index": {"byteStart": 500, "byteEnd": 3}, "features": [{"$type": f"{FACET}#link"}]},
        {"index": {"byteStart": 1, "byteEnd": 2}, "features": "nonsense"},
        "nonsense",
    ]
    event = post_event(ALICE, "3k", text, T0, facets=facets, embed=card("Kestrel Mobile down"))
    mention = reader().read(frame(event)).mention
    assert mention is not None
    assert mention.text == text


@pytest.mark.shared_data
def test_a_real_link_card_is_read_with_its_link_in_full(samples: list[dict[str, Any]]) -> None:
    event = next(
        e
        for e in samples
        if e.get("commit", {}).get("record", {}).get("text", "").startswith("www.youtube.com")
    )
    by_reuters = JetstreamReader("bsky", BrandMatcher([Brand("Reuters", "reuters")]))
    mention = by_reuters.read(frame(event)).mention  # "YouTube video by Reuters": the card
    assert mention is not None
    record = event["commit"]["record"]
    uri = record["embed"]["external"]["uri"]
    assert mention.text.splitlines() == [
        uri,  # was "www.youtube.com/watch?v=V5lD..."
        record["embed"]["external"]["title"],
        "YouTube video by Reuters",
    ]


def test_the_position_round_trips_and_the_url_asks_for_posts_only() -> None:
    assert decode_position(encode_position(T0)) == T0
    assert decode_position(None) is None
    assert decode_position("garbage") is None
    url = subscribe_url("wss://jet.example/subscribe?compress=false", T0)
    assert url.query["wantedCollections"] == "app.bsky.feed.post"
    assert url.query["cursor"] == str(T0)
    assert url.query["compress"] == "false"
    assert "cursor" not in subscribe_url("wss://jet.example/subscribe", None).query


def test_settings_need_both_handle_and_app_password_or_neither() -> None:
    base = {"type": "bluesky", "name": "bsky"}
    assert BlueskySourceSettings.model_validate(base).jetstream_url.startswith("wss://jetstream")
    with pytest.raises(ValidationError, match="both handle and app_password"):
        BlueskySourceSettings.model_validate({**base, "handle": "brand.com"})
    with pytest.raises(ValidationError, match="jetstream_url"):
        BlueskySourceSettings.model_validate({**base, "jetstream_url": "https://x/subscribe"})


# -- the source over a real WebSocket -------------------------------------------------------------


class CountingInbox(RecordingInbox):
    """An inbox that keeps what it is given; clearing ``open`` makes ``submit`` wait (``held``
    counts the submits waiting)."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()
        self.held = 0

    async def submit(self, envelope: Envelope) -> None:
        self.held += 1
        try:
            await self.open.wait()
        finally:
            self.held -= 1
        await super().submit(envelope)

    @property
    def positions(self) -> list[int]:
        return [p for e in self.envelopes if (p := decode_position(e.position)) is not None]


class Running:
    def __init__(self, source: BlueskySource, inbox: CountingInbox, fake: FakeBluesky) -> None:
        self.source, self.inbox, self.fake = source, inbox, fake
        self.reports: list[str | None] = []


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        yield fake


def settings(fake: FakeBluesky, **overrides: Any) -> BlueskySourceSettings:
    values: dict[str, Any] = {
        "type": "bluesky",
        "name": "bsky",
        "jetstream_url": fake.jetstream_url,
        "appview_url": fake.xrpc_url,
        "pds_url": fake.xrpc_url,
        "batch_seconds": 0.05,
    }
    values.update(overrides)
    return BlueskySourceSettings.model_validate(values)


@asynccontextmanager
async def start(
    fake: FakeBluesky, position: str | None = None, **overrides: Any
) -> AsyncIterator[Running]:
    inbox = CountingInbox()
    reports: list[str | None] = []
    source = BlueskySource(
        settings(fake, **overrides),
        reader(),
        report=lambda name, trouble: reports.append(trouble),
        backoff=Backoff(base=0.02, cap=0.1),
        cursor_every=0.2,
    )
    running = Running(source, inbox, fake)
    running.reports = reports
    task = asyncio.create_task(source.run(inbox, position))
    try:
        await wait_for(lambda: bool(fake.open_connections) or task.done())
        yield running
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def running(bsky: FakeBluesky) -> AsyncIterator[Running]:
    async with start(bsky) as item:
        yield item


async def test_matched_posts_are_queued_with_the_position_after_them(running: Running) -> None:
    fake = running.fake
    fake.add_profile(ALICE, "alice.example", "Alice", followers=1_200)
    fake.publish(
        post_event(ALICE, "3ka", "Kestrel Mobile is down again", T0, langs=["en"]),
        post_event("did:plc:bob", "3kb", "lovely weather", T0 + 1),
        post_event("did:plc:carol", "3kc", "kestrel support never answers", T0 + 2),
        {"did": ALICE, "time_us": T0 + 3, "kind": "account", "account": {"active": True}},
    )
    await wait_for(lambda: len(running.inbox.mentions) == 2)
    first, second = running.inbox.mentions
    assert first.native_id == f"at://{ALICE}/app.bsky.feed.post/3ka"
    assert (first.author.handle, first.author.name, first.author.followers) == (
        "alice.example",
        "Alice",
        1_200,
    )
    assert second.author.handle == "did:plc:carol"  # unknown to the AppView: stays a DID
    await wait_for(lambda: running.inbox.positions[-1:] == [T0 + 3])
    assert fake.connections[0].query == {"wantedCollections": ["app.bsky.feed.post"]}
    assert len(fake.calls_to("app.bsky.actor.getProfiles")) == 1  # one batch, one look-up


async def test_batches_hold_at_most_batch_size_and_positions_never_go_back(
    bsky: FakeBluesky,
) -> None:
    async with start(bsky, batch_size=50) as running:
        bsky.publish(*[post_event(ALICE, f"3k{i}", f"kestrel #{i}", T0 + i) for i in range(230)])
        await wait_for(lambda: len(running.inbox.mentions) == 230)
        sizes = [len(e.mentions) for e in running.inbox.envelopes if e.mentions]
        assert max(sizes) == 50
        assert running.inbox.positions == sorted(running.inbox.positions)
        ids = [m.native_id.rsplit("/", 1)[1] for m in running.inbox.mentions]
        assert ids == [f"3k{i}" for i in range(230)]


async def test_with_nothing_matching_the_position_alone_is_queued_now_and_then(
    running: Running,
) -> None:
    running.fake.publish(*[post_event(ALICE, f"3k{i}", "weather", T0 + i) for i in range(5)])
    await wait_for(lambda: T0 + 4 in running.inbox.positions)
    assert running.inbox.mentions == []
    count = len(running.inbox.envelopes)
    await asyncio.sleep(0.5)
    assert len(running.inbox.envelopes) == count  # an unchanged position is not queued again


async def test_a_dropped_socket_reconnects_from_the_last_event_minus_the_overlap(
    running: Running,
) -> None:
    fake = running.fake
    fake.publish(post_event(ALICE, "3ka", "kestrel down", T0))
    await wait_for(lambda: len(running.inbox.mentions) == 1)
    await fake.drop()
    fake.publish(post_event(ALICE, "3kb", "kestrel still down", T0 + 10_000_000))
    await wait_for(lambda: {m.native_id[-3:] for m in running.inbox.mentions} == {"3ka", "3kb"})
    assert fake.connections[1].cursor == T0 - 5_000_000
    assert running.reports == ["Jetstream closed the connection", None]


async def test_refused_handshakes_back_off_honour_retry_after_and_are_reported_once(
    bsky: FakeBluesky,
) -> None:
    bsky.refuse(503, times=3)
    bsky.refuse(429, headers={"Retry-After": "0.5"})
    started = time.monotonic()
    async with start(bsky) as running:
        assert time.monotonic() - started >= 0.5
        assert running.reports[-1] is not None  # connected, but nothing heard yet
        bsky.publish(post_event(ALICE, "3ka", "kestrel", T0))
        await wait_for(lambda: len(running.inbox.mentions) == 1)
        assert running.reports == [
            "Jetstream refused the connection: HTTP 503 Service Unavailable",
            "Jetstream refused the connection: HTTP 429 Too Many Requests",
            None,
        ]


async def test_a_server_that_hangs_up_after_one_frame_is_asked_less_and_less_often(
    bsky: FakeBluesky,
) -> None:
    """The first frame of each connection reset the backoff: such a server was reconnected to
    every half second for ever. Now only a connection heard for stable_seconds resets it."""
    bsky.publish(post_event(ALICE, "3ka", "weather", T0))
    bsky.close_after = 1
    source = BlueskySource(settings(bsky), reader(), backoff=Backoff(base=0.04, cap=10))
    task = asyncio.create_task(source.run(RecordingInbox(), None))
    try:
        # six connections, each heard (the sixth's frame may still be on its way when it opens)
        await wait_for(lambda: len(bsky.connected_at) >= 6 and source.frames >= 6, timeout=20)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    at = bsky.connected_at
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    for failures, gap in enumerate(gaps[:5], start=1):
        assert gap >= 0.04 * 2 ** (failures - 1) / 2  # full jitter: at least half the ceiling
    assert source.frames >= 6


async def test_a_connection_heard_long_enough_starts_the_backoff_afresh(bsky: FakeBluesky) -> None:
    source = BlueskySource(
        settings(bsky), reader(), backoff=Backoff(base=0.02, cap=10), stable_seconds=0.3
    )
    source.backoff.failures = 8  # earlier trouble
    task = asyncio.create_task(source.run(RecordingInbox(), None))
    try:
        await wait_for(lambda: bool(bsky.open_connections))
        bsky.publish(post_event(ALICE, "3ka", "weather", T0))
        await wait_for(lambda: source.frames == 1)
        await asyncio.sleep(0.35)
        await bsky.drop()
        await wait_for(lambda: len(bsky.connected_at) == 2, timeout=1)  # not 2.56s later
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert source.backoff.failures == 1


async def test_a_silent_stream_is_reconnected(bsky: FakeBluesky) -> None:
    async with start(bsky, idle_seconds=0.3) as running:
        bsky.publish(post_event(ALICE, "3ka", "kestrel", T0))
        await wait_for(lambda: len(bsky.connections) >= 2)
        assert running.reports[0] == "no event for 0.3s"
        assert bsky.connections[1].cursor == T0 - 5_000_000


async def test_malformed_frames_are_skipped_counted_and_the_stream_goes_on(
    bsky: FakeBluesky,
) -> None:
    metrics = Metrics()
    context = SourceContext(SystemClock(), metrics, brands=(KESTREL,))
    source = build_source(settings(bsky), context)
    assert isinstance(source, BlueskySource)
    inbox = CountingInbox()
    task = asyncio.create_task(source.run(inbox, None))
    try:
        await wait_for(lambda: bool(bsky.open_connections))
        bsky.publish_raw("{oops")
        bsky.publish_raw('{"kind": "commit"}')
        bsky.publish(post_event(ALICE, "3ka", "kestrel", T0))
        await wait_for(lambda: len(inbox.mentions) == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert source.malformed == 2
    assert metrics.malformed.labels("bsky")._value.get() == 2
    assert len(bsky.connections) == 1


async def test_a_malformed_post_view_is_skipped_and_the_others_are_refreshed(
    bsky: FakeBluesky, caplog: pytest.LogCaptureFixture
) -> None:
    good, odd = (f"at://{ALICE}/app.bsky.feed.post/{rkey}" for rkey in ("3ka", "3kb"))
    bsky.posts[good] = {"uri": good, "repostCount": 12, "likeCount": 40}
    bsky.posts[odd] = {"uri": odd, "repostCount": "many", "likeCount": [1]}
    source = BlueskySource(settings(bsky), reader())
    mentions = [Mention("bsky", uri, "", datetime.now(UTC)) for uri in (odd, good)]
    with caplog.at_level(logging.WARNING):
        counts = await source.engagement(mentions)
    assert list(counts) == [good]
    assert (counts[good].reposts, counts[good].likes) == (12, 40)
    assert "a post's counts skipped" in caplog.text


def reader_held(running: Running) -> bool:
    """The flusher waits for the inbox and the reader for the flusher: nothing moves until the
    inbox takes an envelope. (The reader's wait is private to the source; it is the state the
    test is about, and waiting for it beats guessing how long it takes to get there.)"""
    return running.inbox.held > 0 and not running.source._room.is_set()


async def test_a_full_inbox_stops_the_reader_and_nothing_is_lost(bsky: FakeBluesky) -> None:
    async with start(bsky, batch_size=20, idle_seconds=60) as running:
        running.inbox.open.clear()
        bsky.publish(*[post_event(ALICE, f"3k{i}", f"kestrel {i}", T0 + i) for i in range(500)])
        await wait_for(lambda: reader_held(running), timeout=30)
        stopped_at = running.source.frames
        assert stopped_at <= 20 * 4  # one envelope being queued, two waiting, one pending
        assert running.inbox.envelopes == []
        running.inbox.open.set()
        await wait_for(lambda: len(running.inbox.mentions) == 500, timeout=30)
        assert len(bsky.connections) == 1


async def test_a_reader_held_by_a_full_inbox_is_not_taken_for_a_silent_stream(
    bsky: FakeBluesky,
) -> None:
    idle = 1.0
    async with start(bsky, batch_size=20, idle_seconds=idle) as running:
        running.inbox.open.clear()
        bsky.publish(*[post_event(ALICE, f"3k{i}", f"kestrel {i}", T0 + i) for i in range(100)])
        await wait_for(lambda: reader_held(running), timeout=30)
        # held for longer than a silence may last: a silence deadline left running while the
        # reader waits has passed by then (however slow the machine), cancelling the reader
        await asyncio.sleep(3 * idle)
        running.inbox.open.set()
        await wait_for(lambda: len(running.inbox.mentions) >= 100, timeout=30)
        # the reader reaches the last posts only after the hold, so any reconnection caused
        # by a deadline in it has been counted by now
        assert len(running.inbox.mentions) == 100
        assert len(bsky.connections) == 1
        assert not [r for r in running.reports if r and "no event" in r]


@pytest.mark.parametrize("failure", ["HTTP 503", "cut short"])
async def test_a_failing_appview_keeps_dids_and_pauses_look_ups(
    bsky: FakeBluesky, failure: str
) -> None:
    bsky.add_profile(ALICE, "alice.example")
    if failure == "cut short":
        bsky.break_next("app.bsky.actor.getProfiles")
    else:
        bsky.fail_next("app.bsky.actor.getProfiles", 503)
    async with start(bsky) as running:
        bsky.publish(post_event(ALICE, "3ka", "kestrel", T0))
        await wait_for(lambda: len(running.inbox.mentions) == 1)
        bsky.publish(post_event(ALICE, "3kb", "kestrel", T0 + 1))
        await wait_for(lambda: len(running.inbox.mentions) == 2)
        assert [m.author.handle for m in running.inbox.mentions] == [ALICE, ALICE]
        assert len(bsky.calls_to("app.bsky.actor.getProfiles")) == 1


# -- the whole service ----------------------------------------------------------------------------


async def test_the_service_stores_matched_posts_and_resumes_from_the_stored_cursor(
    tmp_path: Path, bsky: FakeBluesky
) -> None:
    source = {
        "type": "bluesky",
        "name": "bsky",
        "jetstream_url": bsky.jetstream_url,
        "appview_url": bsky.xrpc_url,
        "batch_seconds": 0.05,
    }
    config = write_config(tmp_path, [source])
    bsky.add_profile(ALICE, "alice.example", "Alice", 5_000)
    reply_to = (f"at://{ALICE}/app.bsky.feed.post/3root", "bafyroot")
    async with running_service(config) as service:
        await wait_for(lambda: bool(bsky.open_connections))
        bsky.publish(
            post_event(ALICE, "3ka", "Kestrel Mobile has no signal again, awful", T0, langs=["en"]),
            post_event(ALICE, "3kb", "nice day", T0 + 1),
            post_event(ALICE, "3kc", "@kestrel help", T0 + 2, reply_to=reply_to, langs=["en"]),
        )
        await wait_for(lambda: len(stored_mentions(config)) == 2)
        await wait_for(lambda: cursor(config) == T0 + 2)
        assert service.sources["bsky"].state == "running"
    bsky.publish(post_event(ALICE, "3kd", "kestrel outage while we slept", T0 + 60_000_000))
    async with running_service(config):
        await wait_for(lambda: len(stored_mentions(config)) == 3)
        await asyncio.sleep(0.2)
    assert bsky.connections[-1].cursor == T0 + 2 - 5_000_000
    rows = {row["native_id"].rsplit("/", 1)[1]: row for row in stored_mentions(config)}
    assert set(rows) == {"3ka", "3kc", "3kd"}
    assert rows["3ka"]["author_handle"] == "alice.example"
    assert rows["3ka"]["author_followers"] == 5_000
    assert rows["3ka"]["url"] == f"https://bsky.app/profile/{ALICE}/post/3ka"
    assert rows["3ka"]["sentiment"] == "negative"
    assert rows["3kc"]["parent_id"] == reply_to[0]


def cursor(config: Path) -> int | None:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return decode_position(load_cursor(db, "bsky"))
    finally:
        db.close()


# -- replies through XRPC -------------------------------------------------------------------------

BRAND = "did:plc:brand"


@pytest.fixture
async def replier(bsky: FakeBluesky) -> AsyncIterator[BlueskyReplier]:
    bsky.add_account("brand.example", "app-pass-1234", BRAND)
    s = settings(bsky, handle="brand.example", app_password="app-pass-1234")
    async with client_session() as session:
        replier = BlueskyReplier.from_settings(session, s)
        assert replier is not None
        yield replier


def mention_of(event: dict[str, Any]) -> Mention:
    mention = reader().read(frame(event)).mention
    assert mention is not None
    return mention


async def test_a_reply_to_a_post_points_root_and_parent_at_it(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    published = await replier.reply(mention, "Sorry about that, we are on it.")
    assert published.url.startswith(f"https://bsky.app/profile/{BRAND}/post/")
    (body,) = bsky.records
    assert body["repo"] == BRAND
    assert body["collection"] == "app.bsky.feed.post"
    parent = {"uri": mention.native_id, "cid": "bafyrei3ka"}
    assert body["record"]["reply"] == {"root": parent, "parent": parent}
    assert body["record"]["text"] == "Sorry about that, we are on it."
    login = bsky.calls_to("com.atproto.server.createSession")[0]
    assert login.body == {"identifier": "brand.example", "password": "app-pass-1234"}


async def test_a_reply_in_a_thread_keeps_the_thread_root(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    root = (f"at://{ALICE}/app.bsky.feed.post/3root", "bafyroot")
    mention = mention_of(post_event("did:plc:bob", "3kb", "kestrel?", T0, reply_to=root))
    await replier.reply(mention, "We are looking into it.")
    reply = bsky.records[0]["record"]["reply"]
    assert reply["root"] == {"uri": root[0], "cid": root[1]}
    assert reply["parent"] == {"uri": mention.native_id, "cid": "bafyrei3kb"}


async def test_a_mention_without_its_event_gets_its_refs_from_the_appview(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    uri = f"at://{ALICE}/app.bsky.feed.post/3ka"
    bsky.posts[uri] = {"uri": uri, "cid": "bafyfromappview", "record": {"text": "kestrel"}}
    mention = Mention("bsky", uri, "kestrel", datetime.now(UTC))
    await replier.reply(mention, "Hello")
    parent = {"uri": uri, "cid": "bafyfromappview"}
    assert bsky.records[0]["record"]["reply"] == {"root": parent, "parent": parent}


async def test_an_expired_session_is_refreshed_without_logging_in_again(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    await replier.reply(mention, "First")
    bsky.expire_sessions()
    await replier.reply(mention, "Second")
    bsky.expire_sessions()
    await replier.reply(mention, "Third")  # with the refresh token the last refresh gave
    assert len(bsky.calls_to("com.atproto.server.createSession")) == 1
    refreshes = bsky.calls_to("com.atproto.server.refreshSession")
    assert [call.status for call in refreshes] == [200, 200]
    assert [r["record"]["text"] for r in bsky.records] == ["First", "Second", "Third"]


async def test_a_refused_refresh_falls_back_to_logging_in(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    await replier.reply(mention, "First")
    bsky.revoke_sessions()
    await replier.reply(mention, "Second")
    assert [c.status for c in bsky.calls_to("com.atproto.server.refreshSession")] == [400]
    assert len(bsky.calls_to("com.atproto.server.createSession")) == 2
    assert [r["record"]["text"] for r in bsky.records] == ["First", "Second"]


async def test_the_source_keeps_one_session_for_every_reply(bsky: FakeBluesky) -> None:
    bsky.add_account("brand.example", "app-pass-1234", BRAND)
    source = BlueskySource(
        settings(bsky, handle="brand.example", app_password="app-pass-1234"), reader()
    )
    for n in range(5):
        mention = mention_of(post_event(ALICE, f"3k{n}", "kestrel down", T0))
        await source.publish_reply(mention, f"Sorry {n}", key=f"k{n}", at=datetime.now(UTC))
    bsky.expire_sessions()
    replies = [
        source.publish_reply(
            mention_of(post_event(ALICE, f"3m{n}", "kestrel down", T0)),
            f"Still sorry {n}",
            key=f"m{n}",
            at=datetime.now(UTC),
        )
        for n in range(2)
    ]
    await asyncio.gather(*replies)  # both find the session stale; it is refreshed once
    assert len(bsky.records) == 7
    assert len(bsky.calls_to("com.atproto.server.createSession")) == 1
    assert len(bsky.calls_to("com.atproto.server.refreshSession")) == 1


async def test_the_same_rkey_never_publishes_twice(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    rkey = new_tid()
    first = await replier.reply(mention, "Once", rkey=rkey)
    again = await replier.reply(mention, "Once", rkey=rkey)
    assert first == again
    assert first.uri == f"at://{BRAND}/app.bsky.feed.post/{rkey}"
    assert len(bsky.records) == 1


async def test_reply_errors_say_whether_to_try_again(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    with pytest.raises(SourceError, match="is 301 graphemes; Bluesky takes 300") as too_long:
        await replier.reply(mention, "x" * 301)
    assert not too_long.value.retryable
    bsky.fail_next(
        "com.atproto.repo.createRecord", 429, "RateLimitExceeded", **{"Retry-After": "7"}
    )
    with pytest.raises(SourceError, match="RateLimitExceeded") as limited:
        await replier.reply(mention, "Hello")
    assert (limited.value.retryable, limited.value.wait) == (True, 7.0)
    bsky.accounts["brand.example"].password = "changed"
    bsky.revoke_sessions()
    with pytest.raises(SourceError, match=r"login as brand\.example") as refused:
        await replier.reply(mention, "Hello")
    assert not refused.value.retryable


FLAGS = "@ana.bsky.social Merci, on s\u2019en occupe tout de suite ! " + "🇫🇷" * 140
FRENCH = unicodedata.normalize(
    "NFD",
    "Bonjour, nous sommes désolés pour ce retard. Notre équipe a été prévenue et vérifie "
    "votre réservation ; vous recevrez un e-mail dès que la nouvelle heure sera confirmée. "
    "Merci de votre patience, l\u2019équipe Kestrel. Détails : réservation, équipe, annulé, été. "
    "Encore désolés, l\u2019équipe Kestrel.",
)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(FLAGS, id="flags: 195 graphemes, 335 code points"),
        pytest.param(FRENCH, id="decomposed accents: under 300 graphemes, over 300 code points"),
    ],
)
async def test_a_reply_that_fits_the_draft_limit_is_published(
    bsky: FakeBluesky, replier: BlueskyReplier, text: str
) -> None:
    limit = limit_for("bluesky")
    assert limit.problems(text) == []
    assert len(text) > 300
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    await replier.reply(mention, text)
    assert bsky.records[0]["record"]["text"] == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(FLAGS + "🇫🇷" * 105, id="flags: 300 graphemes"),
        pytest.param(FLAGS + "🇫🇷" * 106, id="flags: 301 graphemes"),
        pytest.param("é" * 301, id="301 accents"),
        pytest.param("👍🏽" * 300, id="300 skin-toned emoji"),
        pytest.param("👍🏽" * 301, id="301 skin-toned emoji"),
        pytest.param("👨‍👩‍👧‍👦" * 120, id="120 families: 3000 bytes"),
        pytest.param("👨‍👩‍👧‍👦" * 121, id="121 families: 3025 bytes"),
    ],
)
async def test_the_publisher_refuses_exactly_what_the_draft_limit_refuses(
    bsky: FakeBluesky, replier: BlueskyReplier, text: str
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    problems = limit_for("bluesky").problems(text)
    if problems:
        with pytest.raises(SourceError, match=problems[0]) as refused:
            await replier.reply(mention, text)
        assert not refused.value.retryable
        assert bsky.records == []
    else:
        await replier.reply(mention, text)
        assert len(bsky.records) == 1


def sliced(text: str, facet: dict[str, Any]) -> str:
    """The part of ``text`` a facet points at, by its UTF-8 byte offsets."""
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


async def test_links_hashtags_and_mentions_are_clickable_at_their_byte_offsets(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    bsky.add_profile("did:plc:ana", "ana.bsky.social", "Ana")
    text = (
        "Désolé 🇫🇷 @Ana.bsky.social ! Suivez https://status.kestrel.example/panne?id=42. "
        "#PanneKestrel #42 (merci @ghost.example)"
    )
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    await replier.reply(mention, text)
    record = bsky.records[0]["record"]
    assert record["text"] == text  # an unresolved handle stays in the text
    found = [(sliced(text, f), f["features"]) for f in record["facets"]]
    assert found == [
        ("@Ana.bsky.social", [{"$type": f"{FACET}#mention", "did": "did:plc:ana"}]),
        (
            "https://status.kestrel.example/panne?id=42",
            [{"$type": f"{FACET}#link", "uri": "https://status.kestrel.example/panne?id=42"}],
        ),
        ("#PanneKestrel", [{"$type": f"{FACET}#tag", "tag": "PanneKestrel"}]),
    ]
    assert record["facets"][0]["index"]["byteStart"] == len("Désolé 🇫🇷 ".encode())
    resolved = bsky.calls_to("com.atproto.identity.resolveHandle")
    assert sorted((c.body["handle"][0], c.status) for c in resolved) == [
        ("ana.bsky.social", 200),
        ("ghost.example", 400),
    ]


async def test_a_plain_reply_has_no_facets_and_asks_no_handle(
    bsky: FakeBluesky, replier: BlueskyReplier
) -> None:
    mention = mention_of(post_event(ALICE, "3ka", "kestrel down", T0))
    await replier.reply(mention, "Sorry about that, write to care@kestrel.example #1")
    assert "facets" not in bsky.records[0]["record"]
    assert bsky.calls_to("com.atproto.identity.resolveHandle") == []


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("see https://x.example/a#frag, ok", [("link", "https://x.example/a#frag")]),
        ("(https://x.example/a)", [("link", "https://x.example/a")]),
        ("mail care@kestrel.example", []),
        ("cc:@ana.example", []),
        ("(@ana.example)", [("mention", "ana.example")]),
        ("hi @ana.example.", [("mention", "ana.example")]),
        ("hi @ana.example_x or @bare", []),
        ("#réseau! #2024 #v2 a#b", [("tag", "réseau"), ("tag", "v2")]),
        ("#" + "x" * 65, []),
        ("\uff03panne", [("tag", "panne")]),
    ],
)
def test_spans_found_in_a_text(text: str, spans: list[tuple[str, str]]) -> None:
    assert [(span.kind, span.value) for span in find_spans(text)] == spans


def test_record_keys_are_sortable_tids() -> None:
    earlier, later = new_tid(1_000_000, 0), new_tid(2_000_000, 0)
    assert len(earlier) == 13
    assert earlier < later
    assert set(earlier) <= set("234567abcdefghijklmnopqrstuvwxyz")
