"""The ``platforms.slack`` section: tokens, where the Slack API is, the command, who may act."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_PRINCIPAL = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: SecretStr = Field(description="Bot token (xoxb-…); use ${SLACK_BOT_TOKEN}.")
    signing_secret: SecretStr | None = Field(
        None, description="Verifies requests in HTTP mode; use ${SLACK_SIGNING_SECRET}."
    )
    app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-…): Socket Mode, no public URL needed."
    )
    api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    command: str = Field("/vigie", pattern=r"^/[a-z0-9_-]{1,31}$", description="Slash command.")
    responders: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Who may act on incidents, per brand slug ('*' for all brands): user ids "
        "(U…, W…) or user group ids (S…).",
    )

    approvers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Who may approve, edit or reject reply drafts, per brand slug ('*' for all "
        "brands): user ids or user group ids. Nobody may approve a brand's drafts until set.",
    )

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, token: SecretStr) -> SecretStr:
        if not token.get_secret_value().startswith("xoxb-"):
            raise ValueError("the bot token starts with xoxb- (OAuth & Permissions page)")
        return token

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value():
            return None  # ${SLACK_APP_TOKEN:-} left empty: HTTP mode
        if token is not None and not token.get_secret_value().startswith("xapp-"):
            raise ValueError("the app-level token starts with xapp- (Basic Information page)")
        return token

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, secret: SecretStr | None) -> SecretStr | None:
        return secret if secret is not None and secret.get_secret_value() else None

    @field_validator("responders", "approvers")
    @classmethod
    def _principals(cls, responders: dict[str, list[str]]) -> dict[str, list[str]]:
        for brand, principals in responders.items():
            for principal in principals:
                if not _PRINCIPAL.match(principal):
                    raise ValueError(
                        f"{brand}: {principal!r} is not a Slack user id (U…/W…) or user group id "
                        "(S…); find them in the member's or group's profile"
                    )
        return responders

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None
