"""What an unauthenticated client can make the HTTP server hold: a POST whose body trickles in is
cut off, and POSTs beyond a bound are turned away at once (before their bodies are read)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.server import PostCounts, guard_posts
from tests.conftest import running_service, write_config
from tests.fake_connector import APP_ID
from tests.loopback import serve_loopback
from tests.test_security import _raw_status
from tests.test_slack import SECRET

DEAD = "http://127.0.0.1:9/api/"  # nothing listens: these requests never get that far


async def serve(entered: asyncio.Event, **limits: Any) -> tuple[web.AppRunner, int]:
    """/webhooks/in reads its body as a webhook does (in the handler, after ``entered``);
    /chat as the chat platforms do (the guard reads it first)."""

    async def webhook(request: web.Request) -> web.Response:
        entered.set()
        return web.json_response({"read": len(await request.read())})

    async def chat(request: web.Request) -> web.Response:
        return web.json_response({"read": len(await request.read())})

    app = web.Application(middlewares=[guard_posts(**limits)])
    app.router.add_post("/webhooks/in", webhook)
    app.router.add_post("/chat", chat)
    app.router.add_get("/chat", chat)
    runner, url = await serve_loopback(app, lingering_time=0)
    return runner, int(url.rsplit(":", 1)[1])


async def start_post(
    port: int, path: str = "/webhooks/in", length: int = 1000
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST that announces ``length`` bytes and sends one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nx".encode())
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), 30)
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("path", "limits"),
    [("/chat", {"body_seconds": 0.3}), ("/webhooks/in", {"seconds": 0.3})],
)
async def test_a_body_that_trickles_in_is_cut_off(path: str, limits: dict[str, float]) -> None:
    runner, port = await serve(asyncio.Event(), **limits)
    try:
        reader, writer = await start_post(port, path)
        assert await status_of(reader) == 408
        writer.close()
    finally:
        await runner.cleanup()


async def test_posts_beyond_the_bound_are_turned_away_but_not_from_other_endpoints() -> None:
    entered = asyncio.Event()
    runner, port = await serve(entered, limit=1, per_client=8)
    try:
        _, held = await start_post(port)  # holds the webhooks' only slot, its body never done
        await asyncio.wait_for(entered.wait(), 30)
        reader, writer = await start_post(port, length=1)
        assert await status_of(reader) == 503
        headers = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
        assert "Retry-After: 1" in headers
        chat_reader, chat = await start_post(port, "/chat", length=1)
        assert await status_of(chat_reader) == 200  # Slack and Teams are not turned away
        for connection in (writer, chat, held):
            connection.close()
    finally:
        await runner.cleanup()


async def test_one_client_cannot_take_every_slot() -> None:
    entered = asyncio.Event()
    runner, port = await serve(entered, limit=8, per_client=1)
    try:
        _, held = await start_post(port)
        await asyncio.wait_for(entered.wait(), 30)
        reader, writer = await start_post(port, length=1)  # the same address
        assert await status_of(reader) == 503
        writer.close()
        held.close()
    finally:
        await runner.cleanup()


async def test_posts_to_unknown_paths_leave_nothing_behind_and_the_bound_still_holds() -> None:
    """Each unknown path once made an entry of its own that was never removed: anyone reaching
    the port could grow the process at will."""
    entered, counts = asyncio.Event(), PostCounts()
    runner, port = await serve(entered, limit=1, per_client=8, counts=counts)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for number in range(300):
            path = f"/{'x' * 2000}{number}/y"
            writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx".encode())
            await writer.drain()
            assert await status_of(reader) == 404
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            await asyncio.wait_for(reader.readexactly(len("404: Not Found")), 30)
        writer.close()
        for path in ("/webhooks/in", "/chat"):  # answered: nothing held once they are
            done_reader, done = await start_post(port, path, length=1)
            assert await status_of(done_reader) == 200
            done.close()
        assert not counts.totals
        assert not counts.clients
        entered.clear()
        _, held = await start_post(port)  # a real endpoint is still bounded
        await asyncio.wait_for(entered.wait(), 30)
        assert counts.totals == {"/webhooks/in": 1}
        turned_reader, turned = await start_post(port, length=1)
        assert await status_of(turned_reader) == 503
        for connection in (turned, held):
            connection.close()
    finally:
        await runner.cleanup()


async def test_reads_are_not_bounded() -> None:
    """/healthz and /metrics stay reachable while POSTs are being turned away."""
    entered = asyncio.Event()
    runner, port = await serve(entered, limit=1)
    try:
        _, held = await start_post(port)
        await asyncio.wait_for(entered.wait(), 30)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        assert await status_of(reader) == 200
        writer.close()
        held.close()
    finally:
        await runner.cleanup()


async def test_json_nested_too_deep_is_refused_not_a_server_error(tmp_path: Path) -> None:
    """Python's JSON reader gives up (RecursionError) on deeply nested input: the chat
    platforms' endpoints answer 400 before anyone is authenticated, not 500 and a traceback."""
    config = write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": "0123456789abcdef"}],
        platforms={
            "slack": {"bot_token": "xoxb-test", "signing_secret": SECRET, "api_url": DEAD},
            "teams": {"app_id": APP_ID, "app_password": "app-password"},
        },
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    async with running_service(config) as service:
        assert service.http_port is not None
        teams = await _raw_status(
            service.http_port, "/api/messages", b"application/json", b"", deep
        )
        slack = await _raw_status(
            service.http_port,
            "/slack/events",
            b"application/x-www-form-urlencoded",
            b"",
            b"payload=" + b"%5B" * 100_000,
        )
    assert (teams, slack) == (400, 400)
