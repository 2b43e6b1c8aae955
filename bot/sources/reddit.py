"""The ``reddit`` source: Reddit search and subreddit listings, read with an OAuth app.

Every poll asks ``GET /search?sort=new&type=link`` for each query (Reddit searches posts, not
comments) and ``/r/{sub}/new`` and ``/r/{sub}/comments`` for each subreddit, 100 at a time,
newest first, following ``after`` back to where the last poll stopped (see
bot/sources/searching.py). It never anchors on ``before``: a ``before`` item that is deleted
makes Reddit answer an empty page forever. A first poll takes only the newest page.

Tokens come from ``POST {auth_url}`` with HTTP basic auth: ``client_credentials`` (read only)
or, for a script app with a username and password, ``password``, which can also :meth:`reply`.
A token is reused until shortly before it expires. Reddit may refuse it sooner (revoked, or an
expiry misjudged after the machine slept): a 401 on a reused token fetches a new one and tries
the request once more; a 401 on a new token is a refusal. Reddit's
``X-Ratelimit-Remaining`` and ``X-Ratelimit-Reset`` are read after every answer: near the end of
the quota the source spaces its requests over what is left of the window instead of running into
429s. A private or banned subreddit (403, 404) fails alone: the other listings are still read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.config.source_reddit import RedditSourceSettings
from bot.model import Brand, Engagement, Mention
from bot.records import MalformedRecord
from bot.sources.base import Source, cut_short
from bot.sources.polite import Pacer, SourceError, client_session, pause, read_json, request
from bot.sources.polling import Report, no_report
from bot.sources.reddit_things import Posted, default_queries, posted, to_mention
from bot.sources.searching import Horizon, SearchingSource

if TYPE_CHECKING:
    from bot.sources import SourceContext

logger = logging.getLogger(__name__)

PAGE = 100
MAX_PAGES = 10  # a Reddit listing ends after about 1,000 items anyway
LOW_REMAINING = 10  # requests left in the window below which requests are spaced out
TOKEN_MARGIN = 60.0  # seconds before expiry a token is replaced
MAX_REPLY = 10_000  # characters Reddit accepts in a comment


class CannotReply(SourceError):
    """This source cannot post this reply, and trying again will not change that."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def build(settings: RedditSourceSettings, context: SourceContext) -> Source:
    malformed = context.metrics.malformed.labels(settings.name)
    return RedditSource(
        settings,
        context.brands,
        report=context.report,
        on_malformed=malformed.inc,
        now=context.clock.now,
    )


def listings(settings: RedditSourceSettings, brands: tuple[Brand, ...]) -> dict[str, str]:
    """Cursor key -> the path it reads: one search per query, two listings per subreddit."""
    queries = default_queries(brands) if settings.queries is None else settings.queries
    wanted = {f"search:{q}": "/search" for q in queries}
    for sub in settings.subreddits:
        wanted |= {f"new:{sub}": f"/r/{sub}/new", f"comments:{sub}": f"/r/{sub}/comments"}
    return wanted


INFO_BATCH = 100  # things per /api/info request


