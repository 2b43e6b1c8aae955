"""The Hacker News source against a fake Algolia search on 127.0.0.1: hits, paging, cursors."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.model import Brand, Mention
from bot.sources import hackernews
from bot.sources.hackernews import HackerNewsSource, to_mention
from bot.sources.polite import SourceError, client_session, get_json
from bot.sources.polling import Cursor
from bot.sources.searching import Horizon, search_terms
from tests.conftest import running_service, stored_mentions, wait_for, write_config
from tests.fake_hackernews import Break, FakeHackerNews, comment, story

KESTREL = Brand(
    name="Kestrel Mobile", slug="kestrel-mobile", keywords=("kestrel mobile", "kestrel")
)
T = 1_790_000_000


def source_for(hn: FakeHackerNews, *brands: Brand, **overrides: Any) -> HackerNewsSource:
    settings = HackerNewsSourceSettings.model_validate(
        {"type": "hackernews", "name": "hn", "base_url": hn.base_url, **overrides}
    )
    return HackerNewsSource(settings, brands or (KESTREL,))


async def poll(source: HackerNewsSource, cursor: Cursor) -> tuple[list[Mention], Cursor]:
    async with source.session() as session:
        mentions, after = await source.poll(session, cursor)
    return mentions, json.loads(json.dumps(after))


def stories(first: int, count: int, start: int) -> list[dict[str, Any]]:
    return [
        story(n, start + n, f"Kestrel Mobile outage ({n})") for n in range(first, first + count)
    ]


# --- reading hits ------------------------------------------------------------------------------


def test_a_comment_is_plain_text_with_its_parent_and_address() -> None:
    hit = comment(
        4242,
        T,
        "Kestrel&#x27;s support told me to <i>wait</i>.<p>See "
        '<a href="https:&#x2F;&#x2F;example.com&#x2F;x" rel="nofollow">'
        "https:&#x2F;&#x2F;example.com&#x2F;x</a> &amp; weep",
        story_id=4000,
        parent_id=4100,
    )
    mention = to_mention("hn", hit)
    assert mention.text == "Kestrel's support told me to wait.\nSee https://example.com/x & weep"
    assert mention.native_id == "4242"
    assert mention.url == "https://news.ycombinator.com/item?id=4242"
    assert mention.parent_id == "4100"
    assert mention.author.handle == "user4242"
    assert mention.created_at == datetime.fromtimestamp(T, UTC)
    assert (mention.engagement.reposts, mention.engagement.replies) == (0, 0)  # points: null


def test_a_story_is_its_title_then_its_text_with_points_and_comments() -> None:
    body = "<p>No signal since 9am &gt; 3 hours"
    hit = story(77, T, "Ask HN: Is Kestrel Mobile down?", text=body, points=120, num_comments=45)
    mention = to_mention("hn", hit)
    assert mention.text == "Ask HN: Is Kestrel Mobile down?\n\nNo signal since 9am > 3 hours"
    assert (mention.engagement.reposts, mention.engagement.replies) == (120, 45)  # points: spread
    assert mention.parent_id == ""
    assert "_highlightResult" not in mention.raw


async def test_a_refresh_counts_every_comment_of_the_nested_thread_as_the_hit_did() -> None:
    """The review's t_hn_children.py: the items endpoint nests replies, and a refresh counting
    the story's direct replies only made 45 comments read as 1."""
    async with FakeHackerNews() as hn:
        hn.add(story(77, T, "Kestrel Mobile is down", points=120, num_comments=45))
        source = source_for(hn)
        [heard], _ = await poll(source, {})
        counts = await source.engagement([heard])
    assert heard.engagement.replies == 45
    assert counts["77"].replies == 45
    assert counts["77"].reposts == 120


async def test_an_item_with_unreadable_points_is_skipped_and_the_others_refreshed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(77, T, "Kestrel Mobile is down", points=120, num_comments=2))
        hn.add(story(78, T, "Kestrel Mobile again", points="lots", num_comments=2))
        source = source_for(hn)
        at = datetime.now(UTC)
        with caplog.at_level(logging.WARNING):
            counts = await source.engagement(
                [Mention("hn", "78", "", at), Mention("hn", "77", "", at)]
            )
    assert list(counts) == ["77"]
    assert "item 78 skipped" in caplog.text


def test_a_thread_deeper_than_python_recursion_is_counted() -> None:
    item: dict[str, Any] = {"id": 1, "children": []}
    node = item
    for n in range(20_000):  # a long argument, one reply under the other
        child: dict[str, Any] = {"id": n + 2, "children": []}
        node["children"] = [child, "not an item"]
        node = child
    assert hackernews.descendants(item) == 20_000
    assert hackernews.descendants({"id": 1}) == 0


