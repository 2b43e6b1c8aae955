"""Settings of the ``rss`` source (see bot/sources/rss.py)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.numbers import Integer, Number
from bot.config.source_urls import not_http, unreachable_host
from bot.redact import redact_url

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class RssSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["rss"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    feeds: list[str] = Field(
        min_length=1,
        description="RSS or Atom feed URLs (Google Alerts, news searches, blogs), http or https.",
    )
    poll_seconds: Number = Field(
        600, ge=60, description="How often each feed is asked (a conditional GET), at least 60."
    )
    max_entries: Integer = Field(
        100,
        ge=1,
        le=1000,
        description="Newest entries read from each feed per poll; older ones are left alone.",
    )

    @field_validator("feeds")
    @classmethod
    def _http_urls(cls, feeds: list[str]) -> list[str]:
        feeds = [feed.strip() for feed in feeds]
        for feed in feeds:
            parts = urlsplit(feed)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(not_http(feed, "https://example.com/feed.xml"))
            if (why := unreachable_host(feed)) is not None:
                raise ValueError(f"feed {redact_url(feed)!r}: {why}")
        if len(set(feeds)) != len(feeds):
            raise ValueError("a feed is listed twice")
        return feeds
