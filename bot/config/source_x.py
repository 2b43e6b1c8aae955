"""Settings of the ``x`` source (see bot/sources/x.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class XSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["x"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
