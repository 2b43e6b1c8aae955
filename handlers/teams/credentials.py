"""Vigie's own Bot Framework token: fetched off the event loop, with a timeout, and kept.

botbuilder asks its credentials factory for new credentials for every connector client, that is
for every card sent and every activity received, and those credentials get their token from
Microsoft Entra through MSAL, synchronously, on the event loop, when a request is signed: a round
trip to Entra per message (each new MSAL application starts with an empty cache), and the whole
service frozen (Slack's 3-second acknowledgements, webhooks, every card) for as long as Entra
does not answer.

:class:`KeptCredentials` wraps the factory botbuilder would use. It keeps one credentials object
per app, scope and login endpoint, and before handing it over gets its token in a worker thread,
within ``timeout`` seconds (MSAL answers from its cache, and renews the token there ahead of its
expiry). Signing a request then takes that token, never asking Entra on the loop; when the fetch
failed, signing raises what it failed with (Entra refusing the secret: a PermissionError; not
answering in time: :class:`OwnTokenUnavailable`), so only a request that needs the token fails:
the outbox retries a card, and an inbound request whose answer needed it is answered 500.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from botframework.connector.auth import (  # type: ignore[import-untyped]
    ServiceClientCredentialsFactory,
)

TOKEN_TIMEOUT = 15.0
"""Seconds Microsoft Entra gets to give Vigie its token (MSAL itself waits for ever)."""

Key = tuple[str, str, str, bool]


class OwnTokenUnavailable(OSError):
    """Microsoft Entra did not give Vigie its own token in time."""


@dataclass
class _Kept:
    """One credentials object, how it gets a token (its own method, called in a worker thread)
    and the outcome of the last fetch."""

    credentials: Any
    fetch: Any
    token: str = ""
    error: BaseException | None = None
    trace: TracebackType | None = None  # the error's own, so raising it again adds no frames
    fetching: asyncio.Future[str] | None = None

    def signed_token(self, force_refresh: bool = False) -> str:
        """What signing a request gets (on the loop): the token fetched, or why there is none."""
        if self.error is not None:
            raise self.error.with_traceback(self.trace)
        return self.token

    def failed(self, error: BaseException) -> None:
        self.error, self.trace = error, error.__traceback__


class KeptCredentials(ServiceClientCredentialsFactory):  # type: ignore[misc]
    def __init__(self, inner: Any, timeout: float = TOKEN_TIMEOUT) -> None:
        super().__init__()
        self.inner = inner
        self.timeout = timeout
        self._kept: dict[Key, _Kept] = {}
        self._locks: dict[Key, asyncio.Lock] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self.inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self.inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        """The kept credentials for these, their token fetched (off the loop) for this use."""
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        async with self._locks.setdefault(key, asyncio.Lock()):  # one object per key
            kept = self._kept.get(key)
            if kept is None:
                credentials = await self.inner.create_credentials(
                    app_id, oauth_scope, login_endpoint, validate_authority
                )
                if not app_id:  # authentication disabled: no token to get
                    return credentials
                kept = _Kept(credentials, credentials.get_access_token)
                credentials.get_access_token = kept.signed_token  # what signing calls
                self._kept[key] = kept
        await self._fetch(kept)  # callers wait together on one fetch, not one after another
        return kept.credentials

    async def _fetch(self, kept: _Kept) -> None:
        """Get the token in a worker thread. A fetch that outlived its timeout is waited on
        again rather than joined by another thread each time: a hung Entra holds one worker
        thread, not every thread of the pool."""
        if kept.fetching is None or kept.fetching.done():
            kept.fetching = asyncio.ensure_future(asyncio.to_thread(kept.fetch))
            kept.fetching.add_done_callback(_retrieved)
        try:
            async with asyncio.timeout(self.timeout):
                kept.token = await asyncio.shield(kept.fetching)
            kept.error = kept.trace = None
        except TimeoutError:
            late = f"Microsoft Entra gave Vigie no token within {self.timeout:g}s"
            kept.failed(OwnTokenUnavailable(late))
        except Exception as error:  # raised again when a request needs the token
            kept.failed(error)


def _retrieved(fetch: asyncio.Future[str]) -> None:
    """A fetch that ended after its timeout: its outcome is read (asyncio would log it)."""
    if not fetch.cancelled():
        fetch.exception()
