"""The Edit and Reject modals under load, end to end (real slack-bolt and slack_sdk against the
fake Slack, a real Mastodon source against its fake, real SQLite): the live count follows the
last keystroke however fast they come, a second Save of one's own text just closes the modal,
a submission the database cannot serve in time is answered "Submit again", and no click waits
for a name to be stored before Slack gets its answer."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import handlers.slack.draft_actions as draft_actions
from bot.app import Service
from handlers.slack.render_drafts import APPROVE, EDIT, TEXT_INPUT
from tests.conftest import wait_for
from tests.slack_fake import (
    FakeSlack,
    block_action_body,
    post_signed,
    view_action_body,
    view_submission_body,
)
from tests.test_drafts_slack import (
    APPROVER,
    EDITOR,
    buttons,
    click,
    drafts_messages,
    mastodon_storm,
    open_modal,
    save_modal,
    shown,
)
from tests.test_slack import SECRET, events_url


def count_shown(slack: FakeSlack, view_id: str) -> int:
    """The number of characters the modal's count says."""
    [block] = [b for b in slack.views[view_id]["blocks"] if b.get("block_id") == "count"]
    found = re.search(r"([0-9]+)/[0-9]+", json.dumps(block))
    assert found is not None
    return int(found[1])


async def keystroke(service: Service, view: dict[str, object], text: str) -> None:
    body = view_action_body(view, TEXT_INPUT, "text", text, APPROVER)
    assert (await post_signed(events_url(service), body, SECRET))[0] == 200


@contextmanager
def writer_held(service: Service) -> Iterator[None]:
    """The database's writer busy (a long write ahead) until the block ends."""
    gate = threading.Event()
    held = asyncio.ensure_future(service.writer.run(lambda db: gate.wait(30), urgent=True))
    try:
        yield
    finally:
        gate.set()
        held.add_done_callback(lambda _: None)


async def test_the_count_follows_the_last_of_two_quick_keystrokes(tmp_path: Path) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, _masto, _config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        view = await open_modal(service, slack, message, buttons(message, EDIT)[0], APPROVER)
        await keystroke(service, view, "x" * 10)
        await slack.wait_for("views.update")
        ten = count_shown(slack, view["id"])
        as_seen = dict(slack.views[view["id"]])  # both keys sent before Slack shows either
        await keystroke(service, as_seen, "x" * 20)
        await keystroke(service, as_seen, "x" * 21)
        await wait_for(lambda: count_shown(slack, view["id"]) == ten + 11)


async def test_saving_ones_own_text_again_just_closes_the_modal(tmp_path: Path) -> None:
    """Slack missed the first Save's answer (over 3 s) and the person saved again."""
    async with mastodon_storm(tmp_path) as (service, slack, _masto, _config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        view = await open_modal(service, slack, message, buttons(message, EDIT)[0], APPROVER)
        assert await save_modal(service, view, APPROVER, "Sorry, we are on it.") is None
        assert await save_modal(service, view, APPROVER, " Sorry, we are on it.\n") is None
        assert not slack.calls_to("chat.postEphemeral")
        # someone else's Save since is still shown to the second editor
        answer = await save_modal(service, view, EDITOR, "Sorry, we are on it.")
        assert answer["response_action"] == "update"


async def test_a_save_the_database_cannot_serve_in_time_is_answered_submit_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draft_actions, "MODAL_DEADLINE", 0.2)
    async with mastodon_storm(tmp_path) as (service, slack, _masto, _config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        view = await open_modal(service, slack, message, buttons(message, EDIT)[0], APPROVER)
        values = {"text": {TEXT_INPUT: "Sorry, we are on it."}}
        body = view_submission_body(view, values, APPROVER)
        with writer_held(service):
            status, answer = await asyncio.wait_for(
                post_signed(events_url(service), body, SECRET), 10
            )
        assert status == 200
        assert "Submit again" in json.loads(answer)["errors"]["text"]
        await wait_for(lambda: "we are on it" in shown(slack, message))  # saved all the same
        assert await save_modal(service, view, APPROVER, "Sorry, we are on it.") is None


async def test_a_click_is_answered_before_the_clickers_name_is_stored(tmp_path: Path) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, _masto, _config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        value = buttons(message, APPROVE)[0]
        with writer_held(service):
            answered = click(service, slack, APPROVE, value, EDITOR, message["ts"])
            assert await asyncio.wait_for(answered, 10) == (200, "")


async def test_a_refusal_from_the_drafts_thread_is_answered_in_that_thread(
    tmp_path: Path,
) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, _masto, _config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        clicked = slack.message("C1", message["ts"])
        assert clicked is not None
        raw = block_action_body(
            APPROVE,
            buttons(message, APPROVE)[0],
            "UEVE",
            "C1",
            message["ts"],
            slack.response_url("eve"),
            message=clicked,
        )
        assert (await post_signed(events_url(service), raw, SECRET))[0] == 200
        [told] = await slack.wait_for("chat.postEphemeral")
        assert told.body["thread_ts"] == message["thread_ts"]
        assert told.body["user"] == "UEVE"
        assert "approvers" in told.body["text"]
        assert not slack.responses
