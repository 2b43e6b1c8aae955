"""Publishing an approved reply under a Bluesky post, through XRPC.

Log in with the account's handle and app password (``com.atproto.server.createSession``), then
write an ``app.bsky.feed.post`` record with reply refs (``com.atproto.repo.createRecord``). The
parent is the mention; the root is the thread's root, from the mention's own reply refs.

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
from bot.model import Mention
from bot.sources.bluesky_events import POST, POST_URL
from bot.sources.polite import SourceError, retry_after

logger = logging.getLogger(__name__)

MAX_GRAPHEMES = 300  # the lexicon's limit; counted here as code points, which is never fewer
MAX_BYTES = 3000
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TIMEOUT = aiohttp.ClientTimeout(total=30)
_STALE_SESSION = ("ExpiredToken", "InvalidToken", "AuthenticationRequired")
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
        *,
        handle: str,
        app_password: str,
        pds_url: str,
        appview_url: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.session = session
        self.handle = handle
        self.app_password = app_password
        self.pds = pds_url.rstrip("/") + "/xrpc/"
        self.appview = appview_url.rstrip("/") + "/xrpc/"
        self.now = now
        self._login: tuple[str, str] | None = None  # (did, access token)

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, settings: BlueskySourceSettings
    ) -> BlueskyReplier | None:
        """None when the source has no reply account configured."""
        if settings.handle is None or settings.app_password is None:
            return None
        return cls(
            session,
            handle=settings.handle,
            app_password=settings.app_password.get_secret_value(),
            pds_url=settings.pds_url,
            appview_url=settings.appview_url,
        )

    async def reply(self, mention: Mention, text: str, rkey: str | None = None) -> Published:
        """Post ``text`` as a reply to ``mention``; errors are :class:`SourceError`."""
        _check(text)
        parent, root = await self._refs(mention)
        record = {
            "$type": POST,
            "text": text,
            "createdAt": self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "reply": {"root": root, "parent": parent},
        }
        if rkey is not None and (done := await self._existing(rkey)) is not None:
            return done
        body: dict[str, Any] = {"collection": POST, "record": record}
        if rkey is not None:
            body["rkey"] = rkey
        answer = await self._as_account("com.atproto.repo.createRecord", body)
        return _published(answer)

    async def _as_account(self, method: str, body: dict[str, Any]) -> Any:
        """Call a PDS method with the session, logging in (again) when it is missing or stale."""
        for attempt in (1, 2):
            did, token = self._login or await self._log_in()
            try:
                return await self._call(self.pds + method, {**body, "repo": did}, token=token)
            except _XrpcError as error:
                if error.code not in _STALE_SESSION or attempt == 2:
                    raise error.source_error() from None
                self._login = None
        raise AssertionError("unreachable")

    async def _log_in(self) -> tuple[str, str]:
        body = {"identifier": self.handle, "password": self.app_password}
        try:
            answer = await self._call(self.pds + "com.atproto.server.createSession", body)
        except _XrpcError as error:
            # a wrong password stays wrong
            error.retryable = error.retryable and error.status != 401
            raise error.source_error(f"Bluesky login as {self.handle}: ") from None
        did, token = answer.get("did"), answer.get("accessJwt")
        if not isinstance(did, str) or not isinstance(token, str):
            raise SourceError("Bluesky login: no did or accessJwt in the answer")
        self._login = (did, token)
        return self._login

    async def _existing(self, rkey: str) -> Published | None:
        """The post already written under ``rkey`` by an earlier attempt, if any."""
        did, _ = self._login or await self._log_in()
        query = {"repo": did, "collection": POST, "rkey": rkey}
        try:
            answer = await self._call(self.pds + "com.atproto.repo.getRecord", query, get=True)
        except _XrpcError as error:
            if error.status == 400 and error.code == "RecordNotFound":
                return None
            raise error.source_error() from None
        return _published(answer)

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
            answer = await self._call(
                self.appview + "app.bsky.feed.getPosts", {"uris": uri}, get=True
            )
        except _XrpcError as error:
            raise error.source_error() from None
        posts = answer.get("posts") if isinstance(answer, dict) else None
        post = posts[0] if isinstance(posts, list) and posts else None
        cid = post.get("cid") if isinstance(post, dict) else None
        if not isinstance(cid, str):
            raise SourceError(f"{uri} is not on Bluesky any more", retryable=False)
        record = post.get("record") if isinstance(post, dict) else None
        return cid, record if isinstance(record, dict) else {}

    async def _call(
        self, url: str, body: Mapping[str, Any], *, token: str | None = None, get: bool = False
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with (
                self.session.get(url, params=body, headers=headers, timeout=_TIMEOUT)
                if get
                else self.session.post(url, json=body, headers=headers, timeout=_TIMEOUT)
            ) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
                if response.status >= 400:
                    raise _XrpcError.of(url, response.status, answer, response.headers)
                return answer
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _XrpcError(f"{url}: {error or type(error).__name__}", 0, "", True) from None


class _XrpcError(Exception):
    """An XRPC failure with its status and error code (``ExpiredToken``, ``RecordNotFound``)."""

    def __init__(
        self, message: str, status: int, code: str, retryable: bool, wait: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.wait = wait

    @classmethod
    def of(cls, url: str, status: int, answer: Any, headers: Mapping[str, str]) -> _XrpcError:
        code, said = _get(answer, "error"), _get(answer, "message")
        code = code if isinstance(code, str) else ""
        text = f"{url}: HTTP {status} {code}: {said}" if said else f"{url}: HTTP {status} {code}"
        retryable = status in (408, 425, 429) or status >= 500
        return cls(text.strip(), status, code, retryable, _rate_limit_wait(headers))

    def source_error(self, prefix: str = "") -> SourceError:
        return SourceError(prefix + str(self), retryable=self.retryable, wait=self.wait)


def _rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """``Retry-After``, or Bluesky's ``RateLimit-Reset`` (epoch seconds) once the quota is spent."""
    wait = retry_after(headers)
    if wait is not None:
        return wait
    remaining, reset = headers.get("RateLimit-Remaining"), headers.get("RateLimit-Reset")
    try:
        if remaining is not None and reset is not None and float(remaining) < 1:
            return max(0.0, float(reset) - time.time())
    except ValueError:
        pass
    return None


def _check(text: str) -> None:
    if not text.strip():
        raise SourceError("an empty reply", retryable=False)
    if len(text) > MAX_GRAPHEMES or len(text.encode()) > MAX_BYTES:
        raise SourceError(
            f"a Bluesky post holds {MAX_GRAPHEMES} characters; this reply has {len(text)}",
            retryable=False,
        )


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
