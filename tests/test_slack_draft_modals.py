"""The reply drafts' clicks and modals on Slack, end to end (real slack-bolt and slack_sdk against
the fake Slack API, a real Mastodon source against its fake, real SQLite): answered within
Slack's 3 s whatever the approvers' look-up does, clicks on a decided draft refused and logged,
a stale Retry refused, modals naming their database, a rejection that fails keeping its reason.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import handlers.slack.responders as responders_module
from bot.app import Service
from handlers.slack.render_drafts import APPROVE, EDIT, REJECT, RETRY, TEXT_INPUT
from tests.conftest import running_service, wait_for, write_config
from tests.fake_mastodon import FakeMastodon
from tests.slack_fake import FakeSlack, block_action_body, post_signed, view_submission_body
from tests.test_drafts_slack import (
    APPROVER,
    EDITOR,
    POLICY,
    TOKEN,
    buttons,
    drafts_messages,
    open_modal,
    save_modal,
    shown,
)
from tests.test_slack import SECRET, events_url

GROUP = "S0APPROVERS"


class HeldSlack(FakeSlack):
    """The fake Slack, whose user group look-ups wait while ``released`` is clear (Slack slow,
    or the client waiting out a 429's Retry-After)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = asyncio.Event()
        self.released.set()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "usergroups.users.list":
            await self.released.wait()
        return await super()._api(request)


@asynccontextmanager
async def storm(
    tmp_path: Path, approvers: list[str], **replies: Any
) -> AsyncIterator[tuple[Service, HeldSlack, FakeMastodon]]:
    async with HeldSlack() as slack, FakeMastodon(token=TOKEN) as masto:
        slack.usergroups[GROUP] = [APPROVER, EDITOR]
        for n in range(16):
            masto.post(
                f"Kestrel Mobile down again, no signal since this morning #{n}",
                tags=("kestreldown",),
                acct=f"user{n}",
                followers=1000 if n == 5 else 10 + n,
                ago=timedelta(minutes=40 - 2 * n),
            )
        config = write_config(
            tmp_path,
            [masto.source(TOKEN, backfill="2h")],
            clock="event",
            incidents=POLICY,
            platforms={
                "slack": {
                    "bot_token": "xoxb-test",
                    "signing_secret": SECRET,
                    "api_url": slack.api_url,
                    "approvers": {"kestrel-mobile": approvers},
                }
            },
            delivery={"pace_seconds": 0},
            replies=replies,
        )
        try:
            async with running_service(config) as service:
                await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
                yield service, slack, masto
        finally:
            slack.released.set()  # a look-up still held ends before the fake stops


def decisions(service: Service, draft_id: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(service.config.storage.path) as conn:
        query = "SELECT actor, action, detail FROM decisions WHERE draft_id = ? ORDER BY rowid"
        return [tuple(row) for row in conn.execute(query, [draft_id])]


def failures(service: Service, draft_id: str) -> int:
    return [action for _, action, _ in decisions(service, draft_id)].count("publish_failed")


async def press(
    service: Service, slack: FakeSlack, action: str, value: str, user: str, ts: str
) -> None:
    url = slack.response_url(f"{action}-{user}-{len(slack.calls)}")
    body = block_action_body(action, value, user, "C1", ts, url)
    assert (await post_signed(events_url(service), body, SECRET))[0] == 200


async def answered(slack: FakeSlack, before: int) -> str:
    await wait_for(lambda: len(slack.responses) > before, timeout=10)
    return str(slack.responses[before]["text"])


@pytest.fixture
def group_cache_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every look-up asks Slack again (the cache of a user group's members has expired)."""
    monkeypatch.setattr(responders_module, "GROUP_TTL_SECONDS", 0.0)


@pytest.mark.usefixtures("group_cache_expired")
async def test_a_save_is_answered_while_slack_is_slow_to_say_who_approves(tmp_path: Path) -> None:
    async with storm(tmp_path, [GROUP]) as (service, slack, _masto):
        message = drafts_messages(slack)[0]
        view = await open_modal(service, slack, message, buttons(message, EDIT)[0], EDITOR)
        slack.released.clear()  # Slack holds the next look-ups (a 429's Retry-After, say)
        body = view_submission_body(view, {"text": {TEXT_INPUT: "Sorry, we are on it."}}, EDITOR)
        submitted = asyncio.create_task(post_signed(events_url(service), body, SECRET))
        done, _ = await asyncio.wait({submitted}, timeout=20)
        assert done, "the Save was not answered while the look-up was held"
        assert not slack.released.is_set()
        assert submitted.result() == (200, "")  # saved (as the members last read say) and closed
        await wait_for(lambda: "we are on it" in shown(slack, message), timeout=10)
        slack.released.set()


@pytest.mark.usefixtures("group_cache_expired")
async def test_edit_and_reject_clicks_are_answered_while_slack_is_slow(tmp_path: Path) -> None:
    """Nobody's membership read yet: the click cannot wait for Slack (its trigger_id opens a
    modal for 3 s only), so the person is asked to click again; the look-up goes on meanwhile
    and the next click opens the modal."""
    async with storm(tmp_path, [GROUP]) as (service, slack, _masto):
        message = drafts_messages(slack)[0]
        slack.released.clear()
        for action in (EDIT, REJECT):
            before = len(slack.responses)
            await press(service, slack, action, buttons(message, action)[0], EDITOR, message["ts"])
            assert "did not confirm in time" in await answered(slack, before)
            assert not slack.released.is_set()
        assert not slack.calls_to("views.open")
        slack.released.set()
        await press(service, slack, EDIT, buttons(message, EDIT)[0], EDITOR, message["ts"])
        await slack.wait_for("views.open", timeout=10)


async def test_edit_and_reject_on_a_decided_draft_are_refused_and_logged(tmp_path: Path) -> None:
    async with storm(tmp_path, [APPROVER, EDITOR]) as (service, slack, masto):
        message = drafts_messages(slack)[0]
        seen = {action: buttons(message, action)[0] for action in (APPROVE, EDIT, REJECT)}
        draft_id = seen[APPROVE].split(":")[0]
        await press(service, slack, APPROVE, seen[APPROVE], APPROVER, message["ts"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        # Ben still sees the message as it was (the outbox paces its edit): Edit, then Reject
        for action in (EDIT, REJECT):
            before = len(slack.responses)
            await press(service, slack, action, seen[action], EDITOR, message["ts"])
            assert (await answered(slack, before)).startswith(f"Already approved by <@{APPROVER}>")
        assert not slack.calls_to("views.open")
        refusals = [(actor, action) for actor, action, _ in decisions(service, draft_id)]
        assert (EDITOR, "refused edit") in refusals
        assert (EDITOR, "refused reject") in refusals


async def test_a_retry_older_than_the_text_is_refused(tmp_path: Path) -> None:
    """Failed, edited, approved and failed again: the first failure's Retry button would publish
    a text its clicker has not read."""
    async with storm(tmp_path, [APPROVER, EDITOR], publish_attempts=1) as (service, slack, masto):
        message = drafts_messages(slack)[0]
        draft_id, _, install = buttons(message, APPROVE)[0].split(":")
        masto.fail("/api/v1/statuses", 429, retry_after=1)
        await press(service, slack, APPROVE, f"{draft_id}:1:{install}", APPROVER, message["ts"])
        await wait_for(lambda: "publishing failed" in shown(slack, message), timeout=10)
        view = await open_modal(service, slack, message, f"{draft_id}:1:{install}", EDITOR)
        assert await save_modal(service, view, EDITOR, "Sorry, our engineers are on it.") is None
        masto.fail("/api/v1/statuses", 429, retry_after=1)
        await press(service, slack, APPROVE, f"{draft_id}:2:{install}", APPROVER, message["ts"])
        await wait_for(lambda: failures(service, draft_id) == 2, timeout=10)

        before = len(slack.responses)
        await press(service, slack, RETRY, f"{draft_id}:1:{install}", APPROVER, message["ts"])
        assert "edited this draft after you opened it" in await answered(slack, before)
        assert decisions(service, draft_id)[-1][:2] == (APPROVER, "refused retry")
        assert not masto.posted
        await press(service, slack, RETRY, f"{draft_id}:2:{install}", APPROVER, message["ts"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)


async def test_a_modal_of_a_database_started_afresh_acts_on_nothing(tmp_path: Path) -> None:
    async with storm(tmp_path, [APPROVER, EDITOR]) as (service, slack, _masto):
        message = drafts_messages(slack)[0]
        draft_id, _, install = buttons(message, EDIT)[0].split(":")
        view = await open_modal(service, slack, message, buttons(message, EDIT)[0], EDITOR)
        assert view["private_metadata"].endswith(f"@{install}")
        other = "0" * len(install) if install != "0" * len(install) else "1" * len(install)
        elsewhere = {**view, "private_metadata": view["private_metadata"][: -len(install)] + other}
        assert await save_modal(service, elsewhere, EDITOR, "Words nobody reviewed.") is None
        [told] = await slack.wait_for("chat.postEphemeral")
        assert "earlier Vigie database" in told.body["text"]
        assert "edited" not in [action for _, action, _ in decisions(service, draft_id)]


async def test_a_rejection_that_fails_keeps_the_modal_and_its_reason(tmp_path: Path) -> None:
    async with storm(tmp_path, [APPROVER, EDITOR]) as (service, slack, _masto):
        message = drafts_messages(slack)[0]
        await press(service, slack, REJECT, buttons(message, REJECT)[0], APPROVER, message["ts"])
        await slack.wait_for("views.open")
        view = next(iter(slack.views.values()))
        with sqlite3.connect(service.config.storage.path, timeout=30) as conn:
            conn.execute(  # the database refuses the rejection's write (a full disk, say)
                "CREATE TRIGGER no_rejections BEFORE INSERT ON decisions "
                "WHEN NEW.action = 'rejected' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        reason = {"reason": {"vigie_draft_reason": "too casual"}}
        body = view_submission_body(view, reason, APPROVER)
        status, answer = await post_signed(events_url(service), body, SECRET)
        with sqlite3.connect(service.config.storage.path, timeout=30) as conn:
            conn.execute("DROP TRIGGER no_rejections")
        assert status == 200
        assert answer, "the modal closed: the reason typed is lost"
        said = json.loads(answer)  # the modal stays open, with the reason typed
        assert said["response_action"] == "errors"
        assert "did not work" in said["errors"]["reason"]
        status, answer = await post_signed(events_url(service), body, SECRET)
        assert (status, answer) == (200, "")
        await wait_for(lambda: "Rejected by" in shown(slack, message))
