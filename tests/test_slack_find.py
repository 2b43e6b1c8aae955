"""After a crash, Slack messages are looked up by their idempotency key before being posted
again, through the real slack_sdk client against the fake Slack: in a long incident's thread too
(Slack gives a thread oldest first, and at most 15 messages a page to apps outside its
Marketplace)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery import DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.slack.platform import EVENT_TYPE, SlackPlatform, make_client
from tests.slack_fake import BOT, FakeSlack

CHANNEL = "C0ALERTS"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.replies_limit = 15
        yield fake


def ts_of(at: datetime, n: int = 0) -> str:
    return f"{int(at.timestamp())}.{n:06d}"


def metadata(key: str) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key, "incident": 1}}


def thread(slack: FakeSlack, parent: str, replies: list[tuple[str, str]]) -> None:
    """A card at ``parent`` and its thread's ``(ts, key)`` messages, as Slack stored them."""
    messages = slack.messages.setdefault(CHANNEL, [])
    messages.append({**BOT, "ts": parent, "thread_ts": parent, "text": "card"})
    for ts, key in replies:
        reply = {**BOT, "ts": ts, "thread_ts": parent, "text": key, "metadata": metadata(key)}
        messages.append(reply)


def reminder(key: str, at: datetime) -> Intent:
    return Intent(key, 1, IntentKind.THREAD, "slack", CHANNEL, at, "Reminder", {}, part="")


async def test_a_message_at_the_end_of_a_long_thread_is_found(slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=10)
    parent = ts_of(start)
    older = [(ts_of(start + timedelta(minutes=2 * n), 1), f"1-old-{n}") for n in range(200)]
    thread(slack, parent, [*older, (ts_of(now, 1), "1-reminder-9")])
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    card = f"{CHANNEL} {parent}"
    found = await platform.find(reminder("1-reminder-9", now - timedelta(minutes=1)), card)
    assert found == card  # posted already: the card's ref, nothing posted again
    assert await platform.find(reminder("1-reminder-10", now), card) is None


async def test_a_thread_is_read_page_by_page(slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    parent = ts_of(now - timedelta(minutes=30))
    replies = [(ts_of(now - timedelta(minutes=29 - n / 2)), f"1-thread-{n}") for n in range(40)]
    thread(slack, parent, replies)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    card = f"{CHANNEL} {parent}"
    assert await platform.find(reminder("1-thread-35", now - timedelta(minutes=40)), card) == card
    calls = slack.calls_to("conversations.replies")
    assert len(calls) == 3  # 15 a page
    assert [call.body.get("cursor") for call in calls] == [None, "15", "30"]


async def test_a_429_is_the_outboxs_to_wait_not_the_clients(slack: FakeSlack) -> None:
    """Slack asks for 30 s: the delivery says so at once (retryable, ``retry_after``), and the
    outbox waits for that channel alone; the client does not sleep inside the call."""
    slack.fail("chat.postMessage", status=429, retry_after=30)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    with pytest.raises(DeliveryError) as raised:
        async with asyncio.timeout(10):
            await platform.deliver(reminder("1-reminder-1", datetime.now(UTC)), None)
    assert (raised.value.retryable, raised.value.retry_after) == (True, 30.0)
    assert [call.status for call in slack.calls_to("chat.postMessage")] == [429]


async def test_a_connection_dropped_while_looking_is_a_retryable_delivery_error() -> None:
    """The review's f3: ``find`` let the client's ServerDisconnectedError through, which the
    outbox counted as a bug in Vigie: the notification failed for good after 3 tries."""
    asked: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.append(await reader.read(65536))  # the request read, the connection closed
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        platform = SlackPlatform(make_client("xoxb-test", f"http://127.0.0.1:{port}/api/"))
        with pytest.raises(DeliveryError) as raised:
            await platform.find(reminder("1-reminder-1", datetime.now(UTC)))
    finally:
        server.close()
        await server.wait_closed()
    assert raised.value.retryable
    assert "unreachable" in str(raised.value)
    assert asked
