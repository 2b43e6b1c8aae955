"""A fake X API v2 (filtered stream, its rules, tweet lookup) on 127.0.0.1, in the test's loop.

Test support code, not a test module. ``async with FakeX() as fake:`` serves at ``fake.url``.
Where Vigie depends on it, it answers as X documents:

* every endpoint wants ``Authorization: Bearer <token>``, else 401 with a problem body
  ``{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}``;
* ``GET /2/tweets/search/stream/rules``: ``{"data": [{id, value, tag}], "meta": {sent,
  result_count}}`` (no ``data`` when there are no rules); ``POST`` the same path with
  ``{"add": [{value, tag}]}`` (201, ``data`` and ``meta.summary``; an existing value is a
  ``DuplicateRule`` error, an empty or >512-character one an ``Invalid Rule`` with HTTP 400) or
  ``{"delete": {"ids": [...]}}`` (200, ``meta.summary.deleted``);
* ``GET /2/tweets/search/stream``: chunked, ``\\r\\n``-delimited JSON objects ``{data,
  includes: {users}, matching_rules: [{id, tag}]}`` for tweets matching a rule, ``\\r\\n`` alone
  as keep-alive every ``keepalive`` seconds; ``backfill_minutes`` replays what was posted that
  recently. A rule matches here by its words (quoted phrases, keywords, @handles, #tags; ``-``
  excludes; ``lang:`` filters): enough for rules Vigie builds, not X's whole grammar;
* ``GET /2/tweets?ids=`` (at most 100): ``data`` for known tweets, ``errors`` for the others.

Scripting: ``post`` publishes a tweet, ``send_raw`` an arbitrary line, ``disconnect`` sends an
operational-disconnect error object and ends the streams, ``drop`` cuts them, ``refuse`` answers
the next stream requests with a status and headers, ``break_next`` answers the next rules
request with 10 of the 100 bytes promised, then (``cut``) hangs up or (``stall``) says nothing
more until the fake stops. Every request is recorded in ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import web

from tests.loopback import serve_loopback

Body = dict[str, Any]
TOKEN = "test-bearer-AAAAAAAAAAAAAAAAAAAAAA"
_EPOCH_MS = 1_288_834_974_657
_UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
OPERATIONAL_DISCONNECT = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }
    ]
}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class Stream:
    query: dict[str, str]
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    transport: Any = None


@dataclass
class Posted:
    at: float
    data: Body
    user: Body


def snowflake(at: float, sequence: int) -> str:
    return str(((int(at * 1000) - _EPOCH_MS) << 22) | (sequence & 0xFFF))


def matches(rule: str, text: str, lang: str) -> bool:
    """Enough of X's rule matching for the rules in these tests (see the module docstring)."""
    folded = text.lower()
    tokens = re.findall(r'-?"[^"]*"|-?[^\s()]+', rule)
    wanted, excluded, langs = [], [], []
    for token in tokens:
        negated = token.startswith("-")
        word = token.lstrip("-").strip('"').lower()
        if token.lstrip("-").startswith("lang:"):
            langs.append(word.removeprefix("lang:"))
        elif word == "or" or ":" in word:
            continue
        elif negated:
            excluded.append(word)
        else:
            wanted.append(word)
    if langs and lang not in langs:
        return False
    if any(word in folded for word in excluded):
        return False
    return any(re.search(rf"(?<![\w@#]){re.escape(w)}(?!\w)", folded) for w in wanted)


