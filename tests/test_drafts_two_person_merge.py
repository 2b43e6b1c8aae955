"""The two-person rule after a merge: a merged incident keeps its own (lower) level and its
drafts stay open under it (the planner drafts nothing new for their posts), so they are judged
at the level of the incident they went into, down a chain of merges too: its editor alone may
not approve a draft that is now part of a crisis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import EventClock
from bot.config.replies import ReplySettings
from bot.drafts.control import DraftControl
from bot.drafts.planner import Reach
from bot.incidents import actions
from storage import drafts as store
from storage.incidents import get_incident
from storage.writer import Writer
from tests.test_draft_control import no_problems, rows
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0, Desk, policy

LEVELS = [
    {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
    {"name": "crisis", "min_risk": 69, "steps": [{"notify": "team"}]},
]
TWO_PERSON = "Two-person rule: you edited this draft, so someone else must approve it."


def three_incidents(tmp_path: Path) -> Desk:
    """#1 (#acmefail, watch) with drafts, #2 (the storm, crisis), #3 (#acmebags, watch)."""
    desk = planned_desk(
        tmp_path, Reach("mastodon", 500, True), policy(levels=LEVELS), max_mentions=1
    )
    for minute in range(25):
        at = T0 + minute * MIN
        desk.post(at, 2, text="Acme cancelled my flight", handle=f"u{minute}", followers=minute)
        big = {"handle": f"big{minute}", "followers": 10_000 + minute}
        if minute < 12:
            desk.post(at, 1, text="Acme cancelled my flight #acmefail", **big)
        else:
            desk.post(at, 1, text="Acme lost my bag #acmebags", **big)
        desk.tick(at + MIN / 2)
    levels = {n: getattr(get_incident(desk.db, n), "level_name", None) for n in (1, 2, 3)}
    assert levels == {1: "watch", 2: "crisis", 3: "watch"}
    assert [d.incident_id for d in store.drafts_in(desk.db, 1)] == [1, 1, 1]
    return desk


@pytest.fixture
async def after(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[DraftControl, Writer]]:
    """Draft 1 (of #1) after the merges ``request.param`` ((source, target) pairs)."""
    desk = three_incidents(tmp_path)
    for number, (source, target) in enumerate(request.param):
        assert desk.act(actions.merge, source, target, "ann", T0 + (26 + number) * MIN).ok
    desk.tick(T0 + 29 * MIN)
    assert store.get_draft(desk.db, 1) is not None  # still open, under #1: nothing new drafted
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    settings = ReplySettings(two_person_levels=["crisis"])
    control = DraftControl(writer, EventClock(T0 + 30 * MIN), settings, {}, no_problems)
    try:
        yield control, writer
    finally:
        writer.close()


@pytest.mark.parametrize(
    "after",
    [[(1, 2)], [(1, 3), (3, 2)], [(2, 1)], [(2, 3), (3, 1)]],
    ids=["merged", "chain", "crisis-merged-in", "crisis-chain-in"],
    indirect=True,
)
async def test_an_editor_cannot_approve_alone_a_draft_merged_into_a_crisis(
    after: tuple[DraftControl, Writer],
) -> None:
    control, writer = after
    assert (await control.edit(1, 1, "UBEN", "@big11 Sorry, we are rebooking you.")).ok
    refused = await control.approve(1, 2, "UBEN")
    assert (refused.ok, refused.message) == (False, TWO_PERSON)
    assert await rows(writer, "SELECT id FROM outbox WHERE kind = 'publish'") == []
    assert (await control.approve(1, 2, "UANN")).ok  # someone else may


@pytest.mark.parametrize("after", [[], [(1, 3)]], ids=["alone", "merged-low"], indirect=True)
async def test_a_draft_never_part_of_a_crisis_is_approved_by_its_editor(
    after: tuple[DraftControl, Writer],
) -> None:
    control, _ = after
    assert (await control.edit(1, 1, "UBEN", "@big11 Sorry, we are rebooking you.")).ok
    assert (await control.approve(1, 2, "UBEN")).ok
