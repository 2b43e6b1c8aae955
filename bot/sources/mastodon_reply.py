"""Replying to a Mastodon status, once, however late the attempt.

Replies are posted with an ``Idempotency-Key``, which Mastodon remembers for an hour (a Redis
entry of 3,600 s per account): a retry within the hour gets the first reply back. Later, the key
may be forgotten, so the thread is searched first for the same words from this account (posted
by an attempt whose answer was lost); a failed search fails the attempt rather than post blind.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.clock import Clock
from bot.config.source_mastodon import MastodonSourceSettings
from bot.drafts.addressing import addressed_on_mastodon
from bot.model import Mention
from bot.sources.mastodon_api import MastodonApi
from bot.sources.mastodon_status import Status, reply_by
from bot.sources.polite import Pacer, SourceError, client_session

logger = logging.getLogger(__name__)

KEY_TRUSTED = timedelta(minutes=50)
"""How long after approval a retried reply relies on its Idempotency-Key alone. The key lives an
hour from the first attempt, never earlier than approval; the 10 minutes left cover the wait for
the rate limit (up to its 5-minute window), a slow request and a clock a little wrong. Past it,
two GETs look for the reply first: cheap next to a reply posted twice under a complaint."""


class MastodonReplier:
    """Posts a source's replies with its token, sharing its rate limit (``pacer``)."""

    def __init__(self, settings: MastodonSourceSettings, pacer: Pacer, clock: Clock) -> None:
        self.name = settings.name
        self.settings = settings
        self.clock = clock
        self._pacer = pacer
        self._host = urlsplit(settings.base_url).netloc
        self._account_id: str | None = None  # the token's account, asked once

    async def publish_reply(self, mention: Mention, text: str, *, key: str, at: datetime) -> str:
        """:meth:`reply` under ``key``; from :data:`KEY_TRUSTED` after approval (``at``), when
        Mastodon may have forgotten the key, an earlier reply with the same words is looked for
        first."""
        late = self.clock.now() - at >= KEY_TRUSTED
        return await self.reply(mention, text, idempotency_key=key, look_first=late)

    async def reply(
        self,
        mention: Mention,
        text: str,
        *,
        idempotency_key: str | None = None,
        look_first: bool = False,
    ) -> str:
        """Post ``text`` in reply to ``mention`` (its author addressed); the new status's URL.

        Raises :class:`SourceError` (``retryable`` when worth trying again); the same
        ``idempotency_key`` does not post twice within an hour. With ``look_first``, a reply of
        this account to ``mention`` saying the same is returned instead of posting again.
        """
        if self.settings.access_token is None:
            raise SourceError(
                f"source {self.name}: replying needs an access_token with the write:statuses scope",
                retryable=False,
            )
        if mention.source != self.name:
            raise SourceError(
                f"mention {mention.native_id} was heard by source {mention.source}, not "
                f"{self.name}: its id means nothing on {self._host}",
                retryable=False,
            )
        body = addressed_on_mastodon(text, mention.author.handle)
        async with client_session() as session:
            api = MastodonApi(session, self.settings, self._pacer)
            found = await self._earlier_reply(api, mention, body) if look_first else None
            status = found or await api.post_status(body, mention.native_id, idempotency_key)
        url = status.get("url") or status.get("uri")
        if not url:
            raise SourceError(f"{self._host}: posted status {status['id']} has no URL")
        return url

    async def _earlier_reply(self, api: MastodonApi, mention: Mention, body: str) -> Status | None:
        """This account's reply to ``mention`` saying ``body``, if an attempt whose answer was
        lost posted it. A failed search raises: posting blind could post twice."""
        try:
            if self._account_id is None:
                self._account_id = await api.own_account_id()
            replies = await api.replies_below(mention.native_id)
        except SourceError as error:
            raise SourceError(
                f"looking for an earlier reply before posting: {error}",
                retryable=error.retryable,
                wait=error.wait,
                status=error.status,
            ) from error
        found = reply_by(replies, mention.native_id, self._account_id, body)
        if found is not None:
            logger.info(
                "source %s: the reply to %s was already posted (%s); not posted again",
                *(self.name, mention.native_id, found["id"]),
            )
        return found
