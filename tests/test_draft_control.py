"""Decisions through the storage writer: racing clicks are applied one at a time, so exactly one
wins; an approval queues one publication; an expired draft is marked so on its message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.clock import EventClock
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts import rules
from bot.drafts.control import DraftControl, text_check
from bot.drafts.model import Draft, DraftSet
from bot.drafts.planner import Reach
from storage import drafts as store
from storage.writer import Writer
from tests.test_draft_planner import planned_desk, storm_and_topic
from tests.test_incident_engine import MIN, T0


def no_problems(drafts: DraftSet, draft: Draft, text: str) -> list[str]:
    return [] if len(text) <= 500 else [f"is {len(text)} characters; Mastodon takes 500"]


@pytest.fixture
async def control(tmp_path: Path) -> AsyncIterator[tuple[DraftControl, Writer, EventClock]]:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle="ana")
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    clock = EventClock(T0 + 25 * MIN)
    try:
        yield (
            DraftControl(writer, clock, ReplySettings(), {"acme": "Acme"}, no_problems),
            writer,
            clock,
        )
    finally:
        writer.close()


async def rows(writer: Writer, sql: str) -> list[tuple[object, ...]]:
    return await writer.run(lambda db: [tuple(row) for row in db.execute(sql).fetchall()])


async def test_approve_and_reject_at_once_exactly_one_wins(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    approved, rejected = await asyncio.gather(
        drafts.approve(1, 1, "UANA"), drafts.reject(1, 1, "UBEN", "off tone")
    )
    assert [approved.ok, rejected.ok].count(True) == 1
    loser = rejected if approved.ok else approved
    assert loser.message.startswith("Already")
    actions = await rows(writer, "SELECT action FROM decisions WHERE draft_id = 1")
    assert sorted(a for (a,) in actions if a in ("approved", "rejected")) in (
        ["approved"],
        ["rejected"],
    )


async def test_a_burst_of_approvals_queues_one_publication(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    outcomes = await asyncio.gather(*(drafts.approve(1, 1, "UANA") for _ in range(5)))
    assert [o.ok for o in outcomes].count(True) == 1
    publications = await rows(writer, "SELECT platform, channel, payload FROM outbox "
                              "WHERE kind = 'publish'")  # fmt: skip
    assert len(publications) == 1
    platform, _, payload = publications[0]
    assert platform == "source:test"
    install = await writer.run(store.install_id)
    assert json.loads(str(payload))["card"]["key"] == f"vigie-{install}-draft-1-v1"


async def test_an_expired_draft_is_refused_and_its_message_says_so(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, clock = control
    clock.advance(T0 + 25 * MIN + timedelta(hours=25))
    outcome = await drafts.approve(1, 1, "UANA")
    assert not outcome.ok
    assert "expired" in outcome.message
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert stored.state.value == "expired"
    [(payload,)] = await rows(
        writer, "SELECT payload FROM outbox WHERE kind = 'update' AND key LIKE 'drafts-%'"
    )
    states = {d["id"]: d["state"] for d in json.loads(str(payload))["card"]["drafts"]}
    assert states[1] == "expired"


async def test_an_edit_that_breaks_the_rules_is_not_saved(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    refused = await drafts.edit(1, 1, "UBEN", "x" * 600)
    assert not refused.ok
    assert "600 characters" in refused.message
    saved = await drafts.edit(1, 1, "UBEN", "@ana Sorry! We are rebooking you now.")
    assert saved.ok
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert (stored.version, stored.edited_by) == (2, "UBEN")


# -- one reply per post, across incidents -------------------------------------------------------


def copy_under(db: sqlite_utils.Database, original: DraftSet, incident_id: int) -> DraftSet:
    """The post's set again under another incident, as a database written before one set per
    post was the rule may hold it; posted in #team."""
    copy = replace(original, id=store.next_id(db, "draft_sets"), incident_id=incident_id)
    store.save_set(db, copy)
    for draft in store.drafts_in(db, original.id):
        new_id = store.next_id(db, "drafts")
        store.save_draft(db, replace(draft, id=new_id, set_id=copy.id, incident_id=incident_id))
    store.note_posted(db, copy.id, "slack", "#team")
    return copy


@pytest.fixture
async def shared_post(
    tmp_path: Path,
) -> AsyncIterator[tuple[DraftControl, Writer, list[int], list[int]]]:
    """Draft ids of one post under the storm (incident 1) and under the topic (incident 2)."""
    desk = storm_and_topic(tmp_path, max_mentions=3)
    first = store.sets_of(desk.db, 1)[0]
    copy = copy_under(desk.db, first, 2)
    storm = [d.id for d in store.drafts_in(desk.db, first.id)]
    topic = [d.id for d in store.drafts_in(desk.db, copy.id)]
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    clock = EventClock(T0 + 30 * MIN)
    control = DraftControl(writer, clock, ReplySettings(), {"acme": "Acme"}, no_problems)
    try:
        yield control, writer, storm, topic
    finally:
        writer.close()


