"""A Slack card someone deleted is posted again by its next update, and the incident's later
edits and thread messages go to the new card. Real slack_sdk against the fake Slack, the real
outbox on real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.delivery import Deliverer
from bot.incidents.model import IntentKind
from handlers.slack.platform import SlackPlatform, make_client
from storage.writer import Writer
from tests.slack_fake import FakeSlack
from tests.test_delivery import FakeClock, put, rows
from tests.test_delivery_resolve import _card_ref, slack_intent


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


async def deleted_card(slack: FakeSlack, writer: Writer) -> tuple[SlackPlatform, str]:
    """Incident 7's card, posted and recorded, then deleted by someone: the platform, its ref."""
    platform = SlackPlatform(make_client("xoxb-test", slack.api_url))
    ref = await platform.deliver(slack_intent(IntentKind.OPEN, "incident-7-1"), None)
    await writer.run(lambda db: _card_ref(db, ref))
    slack.messages["C0ALERTS"].clear()
    return platform, ref


async def test_an_update_of_a_deleted_card_posts_it_again_and_threads_follow(
    writer: Writer,
) -> None:
    async with FakeSlack() as slack:
        platform, ref = await deleted_card(slack, writer)
        clock = FakeClock()
        deliverer = Deliverer(writer, {"slack": platform}, wall=clock, monotonic=clock)

        await put(writer, slack_intent(IntentKind.UPDATE, "incident-7-2"))
        await deliverer.deliver_due()
        await put(
            writer,
            slack_intent(IntentKind.THREAD, "incident-7-3"),
            slack_intent(IntentKind.UPDATE, "incident-7-4"),
        )
        await deliverer.deliver_due()

        states = {key: row["state"] for key, row in (await rows(writer)).items()}
        assert states == {"incident-7-2": "sent", "incident-7-3": "sent", "incident-7-4": "sent"}
        card, said = slack.messages["C0ALERTS"]  # one card again, the escalation in its thread
        assert card["blocks"]
        assert card["ts"] != ref.split()[1]
        assert said["thread_ts"] == card["ts"]
        assert len(slack.calls_to("chat.postMessage")) == 3  # the first card, again, the line


async def test_the_card_posted_again_is_the_incident_s_card_after_a_restart(
    writer: Writer,
) -> None:
    """The new card's ref is kept with the incident, not only in this start's memory: a
    restart edits the new card rather than post a third one."""
    async with FakeSlack() as slack:
        platform, ref = await deleted_card(slack, writer)
        clock = FakeClock()
        await put(writer, slack_intent(IntentKind.UPDATE, "incident-7-2"))
        await Deliverer(writer, {"slack": platform}, wall=clock, monotonic=clock).deliver_due()

        restarted = SlackPlatform(make_client("xoxb-test", slack.api_url))  # a new start
        await put(writer, slack_intent(IntentKind.UPDATE, "incident-7-3"))
        await Deliverer(writer, {"slack": restarted}, wall=clock, monotonic=clock).deliver_due()

        [card] = slack.messages["C0ALERTS"]  # edited in place: no third card
        assert len(slack.calls_to("chat.postMessage")) == 2
        assert len(slack.calls_to("chat.update")) >= 2
        assert card["ts"] != ref.split()[1]


async def test_an_update_that_posted_the_card_again_and_lost_the_answer_does_not_post_a_third(
    writer: Writer,
) -> None:
    """The repost went out, then the process died before recording it (the item still
    "sending"): the next start edited the deleted card, was told it is gone, and posted
    another one."""
    async with FakeSlack() as slack:
        platform, ref = await deleted_card(slack, writer)
        update = slack_intent(IntentKind.UPDATE, "incident-7-2")
        await put(writer, update)
        await writer.run(lambda db: db.execute("UPDATE outbox SET state = 'sending', attempts = 1"))
        await platform.deliver(update, ref)  # the first attempt posted it; its end was lost
        clock = FakeClock()
        restarted = SlackPlatform(make_client("xoxb-test", slack.api_url))
        await Deliverer(writer, {"slack": restarted}, wall=clock, monotonic=clock).deliver_due()
        [card] = slack.messages["C0ALERTS"]
        assert (await rows(writer))["incident-7-2"]["state"] == "sent"
        assert (await rows(writer))["incident-7-2"]["ref"] == f"C0ALERTS {card['ts']}"
