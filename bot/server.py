"""The HTTP face of Vigie: health, metrics, webhooks and chat platforms, on one aiohttp app."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import Metrics
from bot.sources.webhook import WebhookSource

Health = Callable[[], dict[str, Any]]


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]

CHAT_MAX_BODY = 1_048_576
"""Largest body the chat platforms' endpoints read (a Slack interaction or a Teams activity is
tens of kilobytes at most). Webhook sources stream their bodies against their own limit."""


REQUEST_SECONDS = 60.0
"""Longest a POST may take, its body included (a webhook batch is stored within 30 s): a client
that sends its body a byte at a time is cut off rather than holding memory and a slot forever."""
BODY_SECONDS = 10.0
"""Longest a chat platform's request may take to arrive (Slack and Teams send theirs at once)."""
MAX_POSTS_IN_FLIGHT = 64
"""POSTs handled at once per endpoint (webhooks, Slack, Teams); more get 503 and Retry-After at
once. Each may hold a body before its signature can be checked, so this bounds what
unauthenticated clients can make the service hold, and a flood of one endpoint does not turn
away the others."""
MAX_POSTS_PER_CLIENT = 16
"""POSTs handled at once per endpoint from one address: one client cannot take every slot.
(Behind a reverse proxy every request comes from its address; let the proxy limit clients.)"""
KEEPALIVE_SECONDS = 75.0
"""How long an idle kept-alive connection stays open (aiohttp's default is an hour)."""


class PostCounts:
    """The POSTs in flight, per endpoint (a route) and per endpoint and client address. An entry
    is kept only while a request holds it: what clients send cannot grow these maps."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.clients: Counter[tuple[str, str]] = Counter()

    def enter(self, endpoint: str, client: str, limit: int, per_client: int) -> bool:
        """Count one more POST on ``endpoint`` from ``client``; False (nothing counted) when
        either is at its bound."""
        if self.totals[endpoint] >= limit or self.clients[(endpoint, client)] >= per_client:
            return False
        self.totals[endpoint] += 1
        self.clients[(endpoint, client)] += 1
        return True

    def leave(self, endpoint: str, client: str) -> None:
        self.totals[endpoint] -= 1
        if self.totals[endpoint] <= 0:
            del self.totals[endpoint]
        self.clients[(endpoint, client)] -= 1
        if self.clients[(endpoint, client)] <= 0:
            del self.clients[(endpoint, client)]  # addresses come and go


def guard_posts(
    limit: int = MAX_POSTS_IN_FLIGHT,
    per_client: int = MAX_POSTS_PER_CLIENT,
    seconds: float = REQUEST_SECONDS,
    body_seconds: float = BODY_SECONDS,
    counts: PostCounts | None = None,
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware bounding the POSTs handled at once (per endpoint, and per client address on
    it), how long each may take, and how long a chat platform's body may take to arrive (a
    webhook streams its own, within ``seconds``). An endpoint is a route: a POST that matches
    none (404, 405) is answered at once, neither read nor counted."""
    counts = PostCounts() if counts is None else counts

    @web.middleware
    async def guard(request: web.Request, handler: Route) -> web.StreamResponse:
        if request.method != "POST" or request.match_info.http_exception is not None:
            return await handler(request)
        resource = request.match_info.route.resource
        endpoint = resource.canonical if resource is not None else request.path
        client = request.remote or ""
        if not counts.enter(endpoint, client, limit, per_client):
            return web.json_response(
                {"error": "too many requests at once; retry shortly"},
                status=503,
                headers={"Retry-After": "1"},
            )
        try:
            async with asyncio.timeout(seconds):
                if not endpoint.startswith("/webhooks/"):
                    async with asyncio.timeout(body_seconds):
                        await request.read()  # kept: the handler reads it from memory
                return await handler(request)
        except TimeoutError:
            return web.json_response(
                {"error": "request not received and handled in time"}, status=408
            )
        finally:
            counts.leave(endpoint, client)

    return guard


def build_http_app(
    webhooks: Mapping[str, WebhookSource],
    metrics: Metrics,
    health: Health,
    posts: Mapping[str, Route] | None = None,
) -> web.Application:
    """Health, metrics, signed webhooks, and the chat platforms' endpoints (``posts``)."""
    app = web.Application(client_max_size=CHAT_MAX_BODY, middlewares=[guard_posts()])

    async def healthz(request: web.Request) -> web.Response:
        report = health()
        return web.json_response(report, status=200 if report["accepting"] else 503)

    async def prometheus(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def webhook(request: web.Request) -> web.Response:
        source = webhooks.get(request.match_info["name"])
        if source is None:
            return web.json_response(
                {"error": f"no webhook source named {request.match_info['name']!r}"}, status=404
            )
        return await source.handle(request)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    app.router.add_post("/webhooks/{name}", webhook)
    for path, handler in (posts or {}).items():
        app.router.add_post(path, handler)
    return app
