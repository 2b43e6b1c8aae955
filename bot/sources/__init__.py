"""The source registry: config ``type`` -> how to build that source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock, SystemClock
from bot.config import ReplaySourceSettings, SourceSettings, WebhookSourceSettings
from bot.metrics import Metrics
from bot.model import Brand
from bot.sources import bluesky, hackernews, mastodon, reddit, rss, x
from bot.sources.base import Inbox, Source
from bot.sources.polling import Report, no_report
from bot.sources.replay import ReplaySource
from bot.sources.webhook import WebhookSource

__all__ = ["SOURCE_TYPES", "VOTING_TYPES", "Inbox", "Source", "SourceContext", "build_source"]

VOTING_TYPES = frozenset({"reddit", "hackernews"})
"""Source types whose mentions' ``reposts`` are upvotes (Reddit's score, Hacker News points):
those sites spread a post by votes, not reshares."""


@dataclass(frozen=True)
class SourceContext:
    clock: Clock
    metrics: Metrics
    report: Report = no_report
    """A live source says it is in trouble (a message) or fine again (None)."""
    brands: tuple[Brand, ...] = field(default_factory=tuple)
    """What the service listens for (a firehose source filters on it before queueing)."""


def _replay(settings: SourceSettings, context: SourceContext) -> Source:
    assert isinstance(settings, ReplaySourceSettings)
    return ReplaySource(
        settings,
        context.clock,
        on_malformed=lambda name: context.metrics.malformed.labels(name).inc(),
    )


def _webhook(settings: SourceSettings, context: SourceContext) -> Source:
    assert isinstance(settings, WebhookSourceSettings)
    return WebhookSource(
        settings,
        SystemClock().now,  # a pushed mention without a time happened when it arrived
        on_request=lambda name, status: context.metrics.webhook_requests.labels(
            name, str(status)
        ).inc(),
    )


SOURCE_TYPES: dict[str, Callable[[Any, SourceContext], Source]] = {
    "replay": _replay,
    "webhook": _webhook,
    "mastodon": mastodon.build,
    "bluesky": bluesky.build,
    "reddit": reddit.build,
    "hackernews": hackernews.build,
    "rss": rss.build,
    "x": x.build,
}


def build_source(settings: SourceSettings, context: SourceContext) -> Source:
    return SOURCE_TYPES[settings.type](settings, context)
