"""What comes from Teams, end to end through the real CloudAdapter: channel events that must not
move a channel's cards, ``watch`` only in a team channel, people's text inert in the bot's own
answers, answers whose lines Teams shows as lines, Retry refused over an unsaved edit, and an
expired client secret reported as what it is."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botbuilder.core import TurnContext  # type: ignore[import-untyped]
from botbuilder.core.teams import TeamsActivityHandler  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from bot.app import Service
from handlers.teams.inbound import teams_route
from storage.conversations import load_reference, save_reference
from storage.database import open_database
from tests.conftest import wait_for
from tests.fake_connector import (
    APP_ID,
    BOT,
    CHANNEL,
    TEAM,
    TENANT,
    USER,
    FakeConnector,
    installation_activity,
    invoke_activity,
    message_activity,
    post_activity,
    submit_activity,
    thread_id,
)
from tests.loopback import serve_loopback
from tests.teams_auth import ExpiredSecretFactory, OpenIdServer, auth_config, bearer, sign
from tests.test_teams import (
    POLICY,
    action_data,
    api,
    input_value,
    posted_drafts,
    storm,
    vigie_in_teams,
)

THREAD = thread_id()
GROUP_CHAT = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.v2"
PERSONAL_CHAT = "a:1Xh5wXrzbV7FJqBQG8EhQW2c0ZJm7TGFHdM5kXpQk5d8nJ2f"


def channel_event(service_url: str, event: str, channel: str = CHANNEL) -> dict[str, Any]:
    """A channel event as Teams sends it (msteams-docs, "conversation events", channelRenamed):
    in the team's General channel (``conversation.id`` is the team's id), about ``channel``."""
    return {
        "type": "conversationUpdate",
        "id": f"f:{event}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": dict(USER),
        "conversation": {"isGroup": True, "conversationType": "channel", "id": TEAM},
        "recipient": dict(BOT),
        "channelData": {
            "channel": {"id": channel, "name": "incidents-renamed"},
            "team": {"id": TEAM},
            "eventType": event,
            "tenant": {"id": TENANT},
        },
    }


def chat_message(service_url: str, text: str, conversation_id: str, kind: str) -> dict[str, Any]:
    """``@Vigie text`` in a group chat (``groupChat``) or a personal chat (``personal``): no
    channel and no team in ``channelData``."""
    activity = message_activity(service_url, text, conversation_id=conversation_id)
    activity["conversation"].update(conversationType=kind, isGroup=kind == "groupChat")
    activity["channelData"] = {"tenant": {"id": TENANT}}
    return activity


def reference_of(config: Path, key: str) -> dict[str, Any] | None:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return load_reference(db, "teams", key)
    finally:
        db.close()


async def answer_to(
    service: Service, teams: FakeConnector, activity: dict[str, Any], where: str = THREAD
) -> str:
    """Send ``activity``; the text of the bot's answer in the conversation ``where`` (by
    default the channel thread the helpers' messages come from, where no card goes)."""
    before = len(teams.activities(where))
    await post_activity(api(service), activity)
    await wait_for(lambda: len(teams.activities(where)) > before)
    return str(teams.activities(where)[-1]["text"])


# --- where cards go ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event", ["channelCreated", "channelRenamed", "channelDeleted", "channelRestored"]
)
async def test_a_channel_event_leaves_the_channel_s_cards_where_they_are(
    tmp_path: Path, event: str
) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        status, _ = await post_activity(api(service), channel_event(teams.url, event))
        assert status in (200, 201)
        kept = reference_of(config, CHANNEL)
        assert kept is not None
        assert kept["conversation"]["id"] == CHANNEL
        general = reference_of(config, TEAM)  # what the event did tell: where General is
        assert general is not None
        assert general["conversation"]["id"] == TEAM
        storm(masto)
        create = (await teams.wait_for("create", timeout=30))[0]
        assert create.body["channelData"]["channel"]["id"] == CHANNEL


async def test_a_reference_spoilt_by_an_older_vigie_still_posts_in_the_channel(
    tmp_path: Path,
) -> None:
    """An earlier Vigie kept General's reference under the channel's key after a channel event;
    a target naming the channel by id posts there all the same."""
    async with vigie_in_teams(tmp_path) as (_, teams, masto, config):
        spoilt = {
            "activityId": "f:channelRenamed",
            "bot": dict(BOT),
            "channelId": "msteams",
            "conversation": {"conversationType": "channel", "id": TEAM, "isGroup": True},
            "locale": "en-US",
            "serviceUrl": teams.url,
            "user": dict(USER),
        }
        db = open_database(config.parent / "vigie.db")
        try:
            save_reference(db, "teams", CHANNEL, spoilt)
        finally:
            db.close()
        storm(masto)
        create = (await teams.wait_for("create", timeout=30))[0]
        assert create.body["channelData"]["channel"]["id"] == CHANNEL


