"""A resolution edits the card, then says it in the card's thread; when the card was deleted
(its edit refused for good), the resolution is said all the same. Real slack_sdk and botbuilder
clients against the local fakes, real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.delivery import Deliverer
from bot.incidents.model import Intent, IntentKind
from handlers.slack.platform import SlackPlatform, make_client
from storage.writer import Writer
from tests.fake_connector import CHANNEL, FakeConnector
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


SAID = "#7 resolved: calm for 30 min"


def slack_intent(kind: IntentKind, key: str) -> Intent:
    return Intent(key, 7, kind, "slack", "C0ALERTS", datetime.now(UTC), SAID, a_card())


async def test_slack_says_a_resolution_when_the_card_was_deleted(writer: Writer) -> None:
    async with FakeSlack() as slack:
        platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
        card = slack_intent(IntentKind.OPEN, "incident-7-1")
        ref = await platform.deliver(card, None)
        await writer.run(lambda db: _card_ref(db, ref))
        slack.messages["C0ALERTS"].clear()  # someone deleted the card
        await put(writer, slack_intent(IntentKind.RESOLVE, "incident-7-resolve"))
        clock = FakeClock()
        deliverer = Deliverer(writer, {"slack": platform}, wall=clock, monotonic=clock)

        await deliverer.deliver_due()

        assert (await rows(writer))["incident-7-resolve"]["state"] == "sent"
        [said] = slack.messages["C0ALERTS"]
        assert SAID in said["text"]
        assert "thread_ts" not in said  # no thread to answer in: a message of its own
        assert [call.method for call in slack.calls[1:]] == ["chat.update", "chat.postMessage"]


async def test_teams_says_a_resolution_when_the_card_was_deleted(
    writer: Writer, teams: FakeConnector
) -> None:
    platform = _platform(writer, teams)
    ref = await platform.deliver(opening(), None)
    thread, _ = ref.rsplit(" ", 1)
    resolve = replace(opening(), key="resolve-7", kind=IntentKind.RESOLVE, text=SAID)

    again = await platform.deliver(resolve, f"{thread} 999999")  # a card that is gone

    assert again == f"{thread} 999999"
    assert any(SAID in str(a.get("text")) for a in teams.activities(thread))
    assert [a for a in teams.activities(CHANNEL) if SAID in str(a.get("text"))]


def _card_ref(db: sqlite_utils.Database, ref: str) -> None:
    """Incident 7's card, as posted in the channel (its ref)."""
    db.execute(
        "INSERT INTO alerts (incident_id, platform, channel, ref, posted_at) "
        "VALUES (7, 'slack', 'C0ALERTS', ?, '2026-03-10T09:00:00+00:00')",
        [ref],
    )
