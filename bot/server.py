"""The HTTP face of Vigie: health, metrics, webhooks and chat platforms, on one aiohttp app."""

from __future__ import annotations

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


def build_http_app(
    webhooks: Mapping[str, WebhookSource],
    metrics: Metrics,
    health: Health,
    posts: Mapping[str, Route] | None = None,
) -> web.Application:
    """Health, metrics, signed webhooks, and the chat platforms' endpoints (``posts``)."""
    app = web.Application(client_max_size=CHAT_MAX_BODY)

    async def healthz(request: web.Request) -> web.Response:
        report = health()
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)

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
