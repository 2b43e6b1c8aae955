"""Settings of the ``reddit`` source (see bot/sources/reddit.py)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config.numbers import Number
from bot.config.source_urls import checked_host

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_SUBREDDIT = re.compile(r"^[A-Za-z0-9_]{2,21}(\+[A-Za-z0-9_]{2,21})*$")
MAX_QUERY = 512  # Reddit ignores the rest of a longer search query


class RedditSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["reddit"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    client_id: str = Field(
        min_length=1, description="The app's client id (reddit.com/prefs/apps, under its name)."
    )
    client_secret: SecretStr = Field(description="The app's secret; use ${REDDIT_CLIENT_SECRET}.")
    user_agent: str = Field(
        min_length=1,
        description="Required by Reddit: '<platform>:<app id>:<version> (by /u/<username>)'.",
    )
    username: str | None = Field(
        None, description="Script app only: the account replies are posted as (with password)."
    )
    password: SecretStr | None = Field(
        None, description="Script app only: that account's password; use ${REDDIT_PASSWORD}."
    )
    queries: list[str] | None = Field(
        None,
        description="Reddit search queries for new posts; default: the brands' names, keywords "
        "and aliases; [] searches nothing (subreddits only).",
    )
    subreddits: list[str] = Field(
        default_factory=list,
        description="Subreddits whose every new post and comment is read ('a+b' reads both).",
    )
    poll_seconds: Number = Field(60.0, gt=0, description="How often Reddit is asked.")
    lookback_seconds: Number = Field(
        1800.0,
        ge=0,
        description="Also read this far behind the newest post heard: posts approved by a "
        "moderator or indexed late keep their creation time.",
    )
    auth_url: str = Field(
        "https://www.reddit.com/api/v1/access_token",
        pattern=r"^https?://",
        description="Where OAuth tokens come from.",
    )
    base_url: str = Field(
        "https://oauth.reddit.com", pattern=r"^https?://", description="Reddit's OAuth API."
    )

    _hosts = field_validator("auth_url", "base_url")(checked_host)

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, user_agent: str) -> str:
        if not user_agent.strip():
            raise ValueError("Reddit requires a descriptive user agent")
        return user_agent.strip()

    @field_validator("username", "password", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value  # ${REDDIT_PASSWORD:-} left empty: no replies

    @field_validator("queries")
    @classmethod
    def _queries(cls, queries: list[str] | None) -> list[str] | None:
        if queries is None:
            return None
        if any(not query.strip() or len(query) > MAX_QUERY for query in queries):
            raise ValueError(f"each query must be 1 to {MAX_QUERY} characters")
        return [query.strip() for query in queries]

    @field_validator("subreddits")
    @classmethod
    def _subreddits(cls, names: list[str]) -> list[str]:
        cleaned = [re.sub(r"^/?r/", "", name.strip()).strip("/") for name in names]
        for name in cleaned:
            if not _SUBREDDIT.match(name):
                raise ValueError(f"{name!r} is not a subreddit name such as 'kestrelmobile'")
        return cleaned

    @model_validator(mode="after")
    def _complete(self) -> RedditSourceSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (a script app that can reply)")
        if self.queries == [] and not self.subreddits:
            raise ValueError("nothing to read: queries is empty and no subreddits are listed")
        return self

    @property
    def can_reply(self) -> bool:
        return self.username is not None
