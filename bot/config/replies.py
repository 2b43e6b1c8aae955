"""The ``replies`` section: reply drafts, who approves them and for how long they stand."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.config.numbers import TEN_YEARS_DAYS, Integer, Number
from bot.config.playbook import ReplyGeneratorSettings


class ReplySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Propose reply drafts on incident cards.")
    max_mentions: Integer = Field(
        10,
        ge=0,
        le=100,
        description="Each mention an incident's card shows (its farthest-reaching) gets drafts, "
        "up to this many per incident.",
    )
    expire_after_hours: Number = Field(
        24,
        gt=0,
        le=TEN_YEARS_DAYS * 24,
        description="A draft not decided within this long can no longer be approved.",
    )
    two_person_levels: list[str] = Field(
        default_factory=list,
        description="Incident levels (e.g. [crisis]) at which an edited draft must be approved "
        "by someone other than its last editor.",
    )
    publish_attempts: Integer = Field(
        6, ge=1, description="Tries to publish an approved reply before the card offers Retry."
    )
    generator: ReplyGeneratorSettings = Field(
        default_factory=ReplyGeneratorSettings,
        description="An OpenAI-compatible model proposing more variants; off by default.",
    )