async def test_approving_a_reply_withdraws_the_same_posts_drafts_in_other_incidents(
    shared_post: tuple[DraftControl, Writer, list[int], list[int]],
) -> None:
    control, writer, storm, topic = shared_post
    assert (await control.approve(storm[0], 1, "UANN")).ok
    ids = ",".join(map(str, topic))
    states = await rows(writer, f"SELECT state, incident_id FROM drafts WHERE id IN ({ids})")
    assert states == [("withdrawn", 2)] * len(topic)
    withdrawn = await rows(writer, "SELECT incident_id FROM decisions WHERE action = 'withdrawn'")
    assert (2,) in withdrawn
    found = await control.find(topic[0])
    assert found is not None
    edits = f"SELECT channel FROM outbox WHERE kind = 'update' AND key LIKE '{found[1].part}-%'"
    updates = await rows(writer, edits)
    assert updates == [("#team",)]  # the other incident's card says so too
    late = await control.approve(topic[1], 1, "UBOB")
    assert not late.ok
    assert late.message.startswith("UANN approved another draft for this post")
    assert len(await rows(writer, "SELECT id FROM outbox WHERE kind = 'publish'")) == 1


async def test_a_post_with_a_reply_out_refuses_a_second_one_and_the_log_keeps_it(
    shared_post: tuple[DraftControl, Writer, list[int], list[int]],
) -> None:
    control, writer, storm, topic = shared_post

    async def settle(draft_id: int, state: str) -> None:
        """What an older Vigie left: Ann's approval withdrew only her own set's drafts."""

        def work(db: sqlite_utils.Database) -> None:
            draft = store.get_draft(db, draft_id)
            assert draft is not None
            at = T0 + 26 * MIN
            if state == "publishing":
                options = {"version": 1, "two_person": False, "can_publish": True}
                outcome = rules.approve(draft, [draft], user="UANN", at=at, **options)
            else:
                outcome = rules.publish_failed(draft, error="503", at=at)
            store.save_draft(db, outcome.changed[0])

        await writer.run(work)

    await settle(storm[0], "publishing")
    refused = await control.approve(topic[0], 1, "UBOB")
    assert not refused.ok
    assert refused.message == (
        f"This post already has a reply: draft {storm[0]} of incident #1, approved by UANN at "
        "09:26 UTC, is being published."
    )
    await settle(storm[0], "failed")
    assert (await control.approve(topic[0], 1, "UBOB")).ok  # the failed one is not out
    retried = await control.retry(storm[0], "UANN")
    assert not retried.ok
    assert retried.message.startswith(f"This post already has a reply: draft {topic[0]} of ")
    assert (await control.edit(storm[0], 1, "UANN", "Sorry, we are on it.")).ok
    approved = await control.approve(storm[0], 2, "UCAT")  # proposed again…
    assert not approved.ok  # …but the post is answered
    assert "approved by UBOB" in approved.message
    refusals = await rows(writer, "SELECT actor, action, incident_id, draft_id FROM decisions "
                          "WHERE action LIKE 'refused%' ORDER BY id")  # fmt: skip
    assert refusals == [
        ("UBOB", "refused approve", 2, topic[0]),
        ("UANN", "refused retry", 1, storm[0]),
        ("UCAT", "refused approve", 1, storm[0]),
    ]
    publications = await rows(writer, "SELECT key FROM outbox WHERE kind = 'publish'")
    assert publications == [(f"publish-{topic[0]}-1",)]


# -- a Mastodon reply is measured with the handle Vigie puts in front ------------------------------


@pytest.fixture
async def checked(tmp_path: Path) -> AsyncIterator[tuple[DraftControl, Writer]]:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle="ana@m.example")
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    check_text = text_check({"acme": Playbook()})
    control = DraftControl(writer, EventClock(T0 + 25 * MIN), ReplySettings(), {}, check_text)
    try:
        yield control, writer
    finally:
        writer.close()


LONG = ("We are sorry about your cancelled flight and are looking into it now. " * 8)[:494]


async def test_an_edit_is_measured_with_the_authors_handle_in_front(
    checked: tuple[DraftControl, Writer],
) -> None:
    control, _ = checked
    refused = await control.edit(1, 1, "UBEN", LONG)  # 509 with "@ana@m.example " in front
    assert not refused.ok
    assert refused.message == (
        "Not saved: the text is 509 characters; Mastodon takes 500, counting the "
        "“@ana@m.example” put in front to notify the author."
    )
    assert await control.problems(1, LONG) == [refused.message[len("Not saved: the text ") : -1]]
    named = "@ana@m.example " + LONG[:485]  # names the author itself: nothing is added
    assert (await control.edit(1, 1, "UBEN", named)).ok


