"""Silence topic on Slack (the button and ``/vigie silence``): audited on the incident, with
who, what and until when, and a second click while it lasts adds no second silence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.app import Service
from tests.conftest import wait_for
from tests.slack_fake import post_signed, slash_command_body
from tests.test_slack import (
    RESPONDER,
    SECRET,
    card_posted,
    cards,
    click,
    delivered,
    events_url,
    vigie_with_slack,
)


def audit(service: Service) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(service.config.storage.path) as conn:
        query = "SELECT incident_id, actor, action, detail FROM audit ORDER BY id"
        return [tuple(row) for row in conn.execute(query)]


def silences(service: Service) -> int:
    with sqlite3.connect(service.config.storage.path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM silences").fetchone()[0])


async def test_silence_topic_is_audited_and_a_double_click_silences_once(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        await click(service, slack, "vigie_silence", "1", RESPONDER, card)
        await click(service, slack, "vigie_silence", "1", RESPONDER, card)  # a double click
        await wait_for(lambda: len(slack.responses) == 2)
        first, second = sorted(r["text"] for r in slack.responses)  # answered in any order
        assert first.startswith("already silenced brand kestrel-mobile, topic storm until ")
        assert second.startswith("silenced brand kestrel-mobile, topic storm until ")
        assert first.endswith(second.rsplit(" until ", 1)[1])  # until the first one ends
        assert silences(service) == 1
        [entry] = [row for row in audit(service) if row[2] == "silenced"]
        assert entry[:3] == (1, RESPONDER, "silenced")
        assert entry[3].startswith("brand kestrel-mobile, topic storm until ")
        assert entry[3].endswith("UTC: from incident #1")

        # the command silencing the same topic for longer is a new silence (it extends it)
        body = slash_command_body(
            "/vigie", "silence brand:kestrel-mobile topic:storm 7d", RESPONDER, "C1",
            slack.response_url("cmd"),
        )  # fmt: skip
        await post_signed(events_url(service), body, SECRET)
        await wait_for(lambda: len(slack.responses) == 3)
        assert "silenced brand kestrel-mobile, topic storm until" in slack.responses[2]["text"]
        assert "already" not in slack.responses[2]["text"]
        assert silences(service) == 2
        assert [row[2] for row in audit(service)].count("silenced") == 2
