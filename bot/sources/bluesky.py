"""The ``bluesky`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_bluesky import BlueskySourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: BlueskySourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the bluesky source is not written yet")
