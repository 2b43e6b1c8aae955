"""A fake Bot Connector (the Teams side of the Bot Framework REST API), in the test's loop.

Test support code, not a test module. ``async with FakeConnector() as teams:`` serves on
127.0.0.1 port 0. Inbound activities built by the helpers at the bottom carry
``serviceUrl=teams.url``, and botbuilder sends every reply, update and new thread to the
``serviceUrl`` of the conversation, so the real ``CloudAdapter`` / ``ConnectorClient`` talk
to this fake without any patching.

Routes (the ConnectorClient's URL templates; conversation ids arrive percent-encoded and are
matched decoded):

- ``POST /v3/conversations``: a new thread in a channel (``isGroup``,
  ``channelData.channel.id``, ``activity``) answers 201 ``{"id": "<channel>;messageid=<id>",
  "activityId": "<id>"}``; a one-to-one chat (``members``) answers ``{"id": "a:…"}``.
- ``POST /v3/conversations/{cid}/activities``: send; 201 ``{"id": …}``. Sent to a channel (no
  ``;messageid=``) it starts a thread, as in Teams.
- ``POST /v3/conversations/{cid}/activities/{aid}``: reply; 201. Any ``aid`` is taken
  (``continue_conversation`` uses a random uuid).
- ``PUT /v3/conversations/{cid}/activities/{aid}``: update; 200 ``{"id": aid}``; each update
  is kept as a new version of the activity. 404 for an activity never posted.
- ``DELETE /v3/conversations/{cid}/activities/{aid}``, ``GET …/members``, ``GET …/members/{id}``.

What it receives is checked as Teams would: JSON object, known activity type, a message with
text or attachments, attachments with a ``contentType``, Adaptive Card content that is an
``AdaptiveCard`` (valid against the 1.5 schema when ``schema_path`` is given), at most
``max_bytes`` per request, counted as Teams counts them (the JSON in UTF-16: ``payload_size``).
Refusals use the connector's error body ``{"error": {"code": …, "message": …}}``; msrest raises
``ErrorResponseException``.
The error codes for scripted failures (429, 412, 502, 504) are plausible, not captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import aiohttp
from aiohttp import web

from handlers.teams.render import (
    CONTENT_TYPE,
    MAX_MESSAGE_BYTES,
    InvalidCard,
    check_card,
    payload_size,
)

Body = dict[str, Any]

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TEAM = "19:0f3a1c2e9b7d4f5e8a6b2c1d0e9f8a7b@thread.tacv2"
CHANNEL = "19:5d7c3b1a9e8f4d2c6b0a1e2f3d4c5b6a@thread.tacv2"
APP_ID = "00000000-0000-0000-0000-00000000b07a"
BOT = {"id": f"28:{APP_ID}", "name": "Vigie"}
USER = {
    "id": "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ",
    "name": "Megan Bowen",
    "aadObjectId": "7faf8ab2-3d56-4244-b585-20c8a42ed2b8",
}
ACTIVITY_TYPES = {"message", "typing", "event", "endOfConversation", "invokeResponse"}
ERROR_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "BotNotInConversationRoster",
    404: "ActivityNotFoundInConversation",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Call:
    """One request the fake received (refused and failed ones too, with their status)."""

    method: str
    route: str  # create, send, reply, update, delete, members, member
    path: str  # decoded
    conversation: str  # decoded conversation id ("" for create)
    activity_id: str  # the id in the path ("" when none)
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any
    size: int = 0  # bytes of the request body as Teams counts them (UTF-16)
    time: float = field(default_factory=time.time)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


@dataclass
class _Failure:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    retry_after: float | None
    left: int


class ConnectorError(Exception):
    """A request the fake refuses, with the status and the connector's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> Body:
        return {
            "error": {"code": ERROR_CODES.get(self.status, "ServiceError"), "message": str(self)}
        }


