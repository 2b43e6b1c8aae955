"""Slack end to end: the real slack-bolt AsyncApp and slack_sdk AsyncWebClient inside Vigie,
against a fake Slack Web API on 127.0.0.1, with correctly signed requests over real HTTP."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import Service
from tests.conftest import mention_record, running_service, wait_for, write_config, write_jsonl
from tests.slack_fake import (
    Call,
    FakeSlack,
    block_action_body,
    post_signed,
    signed_headers,
    slash_command_body,
    slash_command_payload,
    socket_envelope,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
RESPONDER, STRANGER = "UOK1", "UNO2"
POLICY: dict[str, Any] = {
    "group_wait": "2m",
    "targets": {
        "team": {"platform": "slack", "channel": "C1", "mention": "S0TEAM"},
        "lead": {"platform": "slack", "channel": "C2", "mention": "ULEAD"},
    },
    "levels": [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {
            "name": "alert",
            "min_risk": 30,
            "steps": [{"notify": "team"}, {"wait": "5m"}, {"escalate": {}}],
        },
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "lead"}]},
    ],
}


def storm(minutes: int = 30, per_minute: int = 3) -> list[dict[str, Any]]:
    records = []
    for n in range(minutes * per_minute):
        minute, second = divmod(n * 60 // per_minute, 60)
        records.append(
            mention_record(
                n + 1,
                f"Kestrel Mobile down again, no signal, cancelled my plan #{n}",
                created_at=f"2026-03-10T09:{minute:02d}:{second:02d}Z",
                followers=100 + n,
                url=f"https://social.example/p/{n}",
            )
        )
    return records


def slack_config(tmp_path: Path, slack: FakeSlack, **settings: Any) -> Path:
    data = write_jsonl(tmp_path / "storm.jsonl", storm())
    return write_config(
        tmp_path,
        [{"type": "replay", "name": "file", "path": str(data)}],
        incidents=POLICY,
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": slack.api_url,
                "responders": {"*": [RESPONDER]},
                **settings,
            }
        },
        delivery={"pace_seconds": 0},
    )


@asynccontextmanager
async def vigie_with_slack(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[Service, FakeSlack]]:
    async with (
        FakeSlack() as slack,
        running_service(slack_config(tmp_path, slack, **settings)) as service,
    ):
        yield service, slack


def events_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.http_port}/slack/events"


def cards(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The incident cards posted in ``channel`` (a header first), not the drafts messages that
    follow them into their threads: once both are there, counting every message with blocks
    could never see exactly one card."""
    return [
        m
        for m in slack.messages.get(channel, [])
        if m.get("blocks") and m["blocks"][0]["type"] == "header"
    ]


async def card_posted(service: Service, slack: FakeSlack, channel: str) -> None:
    """Wait for the first card in ``channel``; if it never comes, fail with what Vigie holds
    (mentions, incidents, outbox), so a rare miss says where the story stopped."""
    try:
        await wait_for(lambda: len(cards(slack, channel)) >= 1, timeout=60)
    except AssertionError:
        raise AssertionError(f"no card in {channel}; {_state(service)}") from None


def _state(service: Service) -> str:
    with sqlite3.connect(service.config.storage.path) as conn:
        mentions = conn.execute("SELECT COUNT(*), MAX(created_at) FROM mentions").fetchone()
        incidents = conn.execute("SELECT id, status, data FROM incidents").fetchall()
        outbox = conn.execute("SELECT key, state, last_error FROM outbox").fetchall()
    shown = [(i, status, json.loads(data).get("level")) for i, status, data in incidents]
    return f"mentions {mentions}, incidents {shown}, outbox {outbox}, clock {service.clock.now()}"


