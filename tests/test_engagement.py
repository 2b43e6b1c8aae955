"""Engagement refresh: posts of open incidents are re-read, stored, and raise their risk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from bot.engagement import EngagementRefresher
from bot.incidents.groups import STORM, GroupRisk
from bot.model import Engagement, Mention
from bot.sources.base import EngagementCut, EngagementReader, cut_short
from bot.sources.bluesky import BlueskySource
from bot.sources.polite import SourceError
from storage.engagement import mentions_to_refresh, observations_of
from storage.writer import Writer
from tests.fake_bluesky import FakeBluesky
from tests.fake_hackernews import FakeHackerNews, story
from tests.fake_mastodon import FakeMastodon
from tests.fake_reddit import FakeReddit, post
from tests.test_incident_engine import MIN, T0, Desk, policy
from tests.test_source_bluesky import reader, settings
from tests.test_source_hackernews import source_for as source_for_hn
from tests.test_source_mastodon import source_for
from tests.test_source_reddit import source_for as source_for_reddit

URI = "at://did:plc:abc/app.bsky.feed.post/3kx"


async def test_bluesky_reads_counts_from_get_posts() -> None:
    async with FakeBluesky() as fake:
        fake.posts[URI] = {
            "uri": URI,
            "repostCount": 12,
            "likeCount": 40,
            "replyCount": 3,
            "quoteCount": 2,
        }
        source = BlueskySource(settings(fake), reader())
        assert isinstance(source, EngagementReader)
        gone = "at://did:plc:abc/app.bsky.feed.post/deleted"
        counts = await source.engagement([Mention("bsky", uri, "", T0) for uri in (URI, gone)])
    assert counts == {URI: Engagement(reposts=12, likes=40, replies=3, quotes=2)}


class GrowingReader:
    """A source whose posts gain 50 reposts at each reading."""

    def __init__(self) -> None:
        self.readings = 0

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        self.readings += 1
        return {m.native_id: Engagement(reposts=50 * self.readings) for m in mentions}


class ManualClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


async def test_refreshed_posts_raise_the_incidents_risk(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    before = desk.desk.engine.groups[("acme", "storm")].last
    assert before is not None
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = ManualClock()
        clock.at = T0 + 12 * MIN
        refresher = EngagementRefresher(
            writer, desk.desk, {"test": GrowingReader()}, clock, every=60
        )
        first = await refresher.refresh()
        clock.at = T0 + 14 * MIN
        second = await refresher.refresh()
        assert second[("acme", "storm")] > first[("acme", "storm")] > 0
        tracked = await writer.run(lambda db: mentions_to_refresh(db, limit=500))
        assert len(tracked) == 30
        assert all(item.engagement.reposts == 100 for item in tracked)  # stored as current
        history = await writer.run(lambda db: observations_of(db, "test", [tracked[0].native_id]))
        assert [e.reposts for _, e in history[tracked[0].native_id]] == [50, 100]
        await writer.run(lambda db: desk.desk.tick(db, T0 + 15 * MIN))
        after = desk.desk.engine.groups[("acme", "storm")].last
        assert after is not None
        assert after.risk.parts["virality"] > before.risk.parts.get("virality", 0.0)
        assert "predicted to reach" in after.risk.explanation
    finally:
        writer.close()


def test_no_engagement_older_than_the_hour_lingers() -> None:
    group = GroupRisk(("acme", STORM), T0)
    group.note_prediction(900.0)
    assert group.close().risk.score == 0  # no negative mention in the hour: nothing to spread
    for _ in range(11):
        group.close()
    assert group.predicted_reposts == 900.0  # its bin is the hour's oldest
    group.close()
    assert group.predicted_reposts == 0.0


async def test_mastodon_reads_counts_of_each_status() -> None:
    async with FakeMastodon() as fake:
        status = fake.post("Kestrel Mobile down again", reblogs_count=7, favourites_count=30)
        source = source_for(fake)
        assert isinstance(source, EngagementReader)
        counts = await source.engagement(
            [Mention("masto", status["id"], "", T0), Mention("masto", "999999", "", T0)]
        )
    assert counts == {status["id"]: Engagement(reposts=7, likes=30, replies=0, quotes=0)}


async def test_reddit_reads_counts_from_api_info() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, 1_700_000_000, "Kestrel Mobile outage", score=250, num_comments=40))
        source = source_for_reddit(reddit)
        assert isinstance(source, EngagementReader)
        counts = await source.engagement(
            [Mention("reddit", "t3_p00001", "", T0), Mention("reddit", "t3_gone", "", T0)]
        )
    assert counts == {"t3_p00001": Engagement(reposts=250, replies=40)}  # score: its spread


async def test_hacker_news_reads_points_and_comments() -> None:
    async with FakeHackerNews() as hn:
        hn.add(story(41, 1_700_000_000, "Kestrel Mobile outage", points=320, num_comments=3))
        source = source_for_hn(hn)
        assert isinstance(source, EngagementReader)
        counts = await source.engagement([Mention("hn", "41", "", T0), Mention("hn", "7", "", T0)])
    assert counts == {"41": Engagement(reposts=320, replies=3)}  # points: its spread


async def test_a_round_cut_short_keeps_what_it_read() -> None:
    """Hacker News fails on one item: the counts read before it are not thrown away."""
    async with FakeHackerNews() as hn:
        for item in (41, 42, 43):
            hn.add(story(item, 1_700_000_000, "Kestrel Mobile outage", points=item))
        hn.erring.add("42")
        source = source_for_hn(hn)
        mentions = [Mention("hn", str(item), "", T0) for item in (41, 42, 43)]
        with pytest.raises(EngagementCut) as cut:
            await source.engagement(mentions)
    assert cut.value.counts == {"41": Engagement(reposts=41, replies=0)}


class StuckReader:
    """A source whose server fails on one post (the second it is first asked for), reading in
    the order it is given."""

    def __init__(self, gone: int = 0) -> None:
        self.stuck: str | None = None
        self.gone: set[str] = set()  # deleted posts, left out of the counts
        self.wanted_gone = gone

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        if self.stuck is None:  # after the first and the gone ones
            self.stuck = mentions[1 + self.wanted_gone].native_id
            self.gone = {m.native_id for m in mentions[1 : 1 + self.wanted_gone]}
        counts: dict[str, Engagement] = {}
        for index, mention in enumerate(mentions):
            if mention.native_id == self.stuck:
                raise cut_short(SourceError("HTTP 503"), counts, index)
            if mention.native_id not in self.gone:
                counts[mention.native_id] = Engagement(reposts=5)
        return counts


@pytest.mark.parametrize("gone", [0, 5])
async def test_a_post_that_keeps_failing_does_not_starve_the_posts_after_it(
    tmp_path: Path, gone: int
) -> None:
    """Each round started over from the same first post and broke off at the same failing one:
    the posts listed after it were never read again. Deleted posts before it (left out of the
    counts) do not make the next round start short of it."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = ManualClock()
        clock.at = T0 + 12 * MIN
        reader = StuckReader(gone)
        refresher = EngagementRefresher(writer, desk.desk, {"test": reader}, clock, every=60)
        await refresher.refresh()
        clock.at = T0 + 14 * MIN
        await refresher.refresh()
        tracked = await writer.run(lambda db: mentions_to_refresh(db, limit=500))
        ids = [item.native_id for item in tracked]
        history = await writer.run(lambda db: observations_of(db, "test", ids))
    finally:
        writer.close()
    assert len(ids) == 30
    assert set(history) == set(ids) - {reader.stuck} - reader.gone
