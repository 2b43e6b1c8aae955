"""A fake Mastodon instance for end-to-end tests: REST and SSE streaming, in the test's loop.

Test support code, not a test module. ``async with FakeMastodon() as fake:`` serves on 127.0.0.1
port 0 (``fake.url``). It behaves as Mastodon 4.x does where Vigie depends on it:

- ids are snowflakes, ``(milliseconds << 16) | sequence``, so they follow ``created_at``;
- timelines (``/api/v1/timelines/tag/{tag}``, ``/public``) answer newest first; ``min_id`` gives
  the page immediately newer than it, ``since_id`` the newest page above it, ``max_id`` the page
  below; at most 40; a status posted with ``_filtered=True`` is dropped after LIMIT (as Mastodon
  drops statuses deleted since their ids were cached), so a page can come back short;
- ``/api/v2/search`` needs a token for statuses (without one: none; ``offset`` refused with 401),
  orders by id, newest first, and reads ``min_id`` as ``after:`` a time to the second, so a page
  may hold statuses at or below ``min_id`` from the same second; a status posted with
  ``_filtered=True`` (a muted author, a deleted post) is dropped after LIMIT/OFFSET, so a page
  can come back short while more remain;
- streams (``/api/v1/streaming/hashtag[/local]?tag=``, ``/public[/local|/remote]``) need the
  token, write ``:)`` on connecting, ``:thump`` every ``heartbeat`` seconds, and
  ``event: update``/``status.update``/``delete``; ``drop_streams`` ends them, ``hang_streams``
  makes them silent;
- ``POST /api/v1/statuses`` needs the token, refuses an empty or >500-character text and an
  unknown visibility (422), and honours ``Idempotency-Key`` until ``forget_idempotency_keys()``
  (Mastodon keeps them an hour); with ``formatted=True`` its ``content`` is HTML as Mastodon
  renders it (a mention linked and shown as ``@name``, ``<br />``, a ``<p>`` per paragraph; off,
  the text escaped in one ``<p>``, which older tests compare literally);
- ``GET /api/v1/accounts/verify_credentials`` answers the token's account (``vigie``, which posts
  the replies); ``GET /api/v1/statuses/:id/context`` answers ``{ancestors,
  descendants}``: the chain up to the root, oldest first, and the replies below, depth first
  (without a token, at most 40 and 60, 20 deep).

- every REST answer carries ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (an ISO 8601
  time); set ``remaining`` to count requests down, and at 0 they get 429 without Retry-After.

Every request is recorded in ``calls``; ``fail(path, 503, ...)`` answers the next requests to a
path with those statuses, ``break_next(path)`` with 10 of the 100 bytes promised, then hangs up;
``lose_answers(path)`` lets the next request do its work, then answers 502 (a proxy that gave up).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from aiohttp import web

Status = dict[str, Any]
MAX_CHARS = 500
OWN_ACCT = "vigie"
_MENTION = re.compile(r"(?<![\w/@])@([\w.-]*\w)((?:@[\w.-]*\w(?::\d+)?)?)")


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 200


@dataclass
class Stream:
    """One open SSE connection: what it follows and what waits to be written to it."""

    path: str
    tag: str
    queue: asyncio.Queue[tuple[str, str] | None] = field(default_factory=asyncio.Queue)
    silent: bool = False

    def wants(self, status: Status) -> bool:
        if status.get("reblog") or status["visibility"] != "public":
            return False  # Mastodon streams neither boosts nor unlisted posts on these timelines
        scope = self.path.rsplit("/", 1)[-1]
        if scope in ("local", "remote") and status["_local"] != (scope == "local"):
            return False
        if self.path.startswith("/api/v1/streaming/hashtag"):
            return self.tag.lower() in {t["name"].lower() for t in status["tags"]}
        return True


def snowflake(at: datetime, sequence: int) -> str:
    return str((int(at.timestamp() * 1000) << 16) | (sequence & 0xFFFF))


def snowflake_time(status_id: str) -> datetime:
    return datetime.fromtimestamp((int(status_id) >> 16) / 1000, UTC)


def plain(content: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", content))


def account_id(acct: str) -> str:
    return str(abs(hash(acct)) % 10**9)


def formatted(text: str, base_url: str) -> str:
    """``text`` as Mastodon's TextFormatter renders a local post: a paragraph per blank line,
    ``<br />`` per line break, a mention linked and shown without its domain."""

    def mention(found: re.Match[str]) -> str:
        username, domain = found[1], found[2].lstrip("@")
        url = f"https://{domain}/@{username}" if domain else f"{base_url}/@{username}"
        return (
            f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
            f"@<span>{username}</span></a></span>"
        )

    paragraphs = re.split(r"\n\n+", text.strip())
    rendered = [
        "<br />".join(_MENTION.sub(mention, html.escape(line)) for line in p.split("\n"))
        for p in paragraphs
    ]
    return "".join(f"<p>{paragraph}</p>" for paragraph in rendered)


class FakeMastodon:
    def __init__(
        self, *, token: str | None = "test-token", heartbeat: float = 15.0, formatted: bool = False
    ) -> None:
        self.token = token
        self.heartbeat = heartbeat
        self.formatted = formatted
        self.statuses: dict[str, Status] = {}
        self.streams: list[Stream] = []
        self.stream_connections = 0
        self.calls: list[Call] = []
        self.posted: list[Status] = []
        self.streaming_url: str | None = None
        """What /api/v2/instance names as the streaming server (default: this fake)."""
        self.rate_limit = 300
        self.remaining: int | None = None
        """Requests left in the rate-limit window; None: never limited (the headers say 300)."""
        self.reset_at = datetime.now(UTC) + timedelta(minutes=5)
        self._failures: dict[str, list[tuple[int, float | None]]] = {}
        self._breaks: dict[str, int] = {}
        self._lost: dict[str, int] = {}
        self._idempotent: dict[str, Status] = {}
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def source(self, token: str | None = None, **settings: Any) -> dict[str, Any]:
        """An ``app.yaml`` Mastodon source following #kestreldown here, from now on."""
        found = {"type": "mastodon", "name": "masto", "base_url": self.url}
        found |= {"access_token": token or self.token, "hashtags": ["kestreldown"]}
        return found | {"search": [], "backfill": "0s", **settings}

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/api/v2/instance", self._instance)
        app.router.add_get("/api/v1/timelines/tag/{tag}", self._tag_timeline)
        app.router.add_get("/api/v1/timelines/public", self._public_timeline)
        app.router.add_get("/api/v2/search", self._search)
        app.router.add_post("/api/v1/statuses", self._post_status)
        app.router.add_get("/api/v1/statuses/{id}", self._get_status)
        app.router.add_get("/api/v1/statuses/{id}/context", self._context)
        app.router.add_get("/api/v1/accounts/verify_credentials", self._verify_credentials)
        app.router.add_get("/api/v1/streaming/{stream:.+}", self._stream)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop_streams()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what happens on the instance -----------------------------------------------------------

    def post(
        self,
        content: str,
        *,
        tags: tuple[str, ...] = (),
        acct: str = "alice",
        followers: int = 10,
        ago: timedelta = timedelta(0),
        local: bool = True,
        visibility: str = "public",
        **fields: Any,
    ) -> Status:
        """A status posted ``ago`` (streamed to whoever follows it if posted now)."""
        created = datetime.now(UTC) - ago
        self._sequence += 1
        status_id = snowflake(created, self._sequence)
        username = acct.split("@")[0]
        status: Status = {
            "id": status_id,
            "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": "en",
            "uri": f"{self.url}/users/{username}/statuses/{status_id}",
            "url": f"{self.url}/@{username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "content": content if content.startswith("<") else f"<p>{html.escape(content)}</p>",
            "reblog": None,
            "account": {
                "id": account_id(acct),
                "username": username,
                "acct": acct,
                "display_name": username.title(),
                "followers_count": followers,
            },
            "tags": [{"name": tag, "url": f"{self.url}/tags/{tag}"} for tag in tags],
            "_local": local,
            **fields,
        }
        self.statuses[status_id] = status
        if not ago:
            self.publish("update", status)
        return status

    def publish(self, event: str, status: Status) -> None:
        data = json.dumps(_public(status))
        for stream in self.streams:
            if stream.wants(status):
                stream.queue.put_nowait((event, data))

    def push(self, event: str, data: str) -> None:
        """An event as is, to every open stream."""
        for stream in self.streams:
            stream.queue.put_nowait((event, data))

    def edit(self, status_id: str, content: str) -> Status:
        status = self.statuses[status_id]
        status["content"] = f"<p>{html.escape(content)}</p>"
        status["edited_at"] = datetime.now(UTC).isoformat()
        self.publish("status.update", status)
        return status

    def delete(self, status_id: str) -> None:
        del self.statuses[status_id]
        self.push("delete", status_id)

    def drop_streams(self) -> None:
        for stream in self.streams:
            stream.queue.put_nowait(None)
        self.streams.clear()

    def hang_streams(self) -> None:
        """Streams stay open but say nothing, not even heartbeats."""
        for stream in self.streams:
            stream.silent = True

    def fail(self, path: str, *statuses: int, retry_after: float | None = None) -> None:
        self._failures.setdefault(path, []).extend((status, retry_after) for status in statuses)

    def break_next(self, path: str, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` answer 200 with a body that breaks off."""
        self._breaks[path] = self._breaks.get(path, 0) + times

    def lose_answers(self, path: str, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` are carried out, then answered 502."""
        self._lost[path] = self._lost.get(path, 0) + times

    def forget_idempotency_keys(self) -> None:
        """As an hour after they were used: a retried post is posted again."""
        self._idempotent.clear()

    def replies_to(self, status_id: str) -> list[Status]:
        return [s for s in self._ordered() if s.get("in_reply_to_id") == status_id]

    async def wait_for_streams(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while len([s for s in self.streams if not s.silent]) < count:
            assert time.monotonic() < deadline, f"{len(self.streams)} streams, not {count}"
            await asyncio.sleep(0.01)

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path.startswith(path)]

    # -- HTTP -----------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        call = Call(request.method, request.path, dict(request.query), dict(request.headers))
        self.calls.append(call)
        rest = not request.path.startswith("/api/v1/streaming")
        if rest and self.remaining is not None:
            if self.remaining <= 0:
                call.status = 429
                body = {"error": "Too many requests"}
                return web.json_response(body, status=429, headers=self._quota())
            self.remaining -= 1
        failures = self._failures.get(request.path)
        if failures:
            call.status, retry_after = failures.pop(0)
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return web.json_response(
                {"error": "failing on purpose"}, status=call.status, headers=headers
            )
        if self._breaks.get(request.path):
            self._breaks[request.path] -= 1
            return await _broken(request)
        response: web.StreamResponse = await handler(request)
        if self._lost.get(request.path) and not response.prepared:
            self._lost[request.path] -= 1
            call.status = 502
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        call.status = response.status
        if rest and not response.prepared:
            response.headers.update(self._quota())
        return response

    def _quota(self) -> dict[str, str]:
        left = self.rate_limit if self.remaining is None else max(self.remaining, 0)
        reset = self.reset_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": reset,
        }

    def _authorised(self, request: web.Request) -> bool:
        return (
            self.token is not None
            and request.headers.get("Authorization") == f"Bearer {self.token}"
        )

    async def _instance(self, request: web.Request) -> web.Response:
        streaming = self.streaming_url or f"ws://{self.host}"
        return web.json_response(
            {"domain": self.host, "configuration": {"urls": {"streaming": streaming}}}
        )

    async def _tag_timeline(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"].lower()
        local = request.query.get("local") == "true"
        return self._timeline(
            request,
            lambda s: tag in {t["name"].lower() for t in s["tags"]} and (s["_local"] or not local),
        )

    async def _public_timeline(self, request: web.Request) -> web.Response:
        local = request.query.get("local") == "true"
        remote = request.query.get("remote") == "true"
        return self._timeline(
            request, lambda s: (s["_local"] or not local) and (not s["_local"] or not remote)
        )

    def _timeline(self, request: web.Request, keep: Any) -> web.Response:
        query = request.query
        limit = min(int(query.get("limit", 20)), 40)
        chosen = [
            s
            for s in self._ordered()
            if keep(s) and not s.get("reblog") and s["visibility"] == "public"
        ]
        if "max_id" in query:
            chosen = [s for s in chosen if int(s["id"]) < int(query["max_id"])]
        if "since_id" in query:
            chosen = [s for s in chosen if int(s["id"]) > int(query["since_id"])]
        if "min_id" in query:
            above = [s for s in chosen if int(s["id"]) > int(query["min_id"])]
            page = above[:limit]  # the page immediately newer than min_id
        else:
            page = chosen[-limit:]
        shown = [s for s in reversed(page) if not s.get("_filtered")]
        return web.json_response([_public(s) for s in shown])

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query
        offset = int(query.get("offset", 0))
        if not self._authorised(request):
            if offset:
                return web.json_response(
                    {"error": "Search queries pagination is not supported without authentication"},
                    status=401,
                )
            return web.json_response({"accounts": [], "statuses": [], "hashtags": []})
        limit = min(int(query.get("limit", 20)), 40)
        words = query["q"].lower()
        found = [s for s in reversed(self._ordered()) if words in plain(s["content"]).lower()]
        if "min_id" in query:  # after:"<time of min_id>", to the second
            after = snowflake_time(query["min_id"]).replace(microsecond=0)
            found = [s for s in found if snowflake_time(s["id"]) >= after]
        if "max_id" in query:
            found = [s for s in found if int(s["id"]) < int(query["max_id"])]
        page = [s for s in found[offset : offset + limit] if not s.get("_filtered")]
        return web.json_response(
            {"accounts": [], "statuses": [_public(s) for s in page], "hashtags": []}
        )

    async def _get_status(self, request: web.Request) -> web.Response:
        status = self.statuses.get(request.match_info["id"])
        if status is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response(_public(status))

    async def _verify_credentials(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "The access token is invalid"}, status=401)
        return web.json_response(
            {
                "id": account_id(OWN_ACCT),
                "username": OWN_ACCT,
                "acct": OWN_ACCT,
                "display_name": "Vigie",
                "locked": False,
                "bot": True,
                "created_at": "2024-01-01T00:00:00.000Z",
                "note": "",
                "url": f"{self.url}/@{OWN_ACCT}",
                "followers_count": 0,
                "following_count": 0,
                "statuses_count": len(self.posted),
                "source": {"privacy": "public", "sensitive": False, "language": "en", "note": ""},
            }
        )

    async def _context(self, request: web.Request) -> web.Response:
        status = self.statuses.get(request.match_info["id"])
        if status is None:
            return web.json_response({"error": "Record not found"}, status=404)
        signed_in = self._authorised(request)
        ancestors: list[Status] = []
        parent = self.statuses.get(status.get("in_reply_to_id") or "")
        while parent is not None:
            ancestors.insert(0, parent)
            parent = self.statuses.get(parent.get("in_reply_to_id") or "")
        descendants = self._below(status["id"], depth=0 if signed_in else 20)
        if not signed_in:
            ancestors, descendants = ancestors[-40:], descendants[:60]
        return web.json_response(
            {
                "ancestors": [_public(s) for s in ancestors],
                "descendants": [_public(s) for s in descendants],
            }
        )

    def _below(self, status_id: str, depth: int) -> list[Status]:
        """Replies to ``status_id`` and theirs, depth first; ``depth`` 0: no limit."""
        found = []
        for reply in self.replies_to(status_id):
            found.append(reply)
            if depth != 1:
                found += self._below(reply["id"], max(depth - 1, 0))
        return found[:4096]

    async def _post_status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "The access token is invalid"}, status=401)
        form = (
            dict(await request.post())
            if request.content_type != "application/json"
            else await request.json()
        )
        key = request.headers.get("Idempotency-Key")
        if key and key in self._idempotent:
            return web.json_response(_public(self._idempotent[key]))
        text = str(form.get("status", ""))
        visibility = str(form.get("visibility", "public"))
        if not text.strip() or len(text) > MAX_CHARS:
            return web.json_response(
                {"error": "Validation failed: Text is too long or blank"}, status=422
            )
        if visibility not in ("public", "unlisted", "private", "direct"):
            return web.json_response(
                {"error": "Validation failed: Visibility is invalid"}, status=422
            )
        content = formatted(text, self.url) if self.formatted else text
        status = self.post(
            content, acct=OWN_ACCT, visibility=visibility, in_reply_to_id=form.get("in_reply_to_id")
        )
        self.posted.append(status)
        if key:
            self._idempotent[key] = status
        return web.json_response(_public(status))

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"error": "Error while trying to authenticate"}, status=401)
        stream = Stream(request.path, request.query.get("tag", ""))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        self.streams.append(stream)
        self.stream_connections += 1
        with contextlib.suppress(ConnectionError):
            await response.write(b":)\n")
            while True:
                try:
                    item = await asyncio.wait_for(stream.queue.get(), self.heartbeat)
                except TimeoutError:
                    if not stream.silent:
                        await response.write(b":thump\n")
                    continue
                if item is None:
                    break
                if not stream.silent:
                    event, data = item
                    await response.write(f"event: {event}\ndata: {data}\n\n".encode())
        with contextlib.suppress(ValueError):
            self.streams.remove(stream)
        return response

    def _ordered(self) -> list[Status]:
        return sorted(self.statuses.values(), key=lambda s: int(s["id"]))


async def _broken(request: web.Request) -> web.StreamResponse:
    """200 with ``Content-Length: 100``, 10 bytes of JSON, then the connection closed."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 100
    await response.prepare(request)
    await response.write(b'{"accounts')
    assert request.transport is not None
    request.transport.close()
    return response


def _public(status: Status) -> Status:
    return {key: value for key, value in status.items() if not key.startswith("_")}
