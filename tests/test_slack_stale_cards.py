"""Incident buttons name the database that posted their card: after ``vigie.db`` is started
afresh (as the README asks after the demo), incident numbers start again at 1, and an old card's
button must not act on the new database's incident with the same number."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.app import Service
from tests.conftest import wait_for
from tests.test_slack import RESPONDER, card_posted, cards, click, delivered, vigie_with_slack


def values(card: dict[str, Any], action: str) -> list[str]:
    """The values a card's button (or each option of its menu) sends."""
    found = []
    for block in card["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("action_id") == action:
                found += [element.get("value")] if "value" in element else []
                found += [option["value"] for option in element.get("options", [])]
    return found


def audited(service: Service) -> list[str]:
    with sqlite3.connect(service.config.storage.path) as conn:
        return [str(row[0]) for row in conn.execute("SELECT action FROM audit ORDER BY id")]


async def test_an_old_databases_card_acts_on_nothing_in_a_fresh_one(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    async with vigie_with_slack(tmp_path / "old") as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        old = cards(slack, "C1")[0]
    resolve, snooze = values(old, "vigie_resolve")[0], values(old, "vigie_snooze")[0]
    assert resolve.split(":")[0] == "1"  # incident #1
    assert snooze.split(":")[:2] == ["1", "30"]  # incident #1, 30 min

    async with vigie_with_slack(tmp_path / "new") as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        new = cards(slack, "C1")[0]
        assert values(new, "vigie_resolve")[0] != resolve  # another database: another id
        for action, value in (("vigie_resolve", resolve), ("vigie_snooze", snooze)):
            assert (await click(service, slack, action, value, RESPONDER, old))[0] == 200
        await wait_for(lambda: len(slack.responses) == 2)
        for answer in slack.responses:
            assert "earlier Vigie database" in answer["text"]
            assert answer["response_type"] == "ephemeral"
        assert not {"resolved", "snoozed"} & set(audited(service))

        # the fresh database's own card still works, and so does a card posted before buttons
        # carried the database's id ("1")
        await click(service, slack, "vigie_snooze", values(new, "vigie_snooze")[0], RESPONDER, new)
        await wait_for(lambda: "snoozed" in audited(service))
        await click(service, slack, "vigie_resolve", "1", RESPONDER, new)
        await wait_for(lambda: "resolved" in audited(service))
