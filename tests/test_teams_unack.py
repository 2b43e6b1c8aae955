"""Undoing an acknowledgement and merging from Teams, end to end through the real CloudAdapter
against the fake Bot Connector: the card's Unacknowledge button (``Action.Execute`` with its
``Action.Submit`` fallback; responders only, as Acknowledge), and ``@Vigie unack`` and
``@Vigie merge`` answered in the conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

from bot.app import Service
from tests.fake_connector import (
    FakeConnector,
    installation_activity,
    invoke_activity,
    message_activity,
    post_activity,
    submit_activity,
)
from tests.test_teams import (
    STRANGER,
    action_data,
    api,
    nodes,
    root_card,
    storm,
    valid,
    vigie_in_teams,
)
from tests.test_teams_inbound import answer_to

MESSAGE = "application/vnd.microsoft.activity.message"


def verbs(card: dict[str, Any]) -> list[str]:
    return [str(n["verb"]) for n in nodes(card) if n.get("type") == "Action.Execute"]


async def invoke(
    service: Service, teams: FakeConnector, root: str, verb: str, **sender: Any
) -> dict[str, Any]:
    activity = invoke_activity(
        teams.url, verb, {"incident": 1}, card_activity_id=root, sender=sender or None
    )
    status, answer = await post_activity(api(service), activity)
    assert status == 200
    assert isinstance(answer, dict)
    return answer


async def test_an_acknowledgement_clicked_by_mistake_is_undone_on_the_card(
    tmp_path: Path,
) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        assert verbs(card)[0] == "vigie.ack"

        acked = await invoke(service, teams, root, "vigie.ack")
        assert verbs(acked["value"])[0] == "vigie.unack"  # where Acknowledge was
        assert "vigie.ack" not in verbs(acked["value"])
        assert action_data(acked["value"], "vigie.unack") == {"incident": 1, "install": ANY}
        valid(acked["value"])

        refused = await invoke(service, teams, root, "vigie.unack", **STRANGER)
        assert refused["type"] == MESSAGE
        assert "responders" in refused["value"]

        undone = await invoke(service, teams, root, "vigie.unack")
        assert verbs(undone["value"])[0] == "vigie.ack"
        assert "acknowledged by" not in json.dumps(undone["value"]).lower()
        valid(undone["value"])

        # an old client's Action.Submit fallback of the same button, on a card now stale
        fallback = submit_activity(
            teams.url, {"incident": 1, "verb": "vigie.unack"}, card_activity_id=root
        )
        said = await answer_to(service, teams, fallback)
        assert "#1 is not acknowledged" in said


async def test_unack_and_merge_as_bot_commands(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, _ = root_card(teams)
        await invoke(service, teams, root, "vigie.ack")

        async def command(text: str) -> str:
            return await answer_to(service, teams, message_activity(teams.url, text))

        assert await command("unack #1") == "\\#1 unacknowledged by Megan Bowen"  # markdown
        assert "not acknowledged" in await command("unack 1")
        assert await command("merge 1 into 1") == "\\#1 cannot be merged into itself"
        assert await command("merge #1 into #99") == "No incident #99."
        helped = await command("help")
        assert "**@Vigie unack** ID" in helped
        assert "**@Vigie merge** ID into ID" in helped
