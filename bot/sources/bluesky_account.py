"""The Bluesky account replies are posted as, and its session on the account's PDS.

Logging in (``com.atproto.server.createSession`` with the handle and an app password) is rate
limited by Bluesky: 30 times in 5 minutes and 300 times a day per account. So one
:class:`Account`, kept by the source, keeps its session between replies: the access token is
used until the PDS says it expired (``ExpiredToken``), then ``com.atproto.server.refreshSession``
trades the refresh token for new ones; only when the refresh token is refused too does the
account log in again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config.source_bluesky import BlueskySourceSettings
from bot.sources.bluesky_xrpc import XrpcError, call
from bot.sources.polite import SourceError

logger = logging.getLogger(__name__)

STALE_SESSION = ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthRequired")


@dataclass(frozen=True, slots=True)
class Login:
    """A session: the account's DID, the token to call with, the token that renews it."""

    did: str
    access_jwt: str
    refresh_jwt: str | None


class Account:
    def __init__(self, handle: str, app_password: str, pds_url: str) -> None:
        self.handle = handle
        self.app_password = app_password
        self.pds = pds_url.rstrip("/") + "/xrpc/"
        self._login: Login | None = None
        self._lock = asyncio.Lock()  # one login or refresh at a time: refresh tokens rotate

    @classmethod
    def from_settings(cls, settings: BlueskySourceSettings) -> Account | None:
        """None when the source has no reply account configured."""
        if settings.handle is None or settings.app_password is None:
            return None
        return cls(settings.handle, settings.app_password.get_secret_value(), settings.pds_url)

    async def login(self, session: aiohttp.ClientSession) -> Login:
        """The session kept from earlier, else a new one."""
        async with self._lock:
            if self._login is None:
                self._login = await self._create(session)
            return self._login

    async def renew(self, session: aiohttp.ClientSession, stale: Login) -> Login:
        """A session in place of ``stale``, which the PDS refused: refreshed, else a new one."""
        async with self._lock:
            if self._login is not None and self._login is not stale:
                return self._login  # another reply renewed it meanwhile
            renewed = await self._refresh(session, stale)
            if renewed is None:
                self._login = None
                renewed = await self._create(session)
            self._login = renewed
            return renewed

    async def _refresh(self, session: aiohttp.ClientSession, stale: Login) -> Login | None:
        """New tokens for the refresh token; None when it is refused (expired, revoked)."""
        if stale.refresh_jwt is None:
            return None
        url = self.pds + "com.atproto.server.refreshSession"
        try:
            answer = await call(session, url, token=stale.refresh_jwt)
        except XrpcError as error:
            if error.retryable:
                raise error.source_error("Bluesky session refresh: ") from None
            logger.info("bluesky: logging in as %s again: %s", self.handle, error)
            return None
        return _login(answer)

    async def _create(self, session: aiohttp.ClientSession) -> Login:
        body = {"identifier": self.handle, "password": self.app_password}
        try:
            answer = await call(session, self.pds + "com.atproto.server.createSession", body)
        except XrpcError as error:
            error.retryable = error.retryable and error.status != 401  # a wrong password stays
            raise error.source_error(f"Bluesky login as {self.handle}: ") from None
        return _login(answer)


def _login(answer: Any) -> Login:
    """A session from a createSession or refreshSession answer."""
    fields = answer if isinstance(answer, dict) else {}
    did, access, refresh = (fields.get(k) for k in ("did", "accessJwt", "refreshJwt"))
    if not isinstance(did, str) or not isinstance(access, str):
        raise SourceError("Bluesky login: no did or accessJwt in the answer")
    return Login(did, access, refresh if isinstance(refresh, str) else None)
