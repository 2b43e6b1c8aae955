"""Slack people by name in new posts, through the real slack-bolt app and slack_sdk client
against the fake Slack: who acts is learnt from what Slack sends with the click or command,
and a card first posted elsewhere (after an escalation) names them in plain text, since a
``<@U…>`` there would notify them; edits keep ``<@U…>``, which notifies nobody."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.app import Service
from bot.sources.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.conftest import (
    WEBHOOK_SECRET,
    mention_record,
    running_service,
    wait_for,
    write_config,
)
from tests.slack_fake import FakeSlack, block_action_payload, post_signed, slash_command_payload
from tests.test_slack import SECRET, card_posted, cards, context_text, delivered, events_url

ANA, BEA = "UANA1", "UBEA2"
POLICY: dict[str, Any] = {
    "group_wait": "2m",
    "targets": {
        "team": {"platform": "slack", "channel": "C1", "mention": "S0TEAM"},
        "crisis": {"platform": "slack", "channel": "C2", "mention": "S0CRISIS"},
    },
    "levels": [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "crisis", "min_risk": 72, "steps": [{"notify": "crisis"}]},
    ],
}


def storm(first: int, last: int) -> list[dict[str, Any]]:
    """Mentions ``first`` to ``last`` of a storm that began ten minutes ago, three a minute."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    return [
        mention_record(
            n,
            f"Kestrel Mobile down again, no signal, cancelled my plan #{n}",
            created_at=(start + timedelta(seconds=20 * n)).isoformat(),
            followers=100 + n if n < 30 else 200_000,  # the second wave reaches far
            url=f"https://social.example/p/{n}",
        )
        for n in range(first, last)
    ]


@asynccontextmanager
async def vigie(tmp_path: Path) -> AsyncIterator[tuple[Service, FakeSlack]]:
    """Vigie fed by a webhook (the test decides when the storm grows) and posting to Slack."""
    async with FakeSlack() as slack:
        config = write_config(
            tmp_path,
            [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}],
            clock="event",  # incidents follow the mentions' time, as the test sends them
            incidents=POLICY,
            platforms={
                "slack": {
                    "bot_token": "xoxb-test",
                    "signing_secret": SECRET,
                    "api_url": slack.api_url,
                    "responders": {"*": [ANA, BEA]},
                }
            },
            delivery={"pace_seconds": 0},
        )
        async with running_service(config) as service:
            yield service, slack


async def mentions(service: Service, records: list[dict[str, Any]]) -> None:
    body = json.dumps(records).encode()
    timestamp = str(int(time.time()))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(WEBHOOK_SECRET, timestamp, body),
        "Content-Type": "application/json",
    }
    url = f"http://127.0.0.1:{service.http_port}/webhooks/inbound"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        assert r.status == 200, await r.text()


async def click(
    service: Service, slack: FakeSlack, action: str, user: dict[str, str], card: dict[str, Any]
) -> None:
    """A button clicked on ``card`` by ``user`` (the ``user`` object Slack sends with it)."""
    payload = block_action_payload(
        action, "1", user["id"], "C1", card["ts"], slack.response_url(f"{action}-{user['id']}")
    )
    payload["user"] = {**user, "team_id": "T1"}
    body = urlencode({"payload": json.dumps(payload)})
    assert await post_signed(events_url(service), body, SECRET) == (200, "")


async def escalated(service: Service, slack: FakeSlack) -> dict[str, Any]:
    """The rest of the storm: the incident reaches crisis, its card is posted in C2: the
    ``chat.postMessage`` of that card."""
    await mentions(service, storm(30, 90))
    await card_posted(service, slack, "C2")
    await delivered(service)
    posts = [c.body for c in slack.calls_to("chat.postMessage") if c.body["channel"] == "C2"]
    return posts[0]  # as posted: the fake's copy may have been edited since


async def first_card(service: Service, slack: FakeSlack) -> dict[str, Any]:
    await mentions(service, storm(0, 30))
    await card_posted(service, slack, "C1")
    await delivered(service)
    assert not cards(slack, "C2")
    return cards(slack, "C1")[0]


def stored_names(service: Service) -> dict[str, str]:
    with sqlite3.connect(service.config.storage.path) as conn:
        rows = conn.execute("SELECT id, name FROM people WHERE platform = 'slack'").fetchall()
    return {str(user): str(name) for user, name in rows}


async def test_a_card_posted_after_an_escalation_names_who_acknowledged(tmp_path: Path) -> None:
    async with vigie(tmp_path) as (service, slack):
        card = await first_card(service, slack)
        await click(
            service, slack, "vigie_ack", {"id": ANA, "username": "ana", "name": "ana"}, card
        )
        await wait_for(lambda: "acknowledged by" in context_text(slack.message("C1", card["ts"])))
        crisis = await escalated(service, slack)
        assert "acknowledged by ana" in context_text(crisis)
        assert f"<@{ANA}>" not in json.dumps(crisis)  # a new post: naming her must not ping her
        assert stored_names(service) == {ANA: "ana"}
        audit = sqlite3.connect(service.config.storage.path).execute(
            "SELECT actor FROM audit WHERE action = 'acknowledged'"
        )
        assert [row[0] for row in audit] == [ANA]  # the audit keeps the id


async def test_an_edit_still_names_people_as_slack_mentions(tmp_path: Path) -> None:
    async with vigie(tmp_path) as (service, slack):
        card = await first_card(service, slack)
        who = {"id": BEA, "username": "bea", "name": "*Bea* <!here>"}
        await click(service, slack, "vigie_ack", who, card)
        await wait_for(lambda: "acknowledged by" in context_text(slack.message("C1", card["ts"])))
        assert f"acknowledged by <@{BEA}>" in context_text(slack.message("C1", card["ts"]))
        crisis = context_text(await escalated(service, slack))
        assert "acknowledged by *\u200bBea*\u200b &lt;!here&gt;" in crisis  # inert, escaped
        assert "<!here>" not in crisis
        # the card in C1 is edited as the incident grows: the edit keeps the mention
        assert f"acknowledged by <@{BEA}>" in context_text(slack.message("C1", card["ts"]))


async def test_someone_never_named_is_shown_by_id(tmp_path: Path) -> None:
    async with vigie(tmp_path) as (service, slack):
        card = await first_card(service, slack)
        command = slash_command_payload(
            "/vigie", "help", BEA, "C1", slack.response_url("help"), user_name="bea"
        )
        assert (await post_signed(events_url(service), urlencode(command), SECRET))[0] == 200
        await wait_for(lambda: bool(slack.responses))
        await click(service, slack, "vigie_ack", {"id": ANA, "username": "", "name": ""}, card)
        await wait_for(lambda: "acknowledged by" in context_text(slack.message("C1", card["ts"])))
        crisis = context_text(await escalated(service, slack))
        assert f"acknowledged by {ANA}" in crisis  # no name sent, none stored: the id
        assert f"<@{ANA}>" not in crisis
        assert stored_names(service) == {BEA: "bea"}  # learnt from the command
