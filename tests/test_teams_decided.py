"""Once a Teams click's decision is made, a failure to render the card answering it does not
say "nothing was changed": the click is answered with the decision's own message, and the
rendering error is logged. Real CloudAdapter, fake Bot Connector, real SQLite; only the
renderer of the click's answer is made to fail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import handlers.teams.inbound
from handlers.teams.actions import text_input
from handlers.teams.inbound import FAILED
from handlers.teams.render import InvalidCard
from storage.database import open_database
from tests.conftest import wait_for
from tests.fake_connector import installation_activity, invoke_activity, post_activity
from tests.test_teams import (
    action_data,
    api,
    input_value,
    posted_drafts,
    root_card,
    storm,
    vigie_in_teams,
)

MESSAGE = "application/vnd.microsoft.activity.message"


def unrenderable(*args: Any, **kwargs: Any) -> dict[str, Any]:
    raise InvalidCard("card is 99,999 bytes even cut to the minimum")


def stored(config: Path, query: str) -> list[tuple[Any, ...]]:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return [tuple(row) for row in db.execute(query).fetchall()]
    finally:
        db.close()


async def test_an_approval_whose_card_cannot_be_rendered_says_it_was_approved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        drafts = await posted_drafts(service, teams, masto)
        card = drafts["attachments"][0]["content"]
        approve = action_data(card, "vigie.draft.approve")
        box = text_input(approve["draft"])
        monkeypatch.setattr(handlers.teams.inbound, "drafts_adaptive_card", unrenderable)
        click = invoke_activity(
            teams.url,
            "vigie.draft.approve",
            {**approve, box: input_value(card, box)},
            card_activity_id=drafts["id"],
        )
        status, answer = await post_activity(api(service), click)
        assert status == 200
        assert answer["type"] == MESSAGE
        assert answer["value"] != FAILED
        assert "nothing was changed" not in answer["value"]
        assert "approved" in answer["value"].lower()
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
    approvals = stored(config, "SELECT actor FROM decisions WHERE action = 'approved'")
    assert len(approvals) == 1
    assert "could not be made" in caplog.text


async def test_an_acknowledgement_whose_card_cannot_be_rendered_says_it_was_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        monkeypatch.setattr(handlers.teams.inbound, "incident_adaptive_card", unrenderable)
        click = invoke_activity(
            teams.url, "vigie.ack", action_data(card, "vigie.ack"), card_activity_id=root
        )
        status, answer = await post_activity(api(service), click)
        assert status == 200
        assert answer["type"] == MESSAGE
        assert answer["value"] != FAILED
        assert "acknowledged" in answer["value"].lower()
    assert stored(config, "SELECT status FROM incidents WHERE id = 1") == [("acknowledged",)]
    assert "could not be made" in caplog.text
