"""After a crash, Slack messages are looked up by their idempotency key before being posted
again, through the real slack_sdk client against the fake Slack: in a long incident's thread too
(Slack gives a thread oldest first, and at most 15 messages a page to apps outside its
Marketplace)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.slack.platform import (
    EVENT_TYPE,
    LOOK_PAGES,
    POSTED_AFTER,
    SlackPlatform,
    make_client,
)
from handlers.slack.responders import SlackResponders
from tests.conftest import running_service, wait_for
from tests.slack_fake import BOT, FakeSlack
from tests.test_slack import _outbox, cards, delivered, slack_config

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


# --- what Slack answers when the look-up cannot be done -------------------------------------


@contextlib.asynccontextmanager
async def text_plain_503() -> AsyncIterator[str]:
    """A Web API behind a proxy that fails with a text/plain page (slack_sdk keeps the body as
    a str, so ``error.response.get`` raises AttributeError)."""

    async def api(request: web.Request) -> web.Response:
        return web.Response(status=503, text="upstream connect error", content_type="text/plain")

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    finally:
        await runner.cleanup()


def card_intent(key: str, at: datetime) -> Intent:
    return Intent(key, 7, IntentKind.OPEN, "slack", CHANNEL, at, "card", {})


async def test_a_5xx_with_a_text_body_while_looking_is_a_retryable_delivery_error() -> None:
    """It raised AttributeError, which the outbox counts as a bug: the card given up."""
    async with text_plain_503() as api_url:
        platform = SlackPlatform(make_client("xoxb-test", api_url))
        now = datetime.now(UTC)
        for intent, ref in (
            (reminder("1-r", now), f"{CHANNEL} 1.000001"),
            (card_intent("c", now), None),
        ):
            with pytest.raises(DeliveryError) as raised:
                await platform.find(intent, ref)
            assert raised.value.retryable
            assert str(raised.value) == "Slack answered 503 error"


async def test_an_unreadable_group_behind_a_failing_proxy_grants_nothing() -> None:
    async with text_plain_503() as api_url:
        responders = SlackResponders(
            {"*": ["S0COMMS"]}, AsyncWebClient("xoxb-test", base_url=api_url)
        )
        assert not await responders.may_act("U0MEMBER", "acme")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (200, "missing_scope"),
        (200, "not_in_channel"),
        (200, "invalid_auth"),
        (403, "missing_scope"),
    ],
)
async def test_a_look_up_slack_refuses_answers_not_found(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture, status: int, code: str
) -> None:
    """Posting then goes ahead (and says Slack's own reason if it fails): a possible duplicate
    is better than a card given up, when Slack surely posted nothing (a 429)."""
    now = datetime.now(UTC)
    slack.fail("conversations.history", status=status, retry_after=None, error=code, times=3)
    slack.fail("conversations.replies", status=status, retry_after=None, error=code, times=3)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    with caplog.at_level(logging.DEBUG, logger="handlers.slack.platform"):
        assert await platform.find(card_intent("incident-7-1", now)) is None
        assert await platform.find(card_intent("incident-8-1", now)) is None
        assert await platform.find(reminder("1-r", now), f"{CHANNEL} 1.000001") is None
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1  # once per channel and reason
    assert code in warned[0].getMessage()
    assert CHANNEL in warned[0].getMessage()


@pytest.mark.parametrize(
    ("status", "code"), [(429, "ratelimited"), (500, "internal_error"), (200, "ratelimited")]
)
async def test_slack_busy_or_failing_while_looking_is_asked_again_later(
    slack: FakeSlack, status: int, code: str
) -> None:
    slack.fail("conversations.history", status=status, error=code, retry_after=30)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    with pytest.raises(DeliveryError) as raised:
        await platform.find(card_intent("incident-7-1", datetime.now(UTC)))
    assert raised.value.retryable
    assert await platform.find(card_intent("incident-7-1", datetime.now(UTC))) is None


async def test_a_card_is_posted_even_when_the_look_up_is_refused(tmp_path: Path) -> None:
    """The review's case: a failed post of the card (a 503: it may have been posted) left it
    'sending'; the look-up before the retry got missing_scope, and the card was given up for
    good. (After a 429 Slack certainly posted nothing: the retry does not look it up.)"""
    async with FakeSlack() as slack:
        slack.fail("chat.postMessage", status=503, retry_after=1, times=1)
        slack.fail(
            "conversations.history", status=200, retry_after=None, error="missing_scope", times=50
        )
        slack.fail(
            "conversations.replies", status=200, retry_after=None, error="missing_scope", times=50
        )
        async with running_service(slack_config(tmp_path, slack)) as service:
            await wait_for(
                lambda: len(cards(slack, "C1")) == 1 and len(cards(slack, "C2")) == 1, 20
            )
            await delivered(service)
            assert slack.calls_to("conversations.history")
            assert {row["state"] for row in _outbox(service)} <= {"sent", "superseded"}


# --- bounded look-ups under Slack's 2025 limits (15 a page, 1 call a minute) ----------------


def one_call_a_minute(slack: FakeSlack, method: str) -> None:
    """Every call of ``method`` is followed by a 429 for the next one (the fake's failures are
    cleared to say that a minute went by)."""
    handler = slack._methods[method]

    def limited(body: dict[str, Any]) -> dict[str, Any]:
        answer = handler(body)
        slack.fail(method, status=429, retry_after=60)
        return answer

    slack._methods[method] = limited


async def test_a_thread_look_up_interrupted_by_a_429_resumes_where_it_stopped(
    slack: FakeSlack,
) -> None:
    """It read from page 1 again after each 429 on page 2: for ever, at one call a minute."""
    one_call_a_minute(slack, "conversations.replies")
    now = datetime.now(UTC)
    parent = ts_of(now - timedelta(minutes=50))
    replies = [(ts_of(now - timedelta(minutes=49 - n)), f"1-thread-{n}") for n in range(40)]
    thread(slack, parent, replies)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    card = f"{CHANNEL} {parent}"
    answers: list[object] = []
    for _ in range(5):
        slack._failures.clear()  # a minute later
        try:
            answers.append(await platform.find(reminder("1-thread-37", now), card))
        except DeliveryError as error:
            answers.append((error.retryable, error.retry_after))
        else:
            break
    assert answers == [(True, 60.0), (True, 60.0), card]
    pages = [
        c.body.get("cursor") for c in slack.calls_to("conversations.replies") if c.status == 200
    ]
    assert pages == [None, "15", "30"]


async def test_a_look_up_reads_a_few_pages_at_most_then_posts(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    parent = ts_of(now - timedelta(minutes=100))
    replies = [(ts_of(now - timedelta(minutes=99 - n / 2), 1), f"1-old-{n}") for n in range(190)]
    thread(slack, parent, replies)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    with caplog.at_level(logging.WARNING, logger="handlers.slack.platform"):
        assert await platform.find(reminder("1-never-posted", now), f"{CHANNEL} {parent}") is None
    assert len(slack.calls_to("conversations.replies")) == LOOK_PAGES
    assert "posting it" in caplog.text


async def test_a_replays_event_time_does_not_widen_the_look_up(slack: FakeSlack) -> None:
    """``created_at`` is event time: a week ago in a replay, an hour ahead on a fast clock."""
    wall = datetime(2026, 3, 10, 12, tzinfo=UTC)
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url), wall=wall.timestamp)
    for created in (
        wall - timedelta(days=7),
        wall,
        wall + timedelta(hours=1),
        wall + timedelta(days=3),
    ):
        await platform.find(card_intent(f"k-{created.timestamp():.0f}", created))
    asked = [float(c.body["oldest"]) for c in slack.calls_to("conversations.history")]
    day, margin = timedelta(hours=24).total_seconds(), POSTED_AFTER.total_seconds()
    at = wall.timestamp()
    assert asked == [at - day, at - margin, at - margin, at - margin]


async def test_a_card_under_many_newer_messages_is_found(slack: FakeSlack) -> None:
    """Only the newest page was read (100 messages, no ``oldest``): the card was posted twice."""
    slack.history_limit = 15
    now = datetime.now(UTC)
    messages = slack.messages.setdefault(CHANNEL, [])
    messages.append(
        {**BOT, "ts": ts_of(now - timedelta(hours=3)), "text": "older, outside the window"}
    )
    messages.append(
        {
            **BOT,
            "ts": ts_of(now - timedelta(minutes=10)),
            "text": "card",
            "metadata": metadata("incident-7-1"),
        }
    )
    for n in range(50):
        messages.append({**BOT, "ts": ts_of(now - timedelta(minutes=9), n), "text": f"other {n}"})
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    found = await platform.find(card_intent("incident-7-1", now - timedelta(minutes=10)))
    assert found == f"{CHANNEL} {ts_of(now - timedelta(minutes=10))}"
    calls = slack.calls_to("conversations.history")
    assert [c.body.get("cursor") for c in calls] == [None, "15", "30", "45"]
    decided = now - timedelta(minutes=10)
    assert float(calls[0].body["oldest"]) == pytest.approx((decided - POSTED_AFTER).timestamp())
    assert all(c.body.get("oldest") == calls[0].body["oldest"] for c in calls)  # every page


# --- a refusal when posting -------------------------------------------------------------------


async def test_not_in_channel_when_posting_is_given_up_and_says_why(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    with pytest.raises(DeliveryError) as raised:
        await platform.deliver(reminder("1-reminder-1", datetime.now(UTC)), None)
    assert not raised.value.retryable
    assert str(raised.value) == (
        f"Slack answered 200 not_in_channel: Vigie is not a member of {CHANNEL}: invite it to "
        "the channel"
    )
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200]
    assert not slack.messages.get(CHANNEL)
