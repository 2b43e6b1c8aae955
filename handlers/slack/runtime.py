"""Slack wired up: the Web API client, the Bolt app answering clicks and commands, and Socket
Mode when an app-level token is set (``bot.app.build`` holds the result)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.chat_commands import ChatCommands
from bot.clock import Clock
from bot.config.slack import SlackSettings
from bot.drafts.control import DraftControl
from bot.incidents.control import IncidentControl
from bot.incidents.desk import IncidentDesk
from handlers.slack.draft_actions import SlackDraftActions
from handlers.slack.inbound import build_slack_app
from handlers.slack.people import SlackDirectory
from handlers.slack.platform import SlackPlatform, make_client
from handlers.slack.responders import SlackResponders
from handlers.stamped import StampedPlatform
from storage.writer import Writer

logger = logging.getLogger(__name__)


@dataclass
class SlackRuntime:
    platform: StampedPlatform
    app: AsyncApp
    socket: AsyncSocketModeHandler | None


def build_slack(
    settings: SlackSettings,
    writer: Writer,
    desk: IncidentDesk,
    clock: Clock,
    names: dict[str, str],
    drafts: DraftControl,
    own: Mapping[str, frozenset[str]] | None = None,
) -> SlackRuntime:
    client = make_client(settings.bot_token.get_secret_value(), settings.api_url)
    control = IncidentControl(writer, desk, clock)
    responders = SlackResponders(settings.responders, client)
    if responders.open_to_all:
        logger.warning(
            "platforms.slack.responders is empty: anyone who sees a card may acknowledge, "
            "snooze, resolve or silence"
        )
    commands = ChatCommands(
        writer, control, names, responders.may_act_or_raise, clock, settings.command, own
    )
    approvers = SlackResponders(settings.approvers, client, open_when_empty=False)
    if not any(settings.approvers.values()):
        logger.warning(
            "platforms.slack.approvers is empty: reply drafts are shown, but nobody can approve "
            "them until approvers are set per brand"
        )
    draft_actions = SlackDraftActions(drafts, approvers, names)
    people = SlackDirectory(writer)  # names for new posts; ids stay what is checked and audited
    app = build_slack_app(
        settings,
        client,
        control,
        commands,
        responders,
        names,
        draft_actions,
        drafts.from_elsewhere,
        people,
    )
    socket = (
        AsyncSocketModeHandler(app, settings.app_token.get_secret_value())
        if settings.app_token is not None
        else None
    )
    platform = SlackPlatform(client, people=people)
    return SlackRuntime(StampedPlatform(platform, drafts.install), app, socket)
