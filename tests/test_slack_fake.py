"""The fake Slack speaks the wire format of the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_fake import (
    FakeSlack,
    block_action_body,
    post_signed,
    signed_headers,
    slash_command_body,
    slash_command_payload,
    socket_envelope,
)

SECRET = "signing-secret-for-tests"
BLOCKS = [{"type": "section", "block_id": "s1", "text": {"type": "mrkdwn", "text": "*spike*"}}]
METADATA = {"event_type": "vigie_alert", "event_payload": {"key": "alert-42"}}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def client(slack: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url, **kwargs)


async def test_web_api_round_trip(slack: FakeSlack) -> None:
    web_client = client(slack)
    assert (await web_client.auth_test())["user_id"] == "UBOT"
    posted = await web_client.chat_postMessage(
        channel="C1", text="Spike", blocks=BLOCKS, metadata=METADATA
    )
    ts = posted["ts"]
    assert posted["channel"] == "C1"
    assert posted["message"]["metadata"] == METADATA
    reply = await web_client.chat_postMessage(channel="C1", text="level 2", thread_ts=ts)
    assert float(reply["ts"]) > float(ts)
    await web_client.chat_update(channel="C1", ts=ts, text="Spike (approved)", blocks=BLOCKS)
    await web_client.chat_postEphemeral(channel="C1", user="U1", text="only you")

    history = await web_client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [ts]  # the thread reply is not listed
    assert history["messages"][0]["metadata"] == METADATA
    assert history["messages"][0]["text"] == "Spike (approved)"
    assert "metadata" not in (await web_client.conversations_history(channel="C1"))["messages"][0]
    thread = await web_client.conversations_replies(channel="C1", ts=ts)
    assert [m["ts"] for m in thread["messages"]] == [ts, reply["ts"]]

    auth_call, post_call = slack.calls[:2]
    assert auth_call.content_type == "application/x-www-form-urlencoded"
    assert auth_call.headers["Authorization"] == "Bearer xoxb-test"
    assert post_call.content_type == "application/json"
    assert post_call.body["blocks"] == BLOCKS
    assert slack.calls_to("conversations.history")[0].body["include_all_metadata"] == "1"


async def test_web_api_errors(slack: FakeSlack) -> None:
    web_client = client(slack)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C1", "text": "x", "blocks": BLOCKS * 51}, "invalid_blocks"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        (
            {"channel": "C1", "text": "x", "metadata": {"event_payload": {}}},
            "invalid_metadata_format",
        ),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as caught:
            await web_client.chat_postMessage(**kwargs)
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError, match="message_not_found"):
        await web_client.chat_update(channel="C1", ts="1.000001", text="x")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="bogus", base_url=slack.api_url).auth_test()
    with pytest.raises(SlackApiError, match="unknown_method"):
        await web_client.api_call("reactions.add")


async def test_rate_limit_is_absorbed_by_the_retry_handler(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1)
    web_client = client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    started = time.monotonic()
    await web_client.chat_postMessage(channel="C1", text="hello")
    assert time.monotonic() - started >= 1
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_rate_limit_raises_without_the_retry_handler(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_postMessage(channel="C1", text="hello")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "1"
    slack.fail("chat.update", status=503, retry_after=None)
    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_update(channel="C1", ts="1.000001", text="x")
    assert caught.value.response.status_code == 503


async def test_a_refusal_at_http_200_is_served(slack: FakeSlack) -> None:
    """``fail(status=200, error=...)`` was overwritten by the method's own answer: no test could
    make Slack say ok:false, which is how it refuses most calls."""
    slack.fail("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_postMessage(channel="C1", text="hello")
    assert caught.value.response.status_code == 200
    assert caught.value.response.data == {"ok": False, "error": "not_in_channel"}
    assert not slack.messages.get("C1")
    await client(slack).chat_postMessage(channel="C1", text="hello")  # once only
    assert len(slack.messages["C1"]) == 1


async def test_history_is_paged_newest_first(slack: FakeSlack) -> None:
    slack.history_limit = 2
    for n in range(5):
        await client(slack).chat_postMessage(channel="C1", text=f"m{n}")
    pages, cursor = [], None
    while True:
        page = await client(slack).conversations_history(channel="C1", limit=100, cursor=cursor)
        pages.append([m["text"] for m in page["messages"]])
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]


def test_signed_headers_verify() -> None:
    body = slash_command_body("/mentions", "acme 24h", "U1", "C1", "http://127.0.0.1:1/respond/x")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    ts, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body=body, timestamp=ts, signature=signature)
    assert not verifier.is_valid(body=body + "&x=1", timestamp=ts, signature=signature)
    old = signed_headers(SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, old)


async def test_bolt_http_app_accepts_signed_requests(slack: FakeSlack) -> None:
    """The payload builders satisfy the real AsyncApp: signature, parsing, respond(), client."""
    app = AsyncApp(signing_secret=SECRET, client=client(slack), process_before_response=True)

    @app.command("/mentions")
    async def mentions(ack: Any, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack(text="working on it")
        await respond(text=f"mentions for {command['text']}", replace_original=False)

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"], ts=container["message_ts"], text="Approved"
        )

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    events = f"http://{host}:{port}/slack/events"
    try:
        body = slash_command_body("/mentions", "acme 24h", "U1", "C1", slack.response_url("cmd"))
        status, text = await post_signed(events, body, SECRET)
        assert (status, text) == (200, "working on it")  # ack(text=...) alone: plain text
        await slack.wait_for("response_url")
        assert slack.responses[0]["text"] == "mentions for acme 24h"

        ts = (await client(slack).chat_postMessage(channel="C1", text="draft"))["ts"]
        action = block_action_body("approve", "d-1", "U1", "C1", ts, slack.response_url("act"))
        assert (await post_signed(events, action, SECRET))[0] == 200
        assert (await slack.wait_for("chat.update"))[0].body["ts"] == ts
        message = slack.message("C1", ts)
        assert message is not None
        assert message["text"] == "Approved"

        assert (await post_signed(events, body, "wrong-secret"))[0] == 401
    finally:
        await runner.cleanup()


async def test_socket_mode_client_receives_and_acks(slack: FakeSlack) -> None:
    socket_client = SocketModeClient(app_token="xapp-test", web_client=client(slack))

    async def on_request(sm: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await sm.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "got it"})
        )

    socket_client.socket_mode_request_listeners.append(on_request)
    try:
        await socket_client.connect()
        payload = slash_command_payload("/mentions", "acme", "U1", "C1", slack.response_url("s"))
        envelope_id = await slack.socket_send(socket_envelope("slash_commands", payload))
        ack = await slack.wait_for_ack(envelope_id, timeout=20)
        assert ack == {"envelope_id": envelope_id, "payload": {"text": "got it"}}
        assert slack.calls_to("apps.connections.open")[0].headers["Authorization"] == (
            "Bearer xapp-test"
        )
    finally:
        await socket_client.close()


async def test_bolt_socket_mode_handler_end_to_end(slack: FakeSlack) -> None:
    app = AsyncApp(client=client(slack))

    @app.command("/mentions")
    async def mentions(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=f"socket: {command['text']}")

    handler = AsyncSocketModeHandler(app, app_token="xapp-test")
    try:
        await handler.connect_async()
        payload = slash_command_payload("/mentions", "acme", "U1", "C1", slack.response_url("s"))
        envelope_id = await slack.socket_send(socket_envelope("slash_commands", payload))
        ack = await slack.wait_for_ack(envelope_id, timeout=20)
        assert ack["payload"]["text"] == "socket: acme"
    finally:
        await handler.close_async()
