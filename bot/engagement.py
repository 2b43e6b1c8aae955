"""Re-reading how far the posts of open incidents travel, so spread is measured, not guessed.

Every ``refresh_seconds`` (live mode), posts of live incidents are re-read from the sources that
can (``EngagementReader``): each incident's most reposted posts first, then its newest
(``storage.engagement.mentions_to_refresh``). Each reading is stored, and from a post's reposts
and its age the SEISMIC memory kernel says where they are heading
(``bot.spread.velocity.projected_reposts``). A post counts for every live incident that holds it
while it is in the last hour or still gaining reposts; the largest prediction noted for a group in
its hour becomes the virality part of its risk (``GroupRisk.note_prediction``), so an old post
that has stopped travelling drops out.

Reposts are what carries a post to new readers; on Reddit and Hacker News votes do that, so
those sources report a post's score or points as its reposts (``bot.sources.reddit_things``,
``bot.sources.hackernews``). Votes are not projected (the memory kernel was fitted on reshares):
the upvotes read are noted as they are (``GroupRisk.note_votes``): a post's whole score or
points, as an incident's mentions bring them in, not what it gained since it was heard; and
the card says "upvoted".

Counts only go up here: a post's current counts are the most read so far, and a reading that
drops (a count the source left out, read as 0; a replica behind; reposts deleted) neither lowers
them nor makes the next reading look like new spread (``storage.engagement``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import partial

from bot.clock import Clock
from bot.incidents.desk import IncidentDesk
from bot.incidents.groups import BIN, WINDOW_BINS
from bot.model import Engagement, Mention
from bot.sanitize import clean_engagement
from bot.sources.base import EngagementCut, EngagementReader
from bot.sources.polite import SourceError
from bot.spread.velocity import projected_reposts
from storage.engagement import Tracked, mentions_to_refresh, record_observations
from storage.writer import Writer

logger = logging.getLogger(__name__)

STILL_GAINING = 0.01
"""An older post counts while each reading adds at least this share of its reposts (and one)."""


def travelling(item: Tracked, now_counts: Engagement, now: datetime) -> bool:
    """Whether a post still tells where its incident is going: heard in the last hour, or its
    reposts still growing (an old viral post that has stopped must not hold an incident open).

    Growth is measured from the most reposts read so far (``Tracked.engagement``, a running
    maximum), not from the last reading: a count read as 0 by mistake and then read right again
    is no new spread."""
    if now - item.created_at <= BIN * WINDOW_BINS:
        return True
    before = item.engagement.reposts
    return now_counts.reposts - before >= max(1.0, STILL_GAINING * before)


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
        vote_sources: frozenset[str] = frozenset(),
    ) -> None:
        self.writer = writer
        self.desk = desk
        self.readers = dict(readers)
        self.clock = clock
        self.every = every
        self.limit = limit
        self.vote_sources = vote_sources
        # where each source's next round starts in its list, after a round cut short
        self._start: dict[str, int] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.refresh()
            except Exception:
                logger.exception("refreshing engagement failed; trying again next time")

    async def refresh(self) -> dict[tuple[str, str], float]:
        """One round; returns the predicted final reposts noted per (brand, topic) (upvotes
        noted are not in it)."""
        tracked = await self.writer.run(partial(mentions_to_refresh, limit=self.limit))
        by_source: dict[str, list[Tracked]] = {}
        for item in tracked:
            if item.source in self.readers:
                by_source.setdefault(item.source, []).append(item)
        predicted: dict[tuple[str, str], float] = {}
        votes: dict[tuple[str, str], int] = {}
        for source, listed in by_source.items():
            now = self.clock.now()
            start = self._start.pop(source, 0) % len(listed)
            items = listed[start:] + listed[:start]
            mentions = [Mention(source, i.native_id, "", i.created_at) for i in items]
            try:
                counts = await self.readers[source].engagement(mentions)
            except EngagementCut as cut:
                # the next round starts past where this one stopped: a post that keeps failing
                # must not keep those after it from ever being read
                counts = cut.counts
                self._start[source] = start + cut.reached + 1
                logger.warning(
                    "engagement of %s posts refreshed for %d of %d: %s",
                    source,
                    len(counts),
                    len(items),
                    cut,
                )
            except SourceError as error:
                self._start[source] = start + 1
                logger.warning("engagement of %s posts not refreshed: %s", source, error)
                continue
            counts = {native_id: clean_engagement(seen) for native_id, seen in counts.items()}
            await self.writer.run(
                partial(record_observations, source=source, at=now, counts=counts)
            )
            for item in items:
                seen = counts.get(item.native_id)
                if seen is None or not travelling(item, seen, now):
                    continue
                # how far the post has got: the most read so far (a reading that dropped
                # undoes no spread)
                reached = max(seen.reposts, item.engagement.reposts)
                if source in self.vote_sources:
                    # a post's score or points as read (its total, not what it gained since it
                    # was heard), like the upvotes an incident's mentions bring in
                    for key in item.groups:
                        votes[key] = max(votes.get(key, 0), reached)
                    continue
                age = (now - item.created_at).total_seconds()
                heading = projected_reposts(reached, age)
                for key in item.groups:
                    predicted[key] = max(predicted.get(key, 0.0), heading)
        if predicted or votes:
            await self.writer.run(partial(self.desk.note_spread, predicted=predicted, votes=votes))
        return predicted
