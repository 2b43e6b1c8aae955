"""Undoing an acknowledgement and merging from Slack, through the real slack-bolt app and
slack_sdk client against the fake Slack: the card's Unacknowledge button (signed, responders
only, as Acknowledge), and ``/vigie unack`` and ``/vigie merge`` answered privately."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bot.app import Service
from tests.conftest import wait_for
from tests.slack_fake import FakeSlack, block_action_body, post_signed
from tests.test_slack import (
    RESPONDER,
    STRANGER,
    card_posted,
    cards,
    click,
    context_text,
    delivered,
    events_url,
    vigie_with_slack,
)
from tests.test_slack_commands import slash


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        str(element["action_id"])
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def shown(slack: FakeSlack, card: dict[str, Any]) -> dict[str, Any]:
    message = slack.message("C1", card["ts"])
    assert message is not None
    return message


def audit(service: Service) -> list[tuple[str, str]]:
    with sqlite3.connect(service.config.storage.path) as conn:
        rows = conn.execute("SELECT action, actor FROM audit ORDER BY id").fetchall()
    return [(str(action), str(actor)) for action, actor in rows]


async def test_an_acknowledgement_clicked_by_mistake_is_undone_on_the_card(
    tmp_path: Path,
) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        assert buttons(shown(slack, card))[0] == "vigie_ack"
        assert await click(service, slack, "vigie_ack", "1", RESPONDER, card) == (200, "")
        await wait_for(lambda: "vigie_unack" in buttons(shown(slack, card)))
        assert "acknowledged by <@UOK1>" in context_text(shown(slack, card))
        assert "vigie_ack" not in buttons(shown(slack, card))  # Unacknowledge took its place
        unack = next(
            element
            for block in shown(slack, card)["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
            if element["action_id"] == "vigie_unack"
        )
        number, _, install = unack["value"].partition("::")  # the database's id after it
        assert (unack["type"], unack["text"]["text"], number) == ("button", "Unacknowledge", "1")
        assert install

        # as Acknowledge: a forged click is refused by Bolt, a stranger's by the responders check
        forged = block_action_body(
            "vigie_unack", "1", RESPONDER, "C1", card["ts"], slack.response_url("forged")
        )
        assert (await post_signed(events_url(service), forged, "not-the-secret"))[0] == 401
        assert (await click(service, slack, "vigie_unack", "1", STRANGER, card))[0] == 200
        await wait_for(lambda: bool(slack.responses))
        assert "Only Kestrel Mobile's responders" in slack.responses[0]["text"]
        assert ("unacknowledged", STRANGER) not in audit(service)

        assert (await click(service, slack, "vigie_unack", "1", RESPONDER, card))[0] == 200
        await wait_for(lambda: buttons(shown(slack, card))[:1] == ["vigie_ack"])
        assert "acknowledged by" not in context_text(shown(slack, card))
        assert ("unacknowledged", RESPONDER) in audit(service)
        assert len(slack.responses) == 1  # the card says it: no words needed

        await click(service, slack, "vigie_unack", "1", RESPONDER, card)  # a stale card
        await wait_for(lambda: len(slack.responses) == 2)
        assert "#1 is not acknowledged" in slack.responses[1]["text"]
        assert slack.responses[1]["response_type"] == "ephemeral"


async def test_unack_and_merge_as_slash_commands(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        assert "not acknowledged" in await slash(service, slack, "unack #1")
        await click(service, slack, "vigie_ack", "1", RESPONDER, card)
        await wait_for(lambda: "vigie_unack" in buttons(shown(slack, card)))
        assert await slash(service, slack, "unack #1") == "#1 unacknowledged by <@UOK1>"
        await wait_for(lambda: "vigie_ack" in buttons(shown(slack, card)))  # the card follows
        assert await slash(service, slack, "merge 1 into #1") == "#1 cannot be merged into itself"
        assert await slash(service, slack, "merge 1 into 99") == "No incident #99."
        assert (await slash(service, slack, "merge 1 99")).startswith(
            "Cannot read that: `merge ID into ID`"
        )
        helped = await slash(service, slack, "help")
        assert "*/vigie unack* ID" in helped
        assert "*/vigie merge* ID into ID" in helped
        assert json.dumps(audit(service)).count("unacknowledged") == 1