async def test_a_reply_the_source_refused_can_be_edited_and_approved_again(
    checked: tuple[DraftControl, Writer],
) -> None:
    control, writer = checked
    assert (await control.approve(1, 1, "UANN")).ok

    def too_long_and_refused(db: sqlite_utils.Database) -> None:
        """Stored before the check counted the handle: too long, and Mastodon said 422."""
        draft = store.get_draft(db, 1)
        assert draft is not None
        draft = replace(draft, text=LONG)
        error = "422 Validation failed: Text character limit of 500 exceeded"
        store.save_draft(db, rules.publish_failed(draft, error=error, at=T0).changed[0])

    await writer.run(too_long_and_refused)
    retried = await control.retry(1, "UANN")
    assert not retried.ok
    assert retried.message.startswith("Not retried: the text is 509 characters")
    fixed = await control.edit(1, 1, "UBEN", "Sorry about the cancellation, we are on it.")
    assert fixed.ok
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert (stored.state.value, stored.version, stored.decided_by) == ("proposed", 2, "")
    [(detail,)] = await rows(writer, "SELECT detail FROM decisions WHERE action = 'edited'")
    assert str(detail).startswith("v2, proposed again after publishing failed: 422")
    assert (await control.approve(1, 2, "UANN")).ok
    publications = await rows(writer, "SELECT key, payload FROM outbox WHERE kind = 'publish' "
                              "ORDER BY id")  # fmt: skip
    assert [key for key, _ in publications] == ["publish-1-1", "publish-1-2"]
    assert json.loads(str(publications[1][1]))["text"] == (
        "Sorry about the cancellation, we are on it."
    )


# -- a source that cannot publish at this start --------------------------------------------------


async def test_an_approval_is_refused_while_its_source_cannot_publish_and_the_log_keeps_it(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    drafts.publishes = lambda source: False  # e.g. its access_token was left empty this start
    refused = await drafts.approve(1, 1, "UANA")
    assert not refused.ok
    assert refused.message == (
        "Not approved: Acme's Mastodon source “test” cannot publish now (it is not set up to at "
        "this start: credentials missing, or the source renamed). Copy the text and post it by "
        "hand, or try again once it can."
    )
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert stored.state.value == "proposed"  # the others stay open too
    assert await rows(writer, "SELECT id FROM outbox WHERE kind = 'publish'") == []
    log = await rows(writer, "SELECT actor, action, detail FROM decisions WHERE draft_id = 1 "
                     "AND action LIKE 'refused%'")  # fmt: skip
    assert log == [("UANA", "refused approve", refused.message)]
    drafts.publishes = lambda source: source == "test"  # the next start has its credentials
    assert (await drafts.approve(1, 1, "UANA")).ok


# -- what the source knows a publication by ------------------------------------------------------


async def test_a_retry_is_the_same_publication_and_an_edited_text_a_new_one(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, clock = control

    async def fail_last() -> None:
        def work(db: sqlite_utils.Database) -> None:
            draft = store.get_draft(db, 1)
            assert draft is not None
            store.save_draft(db, rules.publish_failed(draft, error="timeout", at=T0).changed[0])

        await writer.run(work)

    assert (await drafts.approve(1, 1, "UANA")).ok
    await fail_last()
    clock.advance(T0 + 27 * MIN)
    assert (await drafts.retry(1, "UANA")).ok
    await fail_last()
    assert (await drafts.edit(1, 1, "UBEN", "@ana Sorry! We are rebooking you now.")).ok
    clock.advance(T0 + 28 * MIN)
    assert (await drafts.approve(1, 2, "UANA")).ok
    payloads = await rows(writer, "SELECT payload FROM outbox WHERE kind = 'publish' ORDER BY id")
    cards = [json.loads(str(payload))["card"] for (payload,) in payloads]
    install = await writer.run(store.install_id)
    assert len(install) == 8
    assert [(c["key"], c["approved_at"]) for c in cards] == [
        (f"vigie-{install}-draft-1-v1", (T0 + 25 * MIN).isoformat()),
        (f"vigie-{install}-draft-1-v1", (T0 + 25 * MIN).isoformat()),  # a retry: the same
        (f"vigie-{install}-draft-1-v2", (T0 + 28 * MIN).isoformat()),  # a new text: a new one
    ]


# -- an edit into another language is kept, and said ---------------------------------------------


async def test_an_edit_into_another_language_is_saved_with_a_warning(
    control: tuple[DraftControl, Writer, EventClock],
) -> None:
    drafts, writer, _ = control
    french = "@ana Nous sommes désolés pour votre vol annulé, nous vous trouvons un autre vol."
    outcome = await drafts.edit(1, 1, "UBEN", french)
    assert outcome.ok
    assert outcome.message == (
        "Edited. Note: the edited text reads as French; the reply was drafted in English."
    )
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert (stored.text, stored.notes[-1]) == (french, outcome.warning)
    [(detail,)] = await rows(writer, "SELECT detail FROM decisions WHERE action = 'edited'")
    assert detail == f"v2; {outcome.warning}"
    english = await drafts.edit(1, 2, "UBEN", "@ana Sorry! We are finding you another flight.")
    assert (english.message, english.warning) == ("Edited.", "")
