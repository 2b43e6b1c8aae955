"""The rss source against a fake feed server on 127.0.0.1: Google Alerts and news searches,
304s, restarts that neither repeat nor miss an entry, bad feeds and entries, one feed failing."""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import pytest

from bot.config import ConfigError, load_config
from bot.config.source_rss import RssSourceSettings
from bot.intake import Envelope
from bot.model import Mention
from bot.sources.html_text import html_to_text
from bot.sources.polite import Backoff
from bot.sources.polling import Cursor
from bot.sources.rss import (
    FeedHealth,
    FeedMemory,
    RssSource,
    entry_text,
    native_id,
    select,
    to_mention,
    unwrap,
)
from tests.conftest import running_service, stored_mentions, wait_for, write_config
from tests.fake_feeds import (
    RSS,
    FakeFeeds,
    alert_entry,
    alert_id,
    alerts_feed,
    news_item,
    rss_feed,
)

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
ARTICLE = "https://news.example.com/2026/03/10/kestrel-outage"


def alert(number: int, *, minutes: int | None = None) -> str:
    return alert_entry(
        number,
        f"<b>Kestrel Mobile</b> outage number {number} leaves customers without signal",
        f"{ARTICLE}-{number}?page=1",
        minutes=minutes,
        content_html=f"Customers of <b>Kestrel Mobile</b> reported outage {number}&nbsp;...",
    )


def alerts(*numbers: int) -> str:
    return alerts_feed("kestrel mobile", [alert(n) for n in sorted(numbers, reverse=True)])


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds


