"""Publishing an approved reply under a Bluesky post, through XRPC.

Write an ``app.bsky.feed.post`` record with reply refs (``com.atproto.repo.createRecord``) as
the source's :class:`~bot.sources.bluesky_account.Account`, whose session is kept between
replies. The parent is the mention; the root is the thread's root, from the mention's own reply
refs. Links, hashtags and @mentions in the text are made clickable with facets
(bot/sources/bluesky_facets.py); a handle that does not resolve to a DID stays plain text.

The text is measured as reply drafts measure it (bot/drafts/limits.py: 300 graphemes, 3000
UTF-8 bytes), so a draft accepted at edit time is never refused here.

A caller that may retry (the outbox) passes an ``rkey`` made once with :func:`new_tid`: a post
already written under that key is returned instead of being written twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.config.source_bluesky import BlueskySourceSettings
from bot.drafts.limits import limit_for
from bot.model import Mention
from bot.sources.bluesky_account import STALE_SESSION, Account, Login
from bot.sources.bluesky_events import POST, POST_URL
from bot.sources.bluesky_facets import Facet, find_spans, to_facets
from bot.sources.bluesky_xrpc import XrpcError, call
from bot.sources.polite import SourceError

logger = logging.getLogger(__name__)

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
Ref = dict[str, str]


@dataclass(frozen=True, slots=True)
class Published:
    uri: str
    cid: str
    url: str


def new_tid(now_us: int | None = None, clock_id: int | None = None) -> str:
    """A record key in the TID format: 53 bits of microseconds, 10 of clock id, base32-sortable."""
    micros = now_us if now_us is not None else time.time_ns() // 1000
    clock = clock_id if clock_id is not None else random.randrange(1024)
    value = (micros << 10) | clock
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


class BlueskyReplier:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        account: Account,
        *,
        appview_url: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.session = session
        self.account = account
        self.appview = appview_url.rstrip("/") + "/xrpc/"
        self.now = now

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, settings: BlueskySourceSettings
    ) -> BlueskyReplier | None:
        """A replier with an account of its own (a source keeps one account for all its
        replies instead); None when the source has no reply account configured."""
        account = Account.from_settings(settings)
        return None if account is None else cls(session, account, appview_url=settings.appview_url)

    async def reply(self, mention: Mention, text: str, rkey: str | None = None) -> Published:
        """Post ``text`` as a reply to ``mention``; errors are :class:`SourceError`."""
        _check(text)
        parent, root = await self._refs(mention)
        if rkey is not None and (done := await self._existing(rkey)) is not None:
            return done
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "reply": {"root": root, "parent": parent},
        }
        if facets := await self._facets(text):
            record["facets"] = facets
        body: dict[str, Any] = {"collection": POST, "record": record}
        if rkey is not None:
            body["rkey"] = rkey
        answer = await self._as_account("com.atproto.repo.createRecord", body)
        return _published(answer)

    async def _as_account(self, method: str, body: dict[str, Any]) -> Any:
        """Call a PDS method as the account, renewing a session the PDS calls stale once."""
        login = await self.account.login(self.session)
        try:
            return await self._call_as(login, method, body)
        except XrpcError as error:
            if error.code not in STALE_SESSION:
                raise error.source_error() from None
        login = await self.account.renew(self.session, login)
        try:
            return await self._call_as(login, method, body)
        except XrpcError as error:
            raise error.source_error() from None

    async def _call_as(self, login: Login, method: str, body: dict[str, Any]) -> Any:
        url = self.account.pds + method
        return await call(self.session, url, {**body, "repo": login.did}, token=login.access_jwt)

    async def _existing(self, rkey: str) -> Published | None:
        """The post already written under ``rkey`` by an earlier attempt, if any."""
        did = (await self.account.login(self.session)).did
        query = {"repo": did, "collection": POST, "rkey": rkey}
        url = self.account.pds + "com.atproto.repo.getRecord"
        try:
            answer = await call(self.session, url, query, get=True)
        except XrpcError as error:
            if error.status == 400 and error.code == "RecordNotFound":
                return None
            raise error.source_error() from None
        return _published(answer)

    async def _facets(self, text: str) -> list[Facet]:
        """The text's links, hashtags and the mentions whose handle resolves to a DID."""
        spans = find_spans(text)
        handles = sorted({span.value for span in spans if span.kind == "mention"})
        dids = {handle: did for handle in handles if (did := await self._resolve(handle))}
        return to_facets(spans, dids)

    async def _resolve(self, handle: str) -> str | None:
        """The DID of ``handle`` (``com.atproto.identity.resolveHandle``); None if it has none."""
        url = self.account.pds + "com.atproto.identity.resolveHandle"
        try:
            answer = await call(self.session, url, {"handle": handle}, get=True)
        except XrpcError as error:
            logger.info("bluesky: @%s stays plain text: %s", handle, error)
            return None
        did = _get(answer, "did")
        return did if isinstance(did, str) and did.startswith("did:") else None

    async def _refs(self, mention: Mention) -> tuple[Ref, Ref]:
        """(parent, root) strong refs; from the stored event, else from the AppView."""
        uri = mention.native_id
        cid, record = _from_event(mention.raw)
        if cid is None:
            cid, record = await self._look_up(uri)
        parent = {"uri": uri, "cid": cid}
        root = _ref(_get(record, "reply", "root"))
        return parent, root or parent

    async def _look_up(self, uri: str) -> tuple[str, Mapping[str, Any]]:
        try:
            answer = await call(
                self.session, self.appview + "app.bsky.feed.getPosts", {"uris": uri}, get=True
            )
        except XrpcError as error:
            raise error.source_error() from None
        posts = answer.get("posts") if isinstance(answer, dict) else None
        post = posts[0] if isinstance(posts, list) and posts else None
        cid = post.get("cid") if isinstance(post, dict) else None
        if not isinstance(cid, str):
            raise SourceError(f"{uri} is not on Bluesky any more", retryable=False)
        record = post.get("record") if isinstance(post, dict) else None
        return cid, record if isinstance(record, dict) else {}


def _check(text: str) -> None:
    """Refuse, for good, a text Bluesky would refuse: measured as drafts are measured."""
    if not text.strip():
        raise SourceError("an empty reply", retryable=False)
    problems = limit_for("bluesky").problems(text)
    if problems:
        raise SourceError(f"this reply {' and '.join(problems)}", retryable=False)


def _from_event(raw: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    commit = raw.get("commit")
    if not isinstance(commit, dict):
        return None, {}
    cid, record = commit.get("cid"), commit.get("record")
    return (cid if isinstance(cid, str) else None), (record if isinstance(record, dict) else {})


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _ref(value: Any) -> Ref | None:
    uri, cid = _get(value, "uri"), _get(value, "cid")
    return {"uri": uri, "cid": cid} if isinstance(uri, str) and isinstance(cid, str) else None


def _published(answer: Any) -> Published:
    uri, cid = _get(answer, "uri"), _get(answer, "cid")
    if not isinstance(uri, str) or not isinstance(cid, str):
        raise SourceError("Bluesky did not say where the reply is (no uri/cid)")
    did, _, rkey = uri.removeprefix("at://").partition(f"/{POST}/")
    return Published(uri, cid, POST_URL.format(did=did, rkey=rkey))
