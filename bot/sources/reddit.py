"""The ``reddit`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_reddit import RedditSourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: RedditSourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the reddit source is not written yet")
