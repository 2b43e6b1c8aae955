"""RSS: each comment of a comments feed stays apart; one article in two feeds is one mention.

End to end: feeds served by the fake feed server, polled by the source, stored in SQLite.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.model import Brand, Mention
from bot.sources.rss import unwrap
from bot.workers import InlineScorer
from storage.cursors import load_cursor, save_cursors
from storage.database import open_database
from storage.mentions import save_batch
from tests.conftest import running_service, stored_mentions, wait_for, write_config
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


DATE = "Mon, 10 Mar 2025 09:00:00 +0000"
ARTICLE = "https://news.example/kestrel-down"


def article(guid: str, link: str = ARTICLE) -> tuple[str, str, str, str]:
    return (guid, link, "Kestrel down all morning", DATE)


def seen_in(config: Path, feed: str) -> list[str]:
    """The entries of ``feed`` the stored position of the ``news`` source remembers."""
    if not (config.parent / "vigie.db").exists():
        return []
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        position = json.loads(load_cursor(db, "news") or "{}")
    finally:
        db.close()
    return list(position.get("feeds", {}).get(feed, {}).get("seen", []))


async def polled_once(config: Path, feeds: FakeFeeds, *changed: str) -> None:
    """Run the service until its first poll is stored: what the position remembers of each
    ``changed`` feed (a path on ``feeds``) is no longer what it was."""
    before = {path: seen_in(config, feeds.url(path)) for path in changed}
    async with running_service(config):
        await wait_for(
            lambda: all(seen_in(config, feeds.url(path)) != was for path, was in before.items())
        )


def news(tmp_path: Path, feeds: FakeFeeds, *paths: str, **settings: object) -> Path:
    source = {"type": "rss", "name": "news", "feeds": [feeds.url(p) for p in paths], **settings}
    return write_config(tmp_path, [source])


async def test_one_article_in_two_feeds_of_a_source_is_stored_once(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    feeds.publish("main", rss("Main", article("main-1", ARTICLE + "?utm_source=x")), RSS)
    feeds.publish("tech", rss("Tech"), RSS)
    config = news(tmp_path, feeds, "main", "tech")
    await polled_once(config, feeds, "main")
    # later, the category feed carries it too, under an id (and a spelling) of its own
    elsewhere = "https://www.news.example/kestrel-down/"
    feeds.publish("tech", rss("Tech", article("tech-9", elsewhere)), RSS)
    await polled_once(config, feeds, "tech")
    # and the main feed again, under a new id
    feeds.publish("main", rss("Main", article("main-2", "http://news.example/kestrel-down")), RSS)
    await polled_once(config, feeds, "main")
    assert [row["native_id"].rsplit(":", 1)[-1] for row in stored_mentions(config)] == ["main-1"]


async def test_one_article_in_two_feeds_of_one_poll_is_stored_once(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    feeds.publish("a", rss("A", article("a-1")), RSS)
    feeds.publish("b", rss("B", article("b-1", ARTICLE + "/")), RSS)
    config = news(tmp_path, feeds, "a", "b")
    await polled_once(config, feeds, "a", "b")
    assert len(stored_mentions(config)) == 1


async def test_an_article_stored_before_the_upgrade_is_not_stored_again(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    """A position written before this Vigie (no link memory in it, or a memory that has since
    forgotten the link) is no reason to store an article twice."""
    feeds.publish("main", rss("Main", article("main-1")), RSS)
    feeds.publish("tech", rss("Tech"), RSS)
    config = news(tmp_path, feeds, "main", "tech")
    await polled_once(config, feeds, "main")
    with sqlite_utils.Database(tmp_path / "vigie.db") as db:
        position = json.loads(load_cursor(db, "news") or "{}")
        save_cursors(db, {"news": json.dumps({"feeds": position["feeds"]})})
        db.conn.commit()
    feeds.publish("tech", rss("Tech", article("tech-9", ARTICLE + "/")), RSS)
    await polled_once(config, feeds, "tech")
    assert [row["native_id"].rsplit(":", 1)[-1] for row in stored_mentions(config)] == ["main-1"]


async def test_an_article_comes_back_after_many_others_and_is_not_stored_again(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    feeds.publish("main", rss("Main", article("main-1")), RSS)
    feeds.publish("tech", rss("Tech"), RSS)
    config = news(tmp_path, feeds, "main", "tech", max_entries=2)
    await polled_once(config, feeds, "main")
    for n in range(3):  # the busy main feed moves on
        others = [article(f"main-x{n}-{k}", f"https://news.example/other-{n}-{k}") for k in (1, 2)]
        feeds.publish("main", rss("Main", *others), RSS)
        await polled_once(config, feeds, "main")
    feeds.publish("tech", rss("Tech", article("tech-9", ARTICLE + "/")), RSS)
    await polled_once(config, feeds, "tech")
    ids = [row["native_id"].rsplit(":", 1)[-1] for row in stored_mentions(config)]
    assert sorted(ids) == sorted(["main-1", *(f"main-x{n}-{k}" for n in range(3) for k in (1, 2))])
