"""The ``mastodon`` source (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.source_mastodon import MastodonSourceSettings
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources import SourceContext


def build(settings: MastodonSourceSettings, context: SourceContext) -> Source:
    raise NotImplementedError("the mastodon source is not written yet")
