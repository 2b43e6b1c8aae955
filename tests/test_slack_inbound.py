"""What comes from Slack (handlers/slack/inbound.py), end to end through the real slack-bolt app
and slack_sdk client against the fake Slack Web API: the bounds of the snooze menu, an answer
even when a command or a mention fails, and an ``@Vigie`` mention answered where it was asked."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import Service
from tests.conftest import wait_for
from tests.slack_fake import FakeSlack, post_signed, slash_command_body
from tests.test_slack import (
    RESPONDER,
    SECRET,
    card_posted,
    cards,
    click,
    context_text,
    delivered,
    events_url,
    vigie_with_slack,
)

WEEK_MINUTES = 7 * 24 * 60
SORRY = "Sorry, that did not work. Try again, or see the logs."
BROKEN = 9999  # an incident whose stored row cannot be read


async def test_a_snooze_of_more_than_a_week_is_refused(tmp_path: Path) -> None:
    """The snooze menu offers 30 min to 24 h; a value edited into the payload is capped at 7
    days (a forgotten snooze hides a crisis)."""
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        status, _ = await click(
            service, slack, "vigie_snooze", f"1:{WEEK_MINUTES + 1}", RESPONDER, card
        )
        assert status == 200
        await wait_for(lambda: bool(slack.responses))
        assert "does not know that button" in slack.responses[0]["text"]
        assert slack.responses[0]["response_type"] == "ephemeral"
        assert "snoozed" not in actions(service)

        status, _ = await click(
            service, slack, "vigie_snooze", f"1:{WEEK_MINUTES}", RESPONDER, card
        )
        assert status == 200
        await wait_for(lambda: "snoozed until" in context_text(shown(slack, card)))
        assert actions(service).count("snoozed") == 1
        assert len(slack.responses) == 1  # a snooze that worked shows on the card, not in words


def shown(slack: FakeSlack, card: dict[str, Any]) -> dict[str, Any]:
    """The card as it is in its channel now."""
    message = slack.message("C1", card["ts"])
    assert message is not None
    return message


def actions(service: Service) -> list[str]:
    with sqlite3.connect(service.config.storage.path) as conn:
        return [str(row[0]) for row in conn.execute("SELECT action FROM audit ORDER BY id")]


@contextmanager
def a_broken_incident(service: Service) -> Iterator[None]:
    """A stored incident row that cannot be read (written by a broken tool, say) while the block
    runs: the commands that read it fail inside, with no bad input from the person to blame.
    Removed afterwards, so the service's own summary at shutdown reads what it wrote."""
    with sqlite3.connect(service.config.storage.path, timeout=30) as conn:
        conn.execute(
            "INSERT INTO incidents (id, brand, topic, theme, status, level, risk, peak_risk, "
            "mention_count, opened_at, notified_at, updated_at, resolved_at, data) "
            "VALUES (?, 'kestrel-mobile', 'storm', '', 'resolved', 'watch', 0, 0, 0, "
            "'2020-01-01T00:00:00+00:00', '', '2020-01-01T00:00:00+00:00', "
            "'2020-01-01T00:00:00+00:00', '{\"not an incident')",
            [BROKEN],
        )
    try:
        yield
    finally:
        with sqlite3.connect(service.config.storage.path, timeout=30) as conn:
            conn.execute("DELETE FROM incidents WHERE id = ?", [BROKEN])


async def test_a_failing_command_still_gets_an_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        with (
            a_broken_incident(service),
            caplog.at_level(logging.ERROR, logger="handlers.slack.inbound"),
        ):
            body = slash_command_body(
                "/vigie", f"incident {BROKEN}", RESPONDER, "C1", slack.response_url("broken")
            )
            assert (await post_signed(events_url(service), body, SECRET))[0] == 200
            await wait_for(lambda: bool(slack.responses))
        answer = slack.responses[0]
        assert answer["text"] == SORRY
        assert answer["response_type"] == "ephemeral"
        assert any("failed" in r.getMessage() for r in caplog.records)  # the cause is logged

        body = slash_command_body("/vigie", "help", RESPONDER, "C1", slack.response_url("ok"))
        await post_signed(events_url(service), body, SECRET)
        await wait_for(lambda: len(slack.responses) == 2)
        assert "*/vigie incidents*" in slack.responses[1]["text"]  # the next one works as ever


def app_mention(text: str, event_id: str, ts: str, **event: Any) -> str:
    """An ``app_mention`` event callback, as Slack posts it to the events URL."""
    return json.dumps(
        {
            "token": "x",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1700000000,
            "event": {
                "type": "app_mention",
                "user": RESPONDER,
                "text": f"<@UBOT> {text}",
                "ts": ts,
                "channel": "C9",
                "event_ts": ts,
                **event,
            },
        }
    )


async def mention(service: Service, slack: FakeSlack, body: str) -> dict[str, Any]:
    """Post the event; Vigie's private answer to it."""
    before = len(slack.calls_to("chat.postEphemeral"))
    status, _ = await post_signed(
        events_url(service), body, SECRET, content_type="application/json"
    )
    assert status == 200
    await wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) > before)
    return slack.calls_to("chat.postEphemeral")[-1].body


async def test_a_failing_mention_still_gets_an_answer(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        with a_broken_incident(service):
            answer = await mention(
                service, slack, app_mention(f"incident {BROKEN}", "Ev1", "1700000000.000100")
            )
        assert answer["text"] == SORRY
        assert (answer["channel"], answer["user"]) == ("C9", RESPONDER)
        assert not slack.messages.get("C9")  # nothing public


async def test_a_mention_in_a_thread_is_answered_in_that_thread(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        thread = "1700000000.000100"
        reply = app_mention("help", "Ev1", "1700000042.000200", thread_ts=thread)
        answer = await mention(service, slack, reply)
        assert answer["thread_ts"] == thread
        assert "incidents" in answer["text"]
        in_channel = await mention(service, slack, app_mention("help", "Ev2", "1700000050.0003"))
        assert "thread_ts" not in in_channel  # asked in the channel, answered there


async def test_a_mention_posted_by_another_bot_is_no_command(tmp_path: Path) -> None:
    """A feed bot relaying outside text ("@Vigie silence …") must not act for anyone."""
    async with vigie_with_slack(tmp_path) as (service, slack):
        relayed = app_mention("help", "Ev1", "1700000000.0001", bot_id="B0FEED", user="U0FEED")
        status, _ = await post_signed(
            events_url(service), relayed, SECRET, content_type="application/json"
        )
        assert status == 200
        answer = await mention(service, slack, app_mention("help", "Ev2", "1700000001.0001"))
        assert answer["user"] == RESPONDER
        assert len(slack.calls_to("chat.postEphemeral")) == 1  # the bot's mention got none


async def test_a_thread_reply_also_sent_to_the_channel_is_a_command(tmp_path: Path) -> None:
    """A person's "Also send to channel" reply is a ``thread_broadcast``: still theirs."""
    async with vigie_with_slack(tmp_path) as (service, slack):
        thread = "1700000000.000100"
        broadcast = app_mention(
            "help", "Ev1", "1700000042.0002", thread_ts=thread, subtype="thread_broadcast"
        )
        answer = await mention(service, slack, broadcast)
        assert answer["user"] == RESPONDER
        assert "incidents" in answer["text"]