def test_search_terms_skip_what_a_shorter_term_already_finds() -> None:
    acme = Brand(name="Acme", slug="acme", keywords=("acme corp", "ACME"), aliases=("Widgets",))
    assert search_terms((KESTREL, acme)) == ["kestrel", "Acme", "Widgets"]
    assert search_terms((Brand(name="Crème Brûlée", slug="c", keywords=("creme brulee",)),)) == [
        "Crème Brûlée"
    ]


# --- paging and the cursor ---------------------------------------------------------------------


async def test_a_first_poll_takes_the_newest_page_then_polls_page_back_to_the_cursor() -> None:
    async with FakeHackerNews() as hn:
        hn.add(*stories(1, 250, T))
        source = source_for(hn, lookback_seconds=0)
        first, cursor = await poll(source, {})
        assert [m.native_id for m in first] == [str(n) for n in range(151, 251)]
        assert hn.calls[0].query == {
            "query": "kestrel",
            "tags": "(story,comment)",
            "hitsPerPage": "100",
            "page": "0",
        }

        hn.add(*stories(251, 150, T))
        second, cursor = await poll(source, cursor)
        pages = [(c.query["page"], c.query["numericFilters"]) for c in hn.calls[1:]]
        assert pages == [("0", f"created_at_i>={T + 250}"), ("1", f"created_at_i>={T + 250}")]
        assert [m.native_id for m in second] == [str(n) for n in range(251, 401)]

        third, cursor = await poll(source, cursor)
    assert third == []
    assert len(hn.calls) == 4
    assert cursor["kestrel"]["newest"] == T + 400
    assert cursor["kestrel"]["seen"] == {"400": T + 400}


async def test_an_empty_first_answer_leaves_the_query_unstarted() -> None:
    """The review's t_horizon.py: an empty first answer started the horizon at 0, and the next
    poll read the query's whole history (ten pages) as new."""
    async with FakeHackerNews() as hn:
        source = source_for(hn, lookback_seconds=0)
        assert await poll(source, {}) == ([], {"kestrel": {"newest": None, "seen": {}}})
        hn.add(*stories(1, 250, T))
        _, cursor = await poll(source, {"kestrel": {"newest": None, "seen": {}}})
        heard, _ = await poll(source, {"kestrel": {"newest": None, "seen": {}}})
    assert [m.native_id for m in heard] == [str(n) for n in range(151, 251)]  # newest page
    assert len(hn.calls) == 3  # one page each time
    assert all("numericFilters" not in call.query for call in hn.calls)
    assert cursor["kestrel"]["newest"] == T + 250
    assert Horizon().advance([], 1800) == Horizon()


async def test_a_position_an_earlier_version_started_on_an_empty_answer_reads_the_newest_page() -> (
    None
):
    """Earlier versions stored ``newest: 0.0`` after an empty first answer: read as started, it
    made the next poll take the query's whole history as new."""
    async with FakeHackerNews() as hn:
        hn.add(*stories(1, 250, T))
        heard, _ = await poll(source_for(hn), {"kestrel": {"newest": 0.0, "seen": {}}})
    assert [m.native_id for m in heard] == [str(n) for n in range(151, 251)]  # newest page
    assert len(hn.calls) == 1


async def test_an_item_in_the_same_second_or_indexed_late_is_heard_once() -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(1, T, "Kestrel one"), comment(2, T, "Kestrel two"))
        source = source_for(hn, lookback_seconds=60)
        first, cursor = await poll(source, {})
        hn.add(
            comment(3, T, "Kestrel three, same second"),
            comment(4, T - 45, "Kestrel four, indexed 45 s late"),
            comment(5, T - 900, "Kestrel five, indexed 15 minutes late: beyond the lookback"),
        )
        second, cursor = await poll(source, cursor)
        third, _ = await poll(source, cursor)
    assert [m.native_id for m in first] == ["1", "2"]
    assert [m.native_id for m in second] == ["4", "3"]  # oldest first
    assert third == []
    assert hn.calls[1].query["numericFilters"] == f"created_at_i>={T - 60}"


async def test_by_default_an_item_indexed_a_quarter_of_an_hour_late_is_still_heard() -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(1, T, "Kestrel one"))
        source = source_for(hn)
        _, cursor = await poll(source, {})
        hn.add(comment(2, T + 600, "Kestrel two"))
        second, cursor = await poll(source, cursor)
        hn.add(comment(3, T - 300, "Kestrel three, indexed 15 minutes after it was written"))
        third, cursor = await poll(source, cursor)
        fourth, _ = await poll(source, cursor)
    assert [m.native_id for m in second] == ["2"]
    assert [m.native_id for m in third] == ["3"]
    assert fourth == []
    assert hn.calls[2].query["numericFilters"] == f"created_at_i>={T + 600 - 1800}"


