"""Publications settled by the deliverer, on a real SQLite outbox: a failure is said in the
card's thread (naming the approver), once per attempt; a reply queued for a source this start
cannot publish with fails at once, so that Retry works, instead of "publishing…" for good."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

import bot.drafts.publishing
from bot.clock import EventClock
from bot.config.replies import ReplySettings
from bot.delivery import MAY_BE_OUT, Deliverer, DeliveryError, Platform
from bot.drafts.control import DraftControl
from bot.drafts.planner import Reach
from bot.drafts.publishing import DraftSettler, failure_text, say_failed
from bot.incidents.model import Intent, IntentKind
from storage import drafts as store
from storage.outbox import live_count
from storage.writer import Writer
from tests.test_draft_control import no_problems, rows
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0

URL = "https://m.example/@acme/1"


class Chat:
    """A chat platform that records what it is asked to post, with the card it builds on."""

    def __init__(self) -> None:
        self.sent: list[tuple[Intent, str | None]] = []

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.sent.append((intent, card_ref))
        return card_ref or f"ref-{intent.key}"

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None

    def threads(self) -> list[tuple[Intent, str | None]]:
        return [(i, ref) for i, ref in self.sent if i.kind is IntentKind.THREAD]


class Source:
    """A source's publisher that refuses (403) until told to publish."""

    def __init__(self) -> None:
        self.refusing = True
        self.keys: list[str] = []

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.keys.append(intent.card["key"])
        if self.refusing:
            raise DeliveryError("HTTP 403 This action is not allowed.", retryable=False)
        return URL

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None


@pytest.fixture
async def approved(tmp_path: Path) -> AsyncIterator[tuple[DraftControl, Writer]]:
    """Draft 1 approved by UANA, its publication queued; the drafts message in console #team."""
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle="ana")
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    control = DraftControl(
        writer, EventClock(T0 + 25 * MIN), ReplySettings(), {"acme": "Acme"}, no_problems
    )
    assert (await control.approve(1, 1, "UANA")).ok
    try:
        yield control, writer
    finally:
        writer.close()


def deliverer_of(writer: Writer, platforms: dict[str, Platform]) -> Deliverer:
    """The deliverer as a start builds it."""
    settler = DraftSettler({"acme": "Acme"}, lambda: T0 + 30 * MIN)
    return Deliverer(writer, platforms, settler=settler)


async def deliver_all(writer: Writer, platforms: dict[str, Platform]) -> Deliverer:
    """Rounds until nothing due is left (what settling queues goes out in the next round)."""
    deliverer = deliverer_of(writer, platforms)
    for _ in range(5):
        if await deliverer.deliver_due() is None and not await writer.run(live_count):
            break
    return deliverer


async def draft_state(writer: Writer) -> tuple[str, str]:
    draft = await writer.run(lambda db: store.get_draft(db, 1))
    assert draft is not None
    return draft.state.value, draft.reason


async def test_a_failed_publication_is_said_in_the_cards_thread_naming_the_approver(
    approved: tuple[DraftControl, Writer],
) -> None:
    control, writer = approved
    chat, source = Chat(), Source()
    await deliver_all(writer, {"console": chat, "source:test": source})

    assert await draft_state(writer) == ("failed", "HTTP 403 This action is not allowed.")
    [(notice, ref)] = chat.threads()
    card = next(i for i, _ in chat.sent if i.kind is IntentKind.OPEN and not i.part)
    assert ref == f"ref-{card.key}"  # under the incident's card, where the drafts message is
    assert (notice.key, notice.channel, notice.mention) == ("drafts-1-failed-1-1-console:#team",
                                                            "#team", "UANA")  # fmt: skip
    assert notice.text == (
        "The reply you approved to @ana on Mastodon (draft 1) was not published: HTTP 403 "
        "This action is not allowed. The customer has no answer yet: use Retry, or Edit the "
        "text, on the drafts message, or post it by hand."
    )
    assert notice.card["incident"] == 1  # the incident's card, as every thread message has

    def again(db: sqlite_utils.Database) -> None:  # said twice (a restart): still one message
        drafts, draft = store.get_set(db, 1), store.get_draft(db, 1)
        assert drafts is not None
        assert draft is not None
        say_failed(db, drafts, draft, "Acme", T0 + 31 * MIN)

    await writer.run(again)
    notices = "SELECT key FROM outbox WHERE kind = 'thread' AND key LIKE 'drafts-%'"
    assert len(await rows(writer, notices)) == 1

    assert (await control.retry(1, "UANA")).ok  # a second attempt that fails: a second notice
    await deliver_all(writer, {"console": chat, "source:test": source})
    assert [i.key for i, _ in chat.threads()][-1] == "drafts-1-failed-1-2-console:#team"
    assert source.keys[0] == source.keys[1]  # the same text: the same publication


