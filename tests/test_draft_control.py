"""Decisions through the storage writer: racing clicks are applied one at a time, so exactly one
wins; an approval queues one publication; an expired draft is marked so on its message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import EventClock
from bot.config.replies import ReplySettings
from bot.drafts.control import DraftControl
from bot.drafts.model import Draft, DraftSet
from bot.drafts.planner import Reach
from storage import drafts as store
from storage.writer import Writer
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0


def no_problems(drafts: DraftSet, draft: Draft, text: str) -> list[str]:
    return [] if len(text) <= 500 else [f"is {len(text)} characters; Mastodon takes 500"]


@pytest.fixture
async def control(tmp_path: Path) -> AsyncIterator[tuple[DraftControl, Writer, EventClock]]:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle="ana")
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    clock = EventClock(T0 + 25 * MIN)
    try:
        yield (
            DraftControl(writer, clock, ReplySettings(), {"acme": "Acme"}, no_problems),
            writer,
            clock,
        )
    finally:
        writer.close()


async def rows(writer: Writer, sql: str) -> list[tuple[object, ...]]:
    return await writer.run(lambda db: [tuple(row) for row in db.execute(sql).fetchall()])


async def test_approve_and_reject_at_once_exactly_one_wins(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    approved, rejected = await asyncio.gather(
        drafts.approve(1, 1, "UANA"), drafts.reject(1, 1, "UBEN", "off tone")
    )
    assert [approved.ok, rejected.ok].count(True) == 1
    loser = rejected if approved.ok else approved
    assert loser.message.startswith("Already")
    actions = await rows(writer, "SELECT action FROM decisions WHERE draft_id = 1")
    assert sorted(a for (a,) in actions if a in ("approved", "rejected")) in (
        ["approved"],
        ["rejected"],
    )


async def test_a_burst_of_approvals_queues_one_publication(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    outcomes = await asyncio.gather(*(drafts.approve(1, 1, "UANA") for _ in range(5)))
    assert [o.ok for o in outcomes].count(True) == 1
    publications = await rows(writer, "SELECT platform, channel, payload FROM outbox "
                              "WHERE kind = 'publish'")  # fmt: skip
    assert len(publications) == 1
    platform, _, payload = publications[0]
    assert platform == "source:test"
    assert json.loads(str(payload))["card"]["key"] == "vigie-draft-1"


async def test_an_expired_draft_is_refused_and_its_message_says_so(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, clock = control
    clock.advance(T0 + 25 * MIN + timedelta(hours=25))
    outcome = await drafts.approve(1, 1, "UANA")
    assert not outcome.ok
    assert "expired" in outcome.message
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert stored.state.value == "expired"
    [(payload,)] = await rows(
        writer, "SELECT payload FROM outbox WHERE kind = 'update' AND key LIKE 'drafts-%'"
    )
    states = {d["id"]: d["state"] for d in json.loads(str(payload))["card"]["drafts"]}
    assert states[1] == "expired"


async def test_an_edit_that_breaks_the_rules_is_not_saved(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    refused = await drafts.edit(1, 1, "UBEN", "x" * 600)
    assert not refused.ok
    assert "600 characters" in refused.message
    saved = await drafts.edit(1, 1, "UBEN", "@ana Sorry! We are rebooking you now.")
    assert saved.ok
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert (stored.version, stored.edited_by) == (2, "UBEN")