async def test_each_brand_term_is_one_query_and_a_hit_found_twice_is_heard_once() -> None:
    acme = Brand(name="Acme", slug="acme")
    async with FakeHackerNews() as hn:
        source = source_for(hn, KESTREL, acme)
        _, cursor = await poll(source, {})
        hn.add(story(1, T, "Kestrel buys Acme"), story(2, T + 1, "Acme again"))
        mentions, cursor = await poll(source, cursor)
    assert [c.query["query"] for c in hn.calls] == ["kestrel", "Acme", "kestrel", "Acme"]
    assert [m.native_id for m in mentions] == ["1", "2"]
    assert sorted(cursor) == ["Acme", "kestrel"]


async def test_configured_queries_and_tags_replace_the_defaults() -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(1, T, "Kestrel"), comment(2, T, "Kestrel comment"))
        source = source_for(hn, queries=["kestrel mobile", "kestrel"], tags="story")
        mentions, _ = await poll(source, {})
    assert [c.query["query"] for c in hn.calls] == ["kestrel mobile", "kestrel"]
    assert {c.query["tags"] for c in hn.calls} == {"story"}
    assert [m.native_id for m in mentions] == ["1"]


async def test_a_malformed_hit_is_counted_and_skipped() -> None:
    skipped: list[str] = []
    async with FakeHackerNews() as hn:
        hn.add(story(1, T, "Kestrel"), story(2, T + 1, "Kestrel", objectID=""))
        settings = HackerNewsSourceSettings(type="hackernews", name="hn", base_url=hn.base_url)
        source = HackerNewsSource(settings, (KESTREL,), on_malformed=lambda: skipped.append("x"))
        mentions, _ = await poll(source, {})
    assert [m.native_id for m in mentions] == ["1"]
    assert skipped == ["x"]


async def test_a_429_carries_the_wait_algolia_asks_for() -> None:
    async with FakeHackerNews() as hn:
        hn.fail(429, headers={"Retry-After": "30"})
        source = source_for(hn)
        with pytest.raises(SourceError) as limited:
            await poll(source, {})
    assert limited.value.retryable
    assert limited.value.wait == 30


@pytest.mark.parametrize("how", ["cut", "stall"])
async def test_an_answer_that_breaks_off_is_a_retryable_source_error(how: Break) -> None:
    async with FakeHackerNews() as hn, client_session() as session:
        hn.break_next(how)
        url = hn.base_url + "search_by_date"
        with pytest.raises(SourceError, match="the answer broke off") as broken:
            await get_json(session, url, params={"query": "kestrel"}, seconds=0.5)
    assert broken.value.retryable


def test_there_is_no_way_to_reply_on_hacker_news() -> None:
    settings = HackerNewsSourceSettings(type="hackernews", name="hn")
    source = HackerNewsSource(settings, (KESTREL,))
    assert not hasattr(source, "reply")
    assert "Hacker News has no API for posting" in (hackernews.__doc__ or "")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"queries": []}, "at least 1 item"),
        ({"queries": [" "]}, "queries must not be empty"),
        ({"poll_seconds": 0}, "greater than 0"),
        ({"base_url": "hn.algolia.com"}, "should match pattern"),
    ],
)
def test_settings_refuse_what_cannot_work(change: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        HackerNewsSourceSettings.model_validate({"type": "hackernews", "name": "hn", **change})


# --- the whole service -------------------------------------------------------------------------


async def test_the_service_stores_hn_mentions_and_resumes_after_a_restart(tmp_path: Path) -> None:
    now = int(time.time())
    async with FakeHackerNews() as hn:
        source = {"type": "hackernews", "name": "hn", "base_url": hn.base_url, "poll_seconds": 0.05}
        config = write_config(tmp_path, [source])
        hn.add(*stories(1, 3, now - 3000))
        async with running_service(config):
            await wait_for(lambda: len(stored_mentions(config)) == 3)
        hn.add(*stories(4, 150, now - 1000))  # more than a page: only a resumed poll gets all
        async with running_service(config):
            await wait_for(lambda: len(stored_mentions(config)) == 153)
    rows = {row["native_id"]: row for row in stored_mentions(config)}
    assert rows["1"]["url"] == "https://news.ycombinator.com/item?id=1"
    assert rows["1"]["brands"] == ["kestrel-mobile"]


async def test_an_answer_cut_short_is_retried_and_the_source_goes_on(tmp_path: Path) -> None:
    now = int(time.time())
    async with FakeHackerNews() as hn:
        source = {"type": "hackernews", "name": "hn", "base_url": hn.base_url, "poll_seconds": 0.05}
        config = write_config(tmp_path, [source])
        hn.add(*stories(1, 3, now - 3000))
        hn.break_next("cut", times=2)
        async with running_service(config) as service:
            await wait_for(lambda: len(stored_mentions(config)) == 3)
            assert service.sources["hn"].state == "running"  # trouble reported, then over
    assert [call.broken for call in hn.calls[:3]] == ["cut", "cut", None]
