"""Storage: a link held already, by another source or (``same_link_sources``) by the same one,
and what finding its holders costs on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

from bot.model import ScoredMention
from storage.database import open_database
from storage.mentions import save_batch
from storage.migrations import MIGRATIONS, current_version
from tests.test_migrations import at_version
from tests.test_storage import scored

PAGE = "https://apps.example/app/kestrel-mobile/id123"


def linked(number: int, source: str, url: str = PAGE) -> ScoredMention:
    """Mention ``m-{number}`` of ``source`` linking to ``url``."""
    item = scored(number, source=source)
    return replace(item, mention=replace(item.mention, url=url))


def kept(
    db: sqlite_utils.Database, *items: ScoredMention, same: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """The keys of the mentions stored (``same``: the same-link sources)."""
    return [item.mention.key for item in save_batch(db, items, same_link_sources=same)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "vigie.db")
    yield database
    database.close()


def test_a_same_link_source_stores_a_link_it_holds_once(db: sqlite_utils.Database) -> None:
    rss = frozenset({"news"})
    article = "https://news.example/kestrel-down"
    assert kept(db, linked(1, "news", article), same=rss) == [("news", "m-1")]
    # later, another feed of the source carries it under another id (and another spelling)
    assert kept(db, linked(2, "news", "https://www.news.example/kestrel-down/"), same=rss) == []
    # in one batch, two feeds carrying one new article: the first is kept
    other = "https://news.example/kestrel-back"
    batch = (linked(3, "news", other), linked(4, "news", other + "?utm_source=x"))
    assert kept(db, *batch, same=rss) == [("news", "m-3")]


def test_other_sources_keep_mentions_of_one_source_sharing_a_link(
    db: sqlite_utils.Database,
) -> None:
    rss = frozenset({"news"})
    assert kept(db, linked(1, "reviews"), linked(2, "reviews"), same=rss) == [
        ("reviews", "m-1"),
        ("reviews", "m-2"),
    ]
    assert kept(db, linked(3, "reviews"), same=rss) == [("reviews", "m-3")]
    # held by another source: a repeat for any source
    assert kept(db, linked(4, "news"), linked(5, "webhook"), same=rss) == []


def test_finding_who_holds_a_link_is_a_search_however_many_share_it(
    db: sqlite_utils.Database,
) -> None:
    """Counted in SQLite steps, not timed: a lookup walking the mentions that share the link
    would take ten times the steps for ten times the mentions."""

    def steps_to_check_a_repeat() -> int:
        count = [0]

        def step() -> int:
            count[0] += 1
            return 0

        db.conn.set_progress_handler(step, 1)
        try:
            assert save_batch(db, [linked(0, "news")]) == []  # the reviews' link: a repeat
        finally:
            db.conn.set_progress_handler(None, 1)
        return count[0]

    save_batch(db, [linked(n, "reviews") for n in range(1, 201)])
    few = steps_to_check_a_repeat()
    save_batch(db, [linked(n, "reviews") for n in range(201, 2001)])
    many = steps_to_check_a_repeat()
    assert many <= few + 20


def test_a_database_from_before_the_link_holders_index_gets_it_on_start(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    at_version(path, 12).close()
    db = open_database(path)
    assert current_version(db) == len(MIGRATIONS)
    indexes = {tuple(index.columns) for index in db.table("mentions").indexes}
    assert ("canonical_url", "source") in indexes
    assert ("canonical_url",) not in indexes  # its prefix: not kept twice
    db.close()
