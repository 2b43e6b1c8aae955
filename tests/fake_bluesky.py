"""A fake Bluesky for tests and benchmarks: Jetstream v1 and the few XRPC methods Vigie calls.

Test support code, not a test module. ``async with FakeBluesky() as bsky:`` serves on 127.0.0.1
port 0 in the caller's loop:

* ``GET /subscribe`` (``bsky.jetstream_url``): Jetstream v1. It honours ``wantedCollections``
  (identity and account events always pass) and ``cursor`` (replays stored events from that
  ``time_us``, then goes live); without a cursor only events published after connecting are sent,
  as on the real service. ``publish`` adds events, ``publish_raw`` arbitrary frames, ``drop``
  cuts every socket, ``refuse`` fails the next handshakes with an HTTP status.
* ``/xrpc/{method}`` (``bsky.xrpc_url``), both AppView and PDS: ``app.bsky.actor.getProfiles``,
  ``app.bsky.feed.getPosts``, ``com.atproto.server.createSession``,
  ``com.atproto.server.refreshSession`` (with the refresh token, no body; it rotates both
  tokens), ``com.atproto.identity.resolveHandle`` (accounts' and profiles' handles),
  ``com.atproto.repo.createRecord`` (checking the post's length and facets as the lexicon has
  them) and ``com.atproto.repo.getRecord``. ``fail_next`` scripts errors, ``break_next`` an
  answer that breaks off (10 of the 100 bytes promised, then the connection closed);
  ``expire_sessions`` makes every access token stale (``ExpiredToken``), as time does, and
  ``revoke_sessions`` the refresh tokens too. Each request is recorded in ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import regex
from aiohttp import WSMsgType, web

from tests.loopback import serve_loopback

SAMPLES = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "payloads"
    / "bluesky_jetstream"
    / "jetstream_v1_events.jsonl"
)
Body = dict[str, Any]
_HIGH_WATER = 1 << 20  # bytes waiting in the socket's write buffer before a replay pauses


def load_samples(path: Path = SAMPLES) -> list[Body]:
    """The real Jetstream events captured upstream (skipped by callers when absent)."""
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def post_event(
    did: str,
    rkey: str,
    text: str,
    time_us: int,
    *,
    langs: list[str] | None = None,
    reply_to: tuple[str, str] | None = None,
    created_at: str = "2026-07-04T14:38:08.000Z",
    **record: Any,
) -> Body:
    """A created post in Jetstream v1 shape; ``reply_to`` is the parent's (uri, cid)."""
    body: Body = {"$type": "app.bsky.feed.post", "createdAt": created_at, "text": text}
    if langs is not None:
        body["langs"] = langs
    if reply_to is not None:
        ref = {"uri": reply_to[0], "cid": reply_to[1]}
        body["reply"] = {"parent": ref, "root": ref}
    body.update(record)
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"rev{time_us}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": body,
            "cid": f"bafyrei{rkey}",
        },
    }


@dataclass(frozen=True)
class _Frame:
    time_us: int
    collection: str | None  # None: always sent (identity, account, unreadable frames)
    data: bytes


def _frame(event: Body) -> _Frame:
    commit = event.get("commit")
    collection = commit.get("collection") if event.get("kind") == "commit" else None
    return _Frame(int(event["time_us"]), collection, json.dumps(event).encode())


@dataclass
class Connection:
    """One subscriber: its query and what it was sent."""

    query: dict[str, list[str]]
    sent: int = 0
    socket: web.WebSocketResponse | None = field(default=None, repr=False)
    transport: asyncio.BaseTransport | None = field(default=None, repr=False)
    live: asyncio.Queue[_Frame | None] = field(default_factory=asyncio.Queue, repr=False)

    @property
    def cursor(self) -> int | None:
        values = self.query.get("cursor")
        return int(values[0]) if values else None

    def wants(self, frame: _Frame) -> bool:
        wanted = self.query.get("wantedCollections")
        if frame.collection is None or not wanted:
            return True
        return any(
            frame.collection == name
            or (name.endswith(".*") and frame.collection.startswith(name[:-1]))
            for name in wanted
        )


