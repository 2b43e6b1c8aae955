"""A fake Reddit for source tests: OAuth tokens, search, subreddit listings and replies.

Test support code, not a test module. ``async with FakeReddit() as reddit:`` serves on
127.0.0.1 port 0; point the source's ``auth_url`` at ``reddit.auth_url`` and ``base_url`` at
``reddit.url``. Posts and comments are listing children (``{"kind": "t3", "data": {...}}``),
served newest first, 100 a page at most, with ``after`` fullnames, as Reddit does. Every API
answer carries ``X-Ratelimit-*`` headers from a quota the test can lower. ``close`` makes a
subreddit private (403) or banned (404), as Reddit answers its listings then; ``break_next``
answers the next listings with 10 of the 100 bytes promised, then hangs up.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from tests.loopback import serve_loopback

Child = dict[str, Any]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    status: int = 200


@dataclass
class Token:
    value: str
    grant: str
    revoked: bool = False


def post(
    number: int, created: float, title: str, *, sub: str = "kestrelmobile", **data: Any
) -> Child:
    """A t3 child with the fields Reddit sends that the source reads."""
    id36 = f"p{number:05d}"
    return {
        "kind": "t3",
        "data": {
            "id": id36,
            "name": f"t3_{id36}",
            "title": title,
            "selftext": "",
            "author": f"poster{number}",
            "subreddit": sub,
            "score": 1,
            "num_comments": 0,
            "created_utc": created,
            "permalink": f"/r/{sub}/comments/{id36}/a_title/",
            "url": f"https://www.reddit.com/r/{sub}/comments/{id36}/a_title/",
            **data,
        },
    }


def comment(
    number: int, created: float, body: str, *, link: str = "t3_p00001", sub: str = "kestrelmobile"
) -> Child:
    id36 = f"c{number:05d}"
    return {
        "kind": "t1",
        "data": {
            "id": id36,
            "name": f"t1_{id36}",
            "body": body,
            "author": f"commenter{number}",
            "subreddit": sub,
            "link_id": link,
            "parent_id": link,
            "score": 1,
            "created_utc": created,
            "permalink": f"/r/{sub}/comments/{link[3:]}/a_title/{id36}/",
        },
    }


def load_listing(path: Path) -> list[Child]:
    children: list[Child] = json.loads(path.read_text(encoding="utf-8"))["data"]["children"]
    return children


@dataclass
class FakeReddit:
    client_id: str = "app-id"
    client_secret: str = "app-secret"
    username: str | None = None
    password: str | None = None
    expires_in: int = 86_400
    quota: int = 600  # requests left in the window
    reset: int = 300  # seconds until the window ends
    children: list[Child] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    replies: list[dict[str, str]] = field(default_factory=list)  # forms of accepted replies
    lose_reply_answers: bool = False  # post the reply, then drop the connection (a lost answer)
    reply_errors: list[list[str]] = field(default_factory=list)  # answered to the next replies
    url: str = ""
    closed: dict[str, int] = field(default_factory=dict)  # folded subreddit name -> status
    _failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _breaks: int = 0
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/api/v1/access_token", self._access_token)
        app.router.add_get("/search", self._search)
        app.router.add_get("/r/{sub}/new", self._new)
        app.router.add_get("/r/{sub}/comments", self._comments)
        app.router.add_get("/user/{name}/comments", self._user_comments)
        app.router.add_get("/api/info", self._info)
        app.router.add_post("/api/comment", self._comment)
        self._runner, self.url = await serve_loopback(app)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def auth_url(self) -> str:
        return f"{self.url}/api/v1/access_token"

    def add(self, *children: Child) -> None:
        self.children.extend(children)

    def fail(
        self, status: int = 429, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` API requests with ``status`` and these headers."""
        self._failures.extend([(status, headers or {})] * times)

    def close(self, sub: str, status: int = 403) -> None:
        """Refuse the subreddit's listings: 403 (private) or 404 (banned)."""
        self.closed[sub.casefold()] = status

    def reopen(self, sub: str) -> None:
        self.closed.pop(sub.casefold(), None)

    def break_next(self, times: int = 1) -> None:
        """The next ``times`` listings answer 200 with a body that breaks off."""
        self._breaks += times

    def api_calls(self, path: str | None = None) -> list[Call]:
        return [
            c for c in self.calls if c.path != "/api/v1/access_token" and path in (None, c.path)
        ]

    # --- plumbing ---------------------------------------------------------------------------

    async def _access_token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self._record(request, form)
        credentials = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
        if request.headers.get("Authorization") != f"Basic {credentials.decode()}":
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        grant = form.get("grant_type", "")
        if grant == "password" and (form.get("username"), form.get("password")) != (
            self.username,
            self.password,
        ):
            return web.json_response({"error": "invalid_grant"})  # 200, as Reddit does
        if grant not in ("client_credentials", "password"):
            return web.json_response({"error": "unsupported_grant_type"})
        token = Token(f"token-{len(self.tokens) + 1}", grant)
        self.tokens.append(token)
        return web.json_response(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "scope": "*",
            }
        )

    async def _search(self, request: web.Request) -> web.Response:
        clauses = [c.strip().strip('"').casefold() for c in request.query["q"].split(" OR ")]

        def found(child: Child) -> bool:
            data = child["data"]
            text = f"{data.get('title', '')} {data.get('selftext', '')}".casefold()
            return child["kind"] == "t3" and any(clause in text for clause in clauses)

        return await self._listing(request, found, facets=True)

    async def _new(self, request: web.Request) -> web.StreamResponse:
        return await self._sub_listing(request, "t3")

    async def _comments(self, request: web.Request) -> web.StreamResponse:
        return await self._sub_listing(request, "t1")

    async def _sub_listing(self, request: web.Request, kind: str) -> web.StreamResponse:
        subs = request.match_info["sub"].casefold().split("+")
        closed = next((self.closed[s] for s in subs if s in self.closed), 0)
        return await self._listing(request, self._in_sub(request, kind), closed=closed)

    async def _user_comments(self, request: web.Request) -> web.Response:
        name = request.match_info["name"].casefold()
        return await self._listing(
            request, lambda c: c["kind"] == "t1" and str(c["data"]["author"]).casefold() == name
        )

    async def _info(self, request: web.Request) -> web.Response:
        wanted = set(request.query.get("id", "").split(","))
        if len(wanted) > 100:
            return web.json_response({"message": "Bad Request", "error": 400}, status=400)
        return await self._listing(request, lambda c: c["data"]["name"] in wanted)

    @staticmethod
    def _in_sub(request: web.Request, kind: str) -> Any:
        subs = {s.casefold() for s in request.match_info["sub"].split("+")}
        return lambda c: c["kind"] == kind and c["data"].get("subreddit", "").casefold() in subs

    async def _listing(
        self, request: web.Request, wanted: Any, facets: bool = False, closed: int = 0
    ) -> web.StreamResponse:
        refused = self._refuse(request, {}, closed=closed)
        if refused is not None:
            return refused
        if self._breaks:
            self._breaks -= 1
            return await _broken(request)
        # newest first; among equal times, the one added last first (Reddit ids grow with time)
        order = sorted(
            enumerate(c for c in self.children if wanted(c)),
            key=lambda pair: (pair[1]["data"]["created_utc"], pair[0]),
            reverse=True,
        )
        matching = [child for _, child in order]
        start = 0
        if "after" in request.query:
            names = [c["data"]["name"] for c in matching]
            start = (
                names.index(request.query["after"]) + 1 if request.query["after"] in names else 0
            )
        limit = min(int(request.query.get("limit", "25")), 100)
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        data: dict[str, Any] = {
            "modhash": "",
            "dist": len(page),
            "children": page,
            "after": page[-1]["data"]["name"] if more and page else None,
            "before": None,
        }
        if facets:
            data["facets"] = {}
        return web.json_response({"kind": "Listing", "data": data}, headers=self._quota())

    async def _comment(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        refused = self._refuse(request, form, replying=True)
        if refused is not None:
            return refused
        if self.reply_errors:
            error = self.reply_errors.pop(0)
            return web.json_response({"json": {"errors": [error]}}, headers=self._quota())
        self.replies.append(form)
        parent = next(c for c in self.children if c["data"]["name"] == form["thing_id"])["data"]
        link = parent.get("link_id", parent["name"])
        newest = max(c["data"]["created_utc"] for c in self.children)
        number = 90_000 + next(self._numbers)
        reply = comment(number, newest + 1, form["text"], link=link, sub=parent["subreddit"])
        reply["data"] |= {"author": self.username, "parent_id": form["thing_id"]}
        self.children.append(reply)
        if self.lose_reply_answers:
            assert request.transport is not None
            request.transport.close()
        answer = {"json": {"errors": [], "data": {"things": [reply]}}}
        return web.json_response(answer, headers=self._quota())

    def _refuse(
        self,
        request: web.Request,
        form: dict[str, str],
        replying: bool = False,
        closed: int = 0,
    ) -> web.Response | None:
        """The answer to a request Reddit would not serve (recorded either way), or None."""
        call = self._record(request, form)
        match = re.fullmatch(r"bearer (\S+)", request.headers.get("Authorization", ""))
        token = next((t for t in self.tokens if match and t.value == match[1]), None)
        status, headers = 0, dict[str, str]()
        if self._failures:
            status, headers = self._failures.pop(0)
        elif token is None or token.revoked:
            status = 401
        elif closed:
            status, headers = closed, self._quota()
        elif replying and token.grant != "password":
            status = 403  # an app-only token has no account to post as
        elif self.quota <= 0:
            status, headers = 429, self._quota()
        if status:
            call.status = status
            body: dict[str, Any] = {"message": "refused", "error": status}
            if closed and status == closed:  # what Reddit says of a private or banned subreddit
                reason, said = (
                    ("private", "Forbidden") if status == 403 else ("banned", "Not Found")
                )
                body = {"reason": reason, "message": said, "error": status}
            return web.json_response(body, status=status, headers=headers)
        self.quota -= 1
        return None

    def _quota(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Used": str(600 - self.quota),
            "X-Ratelimit-Remaining": f"{float(max(self.quota, 0))}",
            "X-Ratelimit-Reset": str(self.reset),
        }

    def _record(self, request: web.Request, form: dict[str, str]) -> Call:
        call = Call(request.method, request.path, dict(request.query), form, dict(request.headers))
        self.calls.append(call)
        return call


async def _broken(request: web.Request) -> web.StreamResponse:
    """200 with ``Content-Length: 100``, 10 bytes of a listing, then the connection closed."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 100
    await response.prepare(request)
    await response.write(b'{"kind": "')
    assert request.transport is not None
    request.transport.close()
    return response
