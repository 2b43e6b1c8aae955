"""Nothing typed on a Teams drafts card is lost when its click is refused because someone else
changed the draft meanwhile: the answer is the card as it is now, with the clicker's text (or
reason) in its box, the other version shown, and buttons carrying the version now stored, so
that clicking again acts (as Slack's Edit modal keeps the text). Real CloudAdapter, fake Bot
Connector, real SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Service
from handlers.teams.actions import reason_input, text_input
from storage.database import open_database
from tests.conftest import wait_for
from tests.fake_connector import (
    USER,
    FakeConnector,
    installation_activity,
    invoke_activity,
    post_activity,
    submit_activity,
)
from tests.test_teams import (
    CONTENT_TYPE,
    RESPONDER,
    action_data,
    api,
    drafts_activity,
    input_value,
    storm,
    valid,
    vigie_in_teams,
)
from tests.test_teams_inbound import answer_to

OTHER = {
    "id": "29:other",
    "name": "Ola Nordmann",
    "aadObjectId": "11111111-2222-4333-8444-555555555555",
}
BOTH = (RESPONDER, OTHER["aadObjectId"])


class Drafts:
    """The drafts card of a running Vigie, and clicks on it as posted (an out-of-date card once
    someone saved another version)."""

    def __init__(self, service: Service, teams: FakeConnector, activity: dict[str, Any]) -> None:
        self.service, self.teams, self.activity = service, teams, activity
        self.card: dict[str, Any] = activity["attachments"][0]["content"]

    async def click(
        self, verb: str, data: dict[str, Any], sender: dict[str, Any] = USER
    ) -> dict[str, Any]:
        activity = invoke_activity(
            self.teams.url, verb, data, card_activity_id=self.activity["id"], sender=sender
        )
        status, answer = await post_activity(api(self.service), activity)
        assert status == 200
        return dict(answer)


@asynccontextmanager
async def drafts_of_two_approvers(tmp_path: Path) -> AsyncIterator[tuple[Drafts, Path]]:
    async with vigie_in_teams(tmp_path, responders=BOTH, approvers=BOTH) as (
        service,
        teams,
        masto,
        config,
    ):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await wait_for(lambda: drafts_activity(teams) is not None, timeout=30)
        activity = drafts_activity(teams)
        assert activity is not None
        yield Drafts(service, teams, activity), config


def notice_of(card: dict[str, Any]) -> str:
    return str(card["body"][0]["inlines"][0]["text"])


def edits(config: Path, draft_id: int, action: str = "edited") -> list[tuple[str, str]]:
    """Who saved (or was refused) which text, in order (the decision log)."""
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        rows = db.execute(
            "SELECT actor, text FROM decisions WHERE draft_id = ? AND action = ? ORDER BY rowid",
            [draft_id, action],
        ).fetchall()
    finally:
        db.close()
    return [(str(actor), str(text)) for actor, text in rows]


async def test_a_refused_save_edit_keeps_the_typed_text_and_saving_again_replaces_theirs(
    tmp_path: Path,
) -> None:
    async with drafts_of_two_approvers(tmp_path) as (drafts, config):
        edit = action_data(drafts.card, "vigie.draft.edit")
        box = text_input(edit["draft"])
        saved = input_value(drafts.card, box)
        theirs = saved + " Engineers are on it."
        first = await drafts.click("vigie.draft.edit", {**edit, box: theirs})
        assert first["type"] == CONTENT_TYPE
        # Ola, still on the first version's card, typed a long fix and saves it
        mine = saved + " My long careful fix, typed while Megan saved hers."
        refused = await drafts.click("vigie.draft.edit", {**edit, box: mine}, sender=OTHER)
        assert refused["type"] == CONTENT_TYPE
        card = refused["value"]
        valid(card)
        assert input_value(card, box) == mine  # the box keeps what Ola typed
        assert "Megan Bowen edited this draft after you opened it" in notice_of(card)
        assert "Save edit again replaces their version with yours" in notice_of(card)
        assert theirs in json.dumps(card, ensure_ascii=False)  # theirs, shown above the box
        again = action_data(card, "vigie.draft.edit")
        assert again["version"] == edit["version"] + 1  # the version now stored
        # saving again from the answer replaces Megan's version with Ola's
        replaced = await drafts.click("vigie.draft.edit", {**again, box: mine}, sender=OTHER)
        assert replaced["type"] == CONTENT_TYPE
        assert input_value(replaced["value"], box) == mine
        assert "edited this draft" not in json.dumps(replaced["value"])
    assert edits(config, edit["draft"]) == [(RESPONDER, theirs), (OTHER["aadObjectId"], mine)]
    # the refusal is logged with what Ola typed, not an empty text
    assert edits(config, edit["draft"], "refused edit") == [(OTHER["aadObjectId"], mine)]


async def test_a_refused_reject_keeps_the_typed_reason_and_rejecting_again_works(
    tmp_path: Path,
) -> None:
    async with drafts_of_two_approvers(tmp_path) as (drafts, _config):
        edit = action_data(drafts.card, "vigie.draft.edit")
        reject = action_data(drafts.card, "vigie.draft.reject")
        box, why = text_input(edit["draft"]), reason_input(edit["draft"])
        theirs = input_value(drafts.card, box) + " Engineers are on it."
        await drafts.click("vigie.draft.edit", {**edit, box: theirs})
        reason = "Promises a time we cannot keep"
        refused = await drafts.click("vigie.draft.reject", {**reject, why: reason}, sender=OTHER)
        assert refused["type"] == CONTENT_TYPE
        card = refused["value"]
        valid(card)
        assert input_value(card, why) == reason
        assert input_value(card, box) == theirs  # the new text, to read before rejecting it
        assert "Reject again rejects this new version" in notice_of(card)
        again = action_data(card, "vigie.draft.reject")
        rejected = await drafts.click("vigie.draft.reject", {**again, why: reason}, sender=OTHER)
        assert rejected["type"] == CONTENT_TYPE
        assert "Rejected by Ola Nordmann" in json.dumps(rejected["value"])


async def test_an_edit_of_a_draft_approved_meanwhile_shows_the_typed_text_to_copy(
    tmp_path: Path,
) -> None:
    async with drafts_of_two_approvers(tmp_path) as (drafts, config):
        edit = action_data(drafts.card, "vigie.draft.edit")
        box = text_input(edit["draft"])
        saved = input_value(drafts.card, box)
        approve = action_data(drafts.card, "vigie.draft.approve")
        approved = await drafts.click("vigie.draft.approve", {**approve, box: saved})
        assert approved["type"] == CONTENT_TYPE
        mine = saved + " A fix typed too late."
        refused = await drafts.click("vigie.draft.edit", {**edit, box: mine}, sender=OTHER)
        assert refused["type"] == CONTENT_TYPE
        valid(refused["value"])
        assert "Your text was not saved; it is below, to copy" in notice_of(refused["value"])
        assert mine in json.dumps(refused["value"], ensure_ascii=False)
    assert edits(config, edit["draft"]) == []


async def test_an_old_client_s_refused_edit_is_answered_without_the_typed_text(
    tmp_path: Path,
) -> None:
    """An Action.Submit answer is a message in the thread, for everyone: the typed text stays
    in the old client's own card, and is not posted."""
    async with drafts_of_two_approvers(tmp_path) as (drafts, _config):
        edit = action_data(drafts.card, "vigie.draft.edit")
        box = text_input(edit["draft"])
        saved = input_value(drafts.card, box)
        await drafts.click("vigie.draft.edit", {**edit, box: saved + " Engineers are on it."})
        value = {**edit, box: saved + " Not for everyone's eyes.", "verb": "vigie.draft.edit"}
        fallback = submit_activity(
            drafts.teams.url, value, card_activity_id=drafts.activity["id"], sender=OTHER
        )
        answer = await answer_to(drafts.service, drafts.teams, fallback)
        assert "edited this draft after you opened it" in answer
        assert "eyes" not in answer
