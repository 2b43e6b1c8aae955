"""Teams wired up: botbuilder's authentication and adapter, the bot answering clicks and
commands, and the platform posting cards (``bot.app.build`` holds the result)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import CallerIdConstants  # type: ignore[import-untyped]
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticationConstants,
    GovernmentConstants,
)

from bot.chat_commands import ChatCommands
from bot.clock import Clock
from bot.config.incidents import Target
from bot.config.teams import TeamsSettings
from bot.drafts.control import DraftControl
from bot.incidents.control import IncidentControl
from bot.incidents.desk import IncidentDesk
from handlers.stamped import StampedPlatform
from handlers.teams.credentials import KeptCredentials
from handlers.teams.inbound import TeamsPeople, VigieTeamsBot
from handlers.teams.people import TeamsDirectory
from handlers.teams.platform import TeamsPlatform
from storage.conversations import reference_for
from storage.writer import Writer

logger = logging.getLogger(__name__)

TENANT_EMPTY = (
    "platforms.teams.tenant_id is empty: people of any Microsoft 365 organisation that installs "
    "the app can query incidents; set it to your directory id"
)
TENANT_OPEN = (
    "platforms.teams.tenant_id and responders are empty: people of any Microsoft 365 "
    "organisation that installs the app can query incidents, act on incidents by command "
    "(silence, unack, merge) from any chat with Vigie, press the buttons of a card in a channel "
    "they are in (a shared channel), and take a Teams target's channel name nobody has watched "
    "yet (@Vigie watch NAME here), which sends its cards, buttons included, to their own "
    "channel; set tenant_id to your directory id"
)
NO_APP_ID = (
    "platforms.teams.app_id is empty: Teams requests are not authenticated; only for a local "
    "Bot Framework Emulator"
)


@dataclass
class TeamsRuntime:
    platform: StampedPlatform
    adapter: Any
    bot: VigieTeamsBot


class BotFrameworkConfig:
    """What botbuilder's ConfigurationBotFrameworkAuthentication reads, by attribute."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.APP_ID = settings.app_id
        self.APP_PASSWORD = (
            settings.app_password.get_secret_value() if settings.app_password else ""
        )
        self.APP_TENANTID = settings.tenant_id
        self.APP_TYPE = settings.app_type
        government = settings.cloud == "us-government"
        if government:
            self.CHANNEL_SERVICE = GovernmentConstants.CHANNEL_SERVICE
        if settings.openid_metadata_url:
            # any of these switches botbuilder to its "parameterized" cloud, which takes every
            # value from here: the cloud's own, but for where the signing keys are described
            cloud = GovernmentConstants if government else AuthenticationConstants
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.openid_metadata_url
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = settings.openid_metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = cloud.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = cloud.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = cloud.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            self.OAUTH_URL = GovernmentConstants.OAUTH_URL_GOV if government else cloud.OAUTH_URL
            self.CALLER_ID = (
                CallerIdConstants.us_gov_channel
                if government
                else CallerIdConstants.public_azure_channel
            )


def build_teams(
    settings: TeamsSettings,
    writer: Writer,
    desk: IncidentDesk,
    clock: Clock,
    names: dict[str, str],
    drafts: DraftControl,
    targets: Iterable[Target] = (),
    credentials: Any = None,
    own: Mapping[str, frozenset[str]] | None = None,
) -> TeamsRuntime:
    config = BotFrameworkConfig(settings)
    inner = credentials or ConfigurationServiceClientCredentialFactory(config)
    auth = ConfigurationBotFrameworkAuthentication(
        config, credentials_factory=KeptCredentials(inner)
    )
    adapter = CloudAdapter(auth)
    control = IncidentControl(writer, desk, clock)
    responders = TeamsPeople(settings.responders, open_when_empty=True)
    approvers = TeamsPeople(settings.approvers, open_when_empty=False)
    open_to_all = not any(settings.responders.values())
    if open_to_all:
        logger.warning(
            "platforms.teams.responders is empty: anyone who sees a card may acknowledge, "
            "snooze, resolve or silence"
        )
    if not settings.app_id:
        logger.error(NO_APP_ID)
    if settings.app_id and not settings.tenant_id:
        logger.warning(TENANT_OPEN if open_to_all else TENANT_EMPTY)
    commands = ChatCommands(writer, control, names, responders.may_act, clock, "@Vigie", own)
    people = TeamsDirectory(writer)  # display names; ids stay what is checked and audited
    watchable = [t.channel for t in targets if t.platform == "teams" and ":" not in t.channel]
    bot = VigieTeamsBot(
        writer,
        control,
        drafts,
        commands,
        responders,
        approvers,
        names,
        people,
        watchable,
        tenant=settings.tenant_id,
    )

    async def reference(channel: str) -> dict[str, Any] | None:
        return await writer.run(lambda db: reference_for(db, "teams", channel))

    platform = TeamsPlatform(adapter, settings.app_id, reference, people)
    return TeamsRuntime(StampedPlatform(platform, drafts.install), adapter, bot)
