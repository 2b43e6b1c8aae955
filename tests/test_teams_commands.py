"""What someone typed to @Vigie, as the command it is: only Vigie's own ``<at>`` mention is
removed (botbuilder's ``remove_recipient_mention`` removes the bot's name wherever it is in the
text), and HTML entities Teams writes into a formatted message's text are read as characters.
Pure cases on botbuilder's own Activity, then end to end through the real CloudAdapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botbuilder.schema import Activity  # type: ignore[import-untyped]

from handlers.teams.mentions import command_text
from storage.database import open_database
from tests.fake_connector import BOT, message_activity
from tests.test_teams import vigie_in_teams
from tests.test_teams_inbound import answer_to

AT = f"<at>{BOT['name']}</at>"


def typed(text: str, *mentions: dict[str, Any]) -> Any:
    """A message as botbuilder reads it, with the mention entities Teams adds."""
    entities = [{"type": "mention", **m} for m in mentions] or [
        {"type": "mention", "mentioned": dict(BOT), "text": AT}
    ]
    return Activity().deserialize(
        {
            "type": "message",
            "text": text,
            "recipient": dict(BOT),
            "entities": [*entities, {"type": "clientInfo", "locale": "en-US"}],
        }
    )


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (
            f"{AT} silence topic:#Vigie 2h Vigie false alarm",
            "silence topic:#Vigie 2h Vigie false alarm",
        ),
        (f"{AT} silence author:@Vigie_fr 2h", "silence author:@Vigie_fr 2h"),
        (f"{AT}&nbsp;incident&nbsp;12", "incident 12"),
        (f"{AT} silence topic:&quot;R&amp;D&quot; 2h", 'silence topic:"R&D" 2h'),
        (f"{AT} silence topic:R&D&copy 2h", "silence topic:R&D&copy 2h"),  # no entity: as typed
        (f"stats {AT}", "stats"),
    ],
)
def test_only_vigie_s_own_mention_leaves_the_command(text: str, command: str) -> None:
    assert command_text(typed(text)) == command


def test_each_mention_of_vigie_removes_its_own_text_once() -> None:
    """A name with a space can come as two entities of the same id (botbuilder-js#4379);
    someone else's mention stays, as text."""
    ana = {"id": "29:ana", "name": "Ana Lima"}
    bot_named = {"id": BOT["id"], "name": "Vigie Bot"}
    activity = typed(
        "<at>Vigie</at> <at>Bot</at> silence author:@Vigie 1h <at>Ana Lima</at> asked",
        {"mentioned": bot_named, "text": "<at>Vigie</at>"},
        {"mentioned": bot_named, "text": "<at>Bot</at>"},
        {"mentioned": ana, "text": "<at>Ana Lima</at>"},
    )
    assert command_text(activity) == "silence author:@Vigie 1h <at>Ana Lima</at> asked"
    # no entity for Vigie (a personal chat): the text as typed
    assert command_text(typed("help", {"mentioned": ana, "text": "<at>Ana Lima</at>"})) == "help"


async def test_a_command_naming_vigie_silences_what_was_typed(tmp_path: Path) -> None:
    """``@Vigie silence topic:#Vigie 2h Vigie false alarm`` silences the topic "#vigie", with
    its reason whole, not "topic:#" (botbuilder removed every "Vigie")."""
    async with vigie_in_teams(tmp_path) as (service, teams, _, config):
        activity = message_activity(teams.url, "silence topic:#Vigie 2h Vigie&nbsp;false alarm")
        answer = await answer_to(service, teams, activity)
        assert "ilenced" in answer, answer
        db = open_database(config.parent / "vigie.db", read_only=True)
        try:
            rows = [json.loads(row[0]) for row in db.execute("SELECT data FROM silences")]
        finally:
            db.close()
    assert len(rows) == 1
    assert "vigie" in str(rows[0]["topic"]).lower()
    assert "Vigie false alarm" in str(rows[0]["reason"])
