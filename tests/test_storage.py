"""SQLite storage on real files: migrations, idempotent batches, cursors, queries, the writer."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlite_utils

from bot.model import (
    Author,
    Engagement,
    LanguageGuess,
    Mention,
    Negativity,
    ScoredMention,
    Sentiment,
)
from bot.urls import canonical_url
from storage.cursors import load_cursor, save_cursors
from storage.database import StorageError, open_database
from storage.mentions import count_mentions, find_mentions, save_batch, timestamp
from storage.migrations import MIGRATIONS, current_version, migrate
from storage.writer import Writer

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def scored(
    number: int,
    *,
    brands: tuple[str, ...] = ("kestrel",),
    sentiment: Sentiment = Sentiment.NEGATIVE,
    source: str = "replay",
    minutes: int | None = None,
    text: str | None = None,
) -> ScoredMention:
    """Mention ``m-{number}``, posted ``minutes`` (default: ``number``) after T0."""
    score = {Sentiment.NEGATIVE: 0.6, Sentiment.NEUTRAL: 0.0, Sentiment.POSITIVE: 0.0}[sentiment]
    compound = {Sentiment.NEGATIVE: -0.6, Sentiment.NEUTRAL: 0.0, Sentiment.POSITIVE: 0.5}[
        sentiment
    ]
    mention = Mention(
        source=source,
        native_id=f"m-{number}",
        text=text or f"Kestrel Mobile outage number {number}",
        created_at=T0 + timedelta(minutes=number if minutes is None else minutes),
        url=f"https://example.com/{number}",
        author=Author(handle=f"user{number}", name=f"User {number}", followers=number * 10),
        engagement=Engagement(reposts=1, likes=2, replies=3, quotes=4),
        parent_id="",
        raw={"id": f"m-{number}", "text": text or "raw text", "nested": {"n": number}},
    )
    return ScoredMention(
        mention=mention,
        brands=brands,
        matched_terms=("kestrel",),
        language=LanguageGuess("en", 0.98765),
        negativity=Negativity(score, sentiment, compound),
        received_at=T0 + timedelta(hours=1),
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vigie.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(db_path)
    yield database
    database.close()


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [row["native_id"] for row in rows]


# Opening and migrating


def test_open_creates_folder_file_and_schema(db: sqlite_utils.Database, db_path: Path) -> None:
    assert db_path.exists()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"schema_version", "mentions", "mention_brands", "cursors"} <= set(db.table_names())
    assert current_version(db) == len(MIGRATIONS)
    versions = db.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]


def test_reopening_does_not_migrate_again_or_lose_data(db_path: Path) -> None:
    first = open_database(db_path)
    save_batch(first, [scored(1)], {"replay": "1"})
    first.close()

    second = open_database(db_path)
    try:
        assert second.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(
            MIGRATIONS
        )
        assert migrate(second) == len(MIGRATIONS)
        assert second.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(
            MIGRATIONS
        )
        assert count_mentions(second) == 1
        assert load_cursor(second, "replay") == "1"
    finally:
        second.close()


def test_read_only_on_missing_file_raises(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    with pytest.raises(StorageError, match="no database yet"):
        open_database(missing, read_only=True)
    assert not missing.exists()


def test_read_only_reads_but_cannot_write(db_path: Path) -> None:
    writer = open_database(db_path)
    save_batch(writer, [scored(1)])
    writer.close()

    reader = open_database(db_path, read_only=True)
    try:
        assert ids(find_mentions(reader)) == ["m-1"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            save_batch(reader, [scored(2)])
    finally:
        reader.close()


def test_not_a_database_raises_storage_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is certainly not an SQLite file " * 200)
    with pytest.raises(StorageError, match="cannot open the database"):
        open_database(junk)


def test_uncreatable_path_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StorageError, match="cannot create the database"):
        open_database(blocker / "vigie.db")


def test_newer_schema_raises_storage_error(db_path: Path) -> None:
    database = open_database(db_path)
    database.table("schema_version").insert({"version": len(MIGRATIONS) + 5, "applied_at": "x"})
    database.close()
    with pytest.raises(StorageError, match="upgrade"):
        open_database(db_path)


# save_batch


def test_save_batch_returns_the_new_mentions(db: sqlite_utils.Database) -> None:
    batch = [scored(1), scored(2)]
    assert save_batch(db, batch) == batch
    assert count_mentions(db) == 2


def test_same_batch_twice_is_stored_once(db: sqlite_utils.Database) -> None:
    batch = [scored(1), scored(2, brands=("kestrel", "acme"))]
    save_batch(db, batch)

    assert save_batch(db, batch) == []
    assert count_mentions(db) == 2
    assert db.execute("SELECT COUNT(*) FROM mention_brands").fetchone()[0] == 3


def test_duplicates_inside_one_batch_stored_once(db: sqlite_utils.Database) -> None:
    first = scored(1, text="first telling")
    again = scored(1, text="second telling")
    fresh = save_batch(db, [first, scored(2), again])

    assert fresh == [first, scored(2)]
    assert count_mentions(db) == 2
    [row] = [row for row in find_mentions(db) if row["native_id"] == "m-1"]
    assert row["text"] == "first telling"


def test_partly_known_batch_stores_only_the_new(db: sqlite_utils.Database) -> None:
    save_batch(db, [scored(1)])
    assert [s.mention.native_id for s in save_batch(db, [scored(1), scored(3)])] == ["m-3"]
    assert sorted(ids(find_mentions(db))) == ["m-1", "m-3"]


def test_same_native_id_from_another_source_is_a_different_mention(
    db: sqlite_utils.Database,
) -> None:
    hooked = scored(1, source="hook")
    hooked = replace(hooked, mention=replace(hooked.mention, url="https://other.example/1"))
    assert len(save_batch(db, [scored(1, source="replay"), hooked])) == 2  # another post
    assert sorted(row["source"] for row in find_mentions(db)) == ["hook", "replay"]


def test_large_batch_with_repeats(db: sqlite_utils.Database) -> None:
    # More keys than one lookup holds (400), so the existence check runs in chunks.
    batch = [scored(n, minutes=0) for n in range(1000)]
    assert len(save_batch(db, batch[:700])) == 700
    assert len(save_batch(db, batch)) == 300
    assert count_mentions(db) == 1000


def test_stored_row_keeps_every_field(db: sqlite_utils.Database) -> None:
    save_batch(db, [scored(7, brands=("kestrel", "acme"))])
    [row] = find_mentions(db)
    assert row["source"] == "replay"
    assert row["native_id"] == "m-7"
    assert row["brands"] == ["acme", "kestrel"]
    assert row["matched_terms"] == ["kestrel"]
    assert row["author_handle"] == "user7"
    assert row["author_name"] == "User 7"
    assert row["author_followers"] == 70
    assert (row["reposts"], row["likes"], row["replies"], row["quotes"]) == (1, 2, 3, 4)
    assert row["language"] == "en"
    assert row["language_confidence"] == pytest.approx(0.9877)
    assert row["sentiment"] == "negative"
    assert row["negativity"] == pytest.approx(0.6)
    assert row["compound"] == pytest.approx(-0.6)
    assert row["created_at"] == "2026-03-10T09:07:00.000+00:00"
    assert row["received_at"] == "2026-03-10T10:00:00.000+00:00"
    assert "raw" not in row
    raw = db.execute("SELECT raw FROM mentions").fetchone()[0]
    assert json.loads(raw) == {"id": "m-7", "text": "raw text", "nested": {"n": 7}}


def test_timestamp_is_fixed_width_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert timestamp(datetime(2026, 3, 10, 10, 0, tzinfo=paris)) == "2026-03-10T09:00:00.000+00:00"
    assert timestamp(datetime(2026, 3, 10, 9, 0, 0, 5000, tzinfo=UTC)) == (
        "2026-03-10T09:00:00.005+00:00"
    )


# Cursors


def test_cursors_saved_with_the_batch(db: sqlite_utils.Database) -> None:
    assert load_cursor(db, "replay") is None
    save_batch(db, [scored(1)], {"replay": "1"})
    assert load_cursor(db, "replay") == "1"
    save_batch(db, [scored(1), scored(2)], {"replay": "2", "hook": "abc"})
    assert load_cursor(db, "replay") == "2"
    assert load_cursor(db, "hook") == "abc"


def test_cursor_saved_even_when_every_mention_is_known(db: sqlite_utils.Database) -> None:
    save_batch(db, [scored(1)], {"replay": "1"})
    assert save_batch(db, [scored(1)], {"replay": "5"}) == []
    assert save_batch(db, [], {"replay": "6"}) == []
    assert load_cursor(db, "replay") == "6"


def test_failed_batch_stores_neither_mentions_nor_cursor(db: sqlite_utils.Database) -> None:
    save_batch(db, [scored(1)], {"replay": "1"})
    # The cursor cannot be stored, after the mentions were written in the same transaction.
    with pytest.raises(sqlite3.Error):
        save_batch(db, [scored(2), scored(3)], {"replay": object()})  # type: ignore[dict-item]
    assert ids(find_mentions(db)) == ["m-1"]
    assert db.execute("SELECT COUNT(*) FROM mention_brands").fetchone()[0] == 1
    assert load_cursor(db, "replay") == "1"
    # Nothing half-done blocks a retry.
    assert len(save_batch(db, [scored(2), scored(3)], {"replay": "3"})) == 2
    assert load_cursor(db, "replay") == "3"


def test_save_cursors_alone(db: sqlite_utils.Database) -> None:
    with db.atomic():
        save_cursors(db, {"a": "10"})
        save_cursors(db, {})
    with db.atomic():
        save_cursors(db, {"a": "11", "b": "1"})
    assert (load_cursor(db, "a"), load_cursor(db, "b")) == ("11", "1")


# find_mentions


@pytest.fixture
def stored(db: sqlite_utils.Database) -> sqlite_utils.Database:
    save_batch(
        db,
        [
            scored(1, brands=("kestrel",), sentiment=Sentiment.NEGATIVE),
            scored(2, brands=("kestrel", "acme"), sentiment=Sentiment.POSITIVE),
            scored(3, brands=("acme",), sentiment=Sentiment.NEGATIVE, source="hook"),
            scored(4, brands=("kestrel",), sentiment=Sentiment.NEUTRAL),
        ],
    )
    return db


def test_no_filter_returns_everything_newest_first(stored: sqlite_utils.Database) -> None:
    rows = find_mentions(stored)
    assert ids(rows) == ["m-4", "m-3", "m-2", "m-1"]
    assert [row["brands"] for row in rows] == [
        ["kestrel"],
        ["acme"],
        ["acme", "kestrel"],
        ["kestrel"],
    ]


def test_newest_first_is_by_posting_time_not_insertion(db: sqlite_utils.Database) -> None:
    save_batch(db, [scored(1, minutes=30)])
    save_batch(db, [scored(2, minutes=-30)])
    save_batch(db, [scored(3, minutes=0)])
    assert ids(find_mentions(db)) == ["m-1", "m-3", "m-2"]


def test_filter_by_brand(stored: sqlite_utils.Database) -> None:
    assert ids(find_mentions(stored, brand="acme")) == ["m-3", "m-2"]
    assert ids(find_mentions(stored, brand="kestrel")) == ["m-4", "m-2", "m-1"]
    assert find_mentions(stored, brand="unknown") == []
    # The brand filter selects mentions, each still listing all its brands.
    assert find_mentions(stored, brand="acme")[1]["brands"] == ["acme", "kestrel"]


def test_filter_since_is_inclusive(stored: sqlite_utils.Database) -> None:
    assert ids(find_mentions(stored, since=T0 + timedelta(minutes=3))) == ["m-4", "m-3"]
    assert ids(find_mentions(stored, since=T0 + timedelta(minutes=3, seconds=1))) == ["m-4"]
    assert find_mentions(stored, since=T0 + timedelta(days=1)) == []


def test_filter_since_in_another_time_zone(stored: sqlite_utils.Database) -> None:
    since = (T0 + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=-8)))
    assert ids(find_mentions(stored, since=since)) == ["m-4", "m-3"]


def test_filter_negative(stored: sqlite_utils.Database) -> None:
    rows = find_mentions(stored, negative=True)
    assert ids(rows) == ["m-3", "m-1"]
    assert {row["sentiment"] for row in rows} == {"negative"}


def test_limit(stored: sqlite_utils.Database) -> None:
    assert ids(find_mentions(stored, limit=2)) == ["m-4", "m-3"]
    assert ids(find_mentions(stored, limit=100)) == ["m-4", "m-3", "m-2", "m-1"]


def test_filters_combine(stored: sqlite_utils.Database) -> None:
    rows = find_mentions(
        stored, brand="kestrel", negative=True, since=T0 - timedelta(days=1), limit=5
    )
    assert ids(rows) == ["m-1"]
    assert ids(find_mentions(stored, brand="acme", negative=True, limit=1)) == ["m-3"]


def test_empty_database(db: sqlite_utils.Database) -> None:
    assert find_mentions(db) == []
    assert count_mentions(db) == 0


# Writer


async def test_writer_runs_work_and_returns_the_result(db_path: Path) -> None:
    writer = Writer(db_path)
    try:
        fresh = await writer.run(lambda db: save_batch(db, [scored(1), scored(2)], {"replay": "2"}))
        assert [s.mention.native_id for s in fresh] == ["m-1", "m-2"]
        assert await writer.run(lambda db: save_batch(db, [scored(1)])) == []
        assert await writer.run(lambda db: load_cursor(db, "replay")) == "2"
        assert await writer.run(count_mentions) == 2
    finally:
        writer.close()


async def test_writer_runs_on_one_other_thread(db_path: Path) -> None:
    writer = Writer(db_path)
    try:
        names = await asyncio.gather(
            *(writer.run(lambda db: threading.current_thread().name) for _ in range(5))
        )
    finally:
        writer.close()
    assert set(names) == {"vigie-sqlite-writer"}
    assert threading.current_thread().name not in names


async def test_writer_hands_errors_to_the_caller_and_keeps_going(db_path: Path) -> None:
    writer = Writer(db_path)
    try:
        with pytest.raises(ZeroDivisionError):
            await writer.run(lambda db: 1 // 0)
        assert await writer.run(lambda db: db.execute("SELECT 41 + 1").fetchone()[0]) == 42
    finally:
        writer.close()


async def test_writer_runs_work_in_submission_order(db_path: Path) -> None:
    order: list[int] = []

    def work(number: int) -> int:
        if number == 0:
            time.sleep(0.05)
        order.append(number)
        return number

    writer = Writer(db_path)
    try:
        results = await asyncio.gather(*(writer.run(lambda db, n=n: work(n)) for n in range(10)))
    finally:
        writer.close()
    assert results == list(range(10))
    assert order == list(range(10))


async def test_close_finishes_queued_work_then_closes(db_path: Path) -> None:
    writer = Writer(db_path)

    def slow_first(db: sqlite_utils.Database) -> list[ScoredMention]:
        time.sleep(0.05)
        return save_batch(db, [scored(0)])

    tasks = [asyncio.create_task(writer.run(slow_first))] + [
        asyncio.create_task(writer.run(lambda db, n=n: save_batch(db, [scored(n)], {"r": str(n)})))
        for n in range(1, 6)
    ]
    await asyncio.sleep(0)  # every task has queued its work
    await asyncio.to_thread(writer.close)

    results = await asyncio.gather(*tasks)
    assert [len(fresh) for fresh in results] == [1] * 6
    writer.close()  # closing again is harmless

    reader = open_database(db_path, read_only=True)
    try:
        assert count_mentions(reader) == 6
        assert load_cursor(reader, "r") == "5"
    finally:
        reader.close()


def test_writer_on_bad_path_fails_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StorageError):
        Writer(blocker / "vigie.db")


async def test_run_after_close_fails_instead_of_hanging(db_path: Path) -> None:
    writer = Writer(db_path)
    writer.close()
    with pytest.raises((RuntimeError, StorageError)):
        await asyncio.wait_for(writer.run(count_mentions), 0.3)


def test_the_same_link_heard_through_two_sources_is_stored_once(tmp_path: Path) -> None:
    db = open_database(tmp_path / "links.db")

    def at(item: ScoredMention, url: str) -> ScoredMention:
        return replace(item, mention=replace(item.mention, url=url))

    first = at(scored(1, source="alerts"), "https://www.news.example/story/?utm_source=x#top")
    again = at(scored(2, source="news"), "http://news.example/story")
    other = at(scored(3, source="alerts"), "https://news.example/other")
    assert [s.mention.native_id for s in save_batch(db, [first])] == ["m-1"]
    assert [s.mention.native_id for s in save_batch(db, [again, other])] == ["m-3"]
    assert canonical_url("https://WWW.News.example/story/?utm_source=x&id=3#top") == (
        "news.example/story?id=3"
    )
    assert canonical_url("mailto:x@example.com") == ""
    # a fragment that names an item keeps it apart: each comment of a post is its own mention
    comments = [
        at(scored(n, source="comments"), f"https://blog.example/kestrel-review/#comment-{n}")
        for n in (10, 11)
    ]
    assert [s.mention.native_id for s in save_batch(db, comments)] == ["m-10", "m-11"]
    assert canonical_url("https://blog.example/a/#:~:text=down") == "blog.example/a"
    # a fragment of tracking parameters is a feed's (one per feed of a site), not an item
    for tracked in ("#xtor=RSS-3208", "#at_medium=RSS&at_campaign=KSF", "#utm_medium=feed"):
        assert canonical_url(f"https://www.lemonde.fr/a.html{tracked}") == "lemonde.fr/a.html"
    # other parameters name an item: a forum's posts, a single-page app's threads
    for item in ("#post=12", "#/thread?id=5", "#comment-12&utm_source=x"):
        assert canonical_url(f"https://forum.example/t/1{item}") == f"forum.example/t/1{item}"