class FakeX:
    def __init__(self, token: str = TOKEN, *, keepalive: float = 20.0) -> None:
        self.token = token
        self.keepalive = keepalive
        self.rules: dict[str, Body] = {}  # id -> {id, value, tag}
        self.users: dict[str, Body] = {}
        self.tweets: dict[str, Posted] = {}
        self.streams: list[Stream] = []
        self.connections: list[Stream] = []
        self.refusals: list[tuple[int, dict[str, str]]] = []
        self.calls: list[Call] = []
        self.breaks: list[str] = []  # "cut" or "stall", for the next rules requests
        self._stopping = asyncio.Event()
        self._next_rule = 1_500_000_000_000_000_000
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/2/tweets/search/stream", self._stream)
        app.router.add_route("*", "/2/tweets/search/stream/rules", self._rules)
        app.router.add_get("/2/tweets", self._lookup)
        self._runner, self.url = await serve_loopback(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping.set()
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting ---------------------------------------------------------------------------

    def add_user(self, user_id: str, username: str, name: str = "", followers: int = 0) -> None:
        metrics = {"followers_count": followers, "following_count": 1, "tweet_count": 10}
        self.users[user_id] = {
            "id": user_id,
            "username": username,
            "name": name or username,
            "public_metrics": {**metrics, "listed_count": 0},
        }

    def add_rule(self, value: str, tag: str | None = None) -> str:
        rule_id = str(self._next_rule)
        self._next_rule += 1
        self.rules[rule_id] = {"id": rule_id, "value": value, **({"tag": tag} if tag else {})}
        return rule_id

    def post(
        self,
        text: str,
        author: str,
        *,
        lang: str = "en",
        reply_to: str | None = None,
        metrics: dict[str, int] | None = None,
    ) -> str:
        """Publish a tweet by user ``author`` (added first); its id."""
        now = time.time()
        self._sequence += 1
        tweet_id = snowflake(now, self._sequence)
        data: Body = {
            "id": tweet_id,
            "text": text,
            "author_id": author,
            "created_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")[:-6]
            + "Z",
            "lang": lang,
            "conversation_id": tweet_id,
            "edit_history_tweet_ids": [tweet_id],
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
                **(metrics or {}),
            },
        }
        if reply_to is not None:
            data["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
            data["in_reply_to_user_id"] = "1"
        posted = Posted(now, data, self.users[author])
        self.tweets[tweet_id] = posted
        for stream in self.streams:
            line = self._line(posted)
            if line is not None:
                stream.queue.put_nowait(line)
        return tweet_id

    def send_raw(self, line: str | bytes) -> None:
        for stream in self.streams:
            stream.queue.put_nowait((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def disconnect(self) -> None:
        """The operational-disconnect error object, then the end of every stream."""
        self.send_raw(json.dumps(OPERATIONAL_DISCONNECT))
        for stream in self.streams:
            stream.queue.put_nowait(None)

    async def drop(self) -> None:
        """Cut every open stream, mid-body, without a final chunk."""
        for stream in self.streams:
            stream.queue.put_nowait(None)
            if stream.transport is not None:
                stream.transport.abort()
        await asyncio.sleep(0)

    def refuse(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.refusals.extend([(status, headers or {})] * times)

    def break_next(self, how: str = "cut") -> None:
        self.breaks.append(how)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if (c.method, c.path) == (method, path)]

    # -- endpoints ---------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _call(self, request: web.Request) -> Call:
        body = await request.json() if request.can_read_body else None
        call = Call(request.method, request.path, dict(request.query), body)
        self.calls.append(call)
        return call

    def _answer(self, call: Call, body: Body, status: int = 200, **headers: str) -> web.Response:
        call.status = status
        return web.json_response(body, status=status, headers=headers)

    async def _rules(self, request: web.Request) -> web.StreamResponse:
        call = await self._call(request)
        if self.breaks:
            return await self._broken(request, self.breaks.pop(0))
        if not self._authorised(request):
            return self._answer(call, _UNAUTHORIZED, 401)
        sent = datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        if request.method == "GET":
            meta = {"sent": sent, "result_count": len(self.rules)}
            rules = list(self.rules.values())
            return self._answer(call, {"data": rules, "meta": meta} if rules else {"meta": meta})
        body = call.body if isinstance(call.body, dict) else {}
        if "add" in body:
            return self._add(call, body["add"], sent)
        ids = (body.get("delete") or {}).get("ids") or []
        deleted = [rule_id for rule_id in ids if self.rules.pop(rule_id, None) is not None]
        summary = {"deleted": len(deleted), "not_deleted": len(ids) - len(deleted)}
        return self._answer(call, {"meta": {"sent": sent, "summary": summary}})

    async def _broken(self, request: web.Request, how: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 100
        await response.prepare(request)
        await response.write(b'{"data": [')
        if how == "stall":
            await self._stopping.wait()
        assert request.transport is not None
        request.transport.close()
        return response

    def _add(self, call: Call, wanted: list[Body], sent: str) -> web.Response:
        created, errors = [], []
        for rule in wanted:
            value = str(rule.get("value", ""))
            if not value.strip() or len(value) > 512:
                errors.append(
                    {
                        "value": value,
                        "details": ["Rule is empty or too long"],
                        "title": "Invalid Rule",
                        "type": "https://api.twitter.com/2/problems/invalid-rules",
                    }
                )
            elif any(r["value"] == value for r in self.rules.values()):
                errors.append(
                    {
                        "value": value,
                        "id": next(i for i, r in self.rules.items() if r["value"] == value),
                        "title": "DuplicateRule",
                        "type": "https://api.twitter.com/2/problems/duplicate-rules",
                    }
                )
            else:
                rule_id = self.add_rule(value, rule.get("tag"))
                created.append(self.rules[rule_id])
        invalid = sum(e["title"] == "Invalid Rule" for e in errors)
        summary = {
            "created": len(created),
            "not_created": len(wanted) - len(created),
            "valid": len(wanted) - invalid,
            "invalid": invalid,
        }
        answer: Body = {"meta": {"sent": sent, "summary": summary}}
        if created:
            answer["data"] = created
        if errors:
            answer["errors"] = errors
        return self._answer(call, answer, 400 if invalid else 201)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        call = await self._call(request)
        if not self._authorised(request):
            return self._answer(call, _UNAUTHORIZED, 401)
        if self.refusals:
            status, headers = self.refusals.pop(0)
            problem = {
                "title": "ConnectionException",
                "detail": "This stream is currently at the maximum allowed connection limit.",
                "connection_issue": "TooManyConnections",
                "type": "https://api.twitter.com/2/problems/streaming-connection",
            }
            return self._answer(call, problem, status, **headers)
        stream = Stream(dict(request.query), transport=request.transport)
        response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        minutes = int(request.query.get("backfill_minutes", "0"))
        since = time.time() - 60 * minutes
        for posted in self.tweets.values() if minutes else ():
            line = self._line(posted) if posted.at >= since else None
            if line is not None:
                stream.queue.put_nowait(line)
        self.streams.append(stream)
        self.connections.append(stream)
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                try:
                    line = await asyncio.wait_for(stream.queue.get(), self.keepalive)
                except TimeoutError:
                    await response.write(b"\r\n")
                    continue
                if line is None:
                    break
                await response.write(line)
            await response.write_eof()
        with contextlib.suppress(ValueError):
            self.streams.remove(stream)
        return response

    def _line(self, posted: Posted) -> bytes | None:
        data = posted.data
        matched = [
            {"id": r["id"], **({"tag": r["tag"]} if "tag" in r else {})}
            for r in self.rules.values()
            if matches(r["value"], data["text"], data["lang"])
        ]
        if not matched:
            return None
        item = {"data": data, "includes": {"users": [posted.user]}, "matching_rules": matched}
        return json.dumps(item).encode() + b"\r\n"

    async def _lookup(self, request: web.Request) -> web.Response:
        call = await self._call(request)
        if not self._authorised(request):
            return self._answer(call, _UNAUTHORIZED, 401)
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            problem = {"title": "Invalid Request", "detail": "ids: 1 to 100 ids"}
            return self._answer(call, {"errors": [problem]}, 400)
        fields = request.query.get("tweet.fields", "").split(",")
        data, errors = [], []
        for tweet_id in ids:
            posted = self.tweets.get(tweet_id)
            if posted is None:
                errors.append(
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with ids: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": tweet_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
                continue
            tweet = {key: posted.data[key] for key in ("id", "text", "edit_history_tweet_ids")}
            if "public_metrics" in fields:
                tweet["public_metrics"] = posted.data["public_metrics"]
            data.append(tweet)
        answer: Body = {"data": data} if data else {}
        if errors:
            answer["errors"] = errors
        return self._answer(call, answer)
