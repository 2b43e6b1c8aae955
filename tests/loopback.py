"""Serving a fake of someone's API on 127.0.0.1 (port 0) for the length of a test."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve_loopback(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Start ``app``; returns its runner (clean it up at the end) and its root URL."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"
