"""Variants from a language model join a set of drafts in the background, checked like the
playbook's; a failing model or a set already decided changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.accounts import own_accounts
from bot.clock import EventClock
from bot.config.playbook import Playbook, ReplyGeneratorSettings
from bot.drafts.enrich import DraftEnricher
from bot.drafts.model import DraftState
from bot.drafts.planner import BrandVoice, Reach
from storage import drafts as store
from storage.database import open_database
from storage.writer import Writer
from tests.fake_llm import FakeLanguageModel
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0

CLOCK = EventClock(T0 + 25 * MIN)
VOICES = {"acme": BrandVoice("Acme", Playbook(), ("en", "fr"), own_accounts(["@AcmeCare"]))}


def incident_with_drafts(tmp_path: Path) -> int:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight, no refund", handle="ana")
    desk.tick(T0 + 20 * MIN)
    [drafts] = store.sets_of(desk.db, 1)
    desk.db.close()
    return drafts.id


async def enrich(tmp_path: Path, model: FakeLanguageModel, set_id: int, variants: int = 1) -> int:
    settings = ReplyGeneratorSettings(url=model.url, model="fake", max_variants=variants)
    writer = Writer(tmp_path / "vigie.db")
    try:
        return await DraftEnricher(writer, settings, VOICES, clock=CLOCK).enrich(set_id)
    finally:
        writer.close()


def read(tmp_path: Path, set_id: int) -> tuple[list[str], list[str]]:
    db = open_database(tmp_path / "vigie.db")
    try:
        variants = [d.variant for d in store.drafts_in(db, set_id)]
        updates = [
            json.loads(row[0])["card"]["drafts"][-1]["variant"]
            for row in db.execute(
                "SELECT payload FROM outbox WHERE kind = 'update' AND key LIKE 'drafts-%'"
            )
        ]
        return variants, updates
    finally:
        db.close()


async def test_a_models_variant_joins_the_set_and_its_message(tmp_path: Path) -> None:
    set_id = incident_with_drafts(tmp_path)
    reply = (
        "@ana So sorry your flight was cancelled. Send us a private message and we will sort it."
    )
    async with FakeLanguageModel(replies=[reply]) as model:
        assert await enrich(tmp_path, model, set_id) == 1
    variants, updates = read(tmp_path, set_id)
    assert variants[-1] == "generated-1"
    assert updates == ["generated-1"]  # the set's message is edited to show it


async def test_a_failing_model_or_a_decided_set_changes_nothing(tmp_path: Path) -> None:
    set_id = incident_with_drafts(tmp_path)
    async with FakeLanguageModel(status=500) as model:
        assert await enrich(tmp_path, model, set_id) == 0
    assert "generated-1" not in read(tmp_path, set_id)[0]
    db = open_database(tmp_path / "vigie.db")
    try:
        first = store.drafts_in(db, set_id)[0]
        store.save_draft(db, replace(first, state=DraftState.REJECTED))
    finally:
        db.close()
    reply = "@ana We are sorry about the cancellation; a private message will get it sorted."
    async with FakeLanguageModel(replies=[reply]) as model:
        assert await enrich(tmp_path, model, set_id) == 0  # asked, but someone decided meanwhile
    assert "generated-1" not in read(tmp_path, set_id)[0]


async def test_a_variant_may_name_the_brands_own_account_but_no_other(tmp_path: Path) -> None:
    set_id = incident_with_drafts(tmp_path)
    ours = "@ana So sorry your flight was cancelled. @AcmeCare will sort it in a private message."
    theirs = "@ana So sorry your flight was cancelled. @rival_air has seats left on a later flight."
    async with FakeLanguageModel(replies=[theirs, ours]) as model:
        assert await enrich(tmp_path, model, set_id, variants=2) == 1
    db = open_database(tmp_path / "vigie.db")
    try:
        assert store.drafts_in(db, set_id)[-1].text == ours
    finally:
        db.close()


def test_the_language_check_does_not_depend_on_which_brand_asked_first(tmp_path: Path) -> None:
    """One detector serves every brand: built with the first brand's languages (German), it
    read a short French draft of a French brand as English, and dropped it."""
    writer = Writer(tmp_path / "vigie.db")
    try:
        settings = ReplyGeneratorSettings(url="http://127.0.0.1:9/v1", model="fake")
        enricher = DraftEnricher(writer, settings, {}, clock=CLOCK)
        enricher._detect(("de",))  # a German brand's drafts were checked first
        assert enricher._detect(("fr", "en"))("Ana, merci beaucoup, ok") == "fr"
    finally:
        writer.close()
