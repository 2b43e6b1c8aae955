"""Who wrote a matched post: handle, display name and followers from ``app.bsky.actor.getProfiles``.

Jetstream names authors by DID only. Matched posts are few (about one in a hundred), so their
authors are looked up in batches of 25 and remembered for an hour. A failing AppView never holds
mentions back: they keep the DID as handle, and look-ups pause for a while.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from multidict import MultiDict

from bot.model import Author, Mention
from bot.sources.polite import SourceError, get_json

logger = logging.getLogger(__name__)

BATCH = 25  # getProfiles takes at most 25 actors
KEEP_SECONDS = 3600.0  # follower counts drift; an hour-old count is good enough for spread
PAUSE_AFTER_FAILURE = 60.0
MAX_CACHED = 50_000
LOOKUP_SECONDS = 5.0
INVALID_HANDLE = "handle.invalid"  # what the AppView says when a handle fails verification


class ProfileCache:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        appview_url: str,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.url = appview_url.rstrip("/") + "/xrpc/app.bsky.actor.getProfiles"
        self.now = now
        self._known: OrderedDict[str, tuple[float, Author]] = OrderedDict()
        self._paused_until = 0.0

    async def enrich(self, mentions: Sequence[Mention]) -> list[Mention]:
        """The mentions, with their authors' profiles where known or found."""
        missing = sorted({m.author.handle for m in mentions if self._get(m.author.handle) is None})
        if missing and self.now() >= self._paused_until:
            await self._look_up(missing)
        return [self._with_profile(mention) for mention in mentions]

    def _with_profile(self, mention: Mention) -> Mention:
        author = self._get(mention.author.handle)
        return mention if author is None else replace(mention, author=author)

    def _get(self, did: str) -> Author | None:
        entry = self._known.get(did)
        if entry is None or entry[0] < self.now():
            return None
        return entry[1]

    async def _look_up(self, dids: list[str]) -> None:
        for start in range(0, len(dids), BATCH):
            params = MultiDict(("actors", did) for did in dids[start : start + BATCH])
            try:
                answer = await get_json(
                    self.session, self.url, params=params, seconds=LOOKUP_SECONDS
                )
            except SourceError as error:
                self._paused_until = self.now() + max(PAUSE_AFTER_FAILURE, error.wait or 0.0)
                logger.warning("bluesky profiles: %s; authors stay as DIDs for a while", error)
                return
            found = {a.did: a.author for a in map(_author, _profiles(answer)) if a is not None}
            for did in dids[start : start + BATCH]:
                # an account the AppView does not return (deleted, taken down) is not asked again
                self._remember(did, found.get(did, Author(handle=did)))

    def _remember(self, did: str, author: Author) -> None:
        self._known[did] = (self.now() + KEEP_SECONDS, author)
        self._known.move_to_end(did)
        while len(self._known) > MAX_CACHED:
            self._known.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _Found:
    did: str
    author: Author


def _author(profile: dict[str, Any]) -> _Found | None:
    did, handle = profile.get("did"), profile.get("handle")
    if not isinstance(did, str) or not isinstance(handle, str):
        return None
    followers = profile.get("followersCount")
    name = profile.get("displayName")
    author = Author(
        handle=did if handle == INVALID_HANDLE else handle,
        name=name if isinstance(name, str) else "",
        followers=followers if isinstance(followers, int) and followers >= 0 else 0,
    )
    return _Found(did, author)


def _profiles(answer: Any) -> list[dict[str, Any]]:
    profiles = answer.get("profiles") if isinstance(answer, dict) else None
    if not isinstance(profiles, list):
        return []
    return [profile for profile in profiles if isinstance(profile, dict)]
