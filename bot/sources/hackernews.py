"""The ``hackernews`` source: stories and comments from the Algolia Hacker News Search API.

Every poll asks ``GET {base_url}search_by_date?query=…&tags=(story,comment)`` for each query,
newest first, 100 hits a page, with ``numericFilters=created_at_i>=T`` where T is
``lookback_seconds`` (half an hour) behind the newest item heard (see bot/sources/searching.py:
the lookback catches items indexed late, and the ids heard since T keep them from being heard
twice). A first poll takes only
the newest page. Algolia stops at 1,000 hits a query, so a poll reads 10 pages at most.

An item's points are its ``reposts``: upvotes are what carries a story up the front page to
more readers (its spread: ``bot.sources.VOTING_TYPES``, ``bot.engagement``); ``likes`` stays 0.

Hacker News has no API for posting, so this source has no ``reply`` method: a publisher finds
no way to answer here, and a drafted answer to a Hacker News mention is for a person to post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from math import floor
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.model import Author, Brand, Engagement, Mention
from bot.records import MalformedRecord, parse_count, parse_text, parse_time
from bot.redact import redact_url
from bot.sources.base import Source, cut_short
from bot.sources.html_text import html_to_text
from bot.sources.polite import SourceError, get_json
from bot.sources.polling import Report, no_report
from bot.sources.searching import Horizon, SearchingSource, search_terms

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

ITEM_URL = "https://news.ycombinator.com/item?id={}"
PAGE = 100
MAX_PAGES = 10  # Algolia answers at most 1,000 hits for one query


def build(settings: HackerNewsSourceSettings, context: SourceContext) -> Source:
    malformed = context.metrics.malformed.labels(settings.name)
    return HackerNewsSource(
        settings,
        context.brands,
        report=context.report,
        on_malformed=malformed.inc,
        now=context.clock.now,
    )


class HackerNewsSource(SearchingSource):
    def __init__(
        self,
        settings: HackerNewsSourceSettings,
        brands: tuple[Brand, ...],
        *,
        report: Report = no_report,
        on_malformed: Callable[[], None] = lambda: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        queries = search_terms(brands) if settings.queries is None else settings.queries
        if not queries:
            raise ValueError(f"hackernews source {settings.name}: no brand term to search for")
        super().__init__(
            settings.name,
            settings.poll_seconds,
            queries,
            lookback=settings.lookback_seconds,
            report=report,
            now=now,
        )
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/search_by_date"
        self.on_malformed = on_malformed

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Points (as reposts) and comments at every depth (:func:`descendants`) from ``GET
        {base_url}items/{id}``; gone items are left out."""
        counts: dict[str, Engagement] = {}
        base = self.settings.base_url.rstrip("/")
        async with self.session() as session:
            for index, mention in enumerate(mentions):
                try:
                    item = await get_json(session, f"{base}/items/{mention.native_id}")
                except SourceError as error:
                    if not error.retryable:  # 404: deleted
                        continue
                    raise cut_short(error, counts, index) from error
                seen = self._engagement_of(mention.native_id, item)
                if seen is not None:
                    counts[mention.native_id] = seen
        return counts

    def _mention_of(self, hit: Any) -> Mention | None:
        """The hit as a mention; None (logged, counted as malformed) when it cannot be one.

        An unexpected error too skips only its hit, with its traceback: one odd hit must not
        fail the query at every poll, and the query with it."""
        try:
            return to_mention(self.name, hit)
        except MalformedRecord as error:
            logger.debug("hackernews %s: skipped: %s", self.name, error)
        except Exception:
            shown = hit.get("objectID") if isinstance(hit, dict) else None
            logger.exception(
                "hackernews %s: skipped hit %.100r: unexpected error", self.name, shown
            )
        self.on_malformed()
        return None

    def _engagement_of(self, item_id: str, item: Any) -> Engagement | None:
        """The counts of one item; None when it is gone or malformed (logged: one odd item
        must not cost the refresh of all the others)."""
        if not isinstance(item, dict) or "id" not in item:
            return None
        try:
            points = max(0, int(item.get("points") or 0))
        except (TypeError, ValueError, OverflowError):
            shown = str(item.get("points"))[:50]
            logger.warning("hackernews %s: item %s skipped: points %s", self.name, item_id, shown)
            return None
        return Engagement(reposts=points, replies=descendants(item))

    async def fetch(
        self, session: aiohttp.ClientSession, key: str, horizon: Horizon
    ) -> list[Mention]:
        params = {"query": key, "tags": self.settings.tags, "hitsPerPage": str(PAGE)}
        if horizon.started:
            params["numericFilters"] = f"created_at_i>={floor(horizon.floor(self.lookback))}"
        heard: list[Mention] = []
        for page in range(MAX_PAGES if horizon.started else 1):
            answer = await get_json(session, self.url, params={**params, "page": str(page)})
            if not isinstance(answer, dict) or not isinstance(answer.get("hits"), list):
                logger.debug("hackernews %s: answered %.200r", self.name, answer)
                raise SourceError(f"{redact_url(self.url)}: not a search answer")
            heard += [m for hit in answer["hits"] if (m := self._mention_of(hit)) is not None]
            pages = answer.get("nbPages")
            if not isinstance(pages, int) or page + 1 >= pages:
                return heard
        if horizon.started:
            logger.warning(
                "hackernews %s: over %d new hits for %r; older ones skipped",
                self.name,
                PAGE * MAX_PAGES,
                key,
            )
        return heard


def descendants(item: Any) -> int:
    """The comments under ``item``, at every depth: the items endpoint nests them (a reply's
    replies are its ``children``), and a search hit's ``num_comments`` counts them all, so a
    refresh counting direct replies only made the count collapse. No recursion: a long
    argument is a deep thread."""
    count, waiting = 0, [item]
    while waiting:
        node = waiting.pop()
        children = node.get("children") if isinstance(node, dict) else None
        if isinstance(children, list):
            kept = [child for child in children if isinstance(child, dict)]
            count += len(kept)
            waiting += kept
    return count


def to_mention(source: str, hit: Any) -> Mention:
    """One search hit (a story or a comment); :class:`MalformedRecord` when it is not one."""
    if not isinstance(hit, dict):
        raise MalformedRecord(f"not a hit: {str(hit)[:100]}")
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not object_id:
        raise MalformedRecord("a hit without an objectID")
    if hit.get("comment_text") is not None:
        text = html_to_text(parse_text(hit.get("comment_text")))
    else:  # a story: its title is plain text, an Ask HN body is HTML
        parts = (parse_text(hit.get("title")), html_to_text(parse_text(hit.get("story_text"))))
        text = "\n\n".join(part for part in parts if part)
    return Mention(
        source=source,
        native_id=str(object_id),
        text=text,
        created_at=parse_time(hit.get("created_at_i")),
        url=ITEM_URL.format(object_id),
        author=Author(handle=parse_text(hit.get("author"))),
        engagement=Engagement(
            reposts=parse_count(hit.get("points")), replies=parse_count(hit.get("num_comments"))
        ),
        parent_id=parse_text(hit.get("parent_id")),
        raw={key: value for key, value in hit.items() if key != "_highlightResult"},
    )
