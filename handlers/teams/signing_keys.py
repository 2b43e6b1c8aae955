"""The Bot Connector's signing keys, fetched without stopping the service.

botbuilder 4.17 (archived upstream) reads the keys that sign Teams' tokens with ``requests`` on
the event loop and no timeout, once a day: a stalled login.botframework.com would freeze every
source, the outbox and the HTTP server. A token signed by a key it does not know raises
``IndexError`` before its hourly re-read, so after Microsoft rotates its keys every request could
be refused for up to a day. :func:`install` replaces the key cache's entries with
:class:`SigningKeys`, which reads in a thread with a timeout, re-reads (at most every 5 minutes)
when a token names a key it does not know, and refuses such a token with ``PermissionError``
(which botbuilder answers 401).

Requests that need the keys while they are being read wait for that one read: a burst of tokens
naming an unknown key while the key server stalls would otherwise take a thread each and fill
the default pool. The read under way is a task of the running loop, made when needed: the
cache is process-wide and outlives event loops (one per test), so nothing loop-bound is made in
``__init__``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from botframework.connector.auth.jwt_token_extractor import (  # type: ignore[import-untyped]
    JwtTokenExtractor,
    _OpenIdMetadata,
)

logger = logging.getLogger(__name__)

FETCH_SECONDS = 10.0  # each of the two requests (metadata, then keys)
REFRESH_EVERY = timedelta(days=1)
UNKNOWN_KEY_REFRESH = timedelta(minutes=5)


class SigningKeys(_OpenIdMetadata):  # type: ignore[misc]
    """botbuilder's key cache entry for one OpenID metadata URL, read off the event loop."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._reading: asyncio.Task[None] | None = None

    async def get(self, key_id: str) -> Any:
        if self.last_updated < datetime.now() - REFRESH_EVERY:
            await self._refresh()
        key = self._find(key_id)
        if key is None and self.last_updated < datetime.now() - UNKNOWN_KEY_REFRESH:
            await self._refresh()  # a key published since the last read (a rotation)
            key = self._find(key_id)
        if key is None:
            raise PermissionError(f"token signed by an unknown key ({key_id!r})")
        return key

    async def _refresh(self) -> None:
        """Read the keys, or wait for the read under way on this loop. Shielded: a request
        given up (its client gone) does not cancel the read the others wait for."""
        loop = asyncio.get_running_loop()
        reading = self._reading
        if reading is None or reading.done() or reading.get_loop() is not loop:
            reading = self._reading = loop.create_task(self._read())
        await asyncio.shield(reading)

    async def _read(self) -> None:
        keys = await asyncio.to_thread(self._fetch)
        self.keys, self.last_updated = keys, datetime.now()

    def _fetch(self) -> list[dict[str, Any]]:
        metadata = requests.get(self.url, timeout=FETCH_SECONDS)
        metadata.raise_for_status()
        found = requests.get(metadata.json()["jwks_uri"], timeout=FETCH_SECONDS)
        found.raise_for_status()
        keys: list[dict[str, Any]] = found.json()["keys"]
        return keys

    def _find(self, key_id: str) -> Any:
        if not any(key.get("kid") == key_id for key in self.keys):
            return None
        return super()._find(key_id)


def _signing_keys(metadata_url: str) -> Any:
    cache = JwtTokenExtractor.metadataCache
    keys = cache.get(metadata_url)
    if not isinstance(keys, SigningKeys):
        keys = cache[metadata_url] = SigningKeys(metadata_url)
    return keys


def install() -> None:
    """Make botbuilder read every metadata URL's keys through :class:`SigningKeys`."""
    JwtTokenExtractor.get_open_id_metadata = staticmethod(_signing_keys)
