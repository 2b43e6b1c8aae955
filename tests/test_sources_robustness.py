"""Sources against what the world sends after months of running: feeds dead for weeks, broken
rate-limit headers, markup the HTML parser chokes on, millisecond times written as strings, bad
rows deep in a replay file, search hits dated in the future, feeds that answer empty once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.config.schema import ReplaySourceSettings
from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.model import Mention
from bot.sources.hackernews import HackerNewsSource
from bot.sources.html_text import html_to_text
from bot.sources.polite import MAX_SERVER_WAIT, Backoff, SourceError, retry_after
from bot.sources.polling import Cursor
from bot.sources.replay import ReplaySource
from tests.conftest import RecordingInbox
from tests.fake_feeds import FakeFeeds, alerts_feed
from tests.fake_hackernews import FakeHackerNews, comment, story
from tests.test_source_hackernews import KESTREL
from tests.test_source_rss import Clock, Recorder, alert, alerts, make_source, numbers, poll

T = 1_790_000_000  # a second in 2026
ODD_MARKUP = "<p>Kestrel Mobile is down <![ if mso]>again<![endif]></p>"


def hn_source(hn: FakeHackerNews, **options: Any) -> HackerNewsSource:
    settings = HackerNewsSourceSettings(type="hackernews", name="hn", base_url=hn.base_url)
    return HackerNewsSource(settings, (KESTREL,), **options)


async def hn_poll(source: HackerNewsSource, cursor: Cursor) -> tuple[list[Mention], Cursor]:
    async with source.session() as session:
        mentions, after = await source.poll(session, cursor)
    return mentions, json.loads(json.dumps(after))


# 1. Backoff after a thousand failures in a row


def test_backoff_stays_at_its_cap_however_long_the_failures_last() -> None:
    backoff = Backoff(cap=3600.0)
    backoff.failures = 100_000  # a feed refused hourly for eleven years
    assert 1800.0 <= backoff.next_delay() <= 3600.0


async def test_a_feed_gone_for_weeks_is_backed_off_and_the_others_still_read() -> None:
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds:
        feeds.fail("gone", 404)
        feeds.publish("alerts", alerts(1))
        source = make_source([feeds.url("gone"), feeds.url("alerts")], recorder, clock)
        source.health[feeds.url("gone")].backoff.failures = 1_100  # 46 days of hourly refusals
        mentions, _ = await poll(source, {})
    assert numbers(mentions) == [1]
    assert source.health[feeds.url("gone")].due == clock.seconds + 3600
    assert "HTTP 404" in (recorder.reports[-1][1] or "")


def test_a_polling_source_failing_for_days_waits_its_longest_backoff() -> None:
    source = HackerNewsSource(HackerNewsSourceSettings(type="hackernews", name="hn"), (KESTREL,))
    source.backoff.failures = 5_000  # Reddit with revoked credentials: 3.5 days of this
    assert source._failed(SourceError("HTTP 401", retryable=False)) == source.backoff.cap


# 2. A server's wait is bounded


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "1e12"},
        {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"},  # 2100, epoch
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2100-01-01T00:00:00Z"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999"},  # seconds from now
    ],
)
def test_a_wait_of_decades_is_cut_to_the_longest_server_wait(headers: dict[str, str]) -> None:
    assert retry_after(headers) == MAX_SERVER_WAIT


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity"])
def test_a_wait_that_is_no_number_is_no_wait(value: str) -> None:
    assert retry_after({"Retry-After": value}) is None
    assert retry_after({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": value}) is None
    assert Backoff(cap=60.0).next_delay(float(value)) <= 60.0


@pytest.mark.parametrize("wait", ["inf", "1e12", "Fri, 01 Jan 2100 00:00:00 GMT"])
async def test_a_feed_asking_to_wait_for_ever_is_asked_again_within_the_hour(wait: str) -> None:
    clock = Clock()
    async with FakeFeeds() as feeds:
        feeds.fail("busy", 429, headers={"Retry-After": wait})
        source = make_source([feeds.url("busy")], clock=clock)
        await poll(source, {})
    assert source.health[feeds.url("busy")].due <= clock.seconds + MAX_SERVER_WAIT


async def test_a_rate_limit_reset_in_2100_asks_hacker_news_again_within_the_hour() -> None:
    async with FakeHackerNews() as hn:
        hn.fail(429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"})
        source = hn_source(hn)
        with pytest.raises(SourceError) as limited:
            await hn_poll(source, {})
    assert limited.value.wait == MAX_SERVER_WAIT
    assert source._failed(limited.value) <= MAX_SERVER_WAIT


# 3. Markup the HTML parser chokes on


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (ODD_MARKUP, "Kestrel Mobile is down again"),
        ("Kestrel <![x[ y", "Kestrel <![x[ y"),
        ("<p>Kestrel &amp; co</p><![ oops]><p>down<script>x()</script></p>", "Kestrel & co\ndown"),
    ],
)
def test_markup_the_parser_refuses_is_stripped_not_raised(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


async def test_an_entry_with_odd_markup_is_read_and_the_other_feeds_too() -> None:
    recorder = Recorder()
    odd = (
        "<item><guid>odd-1</guid><title>Kestrel news</title>"
        "<link>https://news.example.com/odd</link>"
        f"<description>{ODD_MARKUP.replace('<', '&lt;').replace('>', '&gt;')}</description>"
        "</item>"
    )
    async with FakeFeeds() as feeds:
        feeds.publish("odd", f'<rss version="2.0"><channel><title>N</title>{odd}</channel></rss>')
        feeds.publish("alerts", alerts(1))
        source = make_source([feeds.url("odd"), feeds.url("alerts")], recorder)
        mentions, _ = await poll(source, {})
    assert len(mentions) == 2
    [odd_one] = [m for m in mentions if m.url == "https://news.example.com/odd"]
    assert odd_one.text.startswith("Kestrel news\nKestrel Mobile is down")  # feedparser's
    # sanitiser repeats text around "<![": the markup reaches us garbled, but read
    assert recorder.reports == []


async def test_a_hit_with_odd_markup_is_heard() -> None:
    async with FakeHackerNews() as hn:
        hn.add(comment(1, T, "Kestrel <![x[ y"), story(2, T + 1, "Kestrel down"))
        mentions, _ = await hn_poll(hn_source(hn), {})
    assert [m.text for m in mentions] == ["Kestrel <![x[ y", "Kestrel down"]


def _choke_on(marker: str) -> Any:
    """An html_to_text with a bug that shows on one item only."""

    def converted(fragment: str) -> str:
        if marker in fragment:
            raise RuntimeError("a bug in a converter")
        return html_to_text(fragment)

    return converted


async def test_an_entry_that_fails_unexpectedly_is_logged_counted_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.sources.rss.html_to_text", _choke_on("outage 2"))
    recorder = Recorder()
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2, 3))
        feeds.publish("more", alerts_feed("k", [alert(4)]))
        source = make_source([feeds.url("alerts"), feeds.url("more")], recorder)
        with caplog.at_level(logging.ERROR):
            mentions, _ = await poll(source, {})
    assert numbers(mentions) == [1, 3, 4]
    assert recorder.malformed == ["news"]
    assert recorder.reports == []
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "unexpected error" in logged.getMessage()
    assert "10000000000000000002" in logged.getMessage()  # the entry's id
    assert logged.exc_info is not None  # with its traceback: a bug is not hidden


async def test_a_hit_that_fails_unexpectedly_is_logged_counted_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.sources.hackernews.html_to_text", _choke_on("broken"))
    skipped: list[str] = []
    async with FakeHackerNews() as hn:
        hn.add(comment(1, T, "Kestrel broken"), comment(2, T + 1, "Kestrel fine"))
        source = hn_source(hn, on_malformed=lambda: skipped.append("hn"))
        with caplog.at_level(logging.ERROR):
            mentions, _ = await hn_poll(source, {})
    assert [m.native_id for m in mentions] == ["2"]
    assert skipped == ["hn"]
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "hit '1'" in logged.getMessage()
    assert logged.exc_info is not None


# 4. Unix milliseconds written as a string


async def test_a_replayed_csv_with_millisecond_times_keeps_them_in_2024(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,text,created_at\n1,kestrel down,1710061200000\n2,kestrel again,1728041180000\n"
    )
    inbox = RecordingInbox()
    await replay(path, inbox)
    assert [m.created_at for m in inbox.mentions] == [
        datetime(2024, 3, 10, 9, 0, tzinfo=UTC),
        datetime(2024, 10, 4, 11, 26, 20, tzinfo=UTC),
    ]


# 5. Bad rows deep in a replay file


async def replay(path: Path, inbox: RecordingInbox) -> None:
    settings = ReplaySourceSettings(type="replay", name="r", path=path)
    await ReplaySource(settings, SystemClock()).run(inbox, None)


async def test_a_csv_field_over_the_size_limit_skips_its_row_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "big.csv"
    huge = "x" * 1_000_001
    path.write_text(f'id,text\n1,kestrel one\n2,"{huge}"\n3,kestrel three\n4,kestrel four\n')
    inbox = RecordingInbox()
    with caplog.at_level(logging.WARNING):
        await replay(path, inbox)
    assert [m.native_id for m in inbox.mentions] == ["1", "3", "4"]
    assert "line 3: skipped malformed record: not a CSV row" in caplog.text
    assert json.loads(inbox.envelopes[-1].position)["records"] == 4


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
async def test_bytes_that_are_not_utf8_past_the_first_chunk_skip_their_row_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, file_format: str
) -> None:
    if file_format == "jsonl":
        lines = [
            json.dumps({"id": str(n), "text": f"kestrel {n}"}).encode() for n in range(1, 2001)
        ]
        lines[1499] = b'{"id": "1500", "text": "kestrel \xff"}'
        bad_line = 1500
    else:
        lines = [b"id,text"] + [f"{n},kestrel {n}".encode() for n in range(1, 2001)]
        lines[1500] = b"1500,kestrel \xff"
        bad_line = 1501
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    inbox = RecordingInbox()
    with caplog.at_level(logging.WARNING):
        await replay(path, inbox)
    ids = [m.native_id for m in inbox.mentions]
    assert ids == [str(n) for n in range(1, 2001) if n != 1500]
    assert f"line {bad_line}: skipped malformed record: bytes that are not utf-8" in caplog.text


# 6. A search hit dated in the future


async def test_a_hit_dated_next_year_leaves_the_query_listening() -> None:
    now = [datetime.fromtimestamp(T, UTC)]
    async with FakeHackerNews() as hn:
        hn.add(story(1, T - 300, "Kestrel down"))
        source = hn_source(hn, now=lambda: now[0])
        _, cursor = await hn_poll(source, {})

        hn.add(story(2, T + 365 * 86400, "Kestrel down, dated by a broken clock"))
        now[0] += timedelta(seconds=10)
        [wrong], cursor = await hn_poll(source, cursor)
        assert wrong.native_id == "2"
        assert wrong.created_at == now[0]  # a date in the future is a wrong date
        assert cursor["kestrel"]["newest"] <= T + 10

        hn.add(story(3, T + 120, "Kestrel still down"))
        now[0] += timedelta(seconds=200)
        heard, cursor = await hn_poll(source, cursor)
    assert [m.native_id for m in heard] == ["3"]  # "2" is not heard twice either


async def test_a_cursor_moved_into_the_future_by_an_earlier_version_heals() -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(3, T + 120, "Kestrel still down"))
        source = hn_source(hn, now=lambda: datetime.fromtimestamp(T + 200, UTC))
        poisoned = {"kestrel": {"newest": T + 365 * 86400, "seen": {"2": T + 365 * 86400}}}
        heard, _ = await hn_poll(source, poisoned)
    assert [m.native_id for m in heard] == ["3"]


# 7. A feed that answers empty once


async def test_a_feed_answering_empty_once_does_not_queue_its_entries_again() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2, 3))
        source = make_source([feeds.url("alerts")])
        first, cursor = await poll(source, {})
        feeds.publish("alerts", alerts_feed("kestrel mobile", []))
        empty, cursor = await poll(source, cursor)
        feeds.publish("alerts", alerts(1, 2, 3, 4))
        again, _ = await poll(source, cursor)
    assert numbers(first) == [1, 2, 3]
    assert empty == []
    assert numbers(again) == [4]
