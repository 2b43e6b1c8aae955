"""RSS: each comment of a comments feed stays apart; one article in two feeds is one mention.

End to end: feeds served by the fake feed server, polled by the source, stored in SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.model import Brand, Mention
from bot.sources.rss import RssSource, unwrap
from bot.workers import InlineScorer
from storage.database import open_database
from storage.mentions import save_batch
from tests.fake_feeds import RSS, FakeFeeds
from tests.test_source_rss import make_source, poll

KESTREL = Brand(name="Kestrel", slug="kestrel")
POST = "https://blog.example/2025/03/kestrel-outage/"


def rss(title: str, *items: tuple[str, str, str, str]) -> str:
    """An RSS 2.0 document; each item (guid, link, text, pubDate)."""
    body = "".join(
        f"<item><title>{text}</title><link>{link}</link>"
        + (f'<guid isPermaLink="false">{guid}</guid>' if guid else "")
        + f"<description>{text}</description><pubDate>{date}</pubDate></item>"
        for guid, link, text, date in items
    )
    channel = f"<channel><title>{title}</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


COMMENTS = rss(
    "Comments on: Kestrel outage",
    (
        "?p=7#comment-12",
        POST + "#comment-12",
        "Kestrel down all day, terrible",
        "Mon, 10 Mar 2025 09:00:00 +0000",
    ),
    (
        "?p=7#comment-13",
        POST + "#comment-13",
        "Same here, Kestrel no signal, awful",
        "Mon, 10 Mar 2025 09:05:00 +0000",
    ),
)


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


async def stored(tmp_path: Path, mentions: list[Mention]) -> list[str]:
    scored = await InlineScorer([KESTREL]).score(mentions, datetime.now(UTC))
    db = open_database(tmp_path / "vigie.db")
    return [fresh.mention.native_id for fresh in save_batch(db, scored)]


async def test_each_comment_of_a_comments_feed_is_stored_apart(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    feeds.publish("comments", COMMENTS, RSS)
    mentions, _ = await poll(make_source([feeds.url("comments")]), {})
    assert [m.url for m in mentions] == [POST + "#comment-12", POST + "#comment-13"]
    assert len(await stored(tmp_path, mentions)) == 2


async def test_comments_without_guid_keep_their_own_ids(feeds: FakeFeeds, tmp_path: Path) -> None:
    feeds.publish(
        "comments",
        rss(
            "Comments",
            ("", POST + "#comment-12", "Kestrel down, terrible", "Mon, 10 Mar 2025 09:00:00 +0000"),
            ("", POST + "#comment-13", "Kestrel awful", "Mon, 10 Mar 2025 09:05:00 +0000"),
        ),
        RSS,
    )
    mentions, _ = await poll(make_source([feeds.url("comments")]), {})
    assert [m.native_id for m in mentions] == [POST + "#comment-12", POST + "#comment-13"]
    assert len(await stored(tmp_path, mentions)) == 2


def test_unwrapping_keeps_a_fragment_and_drops_tracking() -> None:
    assert unwrap(POST + "?utm_source=rss#comment-12") == POST + "#comment-12"


async def test_one_article_in_two_feeds_of_a_source_is_queued_once(feeds: FakeFeeds) -> None:
    date = "Mon, 10 Mar 2025 09:00:00 +0000"
    link = "https://news.example/kestrel-down?utm_source=x"
    feeds.publish("main", rss("Main", ("main-1", link, "Kestrel down", date)), RSS)
    feeds.publish("tech", rss("Tech"), RSS)
    source: RssSource = make_source([feeds.url("main"), feeds.url("tech")])
    first, cursor = await poll(source, {})
    assert [m.native_id.rsplit(":", 1)[-1] for m in first] == ["main-1"]
    # later, the category feed carries it too, under an id of its own: a repeat
    elsewhere = "https://www.news.example/kestrel-down/"
    feeds.publish("tech", rss("Tech", ("tech-9", elsewhere, "Kestrel down", date)), RSS)
    again, cursor = await poll(source, cursor)
    assert again == []
    # restarted: the cursor remembers the link
    feeds.publish(
        "main",
        rss("Main", ("main-2", "http://news.example/kestrel-down", "Kestrel down", date)),
        RSS,
    )
    restarted = make_source([feeds.url("main"), feeds.url("tech")])
    assert (await poll(restarted, cursor))[0] == []


async def test_one_article_in_two_feeds_of_one_poll_is_queued_once(feeds: FakeFeeds) -> None:
    date = "Mon, 10 Mar 2025 09:00:00 +0000"
    feeds.publish(
        "a", rss("A", ("a-1", "https://news.example/kestrel-down", "Kestrel down", date)), RSS
    )
    feeds.publish(
        "b", rss("B", ("b-1", "https://news.example/kestrel-down/", "Kestrel down", date)), RSS
    )
    mentions, cursor = await poll(make_source([feeds.url("a"), feeds.url("b")]), {})
    assert len(mentions) == 1
    assert len(cursor["links"]) == 1
