"""Teams people by name: who acted is recorded by Entra object id (permissions, audit) and shown
by the Teams display name: on cards, in click answers and in command answers. Names are learnt
from activities, kept in SQLite across restarts, and inert in markdown. Real botbuilder, the
fake Bot Connector on 127.0.0.1, real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from botbuilder.schema import Activity  # type: ignore[import-untyped]

from bot.drafts.model import DraftState
from handlers.people import MAX_NAME, clean_name
from handlers.teams.people import TeamsDirectory
from handlers.teams.render import CONTENT_TYPE, card_attachment, escape
from storage.database import open_database
from storage.migrations import MIGRATIONS, current_version
from storage.people import load_names, save_name
from storage.writer import Writer
from tests.conftest import wait_for
from tests.fake_connector import (
    USER,
    FakeConnector,
    installation_activity,
    invoke_activity,
    message_activity,
    post_activity,
    submit_activity,
)
from tests.test_security import rows
from tests.test_teams import (
    RESPONDER,
    STRANGER,
    action_data,
    api,
    root_card,
    storm,
    valid,
    vigie_in_teams,
)
from tests.test_teams_render import drafts, incident, markdown_texts, of_type

ANA_ID = "a11ce000-5b1c-4f7e-9d2a-00000000a7a1"
ANA = {"id": "29:1AnaLimaTeamsId", "name": "Ana Lima", "aadObjectId": ANA_ID.upper()}
MARKDOWN_NAME = "**x** [a](http://b)"
UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"


def activity_from(sender: dict[str, Any]) -> Activity:
    """An inbound activity as botbuilder hands it to the bot."""
    return Activity().deserialize(message_activity("http://127.0.0.1:9", "help", sender=sender))


def stored_people(path: Path) -> dict[str, str]:
    db = open_database(path, read_only=True)
    try:
        return load_names(db, "teams")
    finally:
        db.close()


# --- storage and the directory ---------------------------------------------------------------


def test_the_people_table_comes_with_its_migration(tmp_path: Path) -> None:
    db = open_database(tmp_path / "vigie.db")
    try:
        assert current_version(db) == len(MIGRATIONS)
        assert "people" in db.table_names()
        save_name(db, "teams", ANA_ID, "Ana Lima")
        save_name(db, "slack", "U123", "Ann")
        save_name(db, "teams", ANA_ID, "Ana B. Lima")
        assert load_names(db, "teams") == {ANA_ID: "Ana B. Lima"}
    finally:
        db.close()


async def test_names_are_learnt_stored_when_they_change_and_known_after_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vigie.db"
    writer = Writer(path)
    try:
        people = TeamsDirectory(writer)
        assert people.name(ANA_ID) == ANA_ID  # unknown: shown as itself
        await people.learn(activity_from(ANA))
        assert people.name(ANA_ID) == "Ana Lima"
        assert people.name(ANA_ID.upper()) == "Ana Lima"
        assert stored_people(path) == {ANA_ID: "Ana Lima"}  # by the lower-cased Entra id

        with sqlite3.connect(path) as other:  # forget it behind the directory's back
            other.execute("DELETE FROM people")
        await people.learn(activity_from(ANA))  # the same name: nothing written
        assert stored_people(path) == {}
        await people.learn(activity_from({**ANA, "name": "Ana  B.\nLima"}))  # changed: written
        assert stored_people(path) == {ANA_ID: "Ana B. Lima"}
        await people.learn(activity_from({**STRANGER, "name": ""}))  # no name: nothing learnt
        assert people.name(STRANGER["aadObjectId"]) == STRANGER["aadObjectId"]
    finally:
        writer.close()

    writer = Writer(path)  # a restart
    try:
        people = TeamsDirectory(writer)
        await people.load()
        assert people.name(ANA_ID) == "Ana B. Lima"
        assert people.name(UNKNOWN) == UNKNOWN
    finally:
        writer.close()


def test_names_are_one_visible_line_and_cut() -> None:
    assert clean_name("  Ana\n\u202eLima\x00 ") == "Ana Lima"  # no bidi override, no control
    assert clean_name(None) == ""
    assert clean_name(" \u200b ") == ""
    long = clean_name("Ana " * 200)
    assert len(long) <= MAX_NAME
    assert long.endswith("…")


async def test_only_whole_known_ids_are_replaced_in_text(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "vigie.db")
    try:
        people = TeamsDirectory(writer)
        await people.learn(activity_from(ANA))
        assert (
            people.named(f"#3 was already acknowledged by {ANA_ID} 09:30")
            == "#3 was already acknowledged by Ana Lima 09:30"
        )
        assert people.named(f"{ANA_ID}: acknowledged by {ANA_ID}.") == (
            "Ana Lima: acknowledged by Ana Lima."
        )
        for text in (
            f"https://x.example/{ANA_ID}",  # part of a link
            f"{ANA_ID}-2",  # part of a longer word
            f"resolved by {UNKNOWN}",  # unknown
            "resolved by vigie",
        ):
            assert people.named(text) == text
    finally:
        writer.close()


# --- rendering ---------------------------------------------------------------------------------


def test_cards_show_names_inert_and_unknown_ids_as_themselves() -> None:
    names = {ANA_ID: "Ana Lima", RESPONDER: clean_name(MARKDOWN_NAME)}

    def name_of(user: str) -> str:
        return names.get(user, user)

    card = card_attachment(incident(acknowledged_by=ANA_ID), name_of)["content"]
    valid(card)
    assert "acknowledged by Ana Lima" in card["body"][-1]["text"]
    assert ANA_ID not in json.dumps(card)

    card = card_attachment(
        incident(status="resolved", acknowledged_by=UNKNOWN, resolved_by=RESPONDER), name_of
    )["content"]
    valid(card)
    status = card["body"][-1]["text"]
    assert f"acknowledged by {UNKNOWN}" in status
    assert f"resolved by {escape(MARKDOWN_NAME)}" in status
    assert "\\*\\*x\\*\\* \\[a\\]\\(http://b\\)" in status
    for text in markdown_texts(card):
        assert "**x**" not in text
        assert "[a](http://b)" not in text

    card = drafts([DraftState.PUBLISHED, DraftState.REJECTED])
    for draft in card["drafts"]:
        draft["decided_by"] = ANA_ID if draft["state"] == "published" else RESPONDER
    content = card_attachment(card, name_of)["content"]
    valid(content)
    lines = [b["text"] for b in of_type(content, "TextBlock")]
    assert any(line.startswith("✅ Approved by Ana Lima") for line in lines)
    assert any(line.startswith(f"❌ Rejected by {escape(MARKDOWN_NAME)}") for line in lines)
    assert not any("[a](http://b)" in line or ANA_ID in line for line in lines)


# --- end to end --------------------------------------------------------------------------------


def replies_to(teams: FakeConnector, activity: dict[str, Any]) -> list[str]:
    """The texts Vigie sent in reply to ``activity``."""
    return [
        str(c.body.get("text"))
        for c in teams.calls
        if c.status < 300 and isinstance(c.body, dict) and c.body.get("replyToId") == activity["id"]
    ]


async def ask(url: str, teams: FakeConnector, text: str, sender: dict[str, Any]) -> str:
    """Send ``@Vigie text`` as ``sender``; Vigie's answer."""
    activity = message_activity(teams.url, text, sender=sender)
    await post_activity(url, activity)
    await wait_for(lambda: bool(replies_to(teams, activity)), timeout=10)
    return replies_to(teams, activity)[0]


