"""A 429 means the platform did nothing: the retry posts again without looking the item up
first, and a look-up that Slack rate-limits uses up no attempt. Real slack_sdk and botbuilder
clients against the local fakes, real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery import Deliverer, DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.slack.platform import SlackPlatform, make_client
from storage.writer import Writer
from tests.fake_connector import FakeConnector
from tests.slack_fake import FakeSlack
from tests.test_delivery import FakeClock, put, rows
from tests.test_slack_render import card as a_card
from tests.test_teams_platform import _platform, opening


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


@pytest.fixture
async def teams() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        yield fake


def card_intent() -> Intent:
    return Intent(
        "incident-1-1", 1, IntentKind.OPEN, "slack", "C0ALERTS", datetime.now(UTC), "Card",
        a_card(),
    )  # fmt: skip


async def deliver_rounds(deliverer: Deliverer, clock: FakeClock, rounds: int) -> None:
    for _ in range(rounds):
        await deliverer.deliver_due()
        clock.now += 120


async def test_after_a_429_the_card_is_posted_again_without_reading_the_history(
    writer: Writer,
) -> None:
    async with FakeSlack() as slack:
        platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
        await put(writer, card_intent())
        slack.fail("chat.postMessage", 429, retry_after=1, times=1)
        slack.fail("conversations.history", 429, retry_after=60, times=5)
        clock = FakeClock()
        deliverer = Deliverer(
            writer, {"slack": platform}, max_attempts=3, wall=clock, monotonic=clock
        )
        await deliver_rounds(deliverer, clock, 5)

        row = (await rows(writer))["incident-1-1"]
        assert (row["state"], row["attempts"]) == ("sent", 2)
        assert [call.method for call in slack.calls] == ["chat.postMessage"] * 2
        assert len(slack.messages["C0ALERTS"]) == 1


async def test_a_rate_limited_look_up_uses_up_no_attempt(writer: Writer) -> None:
    """A 503 may have posted the card, so the retry reads the history first; Slack answers
    that read with 429s (one call a minute): the card is still posted, not given up."""
    async with FakeSlack() as slack:
        platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
        await put(writer, card_intent())
        slack.fail("chat.postMessage", 503, retry_after=None, times=1)
        slack.fail("conversations.history", 429, retry_after=60, times=3)
        clock = FakeClock()
        deliverer = Deliverer(
            writer, {"slack": platform}, max_attempts=2, wall=clock, monotonic=clock
        )
        await deliver_rounds(deliverer, clock, 8)

        row = (await rows(writer))["incident-1-1"]
        assert (row["state"], row["attempts"]) == ("sent", 2)
        assert len(slack.calls_to("conversations.history")) == 4
        assert len(slack.messages["C0ALERTS"]) == 1


@pytest.mark.parametrize(
    ("status", "error", "unsent"),
    [(429, None, True), (200, "ratelimited", True), (503, None, False), (200, "is_archived", True)],
)
async def test_slack_says_which_refusals_certainly_sent_nothing(
    status: int, error: str | None, unsent: bool
) -> None:
    async with FakeSlack() as slack:
        platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
        slack.fail("chat.postMessage", status, retry_after=1, times=1, error=error)
        with pytest.raises(DeliveryError) as failed:
            await platform.deliver(card_intent(), None)
    assert failed.value.unsent is unsent


@pytest.mark.parametrize(("status", "unsent"), [(429, True), (503, False), (502, False)])
async def test_teams_says_which_refusals_certainly_sent_nothing(
    writer: Writer, teams: FakeConnector, status: int, unsent: bool
) -> None:
    platform = _platform(writer, teams)
    teams.fail(".", status=status, times=1, retry_after=5)
    with pytest.raises(DeliveryError) as failed:
        await platform.deliver(opening(), None)
    assert failed.value.retryable
    assert failed.value.unsent is unsent
