"""Incident buttons end to end through the real CloudAdapter against the fake Bot Connector: a
button names the database that posted its card (after ``vigie.db`` is started afresh an old
card's button acts on nothing, and a card posted before buttons named one still works), a
refused click answers with the card as it is now, and an error while acting from an old
client's ``Action.Submit`` is answered, as from ``Action.Execute``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.incidents.control import IncidentControl
from storage.database import open_database
from tests.conftest import wait_for
from tests.fake_connector import (
    installation_activity,
    invoke_activity,
    post_activity,
    submit_activity,
)
from tests.test_teams import CONTENT_TYPE, action_data, api, root_card, storm, vigie_in_teams
from tests.test_teams_inbound import answer_to

MESSAGE = "application/vnd.microsoft.activity.message"


def install_of(config: Path) -> str:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        row = db.execute("SELECT value FROM engine_meta WHERE name = 'install'").fetchone()
    finally:
        db.close()
    return str(row[0])


async def test_an_old_database_s_incident_button_acts_on_nothing(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        data = action_data(card, "vigie.ack")
        assert data == {"incident": 1, "install": install_of(config)}
        assert action_data(card, "vigie.silence")["install"] == data["install"]

        async def click(verb: str, data: dict[str, object]) -> dict[str, object]:
            activity = invoke_activity(teams.url, verb, data, card_activity_id=root)
            status, answer = await post_activity(api(service), activity)
            assert status == 200
            return dict(answer)

        # a card of the database before this one: its #1 was another incident
        for verb in ("vigie.ack", "vigie.resolve", "vigie.silence"):
            stale = await click(verb, {"incident": 1, "install": "0123abcd"})
            assert stale["type"] == MESSAGE
            assert "earlier Vigie database" in str(stale["value"])
        fallback = submit_activity(
            teams.url,
            {"incident": 1, "install": "0123abcd", "verb": "vigie.resolve"},
            card_activity_id=root,
        )
        assert "earlier Vigie database" in await answer_to(service, teams, fallback)
        # a card posted before buttons named a database: still acts (nothing was done above)
        acked = await click("vigie.ack", {"incident": 1})
        assert acked["type"] == CONTENT_TYPE
        assert "acknowledged by" in json.dumps(acked["value"]).lower()
        # the refreshed card's buttons name this database
        assert action_data(dict(acked["value"]), "vigie.unack")["install"] == data["install"]
        db = open_database(config.parent / "vigie.db", read_only=True)
        try:
            silences = db.execute("SELECT COUNT(*) FROM silences").fetchone()[0]
            status = db.execute("SELECT status FROM incidents WHERE id = 1").fetchone()[0]
        finally:
            db.close()
        assert silences == 0
        assert status == "acknowledged"


async def test_a_refused_click_shows_the_card_as_it_is_now(tmp_path: Path) -> None:
    """Someone clicks Acknowledge on a card acknowledged meanwhile: the answer is the card as it
    is now (Unacknowledge where Acknowledge was), saying who acknowledged it."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        data = action_data(card, "vigie.ack")
        for _ in range(2):
            activity = invoke_activity(teams.url, "vigie.ack", data, card_activity_id=root)
            status, answer = await post_activity(api(service), activity)
            assert status == 200
        assert answer["type"] == CONTENT_TYPE
        notice = answer["value"]["body"][0]["inlines"][0]["text"]
        assert "already acknowledged by Megan Bowen" in notice
        assert action_data(answer["value"], "vigie.unack")["incident"] == 1


@pytest.fixture
def failing_ack(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(self: IncidentControl, incident_id: int, user: str) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(IncidentControl, "acknowledge", fail)


@pytest.mark.usefixtures("failing_ack")
async def test_an_error_while_acting_from_an_old_client_is_answered(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        value = {**action_data(card, "vigie.ack"), "verb": "vigie.ack"}
        fallback = submit_activity(teams.url, value, card_activity_id=root)
        status, _ = await post_activity(api(service), fallback)
        assert status in (200, 201)
        answer = await answer_to(
            service, teams, submit_activity(teams.url, value, card_activity_id=root)
        )
        assert answer == "Sorry, that did not work; nothing was changed. Try again."


async def test_an_old_client_s_click_is_said_in_the_thread_and_its_card_updated_after(
    tmp_path: Path,
) -> None:
    """The README's promise for old clients: the Action.Submit click acts, is answered by a
    message in the thread, and the card itself shows the new state once the outbox updated it."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        value = {**action_data(card, "vigie.ack"), "verb": "vigie.ack"}
        said = await answer_to(
            service, teams, submit_activity(teams.url, value, card_activity_id=root)
        )
        assert "acknowledged by Megan Bowen" in said

        def shown() -> str:
            return json.dumps(teams.versions(root)[-1]["attachments"]).lower()

        await wait_for(lambda: "acknowledged by" in shown(), timeout=20)