class FakeConnector:
    """The Bot Connector REST API for one Teams tenant. ``token``: None takes any caller (and
    no Authorization header, as with auth disabled); else exactly ``Bearer <token>``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        schema_path: Path | None = None,
        max_bytes: int = MAX_MESSAGE_BYTES,
        members: list[Body] | None = None,
    ) -> None:
        self.token = token
        self.schema_path = schema_path
        self.max_bytes = max_bytes
        self.members = members if members is not None else [dict(USER)]
        self.calls: list[Call] = []
        self.url = ""
        self._versions: dict[str, list[Body]] = {}  # activity id -> versions, oldest first
        self._threads: dict[str, str] = {}  # activity id -> conversation (thread) id
        self._deleted: set[str] = set()
        self._failures: list[_Failure] = []
        self._ids = itertools.count(int(time.time() * 1000))
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v3/conversations", self._create)
        base = "/v3/conversations/{cid}"
        app.router.add_post(f"{base}/activities", self._send)
        app.router.add_post(f"{base}/activities/{{aid}}", self._reply)
        app.router.add_put(f"{base}/activities/{{aid}}", self._update)
        app.router.add_delete(f"{base}/activities/{{aid}}", self._delete)
        app.router.add_get(f"{base}/members", self._members)
        app.router.add_get(f"{base}/members/{{mid}}", self._member)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test API ---------------------------------------------------------------------------

    def fail(
        self,
        path_pattern: str,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose decoded path matches ``path_pattern`` (a
        regular expression, searched) with ``status``, and ``Retry-After`` when given."""
        self._failures.append(
            _Failure(re.compile(path_pattern), method, status, retry_after, times)
        )

    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    def activities(self, conversation: str) -> list[Body]:
        """The latest version of each activity in ``conversation``, oldest first. A channel id
        (no ``;messageid=``) means every thread in that channel."""
        exact = ";messageid=" in conversation
        return [
            {**self._versions[aid][-1], "id": aid}
            for aid, thread in self._threads.items()
            if thread == conversation or (not exact and thread.split(";")[0] == conversation)
        ]

    def versions(self, activity_id: str) -> list[Body]:
        """Every version of an activity: as posted, then after each update."""
        return [dict(v) for v in self._versions.get(activity_id, [])]

    def activity(self, activity_id: str) -> Body | None:
        versions = self._versions.get(activity_id)
        return {**versions[-1], "id": activity_id} if versions else None

    def thread_of(self, activity_id: str) -> str | None:
        return self._threads.get(activity_id)

    def is_deleted(self, activity_id: str) -> bool:
        return activity_id in self._deleted

    def cards(self, conversation: str) -> list[Body]:
        """The Adaptive Cards (latest versions) posted in ``conversation``, oldest first."""
        return [
            attachment["content"]
            for activity in self.activities(conversation)
            for attachment in activity.get("attachments") or []
            if attachment.get("contentType") == CONTENT_TYPE
        ]

    async def wait_for(self, route: str, count: int = 1, timeout: float = 5.0) -> list[Call]:  # noqa: ASYNC109
        """Wait until ``count`` successful calls of ``route`` arrived."""

        def done() -> bool:
            return len([c for c in self.calls_to(route) if c.status < 300]) >= count

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(done)
        except TimeoutError:
            seen = [(c.route, c.status) for c in self.calls]
            raise AssertionError(
                f"timed out waiting for {count} x {route}; calls: {seen}"
            ) from None
        return self.calls_to(route)

    # --- plumbing ---------------------------------------------------------------------------

    async def _handle(
        self, request: web.Request, route: str, answer: Callable[[Any], tuple[int, Any]]
    ) -> web.Response:
        conversation = request.match_info.get("cid", "")
        activity_id = request.match_info.get("aid", request.match_info.get("mid", ""))
        raw = await request.read()
        body: Any = None
        headers: dict[str, str] = {}
        size = len(raw)
        try:
            body = self._parse(request, raw)
            size = payload_size(body) if body is not None else 0
            if size > self.max_bytes:
                raise ConnectorError(413, f"request is {size:,} bytes; at most {self.max_bytes:,}")
            self._authorize(request)
            failure = self._pop_failure(request)
            if failure is not None:
                if failure.retry_after is not None:
                    headers["Retry-After"] = f"{failure.retry_after:g}"
                raise ConnectorError(failure.status, f"scripted {failure.status}")
            status, result = answer(body)
        except ConnectorError as error:
            status, result = error.status, error.body()
        self.calls.append(
            Call(
                request.method,
                route,
                request.path,
                conversation,
                activity_id,
                dict(request.headers),
                body,
                status,
                result,
                size,
            )
        )
        async with self._changed:
            self._changed.notify_all()
        return web.json_response(result, status=status, headers=headers)

    @staticmethod
    def _parse(request: web.Request, raw: bytes) -> Any:
        if not raw:
            return None
        if request.content_type != "application/json":
            raise ConnectorError(415, f"content type {request.content_type} is not JSON")
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ConnectorError(400, f"body is not JSON: {error}") from None

    def _authorize(self, request: web.Request) -> None:
        if self.token is None:
            return
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise ConnectorError(401, "Authorization has been denied for this request.")

    def _pop_failure(self, request: web.Request) -> _Failure | None:
        for failure in self._failures:
            wanted = failure.method is None or failure.method == request.method
            if failure.left > 0 and wanted and failure.pattern.search(request.path):
                failure.left -= 1
                return failure
        return None

    def _check_activity(self, activity: Any, *, update: bool = False) -> Body:
        if not isinstance(activity, dict):
            raise ConnectorError(400, "the activity should be a JSON object")
        kind = activity.get("type")
        if kind not in ACTIVITY_TYPES or (update and kind != "message"):
            raise ConnectorError(400, f"unexpected activity type {kind!r}")
        attachments = activity.get("attachments") or []
        if kind == "message" and not activity.get("text") and not attachments:
            raise ConnectorError(400, "a message needs text or attachments")
        if not isinstance(attachments, list):
            raise ConnectorError(400, "attachments should be a list")
        for attachment in attachments:
            self._check_attachment(attachment)
        return activity

    def _check_attachment(self, attachment: Any) -> None:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("contentType"), str):
            raise ConnectorError(400, f"attachment without contentType: {str(attachment)[:200]}")
        if attachment["contentType"] != CONTENT_TYPE:
            return
        content = attachment.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            raise ConnectorError(400, "an Adaptive Card attachment needs an AdaptiveCard content")
        if self.schema_path is not None:
            try:
                check_card(content, self.schema_path)
            except InvalidCard as error:
                raise ConnectorError(400, f"invalid Adaptive Card: {error}") from None

    def _store(self, thread: str, activity: Body, activity_id: str | None = None) -> str:
        activity_id = activity_id or str(next(self._ids))
        self._threads[activity_id] = thread
        self._versions[activity_id] = [activity]
        return activity_id

    def _known(self, conversation: str, activity_id: str) -> None:
        thread = self._threads.get(activity_id)
        if thread is None or conversation not in (thread, thread.split(";")[0]):
            raise ConnectorError(404, f"no activity {activity_id} in {conversation}")

    # --- routes -----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        def answer(body: Any) -> tuple[int, Body]:
            if not isinstance(body, dict):
                raise ConnectorError(400, "the conversation parameters should be a JSON object")
            channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
            if body.get("isGroup") and isinstance(channel, str) and channel:
                activity = self._check_activity(body.get("activity"))
                activity_id = str(next(self._ids))
                thread = f"{channel};messageid={activity_id}"
                self._store(thread, activity, activity_id)
                return 201, {"id": thread, "activityId": activity_id, "serviceUrl": self.url}
            members = body.get("members")
            if not body.get("isGroup") and isinstance(members, list) and len(members) == 1:
                digest = hashlib.sha256(json.dumps(members, sort_keys=True).encode()).hexdigest()
                return 201, {"id": f"a:{digest[:40]}", "serviceUrl": self.url}
            raise ConnectorError(400, "a channel thread needs isGroup and channelData.channel.id")

        return await self._handle(request, "create", answer)

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["cid"]

        def answer(body: Any) -> tuple[int, Body]:
            activity = self._check_activity(body)
            if ";messageid=" in conversation or not conversation.startswith("19:"):
                return 201, {"id": self._store(conversation, activity)}
            activity_id = str(next(self._ids))  # to a channel: a new thread
            self._store(f"{conversation};messageid={activity_id}", activity, activity_id)
            return 201, {"id": activity_id}

        return await self._handle(request, "send", answer)

    async def _reply(self, request: web.Request) -> web.Response:
        conversation, parent = request.match_info["cid"], request.match_info["aid"]

        def answer(body: Any) -> tuple[int, Body]:
            activity = self._check_activity(body)
            thread = conversation
            if ";messageid=" not in conversation and self._threads.get(parent, "").startswith(
                f"{conversation};"
            ):
                thread = self._threads[parent]  # a reply to a channel post joins its thread
            return 201, {"id": self._store(thread, activity)}

        return await self._handle(request, "reply", answer)

    async def _update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["cid"], request.match_info["aid"]

        def answer(body: Any) -> tuple[int, Body]:
            activity = self._check_activity(body, update=True)
            self._known(conversation, activity_id)
            self._versions[activity_id].append(activity)
            return 200, {"id": activity_id}

        return await self._handle(request, "update", answer)

    async def _delete(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["cid"], request.match_info["aid"]

        def answer(body: Any) -> tuple[int, Body]:
            self._known(conversation, activity_id)
            self._deleted.add(activity_id)
            return 200, {}

        return await self._handle(request, "delete", answer)

    async def _members(self, request: web.Request) -> web.Response:
        return await self._handle(request, "members", lambda body: (200, list(self.members)))

    async def _member(self, request: web.Request) -> web.Response:
        member_id = request.match_info["mid"]

        def answer(body: Any) -> tuple[int, Body]:
            for member in self.members:
                if member_id in (member.get("id"), member.get("aadObjectId")):
                    return 200, dict(member)
            raise ConnectorError(404, f"no member {member_id}")

        return await self._handle(request, "member", answer)


# --- inbound activities, as Teams sends them -------------------------------------------------


def _conversation(conversation_id: str) -> Body:
    return {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT,
        "id": conversation_id,
    }


def _channel_data(channel: str, team: str, **extra: Any) -> Body:
    return {
        "teamsChannelId": channel,
        "teamsTeamId": team,
        "channel": {"id": channel},
        "team": {"id": team},
        "tenant": {"id": TENANT},
        **extra,
    }


def _base(kind: str, service_url: str, conversation_id: str, sender: Body) -> Body:
    return {
        "type": kind,
        "id": f"f:{uuid.uuid4()}" if kind != "message" else str(int(time.time() * 1000)),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "localTimestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()),
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": dict(sender),
        "conversation": _conversation(conversation_id),
        "recipient": dict(BOT),
        "locale": "en-US",
    }


def thread_id(channel: str = CHANNEL, root: str = "1481567603816") -> str:
    return f"{channel};messageid={root}"


def message_activity(
    service_url: str,
    text: str,
    *,
    mention_bot: bool = True,
    channel: str = CHANNEL,
    team: str = TEAM,
    conversation_id: str | None = None,
    sender: Body | None = None,
) -> Body:
    """A channel message (``@Vigie …``), with the ``<at>`` mention entity Teams adds."""
    at = f"<at>{BOT['name']}</at>"
    activity = _base("message", service_url, conversation_id or thread_id(channel), sender or USER)
    activity.update(
        text=f"{at} {text}" if mention_bot else text,
        textFormat="plain",
        channelData=_channel_data(channel, team),
        entities=[
            *([{"type": "mention", "mentioned": dict(BOT), "text": at}] if mention_bot else []),
            {"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"},
        ],
    )
    return activity


def bot_added_activity(
    service_url: str, *, channel: str = CHANNEL, team: str = TEAM, team_name: str = "Brand"
) -> Body:
    """``conversationUpdate`` when the app is added to a team (msteams-docs, "subscribe to
    conversation events", bot added to a team): ``channelData`` has ``team``,
    ``settings.selectedChannel`` and ``eventType``, and no ``channel``."""
    activity = _base("conversationUpdate", service_url, channel, USER)
    activity.update(
        membersAdded=[{"id": BOT["id"]}],
        channelData={
            "settings": {"selectedChannel": {"id": channel}},
            "team": {"aadGroupId": str(uuid.uuid4()), "name": team_name, "id": team},
            "eventType": "teamMemberAdded",
            "tenant": {"id": TENANT},
        },
    )
    return activity


def installation_activity(
    service_url: str, *, action: str = "add", channel: str = CHANNEL, team: str = TEAM
) -> Body:
    """``installationUpdate`` in a team (msteams-docs): ``channelData`` has ``channel``,
    ``team``, ``settings.selectedChannel`` and ``source``."""
    activity = _base("installationUpdate", service_url, channel, USER)
    activity.update(
        action=action,
        channelData=_channel_data(
            channel,
            team,
            settings={"selectedChannel": {"id": channel}},
            source={"name": "message"},
        ),
    )
    return activity


def invoke_activity(
    service_url: str,
    verb: str,
    data: Body,
    *,
    card_activity_id: str,
    title: str = "",
    conversation_id: str | None = None,
    channel: str = CHANNEL,
    team: str = TEAM,
    sender: Body | None = None,
) -> Body:
    """A click on an ``Action.Execute`` button: ``invoke`` ``adaptiveCard/action``, ``data``
    being the button's data merged with the card's input values (strings)."""
    activity = _base("invoke", service_url, conversation_id or thread_id(channel), sender or USER)
    action = {"type": "Action.Execute", "title": title or verb, "verb": verb, "data": data}
    activity.update(
        name="adaptiveCard/action",
        replyToId=card_activity_id,
        value={"action": action, "trigger": "manual"},
        channelData=_channel_data(channel, team, source={"name": "message"}),
    )
    return activity


def submit_activity(
    service_url: str,
    value: Body,
    *,
    card_activity_id: str,
    conversation_id: str | None = None,
    channel: str = CHANNEL,
    team: str = TEAM,
    sender: Body | None = None,
) -> Body:
    """A click on an ``Action.Submit`` (old clients' fallback): a message with ``value``."""
    activity = _base("message", service_url, conversation_id or thread_id(channel), sender or USER)
    activity.update(
        replyToId=card_activity_id, value=value, channelData=_channel_data(channel, team)
    )
    return activity


async def post_activity(
    url: str, activity: Body, authorization: str | None = None
) -> tuple[int, Any]:
    """POST an inbound activity to the bot's ``/api/messages`` as the channel does."""
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(activity), headers=headers) as response,
    ):
        text = await response.text()
    with contextlib.suppress(ValueError):
        return response.status, json.loads(text) if text else None
    return response.status, text
