"""The ``rss`` source: RSS and Atom feeds (Google Alerts, news searches, blogs), polled politely.

Each feed is fetched with aiohttp through polite.py (backoff, ``Retry-After``), sending
``If-None-Match`` / ``If-Modified-Since`` from its stored ETag / Last-Modified; a 304 means nothing
new. feedparser only parses the bytes. The cursor keeps, per feed, those validators and short
digests of the keys of the newest ``max_entries`` entries (plus, when the feed holds more than
that, the time of the oldest of them), so a restart neither queues an entry again nor misses one
that appeared meanwhile. One failing feed is backed off on its own; the others carry on.

One article can be in several feeds of a source (a blog's main and category feeds, two news
searches), under a different id in each: storage drops it as a repeat by its canonical link, an
``rss`` source being one of the app's ``same_link_sources`` (:func:`storage.mentions.save_batch`).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import io
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import feedparser  # type: ignore[import-untyped]

from bot.config.source_rss import RssSourceSettings
from bot.model import Author, Mention
from bot.redact import redact_url
from bot.sources.base import Source, not_in_future
from bot.sources.html_text import html_to_text
from bot.sources.polite import Backoff, SourceError, client_session, describe
from bot.sources.polling import Cursor, PollingSource, Report, no_report
from bot.sources.redirects import Resolve, follow, resolve

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_FEED_BYTES = 10 * 1024 * 1024
MAX_TEXT = 10_000  # full-article feeds: the start says what the story is about
FEED_BACKOFF_CAP = 3600.0  # a feed that refuses (404, 403) is asked again an hour later
PARALLEL_FETCHES = 4
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_GOOGLE_HOST = re.compile(r"^(www\.)?google\.[a-z.]+$")
_WORD = re.compile(r"\w+")

Entry = Mapping[str, Any]  # one feedparser entry (a FeedParserDict)


# -- the cursor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedMemory:
    """What the cursor remembers of one feed."""

    etag: str | None = None
    modified: str | None = None
    seen: tuple[str, ...] = ()
    """Digests of the keys of the entries in the feed's window last time, newest first."""
    floor: str | None = None
    """When the feed held more entries than the window: the oldest time in it (ISO 8601)."""

    @classmethod
    def load(cls, data: Any) -> FeedMemory:
        if not isinstance(data, dict):
            return cls()
        text = {k: v if isinstance(v, str) else None for k, v in data.items() if k != "seen"}
        seen = data.get("seen")
        return cls(
            text.get("etag"),
            text.get("modified"),
            tuple(s for s in seen if isinstance(s, str)) if isinstance(seen, list) else (),
            text.get("floor"),
        )

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"etag": self.etag, "modified": self.modified, "floor": self.floor}
        return {"seen": list(self.seen)} | {k: v for k, v in data.items() if v is not None}


def digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


# -- fetching and parsing (thin I/O) -----------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    body: bytes
    url: str
    content_type: str
    etag: str | None
    modified: str | None


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    memory: FeedMemory,
    seconds: float = 30.0,
    resolve: Resolve = resolve,
) -> Fetched | None:
    """The feed's bytes, or None when the server says it has not changed (304). Redirects are
    followed only where :func:`bot.sources.redirects.follow` allows."""
    headers = {"If-None-Match": memory.etag} if memory.etag else {}
    if memory.modified:
        headers["If-Modified-Since"] = memory.modified
    shown = redact_url(url)
    try:
        response = await follow(session, url, headers=headers, seconds=seconds, resolve=resolve)
    except ValueError as error:  # a host aiohttp or yarl cannot even name: this feed only
        raise SourceError(f"{shown}: {describe(error)}", retryable=False) from error
    try:
        if response.status == 304:
            return None
        if response.status != 200:
            raise SourceError(f"{shown}: unexpected HTTP {response.status}")
        body = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            body += chunk
            if len(body) > MAX_FEED_BYTES:
                raise SourceError(
                    f"{shown}: feed larger than {MAX_FEED_BYTES} bytes", retryable=False
                )
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SourceError(f"{shown}: {describe(error)}") from error
    finally:
        response.release()
    return Fetched(
        bytes(body),
        str(response.url.with_user(None)),  # relative links resolve against it: no password
        response.headers.get("Content-Type", ""),
        response.headers.get("ETag"),
        response.headers.get("Last-Modified"),
    )