async def test_a_reply_queued_for_a_source_this_start_cannot_publish_with_fails_and_retry_works(
    approved: tuple[DraftControl, Writer],
) -> None:
    """Approved at a start that could publish; this start has no publisher for the source
    (token left empty, source renamed). Chat messages of an unconfigured platform wait; the
    reply does not: people must see that it did not go out."""
    control, writer = approved
    chat = Chat()
    deliverer = await deliver_all(writer, {"console": chat})

    state, reason = await draft_state(writer)
    assert state == "failed"
    assert reason.startswith("source:test is not set up to publish at this start")
    assert await rows(writer, "SELECT state, attempts FROM outbox WHERE kind = 'publish'") == [
        ("failed", 0)  # never tried
    ]
    assert "not set up to publish" in deliverer.errors["source:test"]
    assert deliverer.failed == 1
    [(notice, _)] = chat.threads()
    assert notice.mention == "UANA"
    assert "source:test is not set up to publish" in notice.text

    assert (await control.retry(1, "UANA")).ok  # not "Already approved…": it can be recovered
    source = Source()
    source.refusing = False
    await deliver_all(writer, {"console": chat, "source:test": source})  # the next start
    assert await draft_state(writer) == ("published", "")


async def until_moved_on(writer: Writer, deliverer: Deliverer) -> None:
    """A start: the deliverer runs until the draft is no longer "publishing"."""
    running = asyncio.create_task(deliverer.run())
    try:
        for _ in range(250):
            if (await draft_state(writer))[0] != "publishing":
                break
            await asyncio.sleep(0.02)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


@pytest.mark.parametrize("refusing", [False, True], ids=["published", "refused"])
async def test_a_publication_whose_settling_failed_moves_the_draft_on_at_the_next_start(
    approved: tuple[DraftControl, Writer], monkeypatch: pytest.MonkeyPatch, refusing: bool
) -> None:
    """The review's f6: moving the draft on failed once (a bug), the item recorded as ended:
    the draft said "publishing…" for good, after the fix and a restart, Retry was refused and
    the approver never told."""
    control, writer = approved
    chat, source = Chat(), Source()
    source.refusing = refusing
    real = bot.drafts.publishing.refresh_messages

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug in refresh_messages")

    monkeypatch.setattr(bot.drafts.publishing, "refresh_messages", broken)
    stuck = await deliver_all(writer, {"console": chat, "source:test": source})
    assert (await draft_state(writer))[0] == "publishing"
    assert stuck.settle_failed == 1
    assert await stuck.resettle() == 0  # still failing: said, and tried again later
    assert stuck.settle_failed == 1
    assert "TypeError" in (stuck.settle_error or "")

    monkeypatch.setattr(bot.drafts.publishing, "refresh_messages", real)  # fixed; a start
    started = deliverer_of(writer, {"console": chat, "source:test": source})
    await until_moved_on(writer, started)
    assert started.settle_failed == 0
    assert len(source.keys) == 1  # published (or refused) once, never again
    if refusing:
        assert await draft_state(writer) == ("failed", "HTTP 403 This action is not allowed.")
        notices = "SELECT key FROM outbox WHERE kind = 'thread' AND key LIKE 'drafts-%'"
        assert await rows(writer, notices) == [("drafts-1-failed-1-1-console:#team",)]
        assert (await control.retry(1, "UANA")).ok
    else:
        assert await draft_state(writer) == ("published", "")
        draft = await writer.run(lambda db: store.get_draft(db, 1))
        assert draft is not None
        assert draft.published_url == URL
    assert await deliverer_of(writer, {}).resettle() == 0  # once only, however often


async def test_a_failure_that_may_have_reached_the_source_says_to_check_it_first(
    approved: tuple[DraftControl, Writer],
) -> None:
    _, writer = approved

    def told(db: sqlite_utils.Database) -> str:
        drafts, draft = store.get_set(db, 1), store.get_draft(db, 1)
        assert drafts is not None
        assert draft is not None
        reason = f"source:test is not set up to publish; so {MAY_BE_OUT}: check the post"
        return failure_text(drafts, replace(draft, reason=reason))

    text = await writer.run(told)
    assert "has no answer yet" not in text
    assert "Check the post first: if the reply is not there, use Retry" in text