async def test_a_teams_click_shows_the_name_audits_the_id_and_a_restart_remembers(
    tmp_path: Path,
) -> None:
    responders = (RESPONDER, ANA_ID)
    async with vigie_in_teams(tmp_path, responders) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        data = action_data(card, "vigie.ack")

        # Ana Lima acknowledges: the refreshed card names her
        status, answer = await post_activity(
            api(service),
            invoke_activity(teams.url, "vigie.ack", data, card_activity_id=root, sender=ANA),
        )
        assert status == 200
        assert answer["type"] == CONTENT_TYPE
        valid(answer["value"])
        assert "acknowledged by Ana Lima" in answer["value"]["body"][-1]["text"]
        assert ANA_ID not in json.dumps(answer).lower()
        # ... and so does the card in the channel, as the outbox updates it
        await wait_for(
            lambda: "acknowledged by Ana Lima" in json.dumps(teams.activity(root)), timeout=20
        )
        shown = teams.activity(root)
        assert shown is not None
        assert ANA_ID not in json.dumps(shown["attachments"]).lower()

        # a second click is answered with her name
        status, again = await post_activity(
            api(service),
            invoke_activity(teams.url, "vigie.ack", data, card_activity_id=root, sender=ANA),
        )
        assert again["type"] == CONTENT_TYPE  # the card as it is now, saying why
        assert "already acknowledged by Ana Lima" in again["value"]["body"][0]["inlines"][0]["text"]
        assert ANA_ID not in json.dumps(again["value"]).lower()
        # the old clients' Action.Submit gets the same answer, in a message
        submit = submit_activity(
            teams.url, {**data, "verb": "vigie.ack"}, card_activity_id=root, sender=ANA
        )
        await post_activity(api(service), submit)
        await wait_for(lambda: bool(replies_to(teams, submit)), timeout=10)
        assert "already acknowledged by Ana Lima" in replies_to(teams, submit)[0]

        # the audit keeps her Entra object id
        acks = rows(
            config.parent / "vigie.db",
            "SELECT actor, detail FROM audit WHERE action = ?",
            "acknowledged",
        )
        assert acks == [(ANA_ID, f"by {ANA_ID}")]
        assert stored_people(config.parent / "vigie.db")[ANA_ID] == "Ana Lima"

        # someone else asks about the incident: her name, not her id
        number = data["incident"]
        told = await ask(api(service), teams, f"incident {number}", STRANGER)
        assert "Ana Lima: acknowledged by Ana Lima" in told
        assert ANA_ID not in told.lower()

    # a restart on the same SQLite file still knows her name
    async with vigie_in_teams(tmp_path, responders) as (service, teams, _, config):
        told = await ask(api(service), teams, f"incident {number}", STRANGER)
        assert "Ana Lima: acknowledged by Ana Lima" in told
        assert ANA_ID not in told.lower()

        # she renames herself to markdown: the next answers show it, inert
        renamed = {**ANA, "name": MARKDOWN_NAME}
        told = await ask(api(service), teams, f"incident {number}", renamed)
        assert f"{escape(MARKDOWN_NAME)}: acknowledged by {escape(MARKDOWN_NAME)}" in told
        assert "**x**" not in told
        assert "[a](http://b)" not in told
        status, answer = await post_activity(
            api(service),
            invoke_activity(
                teams.url, "vigie.resolve", data, card_activity_id=root, sender=renamed
            ),
        )
        assert answer["type"] == CONTENT_TYPE
        valid(answer["value"])
        line = answer["value"]["body"][-1]["text"]
        assert f"resolved by {escape(MARKDOWN_NAME)}" in line
        for text in markdown_texts(answer["value"]):
            assert "**x**" not in text
            assert "[a](http://b)" not in text
        assert stored_people(config.parent / "vigie.db")[ANA_ID] == MARKDOWN_NAME
        # Megan Bowen, who installed Vigie, was learnt from that activity
        assert stored_people(config.parent / "vigie.db")[USER["aadObjectId"]] == "Megan Bowen"