def parse_feed(fetched: Fetched, feed: str) -> Any:
    """feedparser's reading of the bytes; a document with no entries that is no feed is an error.

    The bytes go in a stream: feedparser would take a bare string for a URL or a file name.
    """
    headers = {"content-type": fetched.content_type, "content-location": fetched.url}
    try:
        parsed = feedparser.parse(io.BytesIO(fetched.body), response_headers=headers)
    except Exception as error:  # feedparser means never to raise; if it does, the feed is bad
        shown = redact_url(feed)
        raise SourceError(f"{shown}: cannot be parsed ({type(error).__name__}: {error})") from error
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no RSS or Atom document"
        raise SourceError(f"{redact_url(feed)}: not a feed ({reason})")
    return parsed


# -- entries to mentions (pure) ------------------------------------------------------------------


def unwrap(link: str) -> str:
    """The article behind a Google redirect (``google.com/url?url=...``), without tracking bits.
    The fragment stays (``#comment-12`` is one comment of a post): canonical_url decides which
    fragments name an item."""
    parts = urlsplit(link.strip())
    if _GOOGLE_HOST.match(parts.hostname or "") and parts.path == "/url":
        wrapped = parse_qs(parts.query)
        target = (wrapped.get("url") or wrapped.get("q") or [""])[0]
        if urlsplit(target).scheme in ("http", "https"):
            parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if not key.lower().startswith("utm_")]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def entry_key(entry: Entry) -> str | None:
    """What tells this entry from the others of its feed: its id, else its link."""
    return str(entry.get("id") or "").strip() or str(entry.get("link") or "").strip() or None


def native_id(entry: Entry, feed: str) -> str:
    """Stable across polls and restarts: the entry id (qualified by the feed's host when it is
    not a URI, since bare ids like '1234' repeat across sites), else the canonical link."""
    entry_id = str(entry.get("id") or "").strip()
    if entry_id:
        host = urlsplit(feed).netloc.rpartition("@")[2]  # never the feed's user and password
        return entry_id if _URI_SCHEME.match(entry_id) else f"{host}:{entry_id}"
    link = str(entry.get("link") or "").strip()
    if link:
        return unwrap(link)
    raise ValueError("entry has neither an id nor a link")


