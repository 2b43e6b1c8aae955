"""Sources that search an API by query, newest first, and page back to where they stopped.

Reddit and Hacker News both answer "what is new for this query" only as a list, newest first.
Each query keeps a :class:`Horizon` in the source's cursor: the newest creation time heard and
the ids heard shortly before it. A poll reads pages until it reaches the horizon, keeps what it
has not heard, and moves the horizon. Looking a little behind the newest time (``lookback``)
catches posts that reach a search index late, and the ids make sure they are not heard twice.

A query the API will not show (a private or banned subreddit) fails alone: it keeps its horizon
and is reported, and the other queries are still read. Any other failure fails the whole poll,
as does every query failing: the polling loop then backs off.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.model import Brand, Mention
from bot.sources.polite import SourceError
from bot.sources.polling import Cursor, PollingSource, Report, no_report
from bot.text import fold

logger = logging.getLogger(__name__)

MAX_SEEN = 1_000  # ids kept per query; more in one lookback only risks a mention heard twice


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
    ids heard since ``newest - lookback`` with their times. ``newest`` None: never read."""

    newest: float | None = None
    seen: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, stored: Any) -> Horizon:
        """From a cursor entry; an unreadable one reads as never read (only the newest page)."""
        if not isinstance(stored, dict) or not isinstance(stored.get("newest"), int | float):
            return cls()
        seen = stored.get("seen")
        if not isinstance(seen, dict):
            seen = {}
        times = {str(k): float(v) for k, v in seen.items() if isinstance(v, int | float)}
        return cls(float(stored["newest"]), times)

    def dump(self) -> dict[str, Any]:
        return {"newest": self.newest, "seen": dict(self.seen)}

    @property
    def started(self) -> bool:
        return self.newest is not None

    def floor(self, lookback: float) -> float:
        """Nothing created before this is new (minus infinity when never read)."""
        return float("-inf") if self.newest is None else self.newest - lookback

    def is_new(self, mention: Mention, lookback: float) -> bool:
        created = mention.created_at.timestamp()
        return created >= self.floor(lookback) and mention.native_id not in self.seen

    def advance(self, heard: Sequence[Mention], lookback: float) -> Horizon:
        times = dict(self.seen)
        times.update((m.native_id, m.created_at.timestamp()) for m in heard)
        # a query that found nothing yet has read everything there was: from now on, page fully
        newest = max([self.newest or 0.0, *times.values()])
        recent = sorted(
            ((when, key) for key, when in times.items() if when >= newest - lookback), reverse=True
        )
        return Horizon(newest, {key: when for when, key in recent[:MAX_SEEN]})


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
    ) -> None:
        super().__init__(name, every, report=report)
        self.keys = tuple(keys)
        self.lookback = lookback
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
        for key in self.keys:  # a query no longer configured leaves the cursor
            horizon = Horizon.load(cursor.get(key))
            try:
                heard = await self.fetch(session, key, horizon)
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
