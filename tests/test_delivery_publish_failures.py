"""A publication given up says whether it may be out: only when every attempt was certainly
refused does its thread message say the customer has no answer yet. And one whose outbox row
this Vigie cannot read fails its draft (Retry works) instead of "publishing…" for good. Real
SQLite, the deliverer with the draft settler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

import tests.test_draft_publishing as publishing
from bot.delivery import MAY_BE_OUT, Deliverer, DeliveryError
from bot.drafts.control import DraftControl
from bot.drafts.publishing import DraftSettler
from bot.incidents.model import Intent
from storage.outbox import live_count
from storage.writer import Writer
from tests.test_draft_publishing import Chat, draft_state
from tests.test_incident_engine import MIN, T0

approved = publishing.approved  # the fixture: draft 1 approved, its publication queued

CHECK = "Check the post first: if the reply is not there, use Retry"
NO_ANSWER = "The customer has no answer yet"
Answer = Callable[[int], DeliveryError | None]  # attempt number -> what it raises (None: posts)


class Source:
    """A source's publisher that answers each attempt as ``answer`` says; a key it already
    posted returns the same reply (as Mastodon's Idempotency-Key)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.posted: dict[str, str] = {}
        self.calls = 0

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.calls += 1
        error = self.answer(self.calls)
        if error is None or (self.calls == 1 and "502" in str(error)):
            self.posted.setdefault(intent.card["key"], intent.text)  # the 502 came after it
        if error is not None:
            raise error
        return f"https://m.example/@acme/{len(self.posted)}"

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None


async def deliver_all(writer: Writer, platforms: dict[str, object], now: datetime) -> Deliverer:
    clock = [1_800_000_000.0]
    deliverer = Deliverer(
        writer,
        platforms,  # type: ignore[arg-type]
        settler=DraftSettler({"acme": "Acme"}, lambda: now),
        max_attempts_for={"source:test": 4},
        wall=lambda: clock[0],
        monotonic=lambda: clock[0],
    )
    for _ in range(40):
        if await deliverer.deliver_due() is None and not await writer.run(live_count):
            break
        clock[0] += 400
    return deliverer


def http(status: int, *, retryable: bool = True, unsent: bool = False) -> DeliveryError:
    return DeliveryError(f"HTTP {status}", retryable=retryable, unsent=unsent)


@pytest.mark.parametrize(
    ("answer", "may_be_out"),
    [
        (lambda n: http(502) if n == 1 else http(503), True),  # posted, a proxy said 502
        (lambda n: http(429, unsent=True) if n < 4 else http(503), True),
        (lambda n: http(503) if n == 1 else http(429, unsent=True), True),
        (lambda n: TimeoutError("read timed out"), True),
        (lambda n: http(429, unsent=True), False),  # Mastodon did nothing, each time
        (lambda n: http(503, unsent=True) if n == 1 else http(403, retryable=False), False),
    ],
)
async def test_a_publication_given_up_says_whether_it_may_be_out(
    approved: tuple[DraftControl, Writer], answer: Answer, may_be_out: bool
) -> None:
    _, writer = approved
    chat, source = Chat(), Source(answer)
    await deliver_all(writer, {"console": chat, "source:test": source}, T0 + 30 * MIN)

    state, reason = await draft_state(writer)
    [(notice, _)] = chat.threads()
    assert state == "failed"
    assert (MAY_BE_OUT in reason) is may_be_out
    assert (CHECK in notice.text) is may_be_out
    assert (NO_ANSWER in notice.text) is not may_be_out


async def test_an_ambiguous_publication_edited_and_approved_again_is_checked_first(
    approved: tuple[DraftControl, Writer],
) -> None:
    """The review's case: the first attempt posted (a proxy answered 502), the next ones got
    503 until given up; people were told "no answer yet" and approved an edit: two replies."""
    _, writer = approved
    chat, source = Chat(), Source(lambda n: http(502) if n == 1 else http(503))
    await deliver_all(writer, {"console": chat, "source:test": source}, T0 + 30 * MIN)

    [(notice, _)] = chat.threads()
    assert len(source.posted) == 1
    assert NO_ANSWER not in notice.text
    assert CHECK in notice.text
    assert "HTTP 503" in notice.text  # the last error is still said


async def test_an_unreadable_publication_fails_its_draft_so_that_retry_works(
    approved: tuple[DraftControl, Writer],
) -> None:
    control, writer = approved
    await writer.run(
        lambda db: db.execute("UPDATE outbox SET payload = 'not json' WHERE kind = 'publish'")
    )
    chat, source = Chat(), Source(lambda n: None)
    await deliver_all(writer, {"console": chat, "source:test": source}, T0 + 30 * MIN)

    state, reason = await draft_state(writer)
    assert state == "failed"
    assert "cannot read" in reason
    assert not source.posted
    [(notice, _)] = chat.threads()
    assert NO_ANSWER in notice.text  # never sent by any start

    assert (await control.retry(1, "UANA")).ok
    await deliver_all(writer, {"console": chat, "source:test": source}, T0 + 40 * MIN)
    assert (await draft_state(writer))[0] == "published"
    assert len(source.posted) == 1


async def test_an_unreadable_publication_once_under_way_says_it_may_be_out(
    approved: tuple[DraftControl, Writer],
) -> None:
    _, writer = approved
    await writer.run(
        lambda db: db.execute(
            "UPDATE outbox SET payload = 'not json', state = 'sending', attempts = 1 "
            "WHERE kind = 'publish'"
        )
    )
    chat = Chat()
    await deliver_all(writer, {"console": chat, "source:test": Source(lambda n: None)}, T0)

    state, reason = await draft_state(writer)
    [(notice, _)] = chat.threads()
    assert state == "failed"
    assert MAY_BE_OUT in reason
    assert CHECK in notice.text