class Recorder:
    """An inbox that keeps what it is given; and the source's reports."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.reports: list[tuple[str, str | None]] = []
        self.malformed: list[str] = []

    async def submit(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def offer(self, envelope: Envelope) -> bool:
        self.envelopes.append(envelope)
        return True

    def report(self, name: str, trouble: str | None) -> None:
        self.reports.append((name, trouble))

    @property
    def mentions(self) -> list[Mention]:
        return [mention for envelope in self.envelopes for mention in envelope.mentions]


def make_source(
    feeds: list[str], recorder: Recorder | None = None, clock: Clock | None = None, **settings: Any
) -> RssSource:
    recorder = recorder or Recorder()
    return RssSource(
        RssSourceSettings(type="rss", name="news", feeds=feeds, **settings),
        lambda: NOW,
        report=recorder.report,
        on_malformed=recorder.malformed.append,
        monotonic=(clock or Clock()).monotonic,
    )


async def poll(source: RssSource, cursor: Cursor) -> tuple[list[Mention], Cursor]:
    async with source.session() as session:
        return await source.poll(session, cursor)


def numbers(mentions: list[Mention]) -> list[int]:
    return [int(m.native_id.rsplit(":", 1)[1]) - 10_000_000_000_000_000_000 for m in mentions]


# Entries to mentions


def test_google_redirects_are_unwrapped_to_the_article() -> None:
    wrapped = (
        "https://www.google.com/url?rct=j&sa=t&url=https://news.example.com/a%3Fid%3D7%26p%3D2"
        "&ct=ga&cd=CAIyGjA&usg=AOvVaw0"
    )
    assert unwrap(wrapped) == "https://news.example.com/a?id=7&p=2"
    assert unwrap("https://google.co.uk/url?q=http://example.org/x#top") == "http://example.org/x"
    # tracking parameters go; anything else stays as it was (the fragment too: canonical_url
    # tells a comment's #comment-12 from a scroll target's #top)
    assert unwrap("https://example.org/p?utm_source=rss&id=3&utm_medium=x") == (
        "https://example.org/p?id=3"
    )
    assert unwrap("https://example.org/p?b=2&a=1#x") == "https://example.org/p?b=2&a=1#x"
    # a redirect to something that is not a web page is left alone
    odd = "https://www.google.com/url?url=javascript:alert(1)"
    assert unwrap(odd) == odd
    assert unwrap("https://www.google.com/search?q=kestrel") == (
        "https://www.google.com/search?q=kestrel"
    )


def parsed_entries(document: str) -> list[Any]:
    parsed = feedparser.parse(
        io.BytesIO(document.encode()),
        response_headers={"content-location": "https://feeds.example.org/feed"},
    )
    return list(parsed.entries)


def test_a_google_alert_becomes_a_plain_text_mention() -> None:
    [entry] = parsed_entries(alerts_feed("kestrel mobile", [alert(3)]))

    mention = to_mention("news", "https://www.google.com/alerts/feeds/1/2", entry, NOW)

    assert mention.source == "news"
    assert mention.native_id == alert_id(3)
    assert mention.url == f"{ARTICLE}-3?page=1"
    assert mention.text == (
        "Kestrel Mobile outage number 3 leaves customers without signal\n"
        "Customers of Kestrel Mobile reported outage 3 ..."
    )
    assert "<b>" not in mention.text
    assert mention.created_at == datetime(2026, 3, 10, 8, 3, tzinfo=UTC)
    assert mention.created_at.tzinfo is UTC
    assert mention.author.name == ""
    assert mention.raw["id"] == alert_id(3)
    assert mention.raw["link"].startswith("https://www.google.com/url?")
    assert len(json.dumps(dict(mention.raw))) < 600


def test_a_news_search_item_keeps_its_headline_once_and_names_its_outlet() -> None:
    document = rss_feed(
        [news_item("CBMiTWh0dHBz", "Kestrel Mobile outage", "The Example Times", minutes=5)]
    )
    [entry] = parsed_entries(document)

    mention = to_mention("news", "https://news.google.com/rss/search?q=kestrel", entry, NOW)

    assert mention.text == "Kestrel Mobile outage - The Example Times"
    assert mention.native_id == "news.google.com:CBMiTWh0dHBz"  # a bare guid, told apart by host
    assert mention.url == "https://news.google.com/rss/articles/CBMiTWh0dHBz?oc=5"
    assert mention.author.name == "The Example Times"
    assert mention.created_at == datetime(2026, 3, 10, 8, 5, tzinfo=UTC)


def test_plain_text_titles_keep_their_angle_brackets_and_summaries_lose_their_tags() -> None:
    document = rss_feed(
        [
            "<item><title>I &lt;3 Kestrel &amp; co</title><link>https://blog.example/1</link>"
            "<description>&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &amp;amp; &lt;i&gt;third"
            "&lt;/i&gt;&lt;/p&gt;</description><author>ann@example.org (Ann)</author></item>"
        ]
    )
    [entry] = parsed_entries(document)
    assert entry_text(entry) == "I <3 Kestrel & co\nFirst\nsecond & third"
    mention = to_mention("news", "https://blog.example/feed", entry, NOW)
    assert mention.native_id == "https://blog.example/1"  # no guid: the canonical link
    assert mention.created_at == NOW  # no date: heard now
    assert mention.author.name == "ann@example.org (Ann)"


def test_an_entry_dated_in_the_future_is_dated_now() -> None:
    [entry] = parsed_entries(alerts_feed("k", [alert(1, minutes=60 * 24 * 3)]))
    assert to_mention("news", "https://f.example/", entry, NOW).created_at == NOW


def test_native_id_is_the_entry_id_else_the_canonical_link() -> None:
    feed = "https://site.example/feed.xml"
    assert native_id({"id": "tag:site.example,2026:1", "link": "https://x.example/"}, feed) == (
        "tag:site.example,2026:1"
    )
    assert native_id({"id": "1234"}, feed) == "site.example:1234"
    assert native_id({"link": "https://www.google.com/url?url=https://a.example/b"}, feed) == (
        "https://a.example/b"
    )
    with pytest.raises(ValueError, match="neither an id nor a link"):
        native_id({"title": "nothing to go by"}, feed)


def test_html_to_text() -> None:
    assert html_to_text("<p>Kestrel&nbsp;<b>down</b></p><p>again<br>and again</p>") == (
        "Kestrel down\nagain\nand again"
    )
    assert html_to_text("AT&T < 5 &amp; caf&eacute; &#8230;") == "AT&T < 5 & café …"
    assert html_to_text("<script>var x = 1;</script>hi <style>p {}</style>there") == "hi there"
    assert html_to_text("  plain\n\n  text  ") == "plain\ntext"


# Which entries are new


def dated(number: int) -> dict[str, Any]:
    return {"id": f"e{number}", "published_parsed": time.gmtime(1_773_000_000 + 60 * number)}


def test_select_takes_the_newest_window_and_remembers_it() -> None:
    entries = [dated(n) for n in (3, 5, 1, 4, 2)]  # relevance order, not time order

    first = select(entries, FeedMemory(), max_entries=3)
    assert [e["id"] for e in first.entries] == ["e3", "e4", "e5"]  # oldest first
    assert first.memory.floor is not None
    assert not first.overflow

    # the two older entries never come in; two newer ones do
    again = select([dated(n) for n in (7, 6, 5, 4, 3, 2, 1)], first.memory, max_entries=3)
    assert [e["id"] for e in again.entries] == ["e6", "e7"]
    assert len(again.memory.seen) == 3

    # an entry that slides back into the window (a newer one was deleted) is not new again
    assert select([dated(n) for n in (6, 5, 4, 3, 2)], again.memory, 3).entries == []


def test_select_without_dates_goes_by_document_order() -> None:
    entries: list[dict[str, Any]] = [{"link": f"https://x.example/{n}"} for n in (9, 8, 7)]
    fresh = select(entries, FeedMemory(), max_entries=10)
    assert [e["link"][-1] for e in fresh.entries] == ["7", "8", "9"]
    assert fresh.memory.floor is None
    newer = [{"link": "https://x.example/10"}, *entries]
    assert [e["link"] for e in select(newer, fresh.memory, 10).entries] == ["https://x.example/10"]


def test_select_finds_new_entries_of_an_oldest_first_feed_with_an_undated_entry() -> None:
    entries = [dated(n) for n in range(120)]
    del entries[5]["published_parsed"]
    first = select(entries, FeedMemory(), max_entries=100)
    assert [e["id"] for e in first.entries] == [f"e{n}" for n in range(20, 120)]
    second = select([*entries, dated(120), dated(121)], first.memory, max_entries=100)
    assert [e["id"] for e in second.entries] == ["e120", "e121"]


def test_an_undated_entry_stays_between_its_neighbours_in_either_order() -> None:
    entries: list[dict[str, Any]] = [dated(n) for n in (1, 2, 3, 4)]
    entries.insert(2, {"id": "undated"})  # between e2 and e3
    oldest_first = ["e1", "e2", "undated", "e3", "e4"]
    assert [e["id"] for e in select(entries, FeedMemory(), 10).entries] == oldest_first
    backwards = entries[::-1]
    assert [e["id"] for e in select(backwards, FeedMemory(), 10).entries] == oldest_first


def test_select_says_when_entries_may_have_been_missed() -> None:
    seen = select([dated(1)], FeedMemory(), max_entries=2).memory
    burst = select([dated(n) for n in (5, 4, 3, 2, 1)], seen, max_entries=2)
    assert burst.overflow
    assert [e["id"] for e in burst.entries] == ["e4", "e5"]


# Polling the fake server


async def test_first_poll_queues_every_entry_oldest_first_then_304_queues_nothing() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2, 3))
        source = make_source([feeds.url("alerts")])

        mentions, cursor = await poll(source, {})
        assert numbers(mentions) == [1, 2, 3]
        assert all(m.url.startswith(ARTICLE) for m in mentions)

        again, cursor_again = await poll(source, cursor)
        assert again == []
        assert cursor_again == cursor  # nothing to store either

    first, second = feeds.hits_of("alerts")
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"v1"'
    assert second.headers["If-Modified-Since"] == "Tue, 10 Mar 2026 08:01:00 GMT"
    assert second.status == 304
    assert "Vigie" in second.headers["User-Agent"]
    assert "application/atom+xml" in second.headers["Accept"]


async def test_a_changed_feed_queues_only_its_new_entries() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2, 3))
        source = make_source([feeds.url("alerts")])
        _, cursor = await poll(source, {})

        feeds.publish("alerts", alerts(2, 3, 4, 5))  # 1 dropped off, 4 and 5 arrived
        mentions, cursor = await poll(source, cursor)
        assert numbers(mentions) == [4, 5]

        feeds.publish("alerts", alerts(2, 3, 4, 5))  # same entries, new ETag
        assert (await poll(source, cursor))[0] == []


async def test_a_server_without_validators_is_read_whole_and_still_deduplicated() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("plain", alerts(1, 2), etag=False, last_modified=False)
        source = make_source([feeds.url("plain")])
        mentions, cursor = await poll(source, {})
        assert numbers(mentions) == [1, 2]
        assert (await poll(source, cursor))[0] == []
    assert all("If-None-Match" not in hit.headers for hit in feeds.hits)
    assert all("If-Modified-Since" not in hit.headers for hit in feeds.hits)


async def test_only_the_newest_max_entries_are_read() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(*range(1, 9)))
        source = make_source([feeds.url("alerts")], max_entries=3)
        mentions, cursor = await poll(source, {})
        assert numbers(mentions) == [6, 7, 8]
        feeds.publish("alerts", alerts(*range(1, 10)))
        assert numbers((await poll(source, cursor))[0]) == [9]


async def test_an_oldest_first_feed_with_an_undated_item_still_gives_its_new_items() -> None:
    def feed(last: int) -> str:
        items = [
            news_item(f"item{n}", f"Kestrel news {n}", "Daily", minutes=None if n == 2 else n)
            for n in range(1, last + 1)
        ]
        return rss_feed(items)  # oldest first, as many blogs list their posts

    async with FakeFeeds() as feeds:
        feeds.publish("blog", feed(6), RSS)
        source = make_source([feeds.url("blog")], max_entries=3)
        first, cursor = await poll(source, {})
        feeds.publish("blog", feed(8), RSS)
        second, _ = await poll(source, cursor)
    assert [m.native_id.rsplit(":", 1)[1] for m in first] == ["item4", "item5", "item6"]
    assert [m.native_id.rsplit(":", 1)[1] for m in second] == ["item7", "item8"]


async def test_restart_resumes_without_repeating_or_missing_an_entry() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2, 3))
        feeds.publish(
            "news", rss_feed([news_item("CBMiA", "Kestrel fine", "Daily", minutes=1)]), RSS
        )
        first = Recorder()
        source = make_source([feeds.url("alerts"), feeds.url("news")], first)
        source.every = 0.01
        task = asyncio.create_task(source.run(first, None))
        await wait_for(lambda: len(first.mentions) == 4 and len(feeds.hits) >= 4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(first.envelopes) == 1  # 304s store nothing
        position = first.envelopes[-1].position

        # while the service is down: two new alerts, the news feed unchanged
        feeds.publish("alerts", alerts(1, 2, 3, 4, 5))
        second = Recorder()
        restarted = make_source([feeds.url("alerts"), feeds.url("news")], second)
        restarted.every = 0.01
        task = asyncio.create_task(restarted.run(second, position))
        await wait_for(lambda: len(second.mentions) >= 2 and len(feeds.hits_of("news")) >= 4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert numbers(second.mentions) == [4, 5]
    assert feeds.hits_of("news")[-1].status == 304
    assert json.loads(position or "{}")["feeds"].keys() == {
        feeds.url("alerts"),
        feeds.url("news"),
    }


async def test_a_position_with_the_old_link_memory_still_resumes() -> None:
    """Positions written by the Vigie that kept recent links in them ("links"): read as ever,
    the links left behind."""
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2))
        source = make_source([feeds.url("alerts")])
        _, cursor = await poll(source, {})
        feeds.publish("alerts", alerts(1, 2, 3))
        mentions, after = await poll(source, {**cursor, "links": ["0123456789abcdef", 7]})
    assert numbers(mentions) == [3]
    assert set(after) == {"feeds"}


# Trouble


async def test_a_malformed_feed_is_reported_once_retried_later_and_the_others_go_on() -> None:
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds:
        feeds.publish("broken", "<html><body>Sign in to continue</body></html>", "text/html")
        feeds.publish("alerts", alerts(1))
        source = make_source([feeds.url("broken"), feeds.url("alerts")], recorder, clock)

        mentions, cursor = await poll(source, {})
        assert numbers(mentions) == [1]
        [(name, trouble)] = recorder.reports
        assert name == "news"
        assert trouble is not None
        assert feeds.url("broken") in trouble
        assert "not a feed" in trouble

        # not asked again before its backoff is over; still reported only once
        feeds.publish("alerts", alerts(1, 2))
        mentions, cursor = await poll(source, cursor)
        assert numbers(mentions) == [2]
        assert len(feeds.hits_of("broken")) == 1
        clock.seconds += 3600
        await poll(source, cursor)
        assert len(feeds.hits_of("broken")) == 2
        assert len(recorder.reports) == 1

        feeds.publish("broken", alerts_feed("k", [alert(7)]))
        clock.seconds += 3600
        mentions, cursor = await poll(source, cursor)
        assert numbers(mentions) == [7]
        assert recorder.reports[-1] == ("news", None)
        assert len(recorder.reports) == 2


async def test_a_refusing_feed_waits_long_and_retry_after_is_honoured() -> None:
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds:
        feeds.fail("gone", 404, body="Not Found")
        feeds.fail("busy", 429, headers={"Retry-After": "120"}, times=1)
        feeds.publish("busy", alerts(1))
        source = make_source([feeds.url("gone"), feeds.url("busy")], recorder, clock)

        assert await poll(source, {}) == (
            [],
            {"feeds": {feeds.url("gone"): {"seen": []}, feeds.url("busy"): {"seen": []}}},
        )
        assert source.health[feeds.url("busy")].due >= clock.seconds + 120
        assert source.health[feeds.url("gone")].due >= clock.seconds + 3600
        trouble = recorder.reports[-1][1] or ""
        assert "HTTP 404" in trouble
        assert "HTTP 429" in trouble

        clock.seconds += 121  # busy is due again, gone is not
        mentions, _ = await poll(source, {})
        assert numbers(mentions) == [1]
        assert len(feeds.hits_of("gone")) == 1
        assert recorder.reports[-1][1] is not None
        assert "HTTP 429" not in (recorder.reports[-1][1] or "")


async def test_an_unreachable_feed_does_not_hold_up_the_others() -> None:
    recorder = Recorder()
    async with FakeFeeds() as closed:
        dead = closed.url("feed")  # nothing listens there once this block ends
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1))
        source = make_source([dead, feeds.url("alerts")], recorder)
        mentions, cursor = await poll(source, {})
    assert numbers(mentions) == [1]
    [(_, trouble)] = recorder.reports
    assert trouble is not None
    assert trouble.startswith(dead)
    assert cursor["feeds"][dead] == {"seen": []}


async def test_a_feed_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sources.rss.MAX_FEED_BYTES", 1000)
    recorder = Recorder()
    async with FakeFeeds() as feeds:
        feeds.publish("huge", alerts(*range(1, 30)))
        source = make_source([feeds.url("huge")], recorder)
        assert (await poll(source, {}))[0] == []
    assert "larger than 1000 bytes" in (recorder.reports[-1][1] or "")
    assert source.health[feeds.url("huge")].due >= 1000 + 3600  # will not mend by itself soon


async def test_a_bad_entry_is_skipped_and_counted_once() -> None:
    recorder = Recorder()
    bad = "<entry><title type='html'></title><updated>2026-03-10T08:09:00Z</updated></entry>"
    document = alerts_feed("k", [alert(2), bad, alert(1)])
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", document)
        source = make_source([feeds.url("alerts")], recorder)
        mentions, cursor = await poll(source, {})
        assert numbers(mentions) == [1, 2]
        assert recorder.malformed == ["news"]

        feeds.publish("alerts", document)  # same entries, new ETag: read again, not recounted
        assert (await poll(source, cursor))[0] == []
        assert recorder.malformed == ["news"]
    assert recorder.reports == []


async def test_a_feed_with_a_broken_tail_still_gives_its_good_entries() -> None:
    document = alerts(1, 2).replace("</feed>", "<entry><title>cut")
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", document)
        recorder = Recorder()
        mentions, _ = await poll(make_source([feeds.url("alerts")], recorder), {})
    assert numbers(mentions) == [1, 2]
    assert recorder.reports == []


async def test_a_stored_cursor_of_another_shape_starts_afresh() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1))
        source = make_source([feeds.url("alerts")])
        for cursor in ({"feeds": "nonsense"}, {"feeds": {feeds.url("alerts"): [1, 2]}}):
            mentions, _ = await poll(source, cursor)
            assert numbers(mentions) == [1]


async def test_a_feed_whose_host_is_no_host_name_fails_alone() -> None:
    """The review's t_rss_badhost.py (the settings now refuse such a feed; a source built
    without them must still not lose the other feeds' mentions nor crash)."""
    recorder = Recorder()
    bad = "http://news..example.com/feed"
    async with FakeFeeds() as feeds:
        feeds.publish("good", alerts(1, 2))
        source = make_source([feeds.url("good")], recorder)
        source.feeds = (feeds.url("good"), bad)
        source.health[bad] = FeedHealth(Backoff(cap=3600.0))
        mentions, cursor = await poll(source, {})
    assert numbers(mentions) == [1, 2]
    assert cursor["feeds"][bad] == {"seen": []}
    trouble = source.health[bad].trouble or ""
    assert trouble.startswith(bad)
    assert "not a valid host name" in trouble


