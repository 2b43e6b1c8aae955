"""A fake Slack for end-to-end tests: Web API, Socket Mode and response_url, in the test's loop.

Test support code, not a test module. ``async with FakeSlack() as slack:`` serves on 127.0.0.1
port 0; point ``AsyncWebClient(token="xoxb-test", base_url=slack.api_url)`` at it. The helpers
at the bottom build and sign slash-command and block_actions requests the way Slack sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

MAX_BLOCKS = 50
MAX_TEXT = 40_000
JSON_FIELDS = ("blocks", "attachments", "metadata", "view")  # JSON strings inside form bodies
DEFAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
BOT: dict[str, Any] = {"type": "message", "user": "UBOT", "bot_id": "B1", "app_id": "A1"}
HELLO = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
Body = dict[str, Any]


@dataclass
class Call:
    """One request the fake received (failed ones included, with their status)."""

    method: str
    body: Body
    content_type: str
    headers: dict[str, str]
    path: str
    status: int = 200
    time: float = field(default_factory=time.time)


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _error(code: str, detail: str | None = None) -> Body:
    answer: Body = {"ok": False, "error": code}
    if detail:
        answer["response_metadata"] = {"messages": [f"[ERROR] {detail}"]}
    return answer


async def _parse_body(request: web.Request) -> Body:
    """Query parameters merged with a JSON or form body (auth.test sends params in the query)."""
    body: Body = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body.update(await request.json())
        else:
            body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in JSON_FIELDS:
        if isinstance(body.get(key), str):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
    return body


class FakeSlack:
    """Web API (``/api/{method}``), Socket Mode (``/link``), response_url (``/respond/{token}``).

    Every request is recorded in ``calls`` (failed ones too). Close Socket Mode clients before
    leaving the ``async with`` block, or they will try to reconnect to a stopped server.
    """

    def __init__(self, bot_token: str | None = None, app_token: str | None = None) -> None:
        self.bot_token = bot_token  # None: any xoxb-/xoxp- token is accepted
        self.app_token = app_token  # None: any xapp- token is accepted
        self.calls: list[Call] = []
        self.messages: dict[str, list[Body]] = {}  # channel (as given) -> messages, oldest first
        self.socket_acks: list[Body] = []
        self.usergroups: dict[str, list[str]] = {}  # user group id -> member user ids
        self.replies_limit = 1000  # conversations.replies' most per page (15 outside the
        # Slack Marketplace since 2025)
        self.history_limit = 1000  # the same for conversations.history
        self.url = ""
        self._failures: dict[str, list[tuple[int, int | None, str, str | None]]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()
        self._last_us = 0
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[Body], Body]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
            "usergroups.users.list": self._usergroup_users,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }
        self.views: dict[str, Body] = {}  # view id -> the modal as last opened or updated

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"fake shutting down")
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}api/"

    def response_url(self, token: str) -> str:
        return f"{self.url}respond/{token}"

    @property
    def responses(self) -> list[Body]:
        """JSON bodies POSTed to response_url (``respond()``), oldest first."""
        return [c.body for c in self.calls_to("response_url")]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def message(self, channel: str, ts: str) -> Body | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def fail(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (or "response_url") with this failure;
        with ``channel``, only calls for that channel (Slack rate-limits per channel).
        ``status=200`` with an ``error`` is Slack's usual refusal: ``{"ok": false, "error": ...}``
        (pass ``retry_after=None`` for no Retry-After header)."""
        code = error or DEFAULT_ERRORS.get(status, "fatal_error")
        failures = self._failures.setdefault(method, [])
        failures.extend([(status, retry_after, code, channel)] * times)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:  # noqa: ASYNC109
        """Wait until ``count`` calls of ``method`` arrived (listeners often run after the ack)."""
        await self._wait(
            lambda: len(self.calls_to(method)) >= count, timeout, f"{count} x {method}"
        )
        return self.calls_to(method)

    async def socket_send(self, envelope: Body, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Push an envelope to the newest Socket Mode connection; returns its envelope_id."""
        if "payload" in envelope and "envelope_id" not in envelope:
            envelope = {"envelope_id": str(uuid.uuid4()), **envelope}
        await self._wait(lambda: bool(self._open_sockets()), timeout, "a Socket Mode connection")
        await self._open_sockets()[-1].send_json(envelope)
        return str(envelope.get("envelope_id", ""))

    async def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> Body:  # noqa: ASYNC109
        def find() -> Body | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        await self._wait(lambda: find() is not None, timeout, f"the ack of {envelope_id}")
        return find() or {}

    # --- plumbing ---------------------------------------------------------------------------

    def _open_sockets(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self._sockets if not ws.closed]

    async def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(ready)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; calls: {seen}"
            ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, request: web.Request, method: str, body: Body, status: int) -> None:
        headers = dict(request.headers)
        self.calls.append(Call(method, body, request.content_type, headers, request.path, status))
        await self._notify()

    def _pop_failure(self, method: str, body: Body) -> tuple[int, dict[str, str], Body] | None:
        failures = self._failures.get(method, [])
        index = next(
            (i for i, f in enumerate(failures) if f[3] in (None, body.get("channel"))), None
        )
        if index is None:
            return None
        status, retry_after, code, _ = failures.pop(index)
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return status, headers, _error(code)

    def _next_ts(self) -> str:
        self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _auth_error(self, method: str, token: str) -> str | None:
        wanted = ("xapp-",) if method == "apps.connections.open" else ("xoxb-", "xoxp-")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return "not_authed"
        if token.startswith(("xoxb-", "xoxp-", "xapp-")) and not token.startswith(wanted):
            return "not_allowed_token_type"
        if not token.startswith(wanted) or expected not in (None, token):
            return "invalid_auth"
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await _parse_body(request)
        failure = self._pop_failure(method, body)
        if failure is not None:  # served as set, ok:false at a 200 included
            status, headers, answer = failure
        else:
            status, headers = 200, {}
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            handler = self._methods.get(method)
            if handler is None:
                answer = _error("unknown_method")
            elif error := self._auth_error(method, token or str(body.get("token", ""))):
                answer = _error(error)
            else:
                answer = handler(body)
        await self._record(request, method, body, status)
        return web.json_response(answer, status=status, headers=headers)

    async def _respond(self, request: web.Request) -> web.Response:
        body = await _parse_body(request)
        status, headers, answer = self._pop_failure("response_url", body) or (
            200,
            {},
            {"ok": True},
        )
        await self._record(request, "response_url", body, status)
        return web.json_response(answer, status=status, headers=headers)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(HELLO)
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            self._sockets.remove(ws)
        return ws

    # --- Web API methods --------------------------------------------------------------------

    def _auth_test(self, body: Body) -> Body:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "vigie",
            "team_id": "T1",
            "user_id": "UBOT",
            "bot_id": "B1",
            "is_enterprise_install": False,
        }

    @staticmethod
    def _content_error(body: Body) -> Body | None:
        blocks, text, metadata = body.get("blocks"), body.get("text") or "", body.get("metadata")
        if not body.get("channel"):
            return _error("channel_not_found")
        if not text and not blocks and not body.get("attachments"):
            return _error("no_text")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS):
            return _error(
                "invalid_blocks", f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
            )
        if len(text) > MAX_TEXT:
            return _error("msg_too_long")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _error("invalid_metadata_format")
        return None

    def _post_message(self, body: Body) -> Body:
        if error := self._content_error(body):
            return error
        channel, ts = str(body["channel"]), self._next_ts()
        message: Body = {**BOT, "team": "T1", "ts": ts, "text": body.get("text") or ""}
        message.update({k: body[k] for k in ("blocks", "thread_ts", "metadata") if k in body})
        if (parent := self.message(channel, str(body.get("thread_ts")))) is not None:
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, body: Body) -> Body:
        if error := self._content_error(body):
            return error
        message = self.message(str(body["channel"]), str(body.get("ts")))
        if message is None:
            return _error("message_not_found")
        message.update({k: body[k] for k in ("text", "blocks", "metadata") if k in body})
        message["edited"] = {"user": "UBOT", "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": body["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    def _post_ephemeral(self, body: Body) -> Body:
        if not body.get("user"):
            return _error("user_not_in_channel")
        return self._content_error(body) or {"ok": True, "message_ts": self._next_ts()}

    @staticmethod
    def _shown(message: Body, body: Body) -> Body:
        """Metadata only comes back with include_all_metadata (strict on purpose)."""
        keep_metadata = _truthy(body.get("include_all_metadata"))
        return {k: v for k, v in message.items() if keep_metadata or k != "metadata"}

    def _history(self, body: Body) -> Body:
        """Top-level messages (thread replies are left out, as Slack does), newest first;
        ``oldest``/``latest``/``inclusive`` narrow them, ``limit`` (capped at
        ``history_limit``) and ``cursor`` page them."""
        channel, inclusive = str(body.get("channel", "")), _truthy(body.get("inclusive"))
        oldest, latest = (
            Decimal(str(body.get("oldest") or 0)),
            Decimal(str(body.get("latest") or "Inf")),
        )

        def wanted(m: Body) -> bool:
            ts = Decimal(m["ts"])
            in_range = oldest <= ts <= latest if inclusive else oldest < ts < latest
            return in_range and m.get("thread_ts", m["ts"]) == m["ts"]

        found = [m for m in reversed(self.messages.get(channel, [])) if wanted(m)]
        limit = min(int(body.get("limit") or 100), self.history_limit)
        start = int(str(body.get("cursor") or "0"))
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": [self._shown(m, body) for m in found[start : start + limit]],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _replies(self, body: Body) -> Body:
        """A thread, oldest first, parent included; ``oldest``/``latest``/``inclusive`` narrow
        it, ``limit`` (capped at ``replies_limit``) and ``cursor`` page it."""
        ts = str(body.get("ts", ""))
        thread = [
            m
            for m in self.messages.get(str(body.get("channel")), [])
            if m.get("thread_ts", m["ts"]) == ts
        ]
        if not thread:
            return _error("thread_not_found")
        inclusive = _truthy(body.get("inclusive"))
        oldest = Decimal(str(body.get("oldest") or 0))
        latest = Decimal(str(body.get("latest") or "Inf"))

        def wanted(m: Body) -> bool:
            ts = Decimal(m["ts"])
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        ranged = [m for m in thread if wanted(m)]
        limit = min(int(body.get("limit") or self.replies_limit), self.replies_limit)
        start = int(str(body.get("cursor") or "0"))
        page = ranged[start : start + limit]
        more = start + limit < len(ranged)
        return {
            "ok": True,
            "messages": [self._shown(m, body) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _views_open(self, body: Body) -> Body:
        if not body.get("trigger_id"):
            return _error("invalid_arguments")
        return self._show_view(f"V{len(self.views) + 1:08d}", body.get("view"))

    def _views_update(self, body: Body) -> Body:
        view_id = str(body.get("view_id", ""))
        if view_id not in self.views:
            return _error("not_found")
        if body.get("hash") and body["hash"] != self.views[view_id]["hash"]:
            return _error("hash_conflict")
        return self._show_view(view_id, body.get("view"))

    def _show_view(self, view_id: str, raw: Any) -> Body:
        """Slack's own checks on a modal: its type, title and metadata limits, 1-100 blocks."""
        view = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _error("invalid_arguments")
        blocks = view.get("blocks")
        title = (view.get("title") or {}).get("text", "")
        if not isinstance(blocks, list) or not 1 <= len(blocks) <= 100 or not 0 < len(title) <= 24:
            return _error("invalid_arguments")
        if len(str(view.get("private_metadata", ""))) > 3000:
            return _error("invalid_arguments")
        shown = {**view, "id": view_id, "hash": uuid.uuid4().hex[:16]}
        self.views[view_id] = shown
        return {"ok": True, "view": shown}

    def _usergroup_users(self, body: Body) -> Body:
        group = str(body.get("usergroup", ""))
        if group not in self.usergroups:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    def _connections_open(self, body: Body) -> Body:
        ws_url = self.url.replace("http://", "ws://")
        return {"ok": True, "url": f"{ws_url}link?ticket={uuid.uuid4()}&app_id=A1"}


# --- inbound requests, as Slack sends them ---------------------------------------------------


def signed_headers(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature for exactly these body bytes."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    if signature is None:
        raise ValueError("no signature generated")
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _trigger_id() -> str:
    return f"{int(time.time())}.{random.randrange(10**9)}.{uuid.uuid4().hex[:24]}"


def slash_command_payload(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    team_id: str = "T1",
    *,
    user_name: str = "alice",
    channel_name: str = "alerts",
) -> Body:
    """The fields of a slash command (non-Enterprise-Grid workspace, so no enterprise_*)."""
    return {
        "token": "verification-token",
        "team_id": team_id,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }


def block_action_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    block_id: str = "b1",
    team_id: str = "T1",
    *,
    message: Body | None = None,
    button_text: str = "Approve",
) -> Body:
    """A block_actions payload for a button click; ``message`` defaults to a bare bot message."""
    message = message or {**BOT, "team": team_id, "ts": message_ts, "text": "", "blocks": []}
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": team_id},
        "api_app_id": "A1",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "alerts"},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def slash_command_body(
    command: str, text: str, user_id: str, channel_id: str, response_url: str, team_id: str = "T1"
) -> str:
    """Form-encoded slash command: sign it and POST it as application/x-www-form-urlencoded."""
    fields = slash_command_payload(command, text, user_id, channel_id, response_url, team_id)
    return urlencode(fields)


