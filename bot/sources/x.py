"""The ``x`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_x import XSourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: XSourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the x source is not written yet")
