"""The decision log (``python -m bot audit``) in the order things happened: a language model's
variants are proposed when they are added, not at the set's creation; and a refusal keeps the
text the person tried to decide on (the version shown, the text typed, the reason)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import EventClock
from bot.config.playbook import ReplyGeneratorSettings
from bot.config.replies import ReplySettings
from bot.drafts.control import DraftControl
from bot.drafts.enrich import DraftEnricher
from bot.drafts.model import Decision
from storage import drafts as store
from storage.database import open_database
from storage.writer import Writer
from tests.fake_llm import FakeLanguageModel
from tests.test_draft_control import no_problems
from tests.test_draft_enrich import VOICES, incident_with_drafts
from tests.test_incident_engine import MIN, T0

EDIT = "@ana Sorry! We are rebooking you now."
GENERATED = (
    "@ana So sorry your flight was cancelled. Send us a private message and we will sort it."
)


def log_of(tmp_path: Path) -> list[Decision]:
    """The decision log as ``audit`` lists it."""
    db = open_database(tmp_path / "vigie.db", read_only=True)
    try:
        return store.decisions(db)
    finally:
        db.close()


async def test_a_models_variants_are_logged_when_added_after_earlier_decisions(
    tmp_path: Path,
) -> None:
    set_id = incident_with_drafts(tmp_path)
    writer = Writer(tmp_path / "vigie.db")
    clock = EventClock(T0 + 25 * MIN)
    try:
        control = DraftControl(writer, clock, ReplySettings(), {"acme": "Acme"}, no_problems)
        assert (await control.edit(1, 1, "UBEN", EDIT)).ok  # a person, before the model answers
        clock.advance(T0 + 27 * MIN)
        async with FakeLanguageModel(replies=[GENERATED]) as model:
            settings = ReplyGeneratorSettings(url=model.url, model="fake", max_variants=1)
            enricher = DraftEnricher(writer, settings, VOICES, clock=clock)
            assert await enricher.enrich(set_id) == 1
        drafts = await writer.run(lambda db: store.drafts_in(db, set_id))
    finally:
        writer.close()
    log = log_of(tmp_path)
    [generated] = [d for d in log if d.detail == "generated-1 (language model)"]
    assert (generated.action, generated.at, generated.text) == ("proposed", clock.now(), GENERATED)
    assert [d.at for d in log] == sorted(d.at for d in log)  # listed by id: in time order too
    first, added = drafts[0], drafts[-1]
    assert (added.created_at, added.expires_at) == (first.created_at, first.expires_at)


@pytest.fixture
async def control(tmp_path: Path) -> AsyncIterator[DraftControl]:
    incident_with_drafts(tmp_path)
    writer = Writer(tmp_path / "vigie.db")
    settings = ReplySettings(two_person_levels=["watch", "alert", "crisis"])
    try:
        yield DraftControl(writer, EventClock(T0 + 25 * MIN), settings, {}, no_problems)
    finally:
        writer.close()


def refusals(tmp_path: Path) -> list[tuple[str, str, str]]:
    return [(d.actor, d.action, d.text) for d in log_of(tmp_path) if d.action.startswith("ref")]


async def test_a_refused_approval_keeps_the_text_shown(
    control: DraftControl, tmp_path: Path
) -> None:
    assert (await control.edit(1, 1, "UBEN", EDIT)).ok
    assert not (await control.approve(1, 2, "UBEN")).ok  # the two-person rule: v2 shown
    assert not (await control.approve(1, 1, "UANN")).ok  # v1 shown: no longer stored
    assert refusals(tmp_path) == [
        ("UBEN", "refused approve", EDIT),
        ("UANN", "refused approve", ""),
    ]


async def test_a_refused_edit_keeps_the_text_typed_and_a_refused_rejection_its_reason(
    control: DraftControl, tmp_path: Path
) -> None:
    assert (await control.edit(1, 1, "UBEN", EDIT)).ok
    assert not (await control.edit(1, 1, "UANN", "  @ana We are on it.\n")).ok  # saw v1
    assert (await control.reject(1, 2, "UANN", "off tone")).ok
    assert not (await control.reject(1, 2, "UCAT", "too  long\n")).ok  # already rejected
    assert refusals(tmp_path) == [
        ("UANN", "refused edit", "@ana We are on it."),
        ("UCAT", "refused reject", "too long"),
    ]


async def test_a_platforms_refusal_keeps_the_text_when_given(
    control: DraftControl, tmp_path: Path
) -> None:
    await control.refused(1, "UDAN", "approve", "not an approver of acme")  # as Slack, Teams do
    await control.refused(1, "UEVE", "edit", "not an approver of acme", "@ana Hello")
    assert refusals(tmp_path) == [
        ("UDAN", "refused approve", ""),
        ("UEVE", "refused edit", "@ana Hello"),
    ]
