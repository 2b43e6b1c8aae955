"""What the Mastodon source asks an instance, and how it walks the answers (thin I/O).

A *feed* is one thing followed: a hashtag, the public timeline or a search. Each has its own
entry in the cursor, the newest status id heard from it. Catching up a feed from its cursor:

- timelines (``/api/v1/timelines/tag/{tag}``, ``/api/v1/timelines/public``) walk forward with
  ``min_id``, which Mastodon documents as "the page immediately newer than this id";
- search (``/api/v2/search``) answers newest first and turns ``min_id``/``max_id`` into
  ``after:``/``before:`` times to the second (StatusesSearchService), so paging down with
  ``max_id`` would skip posts of the same second as a page's last. It is walked backwards with
  ``offset`` down to the cursor instead (``min_id`` only narrows it), and ids at or below the
  cursor are dropped here. A short page is no end: Mastodon drops deleted and filtered statuses
  after LIMIT/OFFSET, so the walk goes on until a page is empty or reaches the cursor. A
  streamed timeline's catch-up also goes on to an empty page (see ``since``).

A read can start ``LOOKBACK`` below the cursor (``look_back``). Mastodon gives a status from
another server the snowflake id of when it was posted, not of when it arrived
(Mastodon::Snowflake), so a post federated late sorts below posts heard before it: asked only
for ids above the cursor, neither a timeline nor a search would ever give it. Repeats are
dropped by the reader (and by storage). Ids that are no snowflakes (Pleroma, Misskey) are read
from the cursor itself. The source reads a feed back once per ``READ_BACK_EVERY`` (a post late
by up to ``LOOKBACK`` minus that, less a poll period, is always heard); other reads start at the
cursor, one request for a quiet feed: the rate limit is shared with catch-ups and replies.

Every REST request waits its turn with a :class:`Pacer`: when ``X-RateLimit-Remaining`` runs
low, what is left is spread until ``X-RateLimit-Reset`` (an ISO 8601 time on Mastodon).

At the very first start (no cursor) a feed is read back from the newest page to ``back_to``
(start minus ``backfill``), ``max_pages`` at most.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from bot.config.source_mastodon import MastodonSourceSettings
from bot.model import Brand
from bot.records import MalformedRecord, parse_time
from bot.redact import redact_url
from bot.sources.mastodon_status import (
    MalformedStatus,
    Status,
    as_status,
    id_order,
    is_newer,
    snowflake_at,
    snowflake_time,
)
from bot.sources.polite import (
    Pacer,
    SourceError,
    bad_host,
    describe,
    get_json,
    read_json,
    refusal,
    request,
)
from bot.sources.redirects import Resolve, addresses, is_private, is_public, resolve

logger = logging.getLogger(__name__)

PAGE_SIZE = 40  # the most Mastodon gives per page
LOOKBACK = timedelta(minutes=10)
"""How far below the cursor (in post time) each read starts, for posts federated late."""
READ_BACK_EVERY = LOOKBACK / 2
"""How often (at most) the source reads a feed back, per feed; other reads start at the cursor."""
LOOKBACK_PAGES = 3
"""Pages wholly below the cursor read at most per read: past them a timeline goes on from the
cursor, a search (walking down from the newest) stops."""
CONNECT_SECONDS = 30.0
_PUBLIC_STREAMS = {"all": "public", "local": "public/local", "remote": "public/remote"}


@dataclass(frozen=True, slots=True)
class Feed:
    key: str
    """Its entry in the cursor: ``tag:kestreldown``, ``public:local``, ``search:kestrel``."""
    label: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    stream_path: str = ""
    """Where its events stream (``/api/v1/streaming/...``); empty for a search."""
    search: bool = False
    firehose: bool = False
    """Everything posted, not only what names a brand: filtered before queueing."""


@dataclass(frozen=True, slots=True)
class Page:
    statuses: list[Status]
    """Oldest first, each newer than where the walk started (see :func:`read_back`)."""
    more: bool = False
    """The walk stopped at ``max_pages``: newer (timelines) or older (search, first start)
    posts remain."""
    malformed: int = 0


def plan_feeds(settings: MastodonSourceSettings, brands: Sequence[Brand]) -> list[Feed]:
    """The feeds a source follows: its hashtags, the public timeline, its searches."""
    tags = settings.hashtags
    if tags is None:
        tags = [tag.lstrip("#") for brand in brands for tag in brand.hashtags]
    queries = settings.search
    if queries is None:
        has_token = settings.access_token is not None
        queries = [term for brand in brands for term in (brand.name, *brand.keywords)]
        queries = queries if has_token else []
    local = "/local" if settings.local_only else ""
    feeds = [
        Feed(
            key=f"tag:{tag}",
            label=f"#{tag}",
            path=f"/api/v1/timelines/tag/{quote(tag, safe='')}",
            params=(("local", "true"),) if local else (),
            stream_path=f"/api/v1/streaming/hashtag{local}?tag={quote(tag, safe='')}",
        )
        for tag in _unique(tag.lower() for tag in tags)
    ]
    if settings.public != "off":
        scope = settings.public
        feeds.append(
            Feed(
                key=f"public:{scope}",
                label=f"the {scope} public timeline",
                path="/api/v1/timelines/public",
                params=((scope, "true"),) if scope != "all" else (),
                stream_path=f"/api/v1/streaming/{_PUBLIC_STREAMS[scope]}",
                firehose=True,
            )
        )
    feeds += [
        Feed(
            key=f"search:{query}",
            label=f"search {query!r}",
            path="/api/v2/search",
            params=(("q", query),),
            search=True,
        )
        for query in _unique(queries, key=str.casefold)
    ]
    return feeds


def _unique(items: Iterable[str], key: Callable[[str], str] = str) -> list[str]:
    """In order, the first of each (by ``key``)."""
    first: dict[str, str] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


@dataclass
class MastodonApi:
    session: aiohttp.ClientSession
    settings: MastodonSourceSettings
    pacer: Pacer = field(default_factory=Pacer)
    """Shared by everything the source asks with one token: Mastodon counts per account."""
    resolve: Resolve = resolve
    """Host names to addresses, to refuse a streaming host inside Vigie's network."""
    _streaming: str | None = None
    _discovery: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def headers(self) -> dict[str, str]:
        token = self.settings.access_token
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    def url(self, path: str) -> str:
        return self.settings.base_url + path

    async def since(
        self,
        feed: Feed,
        since: str | None,
        *,
        back_to: datetime | None = None,
        to_the_end: bool = False,
        look_back: bool = True,
    ) -> AsyncIterator[Page]:
        """The feed's statuses newer than :func:`read_back` of ``since`` (``since`` itself
        without ``look_back``), a page at a time.

        With no cursor (``since`` None), the newest pages back to ``back_to`` (None: the newest
        page only). A timeline page short of ``PAGE_SIZE`` usually is the newest one, but
        Mastodon drops statuses deleted since their ids were cached after LIMIT (and other
        servers may give fewer per page), so more may follow. A polled feed stops there (its
        next poll goes on from it); with ``to_the_end`` (a streamed feed's catch-up, after which
        the stream moves the cursor past what is left) the walk goes on until a page is empty:
        one more request per catch-up."""
        start = read_back(since) if look_back else since
        if feed.search:
            yield await self._search_since(feed, since, start, back_to)
        elif since is None:
            async for page in self._back_to(feed, back_to):
                yield page
        else:
            async for page in self._forward(feed, since, start, to_the_end):
                yield page

    async def _forward(
        self, feed: Feed, since: str, start: str | None, to_the_end: bool
    ) -> AsyncIterator[Page]:
        """Pages up from ``start`` (``since`` or below it), oldest first. Pages wholly at or
        below ``since`` (the look-back) never end the walk and do not count against
        ``max_pages``; after ``LOOKBACK_PAGES`` of them the walk jumps to ``since``, so a busy
        feed still reaches its newest posts."""
        position = start
        pages = looked_back = 0
        while True:
            answer = await self._timeline(feed, {"min_id": position})
            page = _page(answer, position)
            behind = bool(page.statuses) and not is_newer(page.statuses[-1]["id"], since)
            # a page of the look-back short of dropped posts is no end: stopping there, the
            # next read would start from the same place again, for ever
            full = len(answer) >= PAGE_SIZE
            go_on = bool(page.statuses) and (full or to_the_end or behind)
            looked_back += behind
            pages += not behind
            last = pages >= self.settings.max_pages
            yield Page(page.statuses, go_on and last, page.malformed)
            if not go_on or last:
                return
            jump = behind and looked_back >= LOOKBACK_PAGES
            position = since if jump else page.statuses[-1]["id"]

    async def _back_to(self, feed: Feed, back_to: datetime | None) -> AsyncIterator[Page]:
        """The first read: pages down from the newest (``max_id``) until one is empty or holds
        a post older than ``back_to``. A short page is no end (see :meth:`since`)."""
        position: str | None = None
        for number in range(self.settings.max_pages):
            answer = await self._timeline(feed, {"max_id": position} if position else {})
            page = _page(answer, None)
            done = back_to is None or not page.statuses or _reaches_time(answer, back_to)
            yield Page(
                page.statuses, not done and number == self.settings.max_pages - 1, page.malformed
            )
            if done:
                return
            position = page.statuses[0]["id"]

    async def _timeline(self, feed: Feed, extra: dict[str, str | None]) -> list[Any]:
        params = {**dict(feed.params), "limit": str(PAGE_SIZE)}
        params |= {key: value for key, value in extra.items() if value is not None}
        answer = await self.get(feed.path, params)
        if not isinstance(answer, list):
            raise SourceError(f"{feed.path}: expected a list of statuses")
        return answer

    async def _search_since(
        self, feed: Feed, since: str | None, start: str | None, back_to: datetime | None = None
    ) -> Page:
        """Pages down from the newest until one is empty or reaches ``start`` (``since`` or
        below it), or after ``LOOKBACK_PAGES`` pages wholly at or below ``since`` (the first
        time, ``since`` None: until one reaches ``back_to``; None too: the newest page only). A
        short page does not end the walk: Mastodon drops deleted and filtered statuses after
        LIMIT/OFFSET, so more may follow."""
        found: list[Any] = []
        looked_back = 0
        for number in range(self.settings.max_pages):
            params = {**dict(feed.params), "type": "statuses", "resolve": "false"}
            params |= {"limit": str(PAGE_SIZE), "offset": str(number * PAGE_SIZE)}
            if start is not None:
                params["min_id"] = start
            answer = await self.get(feed.path, params)
            statuses = answer.get("statuses") if isinstance(answer, dict) else None
            if not isinstance(statuses, list):
                raise SourceError(f"{feed.path}: expected {{statuses: [...]}}")
            found += statuses
            if since is not None and _wholly_behind(statuses, since):
                looked_back += 1
            if looked_back >= LOOKBACK_PAGES or _search_done(statuses, start, back_to):
                return _page(found, start)
        page = _page(found, start)
        # the look-back left unread is no news; posts between the cursor and the newest are
        missed = not (_reaches(found, since) if since is not None else False)
        return Page(page.statuses, more=missed, malformed=page.malformed)

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """``GET`` a JSON answer from the instance, paced by its rate limit."""
        return await get_json(
            self.session, self.url(path), params=params, headers=self.headers, pacer=self.pacer
        )

    async def open_stream(self, feed: Feed) -> aiohttp.ClientResponse:
        """The feed's event stream, connected (the caller reads and releases it)."""
        url = await self.streaming_base() + feed.stream_path
        headers = {**self.headers, "Accept": "text/event-stream"}
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                response = await self.session.get(
                    url,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_SECONDS),
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SourceError(f"{redact_url(url)}: {describe(error)}") from error
        except UnicodeError as error:  # the instance named a streaming host that is no host
            raise bad_host(redact_url(url), error) from error
        if response.status >= 400:
            hint = " (streaming needs an access_token since Mastodon 4.2)"
            raise await refusal(response, url, hint if response.status == 401 else "")
        return response

    async def streaming_base(self) -> str:
        """Where streams are served: ``streaming_url``, else what the instance says (often a
        host of its own, such as streaming.mastodon.social), else ``base_url``."""
        async with self._discovery:
            if self._streaming is None:
                self._streaming = self.settings.streaming_url or await self._discover()
        return self._streaming or self.settings.base_url

    async def _discover(self) -> str | None:
        """None when the instance could not be asked (asked again at the next connection)."""
        for path, keys in (
            ("/api/v2/instance", ("configuration", "urls", "streaming")),
            ("/api/v1/instance", ("urls", "streaming_api")),
        ):
            try:
                found: Any = await self.get(path)
            except SourceError as error:
                logger.debug("%s: %s", path, error)
                continue
            for key in keys:
                found = found.get(key) if isinstance(found, dict) else None
            if isinstance(found, str) and found.startswith(("ws", "http")):
                parts = urlsplit(found)
                scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
                return await self._checked_streaming(
                    f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
                )
            return self.settings.base_url  # it answered without naming one: streams are here
        return None

    async def _checked_streaming(self, named: str) -> str:
        """``named``, or ``base_url`` when a public instance names a private host: the token
        would be sent into Vigie's own network (as with a feed's redirect)."""
        try:
            if await is_private(URL(self.settings.base_url), self.resolve):
                return named
            if all(is_public(a) for a in await addresses(URL(named), self.resolve)):
                return named
        except (SourceError, ValueError) as error:  # connecting will say what is wrong
            logger.debug("%s: %s", redact_url(named), error)
            return named
        shown = redact_url(named)
        logger.warning("the instance names %s for streaming, a private host; not used", shown)
        return self.settings.base_url

    async def own_account_id(self) -> str:
        """The id of the token's account (``GET /api/v1/accounts/verify_credentials``)."""
        path = "/api/v1/accounts/verify_credentials"
        answer = await self.get(path)
        found = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(found, str):
            raise SourceError(f"{path}: the answer is not an account")
        return found

    async def replies_below(self, status_id: str) -> list[Status]:
        """The statuses below ``status_id`` in its thread, at any depth: ``descendants`` of
        ``GET /api/v1/statuses/:id/context`` (up to 4,096 with a token; 60 without)."""
        path = f"/api/v1/statuses/{quote(status_id, safe='')}/context"
        answer = await self.get(path)
        found = answer.get("descendants") if isinstance(answer, dict) else None
        if not isinstance(found, list):
            raise SourceError(f"{path}: expected {{descendants: [...]}}")
        return _page(found, None).statuses

    async def post_status(
        self, text: str, in_reply_to_id: str, idempotency_key: str | None = None
    ) -> Status:
        headers = self.headers
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key  # a post retried within the hour: once
        form = {
            "status": text,
            "in_reply_to_id": in_reply_to_id,
            "visibility": self.settings.reply_visibility,
        }
        url = self.url("/api/v1/statuses")
        response = await request(
            self.session, "POST", url, data=form, headers=headers, pacer=self.pacer
        )
        answer = await read_json(response, url)
        try:
            return as_status(answer)
        except MalformedStatus as error:
            raise SourceError(f"{redact_url(url)}: the answer is not a status ({error})") from error


