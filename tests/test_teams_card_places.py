"""An incident's Teams buttons act only in a conversation its card was posted in (the alerts
table keeps each card's thread): a click forged elsewhere, with an incident id typed into a
personal chat by someone of another organisation say, changes nothing and says why, even while
nobody is listed as a responder and tenant_id is empty (the defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.database import open_database
from tests.fake_connector import (
    CHANNEL,
    installation_activity,
    invoke_activity,
    post_activity,
    submit_activity,
)
from tests.test_teams import CONTENT_TYPE, action_data, api, root_card, storm, vigie_in_teams
from tests.test_teams_inbound import answer_to

MESSAGE = "application/vnd.microsoft.activity.message"
FOREIGN = {
    "id": "29:foreign",
    "name": "Mallory",
    "aadObjectId": "99999999-2222-4333-8444-555555555555",
}
OTHER_TENANT = "0e0e0e0e-1111-4222-8333-444444444444"
OTHER_CHANNEL = "19:ffffffffffffffffffffffffffffffff@thread.tacv2"
PERSONAL = "a:1-personal-chat-of-mallory"


def in_personal_chat(activity: dict[str, Any]) -> dict[str, Any]:
    """``activity`` as Teams sends it from a personal chat of another organisation."""
    activity["conversation"].update(
        id=PERSONAL, conversationType="personal", isGroup=False, tenantId=OTHER_TENANT
    )
    activity["channelData"] = {"tenant": {"id": OTHER_TENANT}}
    return activity


def status_of(config: Path) -> str:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return str(db.execute("SELECT status FROM incidents WHERE id = 1").fetchone()[0])
    finally:
        db.close()


async def test_a_click_forged_in_another_organisation_s_personal_chat_changes_nothing(
    tmp_path: Path,
) -> None:
    async with vigie_in_teams(tmp_path, responders=()) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        for verb in ("vigie.resolve", "vigie.ack", "vigie.snooze"):
            data = {**action_data(card, verb), "snooze_minutes": "60"}
            forged = in_personal_chat(
                invoke_activity(teams.url, verb, data, card_activity_id="x", sender=FOREIGN)
            )
            status, answer = await post_activity(api(service), forged)
            assert status == 200
            assert answer["type"] == MESSAGE
            assert "Incident #1's card was not posted in this conversation" in answer["value"]
        fallback = in_personal_chat(
            submit_activity(
                teams.url,
                {"incident": 1, "verb": "vigie.resolve"},  # no install: an older card's shape
                card_activity_id="x",
                sender=FOREIGN,
            )
        )
        said = await answer_to(service, teams, fallback, where=PERSONAL)
        assert "was not posted in this conversation" in said
        assert status_of(config) == "open"
        # from the card's own channel, the same click acts (anyone may, nobody being listed)
        data = action_data(card, "vigie.resolve")
        clicked = invoke_activity(teams.url, "vigie.resolve", data, card_activity_id=root)
        status, answer = await post_activity(api(service), clicked)
        assert answer["type"] == CONTENT_TYPE
    assert status_of(config) == "resolved"


async def test_a_click_from_a_channel_without_the_card_changes_nothing(tmp_path: Path) -> None:
    """Another channel of the same team (the incident's card went to CHANNEL only)."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        await post_activity(api(service), installation_activity(teams.url, channel=OTHER_CHANNEL))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        _, card = root_card(teams)
        data = action_data(card, "vigie.ack")
        elsewhere = invoke_activity(
            teams.url, "vigie.ack", data, card_activity_id="x", channel=OTHER_CHANNEL
        )
        status, answer = await post_activity(api(service), elsewhere)
        assert status == 200
        assert answer["type"] == MESSAGE
        assert "only in the channels its card went to" in answer["value"]
        assert CHANNEL not in answer["value"]  # where the card is stays unsaid
        assert status_of(config) == "open"