def entry_time(entry: Entry) -> datetime | None:
    for name in ("published_parsed", "updated_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None


def plain(value: Any, kind: Any) -> str:
    text = str(value or "")
    return html_to_text(text) if kind in _HTML_TYPES else " ".join(text.split())


def entry_text(entry: Entry) -> str:
    """Title and summary (else content) as plain text, a summary that repeats the title once."""
    title = plain(entry.get("title"), (entry.get("title_detail") or {}).get("type"))
    body = _body(entry)
    words_title, words_body = _words(title), _words(body)
    if words_body.strip() and words_body in words_title:
        body = ""  # Google News: the summary is the headline again, and the outlet
    elif words_title.strip() and words_body.startswith(words_title):
        title = ""  # the summary opens with the headline
    text = "\n".join(part for part in (title, body) if part)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _body(entry: Entry) -> str:
    detail = entry.get("summary_detail") or {}
    if detail.get("value"):
        return plain(detail["value"], detail.get("type"))
    for content in entry.get("content") or ():  # Atom with <content> only (Google Alerts)
        if content.get("value"):
            return plain(content["value"], content.get("type"))
    return plain(entry.get("summary"), "text/html")


def _words(text: str) -> str:
    """' kestrel mobile down ': words only, padded, so containment is of whole words."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def to_mention(source: str, feed: str, entry: Entry, now: datetime) -> Mention:
    """One entry as a mention; ValueError when it cannot be one."""
    text = entry_text(entry)
    if not text:
        raise ValueError("entry has no title, summary or content")
    identity = native_id(entry, feed)
    link = unwrap(str(entry.get("link") or "")) if entry.get("link") else ""
    outlet = str((entry.get("source") or {}).get("title") or "").strip()
    author = " ".join(str(entry.get("author") or "").split()) or outlet
    when = entry_time(entry)
    raw = {
        "feed": redact_url(feed),
        "id": entry.get("id"),
        "link": entry.get("link"),
        "published": entry.get("published") or entry.get("updated"),
        "outlet": outlet or None,
    }
    mention = Mention(
        source=source,
        native_id=identity,
        text=text,
        created_at=when or now,
        url=link if urlsplit(link).scheme in ("http", "https") else "",
        author=Author(name=author),
        raw={key: value for key, value in raw.items() if value},
    )
    return not_in_future(mention, now)  # a date in the future is a wrong date


@dataclass(frozen=True)
class Fresh:
    """The new entries of one parsed feed (oldest first) and what to remember of it."""

    entries: list[Entry]
    memory: FeedMemory
    overflow: bool = False
    """Every entry in the window is new and the feed holds more: some may have been missed."""


def newest_first(entries: list[Entry]) -> list[tuple[Entry, datetime | None]]:
    """The entries with their dates, newest first, whatever order the feed lists them in.

    An undated entry is taken for as old as the dated one before it in the document (the first
    dated one when none comes before) and stays on the same side of it: in a feed listed oldest
    first it is newer than that entry, in one listed newest first older. With no date at all,
    document order (newest first, as most feeds are).
    """
    timed = [(entry, entry_time(entry)) for entry in entries]
    dated = [when for _, when in timed if when is not None]
    if not dated:
        return timed
    later_is_newer = 1 if dated[-1] > dated[0] else -1  # the feed lists oldest first
    keys: list[tuple[datetime, int]] = []
    last = dated[0]
    for index, (_, when) in enumerate(timed):
        last = when or last
        keys.append((last, later_is_newer * index))
    order = sorted(range(len(timed)), key=keys.__getitem__, reverse=True)
    return [timed[index] for index in order]


def select(entries: list[Entry], memory: FeedMemory, max_entries: int) -> Fresh:
    """The entries in the window (the newest ``max_entries``, see :func:`newest_first`) not
    seen before. An unseen entry older than the remembered floor was outside the last window,
    hence not new. An empty feed leaves the memory as it was: a feed that answers empty for a
    moment would otherwise have all its entries taken for new when they come back.
    """
    if not entries:
        return Fresh([], memory)
    timed = newest_first(entries)
    window = timed[:max_entries]
    seen, floor = set(memory.seen), _parse_time(memory.floor)
    fresh: list[Entry] = []
    remembered: dict[str, None] = {}
    for entry, when in window:
        mark = digest(entry_key(entry) or repr(sorted(entry.items())))
        older = floor is not None and when is not None and when < floor
        if mark not in seen and mark not in remembered and not older:
            fresh.append(entry)
        remembered[mark] = None
    truncated = len(timed) > max_entries
    times = [when for _, when in window if when is not None]
    new_floor = min(times).isoformat() if truncated and times else None
    fresh.reverse()
    memory_after = FeedMemory(memory.etag, memory.modified, tuple(remembered), new_floor)
    overflow = truncated and bool(memory.seen) and len(fresh) == len(window)
    return Fresh(fresh, memory_after, overflow)


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


# -- the source ---------------------------------------------------------------------------------


@dataclass
class FeedHealth:
    backoff: Backoff
    due: float = 0.0
    trouble: str | None = None


@dataclass
class FeedResult:
    mentions: list[Mention] = field(default_factory=list)
    memory: FeedMemory = field(default_factory=FeedMemory)


class RssSource(PollingSource):
    def __init__(
        self,
        settings: RssSourceSettings,
        now: Callable[[], datetime],
        *,
        report: Report = no_report,
        on_malformed: Callable[[str], None] = lambda source: None,
        monotonic: Callable[[], float] = time.monotonic,
        resolve: Resolve = resolve,
    ) -> None:
        super().__init__(
            settings.name, settings.poll_seconds, max_backoff=FEED_BACKOFF_CAP, report=report
        )
        self.feeds = tuple(settings.feeds)
        self.max_entries = settings.max_entries
        self.now = now
        self.on_malformed = on_malformed
        self.monotonic = monotonic
        self.resolve = resolve
        self.health = {feed: FeedHealth(Backoff(cap=FEED_BACKOFF_CAP)) for feed in self.feeds}
        self._reported: str | None = None

    def session(self) -> aiohttp.ClientSession:
        return client_session({"Accept": ACCEPT})

    async def poll(
        self, session: aiohttp.ClientSession, cursor: Cursor
    ) -> tuple[list[Mention], Cursor]:
        stored = cursor.get("feeds")
        memories = {
            feed: FeedMemory.load(stored.get(feed) if isinstance(stored, dict) else None)
            for feed in self.feeds
        }
        slots = asyncio.Semaphore(PARALLEL_FETCHES)
        now = self.monotonic()
        async with asyncio.TaskGroup() as group:
            tasks = {
                feed: group.create_task(self._poll_feed(session, slots, feed, memories[feed]))
                for feed in self.feeds
                if self.health[feed].due <= now
            }
        results = {feed: task.result() for feed, task in tasks.items()}
        after = {
            feed: results[feed].memory if feed in results else memories[feed] for feed in self.feeds
        }
        mentions = [mention for result in results.values() for mention in result.mentions]
        mentions.sort(key=lambda mention: mention.created_at)
        self._report_health()
        return mentions, {"feeds": {feed: memory.dump() for feed, memory in after.items()}}

    async def _poll_feed(
        self,
        session: aiohttp.ClientSession,
        slots: asyncio.Semaphore,
        feed: str,
        memory: FeedMemory,
    ) -> FeedResult:
        try:
            async with slots:
                fetched = await fetch(session, feed, memory, resolve=self.resolve)
            if fetched is None:
                result = FeedResult([], memory)
            else:
                parsed = await asyncio.to_thread(parse_feed, fetched, feed)
                result = self._read(feed, parsed.entries, memory, fetched)
        except SourceError as error:
            self._feed_failed(feed, error)
            return FeedResult([], memory)
        self._feed_fine(feed)
        return result

    def _read(
        self, feed: str, entries: list[Entry], memory: FeedMemory, fetched: Fetched
    ) -> FeedResult:
        fresh = select(entries, memory, self.max_entries)
        if fresh.overflow:
            logger.warning(
                "source %s: %s: more than %d new entries since the last poll; older ones may be "
                "missed (poll more often or raise max_entries)",
                self.name,
                redact_url(feed),
                self.max_entries,
            )
        now = self.now()
        mentions = [
            mention
            for entry in fresh.entries
            if (mention := self._mention_of(feed, entry, now)) is not None
        ]
        kept = FeedMemory(fetched.etag, fetched.modified, fresh.memory.seen, fresh.memory.floor)
        return FeedResult(mentions, kept)

    def _mention_of(self, feed: str, entry: Entry, now: datetime) -> Mention | None:
        """The entry as a mention; None (logged, counted as malformed) when it cannot be one.

        An unexpected error too skips only its entry, with its traceback: one odd entry (say,
        markup a parser chokes on) must not fail every feed of the source at every poll."""
        try:
            return to_mention(self.name, feed, entry, now)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            shown = redact_url(feed)
            logger.warning("source %s: %s: skipped an entry: %s", self.name, shown, error)
        except Exception:
            logger.exception(
                "source %s: %s: skipped entry %.200r: unexpected error reading it",
                self.name,
                redact_url(feed),
                entry_key(entry),
            )
        self.on_malformed(self.name)
        return None

    def _feed_failed(self, feed: str, error: SourceError) -> None:
        health = self.health[feed]
        delay = health.backoff.next_delay(error.wait)
        if not error.retryable:
            delay = max(delay, health.backoff.cap)  # a refusal will not mend itself soon
        health.due = self.monotonic() + delay
        if str(error) != health.trouble:
            logger.warning("source %s: %s; asking again in %.0fs", self.name, error, delay)
        health.trouble = str(error)

    def _feed_fine(self, feed: str) -> None:
        health = self.health[feed]
        if health.trouble is not None:
            logger.info("source %s: %s works again", self.name, redact_url(feed))
        health.backoff.reset()
        health.due, health.trouble = 0.0, None

    def _report_health(self) -> None:
        """Trouble is reported once when it starts or changes, and once when every feed works."""
        troubles = [h.trouble for h in self.health.values() if h.trouble is not None]
        trouble = "; ".join(troubles) or None
        if trouble != self._reported:
            self.report(self.name, trouble)
            self._reported = trouble


def build(settings: RssSourceSettings, context: SourceContext) -> Source:
    return RssSource(
        settings,
        context.clock.now,
        report=context.report,
        on_malformed=lambda name: context.metrics.malformed.labels(name).inc(),
    )