def _page(answer: list[Any], since: str | None) -> Page:
    statuses: dict[str, Status] = {}
    malformed = 0
    for item in answer:
        try:
            status = as_status(item)
        except MalformedStatus:
            malformed += 1
            continue
        if is_newer(status["id"], since):
            statuses[status["id"]] = status
    ordered = sorted(statuses.values(), key=lambda status: id_order(status["id"]))
    return Page(ordered, malformed=malformed)


def read_back(cursor: str | None, lookback: timedelta = LOOKBACK) -> str | None:
    """Where a read from ``cursor`` starts: the snowflake id of ``lookback`` before the
    cursor's time; the cursor itself when it is no snowflake (or None)."""
    when = snowflake_time(cursor) if cursor is not None else None
    return cursor if when is None else snowflake_at(when - lookback)


def _search_done(statuses: list[Any], start: str | None, back_to: datetime | None) -> bool:
    if not statuses:
        return True
    if start is not None:
        return _reaches(statuses, start)
    return back_to is None or _reaches_time(statuses, back_to)


def _reaches_time(answer: list[Any], when: datetime) -> bool:
    """Whether a page holds a post made before ``when``: older pages hold nothing wanted."""
    for item in answer:
        try:
            if isinstance(item, dict) and parse_time(item.get("created_at")) < when:
                return True
        except MalformedRecord:
            continue
    return False


def _wholly_behind(answer: list[Any], since: str) -> bool:
    """Whether a search page holds posts, none of them newer than ``since``: all look-back."""
    ids = [
        item["id"] for item in answer if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
    return bool(ids) and not any(is_newer(status_id, since) for status_id in ids)


def _reaches(answer: list[Any], since: str) -> bool:
    """Whether a search page goes back to ``since``: older pages hold nothing new."""
    return any(
        isinstance(item, dict)
        and isinstance(item.get("id"), str)
        and not is_newer(item["id"], since)
        for item in answer
    )