def context_text(message: dict[str, Any]) -> str:
    return " ".join(
        element.get("text", "")
        for block in message["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
    )


async def click(
    service: Service, slack: FakeSlack, action: str, value: str, user: str, card: dict[str, Any]
) -> tuple[int, str]:
    body = block_action_body(
        action, value, user, "C1", card["ts"], slack.response_url(f"{action}-{user}")
    )
    return await post_signed(events_url(service), body, SECRET)


async def test_an_incident_lives_in_its_channel_from_card_to_resolution(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C2")
        await delivered(service)
        card = cards(slack, "C1")[0]
        posted = slack.calls_to("chat.postMessage")[0].body
        assert posted["metadata"]["event_type"] == "vigie_notification"
        assert posted["text"]  # fallback text for notifications and screen readers
        kinds = [block["type"] for block in card["blocks"]]
        assert kinds[0] == "header"
        assert "actions" in kinds
        assert "<!subteam^S0TEAM>" in json.dumps(posted["blocks"])  # the policy's mention
        assert slack.calls_to("chat.update"), "the card is edited in place as the incident grows"
        thread = [m for m in slack.messages["C1"] if m.get("thread_ts") == card["ts"]]
        assert any("Escalated to crisis" in m["text"] for m in thread)
        assert "CRISIS" in slack.message("C1", card["ts"])["blocks"][0]["text"]["text"]

        assert await click(service, slack, "vigie_ack", "1", RESPONDER, card) == (200, "")
        await wait_for(
            lambda: "acknowledged by <@UOK1>" in context_text(slack.message("C1", card["ts"]))
        )

        status, _ = await click(service, slack, "vigie_snooze", "1:60", RESPONDER, card)
        assert status == 200
        await wait_for(lambda: "snoozed until" in context_text(slack.message("C1", card["ts"])))

        await click(service, slack, "vigie_resolve", "1", RESPONDER, card)
        await wait_for(
            lambda: "resolved by <@UOK1>" in context_text(slack.message("C1", card["ts"]))
        )
        await wait_for(
            lambda: any(
                m.get("thread_ts") == card["ts"] and m["text"].startswith("Resolved")
                for m in slack.messages["C1"]
            )
        )
        resolved_note = next(m for m in slack.messages["C1"] if m["text"].startswith("Resolved"))
        assert "<@UOK1>" not in resolved_note["text"]  # the resolver is not pinged

        await click(service, slack, "vigie_ack", "1", RESPONDER, card)
        await wait_for(lambda: bool(slack.responses))
        assert "already resolved by <@UOK1>" in slack.responses[-1]["text"]  # shown by name
        assert slack.responses[-1]["response_type"] == "ephemeral"


async def test_a_click_by_someone_not_allowed_is_refused(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        updates = len(slack.calls_to("chat.update"))
        assert (await click(service, slack, "vigie_resolve", "1", STRANGER, card))[0] == 200
        await wait_for(lambda: bool(slack.responses))
        assert "Only Kestrel Mobile's responders" in slack.responses[0]["text"]
        assert slack.responses[0]["response_type"] == "ephemeral"
        # a later click, answered once done: by then the refused one has long been decided
        await click(service, slack, "vigie_silence", "1", RESPONDER, card)
        await wait_for(lambda: len(slack.responses) == 2)
        assert "silenced brand kestrel-mobile, topic storm" in slack.responses[1]["text"]
        assert "resolved" not in context_text(slack.message("C1", card["ts"]))
        assert len(slack.calls_to("chat.update")) == updates  # nothing changed
        assert not [row for row in _outbox(service) if row["kind"] == "resolve"]
        with sqlite3.connect(service.config.storage.path) as conn:
            actions = [row[0] for row in conn.execute("SELECT action FROM audit")]
        assert "resolved" not in actions


async def test_forged_or_stale_requests_get_401(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with vigie_with_slack(tmp_path) as (service, slack):
        words = "help private-words\n2026-01-01 ERROR fake log line"
        body = slash_command_body("/vigie", words, RESPONDER, "C1", slack.response_url("x"))
        assert (await post_signed(events_url(service), body, "not-the-secret"))[0] == 401
        stale = int(time.time()) - 600
        assert (await post_signed(events_url(service), body, SECRET, timestamp=stale))[0] == 401
        assert not slack.responses
    refused = [r for r in caplog.records if "request refused" in r.getMessage()]
    assert len(refused) == 2
    assert "private-words" not in caplog.text  # the body is not logged


async def test_every_slash_subcommand_answers_privately(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        commands = {
            "mentions --since 30d": "Next: `/vigie mentions --since 20",  # fixed window
            "help": "*/vigie incidents* [open|all]",
            "": "mentions",
            "incidents all": "#1",
            "incident 1": "opened",
            "mentions kestrel-mobile --negative --since 30d": "Mentions since",
            "stats --since 30d": "negative",
            "silence author:@troll 2h spam": "silenced author",
            "silence author:@troll 500000w": "at most 90d",
            "silence brand:kestrel-mobile 5000w": "at most 90d",
            "incident 99": "No incident #99",
            "frobnicate": "Unknown command",
        }
        for number, (text, expected) in enumerate(commands.items()):
            body = slash_command_body(
                "/vigie", text, RESPONDER, "C1", slack.response_url(str(number))
            )
            status, _ = await post_signed(events_url(service), body, SECRET)
            assert status == 200
            await wait_for(lambda n=number + 1: len(slack.responses) >= n)
            answer = slack.responses[number]
            assert answer["response_type"] == "ephemeral"
            assert expected in answer["text"], (text, answer["text"])
        body = slash_command_body(
            "/vigie", "silence author:@x 1h", STRANGER, "C1", slack.response_url("s")
        )
        await post_signed(events_url(service), body, SECRET)
        await wait_for(lambda: len(slack.responses) > len(commands))
        assert "not one of the responders" in slack.responses[-1]["text"]


async def test_a_retried_event_is_handled_once(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        event = {
            "token": "x",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "Ev0001",
            "event_time": 1700000000,
            "event": {
                "type": "app_mention",
                "user": RESPONDER,
                "text": "<@UBOT> help",
                "ts": "1700000000.000100",
                "channel": "C9",
                "event_ts": "1700000000.000100",
            },
        }
        body = json.dumps(event)
        for retry in (None, "1", "2"):
            extra = (
                {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
                if retry
                else None
            )
            status, _ = await post_signed(
                events_url(service),
                body,
                SECRET,
                content_type="application/json",
                extra_headers=extra,
            )
            assert status == 200
        await slack.wait_for("chat.postEphemeral")
        # a later event, answered after the retries were: a retry handled again would be too
        later: dict[str, Any] = json.loads(body)
        later["event_id"] = "Ev0002"
        later["event"].update(text="<@UBOT> incidents", ts="1700000001.1")
        status, _ = await post_signed(
            events_url(service), json.dumps(later), SECRET, content_type="application/json"
        )
        assert status == 200

        def answers(to_later: bool) -> list[dict[str, Any]]:
            return [
                call.body
                for call in slack.calls_to("chat.postEphemeral")
                if ("Incidents (open)" in call.body["text"]) == to_later
            ]

        await wait_for(lambda: bool(answers(to_later=True)))
        assert len(answers(to_later=True)) == 1
        helped = answers(to_later=False)
        assert len(helped) == 1  # the retried event, answered once
        assert (helped[0]["channel"], helped[0]["user"]) == ("C9", RESPONDER)
        assert not slack.messages.get("C9")  # nothing public


async def test_a_429_storm_delays_but_loses_nothing(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        slack.fail("chat.postMessage", status=429, retry_after=1, times=4)
        slack.fail("chat.update", status=503, times=2)
        async with running_service(slack_config(tmp_path, slack)) as service:
            await card_posted(service, slack, "C2")
            await delivered(service)
            states = {row["state"] for row in _outbox(service)}
            assert states <= {"sent", "superseded"}
            assert [c.status for c in slack.calls_to("chat.postMessage")][:1] == [429]


async def test_socket_mode_answers_a_slash_command(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        config = slack_config(tmp_path, slack, app_token="xapp-1-test", signing_secret=None)
        async with running_service(config) as service:
            assert service.slack is not None
            payload = slash_command_payload(
                "/vigie", "help", RESPONDER, "C1", slack.response_url("sm")
            )
            envelope_id = await slack.socket_send(socket_envelope("slash_commands", payload))
            await slack.wait_for_ack(envelope_id)
            await wait_for(lambda: bool(slack.responses), timeout=10)
            assert "incidents" in slack.responses[0]["text"]
            # no way in over HTTP in Socket Mode: an unsigned click finds no door
            body = block_action_body("vigie_resolve", "1", RESPONDER, "C1", "1.2", "http://x")
            status, _ = await post_signed(events_url(service), body, "anything")
            assert status == 404


async def delivered(service: Service) -> None:
    """Wait until the outbox holds nothing undelivered."""
    await wait_for(
        lambda: not any(row["state"] in ("pending", "sending") for row in _outbox(service)),
        timeout=60,
    )


def _outbox(service: Service) -> list[dict[str, Any]]:
    with sqlite3.connect(service.config.storage.path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM outbox")]


def test_signed_headers_are_what_bolt_checks() -> None:
    from slack_sdk.signature import SignatureVerifier

    headers = signed_headers(SECRET, "a=b")
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        "a=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_slack_bot_token_in_the_environment_is_not_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The README puts the token in $SLACK_BOT_TOKEN, which Bolt also reads by itself."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    with caplog.at_level(logging.WARNING):
        AsyncApp(client=AsyncWebClient(token="xoxb-test"), signing_secret=SECRET)
    assert "will be unused" not in caplog.text


async def test_a_429_in_one_channel_does_not_hold_up_another(tmp_path: Path) -> None:
    """C1's first post is rate limited for a few seconds: C1 waits, but C2's card is edited
    right after a click on it, without waiting for C1 (a client sleeping the Retry-After
    inside the call would hold the whole delivery round, every channel with it)."""
    async with FakeSlack() as slack:
        slack.fail("chat.postMessage", status=429, retry_after=5, channel="C1")
        async with running_service(slack_config(tmp_path, slack)) as service:
            await card_posted(service, slack, "C2")
            card = cards(slack, "C2")[0]
            body = block_action_body(
                "vigie_ack", "1", RESPONDER, "C2", card["ts"], slack.response_url("ack")
            )
            assert (await post_signed(events_url(service), body, SECRET))[0] == 200
            await wait_for(lambda: bool(acknowledged_in(slack, "C2")), timeout=30)
            assert not posted_in(slack, "C1", until=acknowledged_in(slack, "C2")[0])  # C1 waits
            await card_posted(service, slack, "C1")  # and gets its card after its Retry-After
            await delivered(service)
        limited = next(call for call in slack.calls if call.status == 429)
        assert posted_in(slack, "C1")[0].time - limited.time >= 5.0


def acknowledged_in(slack: FakeSlack, channel: str) -> list[Call]:
    """The edits of ``channel``'s card that show it acknowledged."""
    return [
        call
        for call in slack.calls_to("chat.update")
        if call.body["channel"] == channel and "acknowledged by" in json.dumps(call.body["blocks"])
    ]


def posted_in(slack: FakeSlack, channel: str, until: Call | None = None) -> list[Call]:
    """The messages posted in ``channel`` (before the call ``until``)."""
    calls = (
        slack.calls[: next(i for i, c in enumerate(slack.calls) if c is until)]
        if until
        else slack.calls
    )
    return [
        call
        for call in calls
        if call.method == "chat.postMessage"
        and call.body["channel"] == channel
        and call.status == 200
    ]