class RedditSource(SearchingSource):
    def __init__(
        self,
        settings: RedditSourceSettings,
        brands: tuple[Brand, ...],
        *,
        report: Report = no_report,
        on_malformed: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[None]] = pause,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.paths = listings(settings, brands)
        if not self.paths:
            raise ValueError(f"reddit source {settings.name}: no brand term to search for")
        super().__init__(
            settings.name,
            settings.poll_seconds,
            list(self.paths),
            lookback=settings.lookback_seconds,
            report=report,
            now=now,
        )
        self.settings = settings
        self.on_malformed = on_malformed
        self.clock = clock
        self.pacer = Pacer(LOW_REMAINING, clock=clock, sleep=sleep)
        self._token: str | None = None
        self._token_until = 0.0

    def session(self) -> aiohttp.ClientSession:
        return client_session({"User-Agent": self.settings.user_agent})

    async def fetch(
        self, session: aiohttp.ClientSession, key: str, horizon: Horizon
    ) -> list[Mention]:
        path = self.paths[key]
        params = {"limit": str(PAGE), "raw_json": "1"}
        if path == "/search":
            params |= {"q": key.removeprefix("search:"), "sort": "new", "type": "link"}
        heard: list[Mention] = []
        for _ in range(MAX_PAGES if horizon.started else 1):
            listing = await self._call(session, "GET", path, params=params)
            page, after = self._read(listing)
            heard += page
            if after is None or self.reached(horizon, page):
                return heard
            params["after"] = after
        if horizon.started:
            logger.warning(
                "reddit %s: over %d new items for %s; older ones skipped",
                self.name,
                PAGE * MAX_PAGES,
                key,
            )
        return heard

    @property
    def can_reply(self) -> bool:
        return self.settings.can_reply

    async def publish_reply(self, mention: Mention, text: str, *, key: str, at: datetime) -> str:
        """Reddit takes no idempotency key: :meth:`reply` looks for the same words first."""
        return (await self.reply(mention, text)).url

    async def reply(self, mention: Mention, text: str) -> Posted:
        """Post ``text`` as a comment under ``mention`` (a post or a comment heard here)."""
        if not self.can_reply:
            raise CannotReply(
                f"reddit source {self.name} cannot reply: replying needs a script app with "
                "username and password set (it reads with an app-only token)"
            )
        if mention.source != self.name or not mention.native_id.startswith(("t1_", "t3_")):
            raise CannotReply(f"{mention.source}/{mention.native_id} was not heard on {self.name}")
        if not text.strip() or len(text) > MAX_REPLY:
            raise CannotReply(f"a Reddit reply is 1 to {MAX_REPLY} characters, not {len(text)}")
        form = {"api_type": "json", "thing_id": mention.native_id, "text": text}
        async with self.session() as session:
            earlier = await self._earlier_reply(session, mention.native_id, text)
            if earlier is not None:
                return earlier
            answer = await self._call(session, "POST", "/api/comment", data=form)
        return posted(answer)

    async def _earlier_reply(
        self, session: aiohttp.ClientSession, parent: str, text: str
    ) -> Posted | None:
        """The same reply, if a try whose answer was lost did post it: Reddit has no
        idempotency key, so the account's latest comments are checked before posting."""
        path = f"/user/{self.settings.username}/comments"
        params = {"limit": str(PAGE), "sort": "new", "raw_json": "1"}
        page, _ = self._read(await self._call(session, "GET", path, params=params))
        for earlier in page:
            if earlier.raw.get("parent_id") == parent and earlier.text == text.strip():
                return Posted(earlier.native_id, earlier.url)
        return None

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Counts from ``/api/info`` (100 things a request); removed things are left out."""
        names = [m.native_id for m in mentions if m.native_id[:3] in ("t1_", "t3_")]
        asked = [m.native_id for m in mentions]
        counts: dict[str, Engagement] = {}
        async with self.session() as session:
            for start in range(0, len(names), INFO_BATCH):
                chunk = ",".join(names[start : start + INFO_BATCH])
                try:
                    listing = await self._call(session, "GET", "/api/info", params={"id": chunk})
                    page, _ = self._read(listing)
                except SourceError as error:
                    raise cut_short(error, counts, asked.index(names[start])) from error
                counts.update((m.native_id, m.engagement) for m in page)
        return counts

    def _read(self, listing: Any) -> tuple[list[Mention], str | None]:
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children"), list):
            logger.debug("reddit %s: answered %.200r", self.name, listing)
            raise SourceError(f"reddit {self.name}: not a listing")
        page = []
        for child in data["children"]:
            try:
                page.append(to_mention(self.name, child))
            except MalformedRecord as error:
                logger.debug("reddit %s: skipped: %s", self.name, error)
                self.on_malformed()
        after = data.get("after")
        return page, after if isinstance(after, str) and after else None

    async def _call(
        self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
    ) -> Any:
        """One API request. A 401 on a token reused from earlier (revoked, or its expiry misjudged
        after the machine slept) is tried once more with a new token; only a 401 on a token
        fetched for this request is final."""
        reused = self._has_token()
        try:
            return await self._send(session, method, path, **kwargs)
        except SourceError as error:
            if error.status != 401 or not reused:
                raise
        logger.info("reddit %s: the token was refused; trying again with a new one", self.name)
        return await self._send(session, method, path, **kwargs)

    async def _send(
        self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
    ) -> Any:
        headers = {"Authorization": f"bearer {await self._access_token(session)}"}
        url = self.settings.base_url.rstrip("/") + path
        try:
            response = await request(
                session, method, url, headers=headers, pacer=self.pacer, **kwargs
            )
        except SourceError as error:
            if error.status == 401:
                self._token = None  # a refused token is not used again
            raise
        return await read_json(response, url)

    def _has_token(self) -> bool:
        """Whether a token believed valid is at hand (no request needed to get one)."""
        return self._token is not None and self.clock() < self._token_until

    async def _access_token(self, session: aiohttp.ClientSession) -> str:
        if self._token is None or not self._has_token():
            self._token, lifetime = await self._new_token(session)
            self._token_until = self.clock() + lifetime - TOKEN_MARGIN
        return self._token

    async def _new_token(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        settings = self.settings
        form = {"grant_type": "client_credentials"}
        if settings.username is not None and settings.password is not None:
            form = {
                "grant_type": "password",
                "username": settings.username,
                "password": settings.password.get_secret_value(),
            }
        secret = settings.client_secret.get_secret_value()
        basic = {"Authorization": aiohttp.encode_basic_auth(settings.client_id, secret)}
        response = await request(session, "POST", settings.auth_url, data=form, headers=basic)
        answer = await read_json(response, settings.auth_url)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            # Reddit answers 200 {"error": "invalid_grant"} to a wrong username or password
            reason = answer.get("error") if isinstance(answer, dict) else None
            said = reason if isinstance(reason, str) else "no access_token in the answer"
            raise SourceError(
                f"reddit refused the app's credentials: {said[:100]}", retryable=False
            )
        lifetime = answer.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, int | float) else 3600.0