@dataclass
class Call:
    method: str
    body: Body
    headers: dict[str, str]
    status: int = 200


@dataclass
class Account:
    did: str
    handle: str
    password: str


class FakeBluesky:
    def __init__(self, *, send_batch: int = 256) -> None:
        self.send_batch = send_batch
        self.history: list[_Frame] = []
        self.connections: list[Connection] = []
        self.refusals: list[tuple[int, dict[str, str]]] = []
        self.calls: list[Call] = []
        self.profiles: dict[str, Body] = {}
        self.posts: dict[str, Body] = {}  # uri -> post view (getPosts)
        self.accounts: dict[str, Account] = {}
        self.records: list[Body] = []  # createRecord bodies accepted
        self.written: dict[str, Body] = {}  # uri -> record view (getRecord)
        self.failures: dict[str, list[tuple[int, Body, dict[str, str]]]] = {}
        self.breaks: list[str] = []  # methods whose next answer breaks off
        self.close_after: int | None = None
        """When set: each connection is sent the newest this many frames, then closed (a
        server that accepts and hangs up)."""
        self.connected_at: list[float] = []  # loop time of each accepted subscription
        self._tokens: dict[str, str] = {}  # access token -> did
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> did
        self._runner: web.AppRunner | None = None
        self.xrpc_url = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/subscribe", self._subscribe)
        app.router.add_route("*", "/xrpc/{method}", self._xrpc)
        self._runner, self.xrpc_url = await serve_loopback(app)
        self.port = int(self.xrpc_url.rsplit(":", 1)[1])

    async def stop(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def jetstream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    # -- Jetstream ---------------------------------------------------------------------------

    def publish(self, *events: Body) -> None:
        for event in events:
            self._add(_frame(event))

    def publish_raw(self, data: str | bytes) -> None:
        """A frame sent as is (malformed ones included), timed with the last event."""
        time_us = self.history[-1].time_us if self.history else 0
        self._add(_Frame(time_us, None, data.encode() if isinstance(data, str) else data))

    def load_frames(self, lines: list[bytes]) -> None:
        """Many pre-encoded events at once (benchmarks): no copy, parsed once for the filter."""
        self.history.extend(_frame(json.loads(line)) for line in lines)

    def refuse(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.refusals.extend([(status, headers or {})] * times)

    async def drop(self) -> None:
        """Cut every open socket without a closing handshake."""
        for connection in self.connections:
            connection.live.put_nowait(None)
            if isinstance(connection.transport, asyncio.Transport):
                connection.transport.abort()
        await asyncio.sleep(0)

    @property
    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if c.socket is not None and not c.socket.closed]

    def _add(self, frame: _Frame) -> None:
        self.history.append(frame)
        for connection in self.connections:
            connection.live.put_nowait(frame)

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        if self.refusals:
            status, headers = self.refusals.pop(0)
            return web.json_response({"error": "refused"}, status=status, headers=headers)
        query = {key: request.query.getall(key) for key in request.query}
        connection = Connection(query)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connected_at.append(asyncio.get_running_loop().time())
        if self.close_after is not None:
            return await self._hang_up(ws, self.history[-self.close_after :])
        connection.socket, connection.transport = ws, request.transport
        backlog = self.history[:] if connection.cursor is not None else []
        self.connections.append(connection)  # live frames queue from here on
        listening = asyncio.create_task(self._until_closed(ws, connection))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._replay(connection, backlog, connection.cursor or 0)
            while (frame := await connection.live.get()) is not None:
                if connection.wants(frame):
                    await ws.send_frame(frame.data, WSMsgType.TEXT)
                    connection.sent += 1
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
        await listening
        return ws

    async def _hang_up(self, ws: web.WebSocketResponse, frames: list[_Frame]) -> web.StreamResponse:
        with contextlib.suppress(ConnectionError, RuntimeError):
            for frame in frames:
                await ws.send_frame(frame.data, WSMsgType.TEXT)
            await ws.close()
        return ws

    async def _until_closed(self, ws: web.WebSocketResponse, connection: Connection) -> None:
        """Read what the subscriber sends (its close frame, pings), so a close is answered."""
        async for _ in ws:
            pass
        connection.live.put_nowait(None)

    async def _replay(self, connection: Connection, frames: list[_Frame], cursor: int) -> None:
        """The backlog, ``send_batch`` frames per socket write: a replay as fast as a real
        server's, so that a benchmark measures the client rather than this fake."""
        transport = connection.transport
        assert isinstance(transport, asyncio.WriteTransport)
        batch: list[bytes] = []
        for frame in frames:
            if frame.time_us >= cursor and connection.wants(frame):
                batch.append(_text_frame(frame.data))
            if len(batch) >= self.send_batch or (batch and frame is frames[-1]):
                if transport.is_closing():
                    raise ConnectionResetError("the subscriber went away")
                transport.write(b"".join(batch))
                connection.sent += len(batch)
                batch = []
                # a transport offers nothing to await until its buffer drains; poll it
                while transport.get_write_buffer_size() > _HIGH_WATER:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

    # -- XRPC --------------------------------------------------------------------------------

    def add_profile(self, did: str, handle: str, name: str = "", followers: int = 0) -> None:
        self.profiles[did] = {
            "did": did,
            "handle": handle,
            "displayName": name,
            "followersCount": followers,
        }

    def add_account(self, handle: str, password: str, did: str) -> None:
        self.accounts[handle] = Account(did, handle, password)

    def fail_next(
        self, method: str, status: int, error: str = "InternalServerError", **headers: str
    ) -> None:
        answer = {"error": error, "message": f"scripted {status}"}
        self.failures.setdefault(method, []).append((status, answer, headers))

    def break_next(self, method: str) -> None:
        self.breaks.append(method)

    def expire_sessions(self) -> None:
        """Every access token issued so far has expired; refresh tokens still work."""
        self._tokens.clear()

    def revoke_sessions(self) -> None:
        """Every session ends: access and refresh tokens are refused."""
        self._tokens.clear()
        self._refresh_tokens.clear()

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def _xrpc(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body: Body = {key: request.query.getall(key) for key in request.query}
        if request.method == "POST" and request.can_read_body:
            body = await request.json()
        call = Call(method, body, dict(request.headers))
        self.calls.append(call)
        if method in self.breaks:
            self.breaks.remove(method)
            return await _broken(request)
        handler = {
            "app.bsky.actor.getProfiles": self._get_profiles,
            "app.bsky.feed.getPosts": self._get_posts,
            "com.atproto.server.createSession": self._create_session,
            "com.atproto.server.refreshSession": self._refresh_session,
            "com.atproto.identity.resolveHandle": self._resolve_handle,
            "com.atproto.repo.createRecord": self._create_record,
            "com.atproto.repo.getRecord": self._get_record,
        }.get(method)
        if handler is None:
            status, answer, headers = 501, {"error": "MethodNotImplemented"}, {}
        elif self.failures.get(method):
            status, answer, headers = self.failures[method].pop(0)
        else:
            status, answer, headers = 200, {}, {}
            try:
                answer = handler(request, body)
            except _XrpcError as error:
                status, answer = error.status, {"error": error.code, "message": error.code}
        call.status = status
        return web.json_response(answer, status=status, headers=headers)

    def _get_profiles(self, request: web.Request, query: Body) -> Body:
        actors = query.get("actors", [])
        if len(actors) > 25:
            raise _XrpcError(400, "InvalidRequest")
        return {"profiles": [self.profiles[a] for a in actors if a in self.profiles]}

    def _get_posts(self, request: web.Request, query: Body) -> Body:
        uris = query.get("uris", [])
        if len(uris) > 25:
            raise _XrpcError(400, "InvalidRequest")
        return {"posts": [self.posts[u] for u in uris if u in self.posts]}

    def _create_session(self, request: web.Request, body: Body) -> Body:
        account = self.accounts.get(str(body.get("identifier")))
        if account is None or body.get("password") != account.password:
            raise _XrpcError(401, "AuthenticationRequired")
        return self._session_for(account.did)

    def _refresh_session(self, request: web.Request, body: Body) -> Body:
        if request.can_read_body:
            raise _XrpcError(400, "InvalidRequest")  # this method takes no input
        token = _bearer(request)
        if token in self._tokens:
            raise _XrpcError(400, "InvalidToken")  # an access token, not a refresh token
        did = self._refresh_tokens.pop(token, None)  # each refresh token serves once
        if did is None:
            raise _XrpcError(400, "ExpiredToken")
        return self._session_for(did)

    def _session_for(self, did: str) -> Body:
        access, refresh = secrets.token_hex(8), secrets.token_hex(8)
        self._tokens[access] = did
        self._refresh_tokens[refresh] = did
        handle = next((a.handle for a in self.accounts.values() if a.did == did), did)
        return {
            "did": did,
            "handle": handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _resolve_handle(self, request: web.Request, query: Body) -> Body:
        handle = query.get("handle", [""])[0].lower()
        handles = {a.handle.lower(): a.did for a in self.accounts.values()}
        handles |= {str(p["handle"]).lower(): did for did, p in self.profiles.items()}
        if handle not in handles:
            raise _XrpcError(400, "InvalidRequest")  # "Unable to resolve handle"
        return {"did": handles[handle]}

    def _create_record(self, request: web.Request, body: Body) -> Body:
        token = _bearer(request)
        if token in self._refresh_tokens:
            raise _XrpcError(400, "InvalidToken")  # a refresh token, not an access token
        did = self._tokens.get(token)
        if did is None:
            raise _XrpcError(400, "ExpiredToken")
        if body.get("repo") != did:
            raise _XrpcError(400, "InvalidRequest")
        record = body.get("record")
        if not isinstance(record, dict) or not _valid_post(record):
            raise _XrpcError(400, "InvalidRequest")
        rkey = str(body.get("rkey") or f"3reply{len(self.records) + 1}")
        uri = f"at://{did}/{body.get('collection')}/{rkey}"
        if uri in self.written:
            raise _XrpcError(400, "InvalidRequest")  # the record already exists
        self.records.append(body)
        self.written[uri] = {"uri": uri, "cid": f"bafyreply{rkey}", "value": record}
        return {"uri": uri, "cid": f"bafyreply{rkey}"}

    def _get_record(self, request: web.Request, query: Body) -> Body:
        repo, collection, rkey = (query.get(k, [""])[0] for k in ("repo", "collection", "rkey"))
        found = self.written.get(f"at://{repo}/{collection}/{rkey}")
        if found is None:
            raise _XrpcError(400, "RecordNotFound")
        return found


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


_FEATURES = {
    "app.bsky.richtext.facet#link": "uri",
    "app.bsky.richtext.facet#tag": "tag",
    "app.bsky.richtext.facet#mention": "did",
}


def _valid_post(record: Body) -> bool:
    """What the app.bsky.feed.post lexicon asks of a text and its facets: at most 300 graphemes
    and 3000 UTF-8 bytes; facets slicing the text's bytes, each feature with its field."""
    text = record.get("text")
    if not isinstance(text, str):
        return False
    data = text.encode()
    if len(regex.findall(r"\X", text)) > 300 or len(data) > 3000:
        return False
    facets = record.get("facets", [])
    return isinstance(facets, list) and all(_valid_facet(facet, data) for facet in facets)


def _valid_facet(facet: Any, data: bytes) -> bool:
    if not isinstance(facet, dict) or not isinstance(facet.get("index"), dict):
        return False
    index, features = facet["index"], facet.get("features")
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
        return False
    try:
        data[start:end].decode()  # a slice that cuts a character in two is a wrong offset
    except UnicodeDecodeError:
        return False
    return (
        isinstance(features, list) and bool(features) and all(_valid_feature(f) for f in features)
    )


def _valid_feature(feature: Any) -> bool:
    field = _FEATURES.get(feature.get("$type")) if isinstance(feature, dict) else None
    return field is not None and isinstance(feature.get(field), str) and bool(feature[field])


async def _broken(request: web.Request) -> web.StreamResponse:
    """200 with ``Content-Length: 100``, 10 bytes of JSON, then the connection closed."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 100
    await response.prepare(request)
    await response.write(b'{"profiles')
    assert request.transport is not None
    request.transport.close()
    return response


def _text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455 section 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class _XrpcError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