# --- watch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conversation", "kind"), [(GROUP_CHAT, "groupChat"), (PERSONAL_CHAT, "personal")]
)
async def test_watch_is_refused_outside_a_team_channel(
    tmp_path: Path, conversation: str, kind: str
) -> None:
    """Cards start channel threads, which a chat cannot hold: binding a chat would lose them."""
    policy = {**POLICY, "targets": {"team": {"platform": "teams", "channel": "social"}}}
    async with vigie_in_teams(tmp_path, policy=policy) as (service, teams, _, config):
        chat = chat_message(teams.url, "watch social here", conversation, kind)
        answer = await answer_to(service, teams, chat, conversation)
        assert "team channel" in answer
        assert reference_of(config, "social") is None
        helped = await answer_to(
            service, teams, chat_message(teams.url, "help", conversation, kind), conversation
        )
        assert "@Vigie incidents" in helped
        assert "watch" not in helped  # not offered where it cannot work
        in_channel = await answer_to(
            service, teams, message_activity(teams.url, "watch social here")
        )
        assert "now 'social'" in in_channel
        assert CHANNEL in str((reference_of(config, "social") or {})["conversation"]["id"])


# --- the bot's own answers --------------------------------------------------------------------


async def test_what_people_typed_stays_inert_in_the_bot_s_answers(tmp_path: Path) -> None:
    """A link typed into a command must not come back as a link under Vigie's name, and a
    forged button's content (answered in the thread, for everyone) is not repeated at all."""
    async with vigie_in_teams(tmp_path) as (service, teams, _, _config):
        link = "[Re-authenticate](https://evil.example/login)"
        for typed in (f"watch {link} here", "watch **[Sign-in](evil.example)** here"):
            answer = await answer_to(service, teams, message_activity(teams.url, typed))
            assert "](" not in answer.replace("\\](", "")
            assert "**[" not in answer
        forged = submit_activity(teams.url, {"verb": link}, card_activity_id="1")
        answer = await answer_to(service, teams, forged)
        assert answer.startswith("That button is not from Vigie")
        assert "Re-authenticate" not in answer  # a forged button's content is not repeated


def single_breaks(text: str) -> list[str]:
    """The lines of ``text`` that Teams would run into the next one (a lone ``\\n``)."""
    return re.findall(r"[^\n]*(?<!\n)\n(?!\n)[^\n]*", text)


async def test_each_line_of_a_command_answer_is_a_line_in_teams(tmp_path: Path) -> None:
    """Teams' markdown joins lines one ``\\n`` separates (msteams-docs#740): lines go out with a
    blank line between them, which Teams shows as one line break."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        for command in ("help", "incidents all", "incident 1", "stats --since 7d"):
            answer = await answer_to(service, teams, message_activity(teams.url, command))
            assert "\n\n" in answer, command
            assert single_breaks(answer) == [], command
        helped = await answer_to(service, teams, message_activity(teams.url, "help"))
        assert "\n\n**@Vigie watch** NAME **here**" in helped


# --- drafts -----------------------------------------------------------------------------------


async def test_retry_with_a_changed_text_box_is_refused_until_saved(tmp_path: Path) -> None:
    """On a failed publication, Retry publishes the saved text: a fix typed in the box and not
    saved would be lost without a word, so it is refused, as Approve is."""
    async with vigie_in_teams(tmp_path, publish_attempts=1) as (service, teams, masto, _):
        drafts = await posted_drafts(service, teams, masto)
        approve = action_data(drafts["attachments"][0]["content"], "vigie.draft.approve")
        box = f"text-{approve['draft']}"

        async def click(verb: str, data: dict[str, Any]) -> Any:
            activity = invoke_activity(teams.url, verb, data, card_activity_id=drafts["id"])
            status, answer = await post_activity(api(service), activity)
            assert status == 200
            return answer

        masto.fail("/api/v1/statuses", 429, retry_after=1)
        await click("vigie.draft.approve", approve)

        def failed_card() -> dict[str, Any] | None:
            card = (teams.activity(drafts["id"]) or {})["attachments"][0]["content"]
            return card if "vigie.draft.retry" in json.dumps(card) else None

        await wait_for(lambda: failed_card() is not None, timeout=15)
        card = failed_card()
        assert card is not None
        saved = input_value(card, box)
        retry = action_data(card, "vigie.draft.retry")
        changed = await click("vigie.draft.retry", {**retry, box: saved + " Refunds for all."})
        assert changed["type"] == "application/vnd.microsoft.activity.message"
        assert "text box was changed" in changed["value"]
        assert not masto.posted
        await click("vigie.draft.retry", {**retry, box: saved})
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        assert "Refunds" not in masto.posted[0]["content"]


# --- Vigie's own credentials ------------------------------------------------------------------


class Echo(TeamsActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity("hi")


@asynccontextmanager
async def serving(route: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/api/messages", route)
    runner, root = await serve_loopback(app)
    try:
        yield f"{root}/api/messages"
    finally:
        await runner.cleanup()


async def test_an_expired_client_secret_is_logged_as_such_not_answered_401(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.teams")
    with OpenIdServer() as openid:
        async with FakeConnector() as teams:
            auth = ConfigurationBotFrameworkAuthentication(
                auth_config(APP_ID, openid.metadata_url),
                credentials_factory=ExpiredSecretFactory(APP_ID),
            )
            async with serving(teams_route(CloudAdapter(auth), Echo())) as url:
                token = sign(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
                activity = message_activity(teams.url, "help")
                status, _ = await post_activity(url, activity, bearer(token))
                forged, _ = await post_activity(url, activity, bearer(token + "x"))
    assert status == 500  # Vigie's failure, not the request's
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "AADSTS7000222" in error.getMessage()
    assert "app_password" in error.getMessage()
    assert forged == 401  # a forged request is still one
