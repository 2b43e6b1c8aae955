"""Settings of the ``bluesky`` source (see bot/sources/bluesky.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config.numbers import Integer, Number
from bot.config.source_urls import checked_host

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_WS_URL = r"^wss?://[^\s]+$"
_HTTP_URL = r"^https?://[^\s]+$"


class BlueskySourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bluesky"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    jetstream_url: str = Field(
        "wss://jetstream2.us-east.bsky.network/subscribe",
        pattern=_WS_URL,
        description="Jetstream v1 subscribe endpoint (ws:// or wss://).",
    )
    overlap_seconds: Number = Field(
        5.0,
        ge=0,
        le=3600,
        description="On reconnect, hear again this much before the last event (stored once).",
    )
    batch_size: Integer = Field(200, ge=1, le=10_000, description="Matched posts queued together.")
    batch_seconds: Number = Field(
        0.5, gt=0, le=60, description="Queue matched posts at least this often."
    )
    idle_seconds: Number = Field(
        60.0, gt=0, description="Reconnect when the stream has been silent this long."
    )
    max_backoff: Number = Field(60.0, ge=1, description="Longest wait between reconnections.")
    profiles: bool = Field(
        True, description="Look up the handle, name and followers of matched posts' authors."
    )
    appview_url: str = Field(
        "https://public.api.bsky.app",
        pattern=_HTTP_URL,
        description="AppView for profile and post look-ups (app.bsky.*).",
    )
    pds_url: str = Field(
        "https://bsky.social",
        pattern=_HTTP_URL,
        description="Where the reply account lives (com.atproto.server.createSession).",
    )
    handle: str | None = Field(None, description="Account that publishes replies, e.g. brand.com.")
    app_password: SecretStr | None = Field(
        None, description="App password of that account; use ${ENV_VAR}."
    )

    _hosts = field_validator("jetstream_url", "appview_url", "pds_url")(checked_host)

    @model_validator(mode="after")
    def _both_or_neither(self) -> BlueskySourceSettings:
        if (self.handle is None) != (self.app_password is None):
            raise ValueError("set both handle and app_password to publish replies, or neither")
        return self
