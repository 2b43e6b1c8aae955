"""The ``rss`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_rss import RssSourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: RssSourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the rss source is not written yet")