# Settings


def rss_config(tmp_path: Path, source: dict[str, Any]) -> Path:
    return write_config(tmp_path, [{"type": "rss", "name": "news", **source}])


def test_settings_defaults_and_checks(tmp_path: Path) -> None:
    config = load_config(rss_config(tmp_path, {"feeds": [" https://a.example/feed "]}), {})
    [source] = config.sources
    assert isinstance(source, RssSourceSettings)
    assert source.feeds == ["https://a.example/feed"]
    assert source.poll_seconds == 600
    assert source.max_entries == 100

    with pytest.raises(ConfigError, match=r"sources\[0\]\.poll_seconds: .*60"):
        load_config(rss_config(tmp_path, {"feeds": ["https://a.example/"], "poll_seconds": 5}), {})

    for feeds, words in (
        ([], "at least 1"),
        (["ftp://a.example/feed"], "not an http(s) address"),
        (["https://a.example/f", "https://a.example/f"], "listed twice"),
        (["https://a.example/f", "https://news..example/f"], "https://news..example/f"),
        (["https://a.example/f", "https://news..example/f"], "not a valid host name"),
        ([f"https://u:secret@{'a' * 64}.example/f"], "not a valid host name"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_config(rss_config(tmp_path, {"feeds": feeds}), {})
        assert "sources[0].feeds" in str(caught.value)
        assert words in str(caught.value)
        assert "secret" not in str(caught.value)


# The whole service


async def test_the_service_stores_feed_mentions_once_across_a_restart(tmp_path: Path) -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2))
        config = rss_config(tmp_path, {"feeds": [feeds.url("alerts")]})

        async with running_service(config) as service:
            await wait_for(lambda: len(feeds.hits) >= 1)
            await service.intake.drained()
            await wait_for(lambda: len(stored_mentions(config)) == 2)
            assert service.health()["sources"]["news"]["state"] == "running"

        feeds.publish("alerts", alerts(1, 2, 3))
        async with running_service(config):
            await wait_for(lambda: len(stored_mentions(config)) == 3)

    assert len(feeds.hits) == 2  # the first poll is at once, the next ten minutes later
    assert feeds.hits[1].headers["If-None-Match"] == '"v1"'

    rows = stored_mentions(config)
    assert [row["native_id"] for row in rows] == [alert_id(3), alert_id(2), alert_id(1)]
    assert rows[0]["url"] == f"{ARTICLE}-3?page=1"
    assert rows[0]["brands"] == ["kestrel-mobile"]
