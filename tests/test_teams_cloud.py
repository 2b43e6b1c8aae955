"""Which cloud the bot talks to: botbuilder's real authentication, built from Vigie's settings,
asked for the credentials it would use to post (no token is fetched, nothing leaves the host)."""

from __future__ import annotations

import pytest
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticationConstants,
    ClaimsIdentity,
)

from bot.config.teams import TeamsSettings
from handlers.teams.runtime import BotFrameworkConfig

APP_ID = "00000000-0000-0000-0000-00000000b07a"


async def outbound(settings: TeamsSettings, audience: str) -> tuple[str, str]:
    """The login endpoint and scope of the credentials a reply would be posted with."""
    auth = ConfigurationBotFrameworkAuthentication(BotFrameworkConfig(settings))
    claims = ClaimsIdentity(
        {
            AuthenticationConstants.AUDIENCE_CLAIM: APP_ID,
            AuthenticationConstants.APP_ID_CLAIM: APP_ID,
        },
        True,
    )
    client = await auth.create_connector_factory(claims).create(
        "https://smba.infra.gov.teams.microsoft.us/", audience
    )
    credentials = client.config.credentials
    return str(credentials.oauth_endpoint), str(credentials.oauth_scope)


@pytest.mark.parametrize("openid", [None, "http://127.0.0.1:9/openid"])
@pytest.mark.parametrize(
    ("cloud", "login", "scope"),
    [
        ("public", "https://login.microsoftonline.com/", "https://api.botframework.com"),
        ("us-government", "https://login.microsoftonline.us/", "https://api.botframework.us"),
    ],
)
async def test_replies_log_in_to_the_configured_cloud(
    cloud: str, login: str, scope: str, openid: str | None
) -> None:
    settings = TeamsSettings(
        app_id=APP_ID,
        app_password="app-password",  # type: ignore[arg-type]
        cloud=cloud,  # type: ignore[arg-type]
        openid_metadata_url=openid,
    )
    endpoint, used_scope = await outbound(settings, scope)
    assert endpoint.startswith(login)
    assert used_scope == scope
