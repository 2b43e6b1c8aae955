"""Settings of the ``mastodon`` source (see bot/sources/mastodon.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.config.incidents import Duration
from bot.config.numbers import Integer, Number
from bot.config.source_urls import checked_host, not_http

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_HTTP_URL = r"^https?://[^\s/]+(/[^\s]*)?$"
NOTHING_TO_FOLLOW = "nothing to follow; set hashtags, search or public, or give the brands hashtags"


class MastodonSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["mastodon"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    base_url: str = Field(description="The instance, e.g. https://mastodon.social.")
    access_token: SecretStr | None = Field(
        None,
        description="Token of an account there (scopes read, and write:statuses to reply); use "
        "${MASTODON_TOKEN}. Streaming (Mastodon 4.2+) and search need one.",
    )
    max_characters: Integer = Field(
        500,
        ge=1,
        description="The instance's post length limit (its /api/v2/instance says; 500 on most): "
        "reply drafts fit it.",
    )
    hashtags: list[str] | None = Field(
        None, description="Hashtags to follow, with or without #; default: the brands' hashtags."
    )
    search: list[str] | None = Field(
        None,
        description="Full-text searches, run every poll_seconds; default with a token: each "
        "brand's name and keywords, none without.",
    )
    public: Literal["off", "local", "remote", "all"] = Field(
        "off",
        description="Also follow the public timeline (this instance's, remote or all), keeping "
        "only posts that name a brand.",
    )
    local_only: bool = Field(False, description="Hashtags: only posts from this instance.")
    stream: bool = Field(
        True,
        description="Stream hashtags and public when there is a token; false (or no token): "
        "poll their timelines every poll_seconds.",
    )
    streaming_url: str | None = Field(
        None,
        description="Streaming server; default: the one /api/v2/instance names, else base_url.",
    )
    poll_seconds: Number = Field(
        60.0, gt=0, description="How often searches (and timelines not streamed) are polled."
    )
    backfill: Duration = Field(
        timedelta(hours=1),
        description="At the very first start, hear posts up to this old (0s: only new ones).",
    )
    max_pages: Integer = Field(
        10,
        ge=1,
        le=100,
        description="Pages of 40 fetched per catch-up at most; a longer gap is skipped, and said.",
    )
    idle_seconds: Number = Field(
        60.0, gt=0, description="Reconnect a stream silent this long (heartbeats come every 15s)."
    )
    max_backoff: Number = Field(300.0, ge=1, description="Longest wait between retries.")
    reply_visibility: Literal["public", "unlisted"] = Field(
        "unlisted", description="Visibility of the replies Vigie posts."
    )

    @field_validator("public", mode="before")
    @classmethod
    def _off_unquoted(cls, value: object) -> object:
        """YAML reads an unquoted ``off`` as false: it means "off" here."""
        return "off" if value is False else value

    @field_validator("base_url", "streaming_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not re.match(_HTTP_URL, url.strip()):
            raise ValueError(not_http(url, "https://mastodon.social"))
        return checked_host(url.strip().rstrip("/"))

    @field_validator("access_token")
    @classmethod
    def _token(cls, token: SecretStr | None) -> SecretStr | None:
        return token if token is not None and token.get_secret_value().strip() else None

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        cleaned = [tag.strip().lstrip("#").strip() for tag in tags]
        if any(not tag or any(c.isspace() for c in tag) for tag in cleaned):
            raise ValueError("a hashtag is one word, such as kestreldown")
        return cleaned

    @field_validator("search")
    @classmethod
    def _queries(cls, queries: list[str] | None) -> list[str] | None:
        if queries is not None and any(not query.strip() for query in queries):
            raise ValueError("search queries must not be empty")
        return [query.strip() for query in queries] if queries is not None else None

    def follows_nothing(self, brands_have_hashtags: bool) -> bool:
        """Whether the source would follow no feed at all (as bot/sources/mastodon_api.py's
        plan_feeds plans them): no hashtags (its own, else the brands'), no public timeline, no
        search (its own, else with a token the brands' names, which every brand has)."""
        tags = bool(self.hashtags) if self.hashtags is not None else brands_have_hashtags
        searches = bool(self.search) if self.search is not None else self.access_token is not None
        return not tags and self.public == "off" and not searches
