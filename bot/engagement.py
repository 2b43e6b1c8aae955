"""Re-reading how far the posts of open incidents travel, so spread is measured, not guessed.

Every ``refresh_seconds`` (live mode), the newest mentions of live incidents are re-read from the
sources that can (``EngagementReader``); each reading is stored, and from a post's successive
readings and its age the SEISMIC memory kernel says where its reposts are heading
(``bot.spread.velocity``). The largest such prediction of an incident's group becomes the
virality part of its next risk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial

from bot.clock import Clock
from bot.incidents.desk import IncidentDesk
from bot.model import Mention
from bot.sources.base import EngagementReader
from bot.sources.polite import SourceError
from bot.spread.velocity import heading_to
from storage.engagement import Tracked, mentions_to_refresh, record_observations
from storage.writer import Writer

logger = logging.getLogger(__name__)


class EngagementRefresher:
    def __init__(
        self,
        writer: Writer,
        desk: IncidentDesk,
        readers: Mapping[str, EngagementReader],
        clock: Clock,
        *,
        every: float = 300.0,
        limit: int = 200,
    ) -> None:
        self.writer = writer
        self.desk = desk
        self.readers = dict(readers)
        self.clock = clock
        self.every = every
        self.limit = limit

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.refresh()
            except Exception:
                logger.exception("refreshing engagement failed; trying again next time")

    async def refresh(self) -> dict[tuple[str, str], float]:
        """One round; returns the predicted final reposts noted per (brand, topic)."""
        tracked = await self.writer.run(partial(mentions_to_refresh, limit=self.limit))
        by_source: dict[str, list[Tracked]] = {}
        for item in tracked:
            if item.source in self.readers:
                by_source.setdefault(item.source, []).append(item)
        predicted: dict[tuple[str, str], float] = {}
        for source, items in by_source.items():
            now = self.clock.now()
            mentions = [Mention(source, i.native_id, "", i.created_at) for i in items]
            try:
                counts = await self.readers[source].engagement(mentions)
            except SourceError as error:
                logger.warning("engagement of %s posts not refreshed: %s", source, error)
                continue
            await self.writer.run(
                partial(record_observations, source=source, at=now, counts=counts)
            )
            for item in items:
                if item.native_id not in counts:
                    continue
                age = (now - item.created_at).total_seconds()
                heading = heading_to(counts[item.native_id].reposts, age)
                key = (item.brand, item.topic)
                predicted[key] = max(predicted.get(key, 0.0), heading)
        if predicted:
            await self.writer.run(partial(self.desk.note_spread, predicted=predicted))
        return predicted
