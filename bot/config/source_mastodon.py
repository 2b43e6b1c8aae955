"""Settings of the ``mastodon`` source (see bot/sources/mastodon.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class MastodonSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["mastodon"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
