"""Which posts' spread counts for an incident, for how long, and how far a count projects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.engagement import EngagementRefresher, travelling
from bot.model import Engagement, Mention
from storage.engagement import Tracked, mentions_to_refresh, observations_of, record_observations
from storage.incidents import get_incident
from storage.writer import Writer
from tests.test_incident_engine import MIN, T0, Desk, policy

STORM = ("acme", "storm")
LEVELS = [
    {"name": "watch", "min_risk": 40, "steps": [{"notify": "team"}]},
    {"name": "alert", "min_risk": 45, "steps": [{"notify": "team"}]},
    {"name": "crisis", "min_risk": 60, "steps": [{"notify": "lead"}]},
]


class ViralFirst:
    """m1, the post that started it, keeps spreading; the complaints after it do not."""

    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        self.asked.append({m.native_id for m in mentions})
        return {m.native_id: Engagement(reposts=2500 * (m.native_id == "m1")) for m in mentions}


class Everyone:
    """Every post has 40 reposts."""

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        return {m.native_id: Engagement(reposts=40) for m in mentions}


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def explanation(desk: Desk, key: tuple[str, str] = STORM) -> str:
    reading = desk.desk.engine.groups[key].last
    assert reading is not None
    return reading.risk.explanation


def test_an_old_prediction_does_not_hold_a_trickling_incident_open(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(levels=LEVELS, resolve_after="6h"))
    desk.storm(T0, 30, per_minute=5, handle="someone", followers=5000)
    desk.tick(T0 + 30 * MIN)
    desk.desk.note_spread(desk.db, {STORM: 3000.0})
    at = T0 + 30 * MIN
    while at < T0 + timedelta(days=1):
        at += 20 * MIN  # one complaint every 20 minutes, as without the spread
        desk.post(at, handle="someone", followers=5000)
        desk.tick(at)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.resolved_at is not None
    assert "predicted to reach" not in explanation(desk)


def test_a_prediction_survives_a_restart_and_leaves_with_its_hour(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.desk.note_spread(desk.db, {STORM: 3000.0})
    desk.desk.note_spread(desk.db, {STORM: 12.0})  # a later, partial read
    later = desk.restarted()
    later.tick(T0 + 15 * MIN)
    assert "predicted to reach 3,000 reposts" in explanation(later)
    later.storm(T0 + 15 * MIN, 60, per_minute=1)
    later.tick(T0 + 75 * MIN)
    assert "predicted to reach" not in explanation(later)


async def test_the_viral_post_is_reread_under_a_flood_of_complaints(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20)
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        reader = ViralFirst()
        clock = FixedClock(T0 + 21 * MIN)
        refresher = EngagementRefresher(writer, desk.desk, {"test": reader}, clock)
        assert (await refresher.refresh())[STORM] > 2500

        def flood(db: object) -> None:  # 250 newer complaints than m1, within its hour
            desk.db = db  # type: ignore[assignment]
            desk.storm(T0 + 21 * MIN, 25, per_minute=10)
            desk.tick(T0 + 46 * MIN)

        await writer.run(flood)
        clock.at = T0 + 47 * MIN
        assert (await refresher.refresh())[STORM] > 2500
        assert "m1" in reader.asked[-1]
        assert len(reader.asked[-1]) == 200
        await writer.run(lambda db: desk.desk.tick(db, T0 + 50 * MIN))
        assert "predicted to reach" in explanation(desk)
    finally:
        writer.close()


async def test_a_post_held_by_two_incidents_counts_for_both(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)  # the storm's incident, then a topic splits out of it: the topic's
    desk.storm(T0 + 10 * MIN, 10, text="flight cancelled #meltdown")  # first posts are both's
    desk.tick(T0 + 25 * MIN)
    tracked = mentions_to_refresh(desk.db, 500)
    shared = [item for item in tracked if len(item.groups) > 1]
    assert shared
    assert {group for item in shared for group in item.groups} == {STORM, ("acme", "#meltdown")}
    assert len({(item.source, item.native_id) for item in tracked}) == len(tracked)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = FixedClock(T0 + 26 * MIN)
        refresher = EngagementRefresher(writer, desk.desk, {"test": Everyone()}, clock)
        predicted = await refresher.refresh()
    finally:
        writer.close()
    assert predicted[STORM] > 40
    assert predicted[("acme", "#meltdown")] > 40


def test_an_old_post_counts_only_while_it_still_gains() -> None:
    now = T0 + timedelta(days=2)
    old = Tracked("test", "m1", T0, Engagement(reposts=3000), (STORM,))
    assert not travelling(old, Engagement(reposts=3000), now)
    assert not travelling(old, Engagement(reposts=3010), now)  # a trickle
    assert travelling(old, Engagement(reposts=3100), now)
    fresh = Tracked("test", "m2", now - 30 * MIN, Engagement(), (STORM,))
    assert travelling(fresh, Engagement(), now)


def test_upvotes_are_named_as_upvotes(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.desk.engine.setup = replace(desk.desk.engine.setup, vote_sources=frozenset({"test"}))
    desk.storm(T0, 10, engagement=Engagement(reposts=50))
    desk.tick(T0 + 10 * MIN)
    assert explanation(desk).endswith("; upvoted 50 times")


async def test_upvotes_read_again_are_noted_as_seen_not_projected(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20)
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = FixedClock(T0 + 21 * MIN)
        refresher = EngagementRefresher(
            writer, desk.desk, {"test": Everyone()}, clock, vote_sources=frozenset({"test"})
        )
        assert await refresher.refresh() == {}  # a score is not a reshare to project
        await writer.run(lambda db: desk.desk.tick(db, T0 + 25 * MIN))
    finally:
        writer.close()
    said = explanation(desk)
    assert said.endswith("; upvoted 40 times")
    assert "predicted" not in said


class Odd:
    """A source whose counts are what a sloppy API returns: too big, negative, not numbers."""

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        odd = Engagement(reposts=2**70, likes=-3, replies=True, quotes="7")  # type: ignore[arg-type]
        return {m.native_id: odd for m in mentions}


async def test_refreshed_counts_are_stored_within_what_storage_keeps(tmp_path: Path) -> None:
    """One count over 2**63-1 made every refresh round fail, and spread was never noted."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20, text="flight cancelled")
    desk.tick(T0 + 25 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        refresher = EngagementRefresher(
            writer, desk.desk, {"test": Odd()}, FixedClock(T0 + 26 * MIN)
        )
        predicted = await refresher.refresh()
        row = await writer.run(
            lambda db: db.execute(
                "SELECT reposts, likes, replies, quotes FROM mentions WHERE native_id = 'm1'"
            ).fetchone()
        )
    finally:
        writer.close()
    assert tuple(row) == (2**63 - 1, 0, 1, 7)
    assert predicted[STORM] > 0


class Readings:
    """Every post read at the next count of ``counts`` (as reposts and likes) each round; the
    last one over and over."""

    def __init__(self, *counts: int) -> None:
        self.counts = counts
        self.rounds = 0

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        count = self.counts[min(self.rounds, len(self.counts) - 1)]
        self.rounds += 1
        return {m.native_id: Engagement(reposts=count, likes=count) for m in mentions}


def stored_counts(db: Database, native_id: str) -> tuple[int, ...]:
    row = db.execute(
        "SELECT reposts, likes, replies, quotes FROM mentions WHERE native_id = ?", [native_id]
    ).fetchone()
    return tuple(row)


async def test_a_count_read_as_0_does_not_bring_a_stopped_post_back(tmp_path: Path) -> None:
    """Bluesky reads a missing repostCount as 0. The 0 was made the post's current count, and
    the next right reading, compared with it, looked like 5000 new reposts: a post that had
    stopped an hour before filled the virality part again."""
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = FixedClock(T0)
        refresher = EngagementRefresher(
            writer, desk.desk, {"test": Readings(5000, 5000, 5000, 0, 5000)}, clock, limit=1
        )
        noted = []
        for hours in (0.5, 2, 2.2, 2.4, 2.6):
            clock.at = T0 + timedelta(hours=hours)
            noted.append(await refresher.refresh())
            if hours == 2.4:  # right after the 0 was read
                read = await writer.run(lambda db: stored_counts(db, "m30"))
                assert read == (5000, 5000, 0, 0)
        history = await writer.run(lambda db: observations_of(db, "test", ["m30"]))
    finally:
        writer.close()
    assert noted[0][STORM] > 5000
    assert noted[1:] == [{}, {}, {}, {}]  # stopped at +2 h, and stays stopped
    assert [e.reposts for _, e in history["m30"]] == [5000, 5000, 5000, 0, 5000]  # as read


async def test_counts_lowered_by_an_older_version_are_raised_from_the_readings(
    tmp_path: Path,
) -> None:
    """A database an older version left with a dropped count as current: the post is measured
    from the most its stored readings say, so the next right reading is no new spread."""
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        seen = {"m30": Engagement(reposts=5000, likes=80, replies=7, quotes=3)}
        at = T0 + timedelta(hours=1)
        await writer.run(partial(record_observations, source="test", at=at, counts=seen))
        lowered = "UPDATE mentions SET reposts = 0, likes = 0, replies = 0 WHERE native_id = 'm30'"
        await writer.run(lambda db: db.execute(lowered))
        tracked = await writer.run(lambda db: mentions_to_refresh(db, limit=1))
        clock = FixedClock(T0 + timedelta(hours=3))
        refresher = EngagementRefresher(writer, desk.desk, {"test": Readings(5000)}, clock, limit=1)
        again = await refresher.refresh()
    finally:
        writer.close()
    assert [(t.native_id, t.engagement) for t in tracked] == [("m30", seen["m30"])]
    assert STORM not in again


async def test_a_dip_in_the_first_hour_does_not_lower_what_is_predicted(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = FixedClock(T0 + 12 * MIN)
        refresher = EngagementRefresher(writer, desk.desk, {"test": Readings(500, 0)}, clock)
        await refresher.refresh()
        clock.at = T0 + 14 * MIN
        dipped = await refresher.refresh()
    finally:
        writer.close()
    assert dipped[STORM] > 500  # from the 500 read before, not the 0


async def test_upvotes_noted_are_a_posts_score_and_a_dip_does_not_lower_them(
    tmp_path: Path,
) -> None:
    """The score as read (not what it gained since it was heard: the mentions held 0 upvotes
    when they came in), and the most read so far when a reading drops."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20)
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    noted: list[dict[tuple[str, str], int] | None] = []
    note_spread = desk.desk.note_spread

    def noting(db: Database, **spread: Any) -> None:
        noted.append(spread.get("votes"))
        note_spread(db, **spread)

    desk.desk.note_spread = noting  # type: ignore[method-assign]
    writer = Writer(tmp_path / "vigie.db")
    try:
        clock = FixedClock(T0 + 21 * MIN)
        refresher = EngagementRefresher(
            writer, desk.desk, {"test": Readings(40, 0)}, clock, vote_sources=frozenset({"test"})
        )
        await refresher.refresh()
        clock.at = T0 + 22 * MIN
        await refresher.refresh()
    finally:
        writer.close()
    assert noted == [{STORM: 40}, {STORM: 40}]
