"""Sources that search an API by query, newest first, and page back to where they stopped.

Reddit and Hacker News both answer "what is new for this query" only as a list, newest first.
Each query keeps a :class:`Horizon` in the source's cursor: the newest creation time heard and
the ids heard shortly before it. A poll reads pages until it reaches the horizon, keeps what it
has not heard, and moves the horizon. Looking behind the newest time (``lookback``, half an hour
by default) catches posts that show up late: a search index that lags, a post a moderator
approves long after it was written (it keeps its creation time). The ids heard within the
lookback make sure nothing is heard twice.

A query the API will not show (a private or banned subreddit) fails alone: it keeps its horizon
and is reported, and the other queries are still read. Any other failure fails the whole poll,
as does every query failing: the polling loop then backs off.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import inf
from typing import Any

import aiohttp

from bot.model import Brand, Mention
from bot.sources.base import MAX_CLOCK_SKEW, not_in_future
from bot.sources.polite import SourceError
from bot.sources.polling import Cursor, PollingSource, Report, no_report
from bot.text import fold

logger = logging.getLogger(__name__)

MAX_SEEN = 5_000  # ids kept per query: bounds the cursor; see Horizon.advance
# MAX_CLOCK_SKEW (bot.sources.base): an item dated later is dated now, and its date moves no
# horizon, which would otherwise leave the query deaf until then.


def search_terms(brands: Iterable[Brand]) -> list[str]:
    """The brands' names, keywords and aliases worth searching for, in configuration order.

    A term containing every word of another term is left out: searching for ``kestrel`` finds
    "kestrel mobile" too. Hashtags and handles belong to other networks and are left out.
    """
    terms: list[tuple[str, frozenset[str]]] = []
    for brand in brands:
        for term in (brand.name, *brand.keywords, *brand.aliases):
            words = frozenset(re.findall(r"\w+", fold(term)))
            if words and all(words != known for _, known in terms):
                terms.append((term.strip(), words))
    return [term for term, words in terms if not any(known < words for _, known in terms)]


@dataclass(frozen=True, slots=True)
class Horizon:
    """How far one query has been read: ``newest`` creation time (Unix seconds) heard, and the
    ids heard since ``newest - lookback`` with their times. ``newest`` None: never read.

    ``seen`` is capped: when it overflows, the oldest ids are dropped and ``since`` moves up to
    their time, so what is no longer remembered is not taken for new either."""

    newest: float | None = None
    seen: Mapping[str, float] = field(default_factory=dict)
    since: float | None = None  # nothing created at or before this is new (seen overflowed)

    @classmethod
    def load(cls, stored: Any) -> Horizon:
        """From a cursor entry; an unreadable one reads as never read (only the newest page),
        and so does one an earlier version started on an empty first answer (``newest`` 0:
        read as started, it would take the query's whole history as new)."""
        if not isinstance(stored, dict) or not isinstance(stored.get("newest"), int | float):
            return cls()
        if not stored["newest"] and not stored.get("seen"):
            return cls()
        seen = stored.get("seen")
        if not isinstance(seen, dict):
            seen = {}
        times = {str(k): float(v) for k, v in seen.items() if isinstance(v, int | float)}
        since = stored.get("since")
        since = float(since) if isinstance(since, int | float) else None
        return cls(float(stored["newest"]), times, since)

    def dump(self) -> dict[str, Any]:
        dumped = {"newest": self.newest, "seen": dict(self.seen)}
        return dumped if self.since is None else dumped | {"since": self.since}

    @property
    def started(self) -> bool:
        return self.newest is not None

    def floor(self, lookback: float) -> float:
        """Nothing created before this is new (minus infinity when never read)."""
        if self.newest is None:
            return -inf
        return max(self.newest - lookback, -inf if self.since is None else self.since)

    def is_new(self, mention: Mention, lookback: float) -> bool:
        created = mention.created_at.timestamp()
        return self._within(created, lookback) and mention.native_id not in self.seen

    def advance(self, heard: Sequence[Mention], lookback: float, most: int = MAX_SEEN) -> Horizon:
        """The horizon after hearing ``heard``, remembering the newest ``most`` ids at most."""
        if not self.started and not heard:
            # An empty first answer is no proof the query has nothing: a search index may answer
            # empty for a moment. Starting the horizon at 0 would make the next poll read the
            # whole history (up to 1,000 items) as new; unstarted, the next answer with items
            # starts it as a first poll does, from the newest page only.
            return self
        times = dict(self.seen)
        times.update((m.native_id, m.created_at.timestamp()) for m in heard)
        newest = max([self.newest or 0.0, *times.values()])
        since = self.since if self.since is not None and self.since > newest - lookback else None
        moved = Horizon(newest, {}, since)
        recent = sorted(
            ((when, key) for key, when in times.items() if moved._within(when, lookback)),
            reverse=True,
        )
        if len(recent) > most:
            since = recent[most][0]  # every id of that time is forgotten, so none is heard twice
            recent = [(when, key) for when, key in recent[:most] if when > since]
        return Horizon(newest, {key: when for when, key in recent}, since)

    def until(self, latest: float) -> Horizon:
        """This horizon with no time after ``latest``: heals a cursor an earlier version moved
        far ahead on an item with a wrong date (every real new item would look old)."""
        if self.newest is None or self.newest <= latest:
            return self
        seen = {key: min(when, latest) for key, when in self.seen.items()}
        return Horizon(latest, seen, None if self.since is None else min(self.since, latest))

    def _within(self, created: float, lookback: float) -> bool:
        """Whether something created then is recent enough to be new (or to be remembered)."""
        return created >= self.floor(lookback) and (self.since is None or created > self.since)


class SearchingSource(PollingSource):
    """A polling source made of named queries, each read back to its own :class:`Horizon`."""

    def __init__(
        self,
        name: str,
        every: float,
        keys: Sequence[str],
        *,
        lookback: float,
        report: Report = no_report,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name, every, report=report)
        self.keys = tuple(keys)
        self.lookback = lookback
        self.now = now
        self._failing: dict[str, str] = {}  # key -> what went wrong, for the queries failing

    @abstractmethod
    async def fetch(
        self, session: aiohttp.ClientSession, key: str, horizon: Horizon
    ) -> list[Mention]:
        """What query ``key`` lists now, from the newest back to ``horizon`` (only the newest
        page when the horizon is not started); extra older ones are harmless."""

    async def poll(
        self, session: aiohttp.ClientSession, cursor: Cursor
    ) -> tuple[list[Mention], Cursor]:
        fresh: dict[str, Mention] = {}
        after: Cursor = {}
        refused: list[SourceError] = []
        now = self.now()
        for key in self.keys:  # a query no longer configured leaves the cursor
            horizon = Horizon.load(cursor.get(key)).until((now + MAX_CLOCK_SKEW).timestamp())
            try:
                heard = [self._dated(m, now) for m in await self.fetch(session, key, horizon)]
            except SourceError as error:
                if not self.fails_alone(error):
                    raise
                refused.append(error)
                self._key_failed(key, error)
                if key in cursor:  # read from where it was once it works again
                    after[key] = cursor[key]
                continue
            self._key_fine(key)
            fresh.update((m.native_id, m) for m in heard if horizon.is_new(m, self.lookback))
            after[key] = horizon.advance(heard, self.lookback).dump()
        if len(refused) == len(self.keys):
            raise refused[0]  # nothing is readable: the whole source backs off
        return sorted(fresh.values(), key=lambda m: (m.created_at, m.native_id)), after

    def _dated(self, mention: Mention, now: datetime) -> Mention:
        """``mention`` dated now when it claims a time past ``now`` (see MAX_CLOCK_SKEW)."""
        dated = not_in_future(mention, now)
        if dated is mention:
            return mention
        logger.debug(
            "source %s: %s dated %s, in the future: dated now",
            self.name,
            mention.native_id,
            mention.created_at.isoformat(),
        )
        return dated

    def fails_alone(self, error: SourceError) -> bool:
        """Whether ``error`` concerns only the query that met it, so the others are still read:
        a listing the API will not show (403: private, 404: banned or gone). Anything else (a
        rate limit, a refused token, a server down) fails the whole poll."""
        return error.status in (403, 404)

    def trouble(self) -> str | None:
        return "; ".join(f"{key}: {said}" for key, said in self._failing.items()) or None

    def _key_failed(self, key: str, error: SourceError) -> None:
        if self._failing.get(key) != str(error):
            logger.warning(
                "source %s: %s: %s; the other queries are still read", self.name, key, error
            )
        self._failing[key] = str(error)

    def _key_fine(self, key: str) -> None:
        if self._failing.pop(key, None) is not None:
            logger.info("source %s: %s works again", self.name, key)

    def reached(self, horizon: Horizon, page: Iterable[Mention]) -> bool:
        """Whether a page goes back past the horizon, so older pages hold nothing new."""
        floor = horizon.floor(self.lookback)
        return any(m.created_at.timestamp() < floor for m in page)