def block_action_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    block_id: str = "b1",
    team_id: str = "T1",
    *,
    message: Body | None = None,
) -> str:
    """Form-encoded ``payload=<json>`` of a button click, as Slack POSTs interactivity;
    ``message``: the clicked message as Slack holds it (a thread's carries ``thread_ts``)."""
    payload = block_action_payload(
        action_id,
        value,
        user_id,
        channel_id,
        message_ts,
        response_url,
        block_id,
        team_id,
        message=message,
    )
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(view: Body, values: dict[str, dict[str, str]], user_id: str) -> str:
    """Form-encoded ``view_submission`` of a modal: ``values`` maps block id -> action id ->
    the typed text, as Slack puts it in ``view.state.values``."""
    state = {
        block: {action: {"type": "plain_text_input", "value": text}}
        for block, actions in values.items()
        for action, text in actions.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": _trigger_id(),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def view_action_body(view: Body, action_id: str, block_id: str, value: str, user_id: str) -> str:
    """A ``block_actions`` from inside a modal (an input with ``dispatch_action``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": _trigger_id(),
        "team": {"id": "T1", "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "actions": [
            {
                "type": "plain_text_input",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def socket_envelope(type_: str, payload: Body, retry_attempt: int = 0) -> Body:
    """A Socket Mode envelope: type_ is "slash_commands", "interactive" or "events_api"."""
    envelope: Body = {
        "envelope_id": str(uuid.uuid4()),
        "type": type_,
        "payload": payload,
        "accepts_response_payload": type_ != "events_api",
    }
    if type_ == "events_api":
        envelope.update(
            retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else ""
        )
    return envelope


async def post_signed(
    url: str,
    body: str | bytes,
    secret: str,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST ``body`` signed with ``secret``; extra_headers override (e.g. a tampered signature)."""
    raw = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": content_type, **signed_headers(secret, raw, timestamp)}
    headers.update(extra_headers or {})
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=raw, headers=headers) as r,
    ):
        return r.status, await r.text()
