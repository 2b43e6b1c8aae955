"""The ``hackernews`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: HackerNewsSourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the hackernews source is not written yet")
