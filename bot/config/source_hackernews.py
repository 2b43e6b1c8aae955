"""Settings of the ``hackernews`` source (see bot/sources/hackernews.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.numbers import Number
from bot.config.source_urls import checked_host

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class HackerNewsSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hackernews"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    queries: list[str] | None = Field(
        None,
        min_length=1,
        description="Search queries, one request each; default: the brands' names, keywords "
        "and aliases.",
    )
    tags: str = Field(
        "(story,comment)",
        min_length=1,
        description="Algolia tags filter: (story,comment) is either; story,front_page is both.",
    )
    poll_seconds: Number = Field(60.0, gt=0, description="How often Hacker News is asked.")
    lookback_seconds: Number = Field(
        1800.0,
        ge=0,
        description="Also read this far behind the newest item heard (items indexed late).",
    )
    base_url: str = Field(
        "https://hn.algolia.com/api/v1/",
        pattern=r"^https?://",
        description="The Algolia Hacker News Search API.",
    )

    _hosts = field_validator("base_url")(checked_host)

    @field_validator("queries")
    @classmethod
    def _queries(cls, queries: list[str] | None) -> list[str] | None:
        if queries is not None and any(not query.strip() for query in queries):
            raise ValueError("queries must not be empty")
        return None if queries is None else [query.strip() for query in queries]
