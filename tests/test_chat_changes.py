"""``unack ID`` and ``merge ID into ID`` as chat commands, through the real ``IncidentControl`` on
a real SQLite file: the action's own sentence as the answer, ``#12`` read as 12, and a clear
refusal for an unknown incident, another brand's, the same incident twice, one that is not
acknowledged, or someone who is not a responder."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chat_commands import MRKDWN, AnswerStyle, ChatCommands
from bot.config.incidents import IncidentPolicy
from bot.incidents.control import IncidentControl
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from bot.incidents.model import Status
from storage.incidents import SqliteJournal, get_incident
from storage.writer import Writer
from tests.test_chat_commands import FixedClock, incident
from tests.test_storage import T0

BRANDS = {"kestrel": "Kestrel Mobile", "other": "Other Air"}
PEOPLE = AnswerStyle(
    bold=MRKDWN.bold, text=MRKDWN.text, person=lambda who: f"<@{who}>", literal=MRKDWN.literal
)


async def _responders(user: str, brand: str) -> bool:
    return user != "eve"


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ChatCommands]:
    """#1 acknowledged, #2 open, #3 another brand's, #4 resolved."""
    writer = Writer(tmp_path / "vigie.db")
    opened = T0 - timedelta(minutes=30)
    stored = [
        incident(1, opened, status=Status.ACKNOWLEDGED, acknowledged_by="ann", acknowledged_at=T0),
        incident(2, opened, topic="#refundnow"),
        incident(3, opened, brand="other"),
        incident(4, opened, status=Status.RESOLVED, resolved_by="bob", resolved_at=T0),
    ]

    def save(db: Any) -> None:
        for made in stored:
            SqliteJournal(db).save_incident(made)

    await writer.run(save)
    desk = IncidentDesk(EngineSetup(IncidentPolicy(), BRANDS), event_time=True)
    clock = FixedClock(T0 + timedelta(minutes=5))
    control = IncidentControl(writer, desk, clock)
    yield ChatCommands(writer, control, BRANDS, _responders, clock)
    writer.close()


async def status_of(chat: ChatCommands, number: int) -> tuple[str, str, int | None]:
    found = await chat.writer.run(lambda db: get_incident(db, number))
    assert found is not None
    return found.status.value, found.acknowledged_by, found.merged_into


async def test_unack_undoes_an_acknowledgement(chat: ChatCommands) -> None:
    assert await chat.answer("unack #1", "U0ANN", PEOPLE) == "#1 unacknowledged by <@U0ANN>"
    assert await status_of(chat, 1) == ("open", "", None)
    assert await chat.answer("Unack 1", "U0ANN") == (
        "#1 is not acknowledged: there is nothing to undo"
    )


async def test_merge_answers_with_what_it_did(chat: ChatCommands) -> None:
    assert await chat.answer("merge #2 into #1", "ann") == "#2 merged into #1"
    assert await status_of(chat, 2) == ("merged", "", 1)
    assert await chat.answer("merge 2 INTO 1", "ann") == "#2 was merged into #1"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("unack 99", "No incident #99."),
        ("unack 2", "#2 is not acknowledged: there is nothing to undo"),
        ("unack 4", "#4 was already resolved by bob"),
        ("merge 2 into 99", "No incident #99."),
        ("merge 1 into #1", "#1 cannot be merged into itself"),
        ("merge 1 into 3", "#1 (Kestrel Mobile) and #3 (Other Air) are different brands'"),
        ("merge 4 into 1", "#4 was already resolved by bob"),
        ("unack", "`unack ID`: which incident? For example `unack 12`"),
        ("unack one", "`unack ID`: which incident?"),
        ("unack 1 2", "Cannot read that: `unack` does not take `2`"),
        ("merge 2 1", "Cannot read that: `merge ID into ID`, for example `merge 12 into 7`"),
        ("merge 2 into", "Cannot read that: `merge ID into ID`"),
        ("merge 2 into 1 now", "Cannot read that: `merge` does not take `now`"),
        ("merge x into 1", "`merge ID into ID`, for example"),
    ],
)
async def test_what_cannot_be_done_is_refused_saying_why(
    chat: ChatCommands, command: str, said: str
) -> None:
    answer = await chat.answer(command, "ann")
    assert answer.startswith(said), answer
    assert await status_of(chat, 1) == ("acknowledged", "ann", None)  # nothing changed
    assert (await status_of(chat, 2))[0] == "open"


async def test_only_responders_change_incidents(chat: ChatCommands) -> None:
    refused = "Only Kestrel Mobile's responders can do that."
    assert await chat.answer("unack 1", "eve") == refused
    assert await chat.answer("merge 2 into 1", "eve") == refused
    assert await status_of(chat, 1) == ("acknowledged", "ann", None)
    assert (await status_of(chat, 2))[0] == "open"


async def test_help_lists_unack_and_merge(chat: ChatCommands) -> None:
    helped = await chat.answer("help", "ann")
    assert "*/vigie unack* ID: undo an acknowledgement" in helped
    assert "*/vigie merge* ID into ID:" in helped


async def silences_of(chat: ChatCommands) -> list[dict[str, str]]:
    rows = await chat.writer.run(lambda db: db.execute("SELECT data FROM silences").fetchall())
    fields = ("brand", "topic", "author", "source", "reason")
    return [{name: json.loads(data)[name] for name in fields} for (data,) in rows]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (
            "silence brand:kestrel author: @troll 24h spam account",
            "`silence`: `author:` has no value; write what it matches right after the colon, "
            "without a space: `author:@someone`",
        ),
        ("silence brand: kestrel 2h", "`silence`: `brand:` has no value"),
        (
            "silence brnd:kestrel author:@troll 24h",
            "`silence`: there is no matcher `brnd:`; matchers: `brand:acme`, `topic:#recall`, "
            "`author:@someone`, `source:reddit`",
        ),
        (
            "silence brand:kestrel Brand:other 2h",
            "`silence`: `brand:` is given twice; say it once",
        ),
        (
            "silence @troll 24h",
            "`silence`: '@troll' is not a duration such as 30m, 24h, 7d or 2w; first the "
            "matchers (`brand:acme`",
        ),
        ("silence author:@troll spam 24h", "`silence`: 'spam' is not a duration"),
        ("silence 2h author:@x spam", "`silence`: first the matchers (`brand:acme`"),
    ],
)
async def test_a_silence_that_would_match_more_than_asked_is_refused(
    chat: ChatCommands, command: str, said: str
) -> None:
    answer = await chat.answer(command, "ann")
    assert answer.startswith(said), answer
    assert await silences_of(chat) == []


async def test_a_silence_reads_matchers_only_before_its_duration(chat: ChatCommands) -> None:
    said = await chat.answer("silence brand:kestrel 24h the topic:storm is noise", "ann")
    assert said.startswith("silenced brand kestrel until")
    said = await chat.answer("silence author:@troll 24h source:reddit only", "ann")
    assert said.startswith("silenced author troll until")
    assert await silences_of(chat) == [
        {
            "brand": "kestrel",
            "topic": "",
            "author": "",
            "source": "",
            "reason": "the topic:storm is noise",
        },
        {"brand": "", "topic": "", "author": "troll", "source": "", "reason": "source:reddit only"},
    ]
