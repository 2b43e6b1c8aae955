"""Reply drafts end to end: real slack-bolt and slack_sdk against the fake Slack API, real
Mastodon and Bluesky sources against their fakes, real SQLite. A storm of mentions opens an
incident; its card gets reply drafts in its thread; a person edits one in the modal, another
approves it; the source publishes it once, in reply to the mention; the card shows the link;
the decision log has every step."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Service
from bot.cli import main
from handlers.slack.render_drafts import APPROVE, EDIT, REJECT, TEXT_INPUT
from tests.conftest import running_service, wait_for, write_config
from tests.fake_bluesky import FakeBluesky, post_event
from tests.fake_mastodon import FakeMastodon
from tests.slack_fake import (
    FakeSlack,
    block_action_body,
    post_signed,
    view_action_body,
    view_submission_body,
)
from tests.test_slack import SECRET, cards, events_url

APPROVER, EDITOR, STRANGER = "UANA", "UBEN", "UEVE"
POLICY: dict[str, Any] = {
    "group_wait": "1m",
    "targets": {"team": {"platform": "slack", "channel": "C1"}},
    "levels": [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "team"}]},
    ],
}
TOKEN = "masto-token"
CARE_DID = "did:plc:kestrelcare"


def config_for(tmp_path: Path, slack: FakeSlack, source: dict[str, Any], **replies: Any) -> Path:
    return write_config(
        tmp_path,
        [source],
        clock="event",
        incidents=POLICY,
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": slack.api_url,
                "approvers": {"kestrel-mobile": [APPROVER, EDITOR]},
            }
        },
        delivery={"pace_seconds": 0},
        replies=replies,
    )


@asynccontextmanager
async def mastodon_storm(
    tmp_path: Path, **replies: Any
) -> AsyncIterator[tuple[Service, FakeSlack, FakeMastodon, Path]]:
    async with FakeSlack() as slack, FakeMastodon(token=TOKEN) as masto:
        for n in range(16):
            masto.post(
                f"Kestrel Mobile down again, no signal since this morning #{n}",
                tags=("kestreldown",),
                acct=f"user{n}",
                followers=1000 if n == 5 else 10 + n,
                ago=timedelta(minutes=40 - 2 * n),
            )
        source = masto.source(TOKEN, backfill="2h")
        config = config_for(tmp_path, slack, source, **replies)
        async with running_service(config) as service:
            yield service, slack, masto, config


def drafts_messages(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    return [
        m
        for m in slack.messages.get(channel, [])
        if m.get("thread_ts") and "Reply drafts" in json.dumps(m.get("blocks", []))
    ]


def buttons(message: dict[str, Any], action: str) -> list[str]:
    return [
        element["value"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == action
    ]


def shown(slack: FakeSlack, message: dict[str, Any]) -> str:
    current = slack.message("C1", message["ts"])
    assert current is not None
    return json.dumps(current["blocks"], ensure_ascii=False)


async def click(
    service: Service, slack: FakeSlack, action: str, value: str, user: str, ts: str
) -> tuple[int, str]:
    body = block_action_body(action, value, user, "C1", ts, slack.response_url(f"{action}{user}"))
    return await post_signed(events_url(service), body, SECRET)


async def edit_in_modal(
    service: Service, slack: FakeSlack, message: dict[str, Any], user: str, text: str
) -> str:
    """``user`` opens the Edit modal of the message's first draft and saves ``text``; the
    draft's id."""
    value = buttons(message, EDIT)[0]
    clicked = slack.message("C1", message["ts"])  # in the card's thread: it has a thread_ts
    body = block_action_body(
        EDIT, value, user, "C1", message["ts"], slack.response_url(EDIT + user), message=clicked
    )
    await post_signed(events_url(service), body, SECRET)
    await slack.wait_for("views.open")
    view = next(iter(slack.views.values()))
    await post_signed(
        events_url(service), view_submission_body(view, {"text": {TEXT_INPUT: text}}, user), SECRET
    )
    return value.split(":")[0]


def draft_for(message: dict[str, Any], author: str) -> str:
    text = json.dumps(message["blocks"])
    assert f"@{author}" in text
    return buttons(message, APPROVE)[0]


def audit(config: Path) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["audit", "-c", str(config), "--json"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_edit_then_approve_publishes_once_on_mastodon_and_the_card_links_it(
    tmp_path: Path,
) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, masto, config):

        def for_user5() -> list[dict[str, Any]]:
            return [m for m in drafts_messages(slack) if "@user5" in json.dumps(m["blocks"])]

        await wait_for(lambda: bool(for_user5()), timeout=30)
        card = cards(slack, "C1")[0]
        message = for_user5()[0]
        assert message["thread_ts"] == card["ts"]  # in the card's thread
        assert "500 characters" in json.dumps(message["blocks"])
        value = buttons(message, EDIT)[0]
        assert value.split(":")[1] == "1"  # id:version:install

        # Edit: the modal opens with the text, counts as the person types, refuses too long
        await click(service, slack, EDIT, value, EDITOR, message["ts"])
        await slack.wait_for("views.open")
        view = next(iter(slack.views.values()))
        await post_signed(
            events_url(service),
            view_action_body(view, TEXT_INPUT, "text", "x" * 520, EDITOR),
            SECRET,
        )
        await slack.wait_for("views.update")
        assert "543/500 characters" in json.dumps(slack.views[view["id"]]["blocks"])
        status, answer = await post_signed(
            events_url(service),
            view_submission_body(view, {"text": {TEXT_INPUT: "x" * 520}}, EDITOR),
            SECRET,
        )
        assert status == 200
        assert json.loads(answer)["response_action"] == "errors"
        edited = "@user5 So sorry about the outage. Engineers are restoring the signal now."
        status, _ = await post_signed(
            events_url(service),
            view_submission_body(view, {"text": {TEXT_INPUT: edited}}, EDITOR),
            SECRET,
        )
        assert status == 200
        await wait_for(lambda: "Engineers are restoring" in shown(slack, message))
        draft_id = value.split(":")[0]
        assert f"{draft_id}:2" in json.dumps(slack.message("C1", message["ts"]))

        # someone who is not an approver is refused, and it is logged
        await click(service, slack, APPROVE, f"{draft_id}:2", STRANGER, message["ts"])
        await wait_for(lambda: bool(slack.responses))
        assert "Only Kestrel Mobile's approvers" in slack.responses[-1]["text"]
        # approving the version before the edit is refused
        await click(service, slack, APPROVE, f"{draft_id}:1", APPROVER, message["ts"])
        await wait_for(lambda: len(slack.responses) == 2)
        assert "edited this draft after you opened it" in slack.responses[-1]["text"]

        # Approve, twice (a double click): published once, in reply to the mention
        for _ in range(2):
            await click(service, slack, APPROVE, f"{draft_id}:2", APPROVER, message["ts"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        await wait_for(lambda: "view reply" in shown(slack, message), timeout=10)
        await wait_for(lambda: len(slack.responses) == 3)  # the second click was answered
        reply = masto.posted[0]
        target = next(s for s in masto.statuses.values() if s["account"]["acct"] == "user5")
        assert reply["in_reply_to_id"] == target["id"]
        assert edited in reply["content"] or "restoring the signal" in reply["content"]
        assert reply["url"] in shown(slack, message)
        assert "Already approved by" in slack.responses[-1]["text"]
        assert buttons(slack.message("C1", message["ts"]) or {}, APPROVE) == []  # all decided

    log = audit(config)
    mine = [row for row in log if str(row["draft"]) == draft_id]
    actions = [row["action"] for row in mine]
    assert actions[:2] == ["proposed", "edited"]
    refusals = [(row["actor"], row["detail"]) for row in mine if row["action"] == "refused approve"]
    assert [actor for actor, _ in refusals] == [STRANGER, APPROVER, APPROVER]
    assert "edited this draft after you opened it" in refusals[1][1]  # v1 clicked
    assert refusals[2][1].startswith("Already approved by")  # the double click
    decided = [action for action in actions if not action.startswith("refused")]
    assert decided[-2:] == ["approved", "published"]
    assert actions.count("approved") == actions.count("published") == 1
    assert len(masto.posted) == 1  # the service has stopped: no second publication on its way
    approved = next(row for row in mine if row["action"] == "approved")
    assert (approved["actor"], approved["text"]) == (APPROVER, edited)
    assert next(row for row in mine if row["action"] == "published")["detail"] == reply["url"]
    assert any(row["action"] == "withdrawn" for row in log)  # the other variants


def modal_text(view: dict[str, Any]) -> str:
    return next(
        block["element"].get("initial_value", "")
        for block in view["blocks"]
        if block.get("block_id") == "text"
    )


async def open_modal(
    service: Service, slack: FakeSlack, message: dict[str, Any], value: str, user: str
) -> dict[str, Any]:
    """``user`` clicks Edit with the button ``value`` (maybe out of date): the modal opened."""
    opened = len(slack.views)
    clicked = slack.message("C1", message["ts"])
    body = block_action_body(
        EDIT, value, user, "C1", message["ts"], slack.response_url(EDIT + user), message=clicked
    )
    await post_signed(events_url(service), body, SECRET)
    await wait_for(lambda: len(slack.views) == opened + 1)
    return list(slack.views.values())[-1]


async def save_modal(service: Service, view: dict[str, Any], user: str, text: str) -> Any:
    """The modal saved with ``text``: Slack's answer to the submission (None: it closes)."""
    status, answer = await post_signed(
        events_url(service), view_submission_body(view, {"text": {TEXT_INPUT: text}}, user), SECRET
    )
    assert status == 200
    return json.loads(answer) if answer else None


async def test_an_edit_is_never_lost_to_a_stale_button_or_a_second_editor(
    tmp_path: Path,
) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, _masto, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        first = buttons(message, EDIT)[0]
        draft_id, version, _install = first.split(":")
        assert version == "1"

        # Ana saves version 2; Ben clicks Edit on the message not yet updated (button v1): the
        # modal shows version 2, and his edit of it is saved
        ana = "Sorry for the outage, our engineers are on it."
        assert (
            await save_modal(
                service, await open_modal(service, slack, message, first, APPROVER), APPROVER, ana
            )
            is None
        )
        ben_view = await open_modal(service, slack, message, first, EDITOR)
        assert modal_text(ben_view) == ana
        assert (
            await save_modal(service, ben_view, EDITOR, ana + " Thanks for your patience.") is None
        )

        # both open the modal at version 3; Ana saves first: Ben's modal stays open with his
        # text, shows Ana's and who saved it; saving again replaces hers with his, knowingly
        current = f"{draft_id}:3"
        ana_view = await open_modal(service, slack, message, current, APPROVER)
        ben_view = await open_modal(service, slack, message, current, EDITOR)
        assert await save_modal(service, ana_view, APPROVER, "Ana's words.") is None
        answer = await save_modal(service, ben_view, EDITOR, "Ben's words.")
        assert answer["response_action"] == "update"
        again = {**ben_view, **answer["view"]}
        shown_text = json.dumps(again["blocks"])
        assert f"<@{APPROVER}> saved this text while you were editing" in shown_text
        assert "Ana's words." in shown_text
        assert modal_text(again) == "Ben's words."
        assert again["private_metadata"].startswith(f"{draft_id}:4:")
        assert await save_modal(service, again, EDITOR, "Ben's words.") is None

    edits = [
        row for row in audit(config) if str(row["draft"]) == draft_id and row["action"] == "edited"
    ]
    assert [(row["actor"], row["text"]) for row in edits] == [
        (APPROVER, ana),
        (EDITOR, ana + " Thanks for your patience."),
        (APPROVER, "Ana's words."),
        (EDITOR, "Ben's words."),
    ]


async def test_a_button_of_a_database_started_afresh_acts_on_nothing(tmp_path: Path) -> None:
    """Draft numbers start again at 1 in a new database: an old thread's Approve "1:1" must not
    approve (and publish) this database's draft 1, a text nobody reviewed."""
    async with mastodon_storm(tmp_path) as (service, slack, masto, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        draft_id, version, install = buttons(message, APPROVE)[0].split(":")
        other = "0" * len(install) if install != "0" * len(install) else "1" * len(install)
        await click(
            service, slack, APPROVE, f"{draft_id}:{version}:{other}", APPROVER, message["ts"]
        )
        await wait_for(lambda: bool(slack.responses))
        assert "earlier Vigie database" in slack.responses[-1]["text"]
    assert not masto.posted
    assert not [row for row in audit(config) if row["action"] == "approved"]


async def test_reject_asks_why_and_keeps_it(tmp_path: Path) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, masto, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        value = buttons(message, REJECT)[0]
        await click(service, slack, REJECT, value, APPROVER, message["ts"])
        await slack.wait_for("views.open")
        view = next(iter(slack.views.values()))
        assert view["callback_id"] == "vigie_draft_reject_view"
        await post_signed(
            events_url(service),
            view_submission_body(view, {"reason": {"vigie_draft_reason": "too casual"}}, APPROVER),
            SECRET,
        )
        await wait_for(lambda: "Rejected by" in shown(slack, message))
        assert "too casual" in shown(slack, message)
        assert not masto.posted
    rejected = [row for row in audit(config) if row["action"] == "rejected"]
    assert [(row["actor"], row["detail"]) for row in rejected] == [(APPROVER, "too casual")]


async def test_two_person_rule_needs_another_approver_at_that_level(tmp_path: Path) -> None:
    async with mastodon_storm(tmp_path, two_person_levels=["watch"]) as (
        service, slack, masto, _config,
    ):  # fmt: skip
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        text = "Sorry for the trouble today; we're on it and will update you here."
        draft_id = await edit_in_modal(service, slack, message, EDITOR, text)
        await wait_for(lambda: f"{draft_id}:2" in json.dumps(slack.message("C1", message["ts"])))
        await click(service, slack, APPROVE, f"{draft_id}:2", EDITOR, message["ts"])
        await wait_for(lambda: bool(slack.responses))
        assert "someone else must approve" in slack.responses[-1]["text"]
        await click(service, slack, APPROVE, f"{draft_id}:2", APPROVER, message["ts"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)


async def test_an_edit_into_another_language_is_saved_and_the_editor_is_told(
    tmp_path: Path,
) -> None:
    async with mastodon_storm(tmp_path) as (service, slack, _masto, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        french = "Désolés pour la panne, nos techniciens rétablissent le réseau en ce moment."
        await edit_in_modal(service, slack, message, EDITOR, french)
        [told] = await slack.wait_for("chat.postEphemeral")
        assert (told.body["user"], told.body["text"]) == (
            EDITOR,
            "Edited. Note: the edited text reads as French; the reply was drafted in English.",
        )
        assert message["thread_ts"] != message["ts"]
        assert told.body["thread_ts"] == message["thread_ts"]  # where the drafts message is
        await wait_for(lambda: "reads as French" in shown(slack, message))  # for the approver
    [edited] = [row for row in audit(config) if row["action"] == "edited"]
    assert edited["text"] == french
    assert edited["detail"].endswith("; edited text reads as French; the reply was drafted in "
                                     "English")  # fmt: skip


def failure_notices(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages.get("C1", []) if "was not published" in m["text"]]


async def test_a_failed_publication_shows_on_the_card_and_retry_publishes(
    tmp_path: Path,
) -> None:
    """The drafts message is edited in place, which notifies nobody: the failure is also a new
    message in the card's thread, naming the approver."""
    async with mastodon_storm(tmp_path, publish_attempts=1) as (service, slack, masto, _):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        value = buttons(message, APPROVE)[0]
        masto.fail("/api/v1/statuses", 429, retry_after=1)
        await click(service, slack, APPROVE, value, APPROVER, message["ts"])
        await wait_for(lambda: "publishing failed" in shown(slack, message), timeout=10)
        assert not masto.posted
        await wait_for(lambda: bool(failure_notices(slack)), timeout=10)
        [notice] = failure_notices(slack)
        assert notice["thread_ts"] == message["thread_ts"]  # the card's thread
        assert notice["text"].startswith(f"<@{APPROVER}> The reply you approved to @")
        assert "429" in notice["text"]
        assert "Retry" in notice["text"]
        [retry] = buttons(slack.message("C1", message["ts"]) or {}, "vigie_draft_retry")
        await click(service, slack, "vigie_draft_retry", retry, APPROVER, message["ts"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        await wait_for(lambda: "view reply" in shown(slack, message), timeout=10)


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        yield fake


async def test_approve_publishes_a_bluesky_reply_with_thread_refs(
    tmp_path: Path, bsky: FakeBluesky
) -> None:
    bsky.add_account("care.kestrel.example", "app-pass", CARE_DID)
    async with FakeSlack() as slack:
        source = {
            "type": "bluesky",
            "name": "bsky",
            "jetstream_url": bsky.jetstream_url,
            "appview_url": bsky.xrpc_url,
            "pds_url": bsky.xrpc_url,
            "handle": "care.kestrel.example",
            "app_password": "app-pass",
            "batch_seconds": 0.05,
        }
        config = config_for(tmp_path, slack, source)
        async with running_service(config) as service:
            await wait_for(lambda: bool(bsky.open_connections))
            start = 1_780_000_000_000_000
            bsky.publish(
                *(
                    post_event(
                        f"did:plc:user{n}",
                        f"3k{n:03d}",
                        f"Kestrel Mobile has no signal again, awful #{n}",
                        start + n * 120_000_000,
                        langs=["en"],
                    )
                    for n in range(16)
                )
            )
            await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
            message = drafts_messages(slack)[0]
            assert "300 graphemes" in json.dumps(message["blocks"])
            value = buttons(message, APPROVE)[0]
            await click(service, slack, APPROVE, value, APPROVER, message["ts"])
            await wait_for(lambda: len(bsky.records) == 1, timeout=10)
            await wait_for(lambda: "view reply" in shown(slack, message), timeout=10)
    record = bsky.records[0]
    parent = record["record"]["reply"]["parent"]
    assert parent["uri"].startswith("at://did:plc:user")
    assert record["record"]["reply"]["root"] == parent
    assert record["repo"] == CARE_DID


async def test_an_approval_for_a_source_that_cannot_publish_at_this_start_is_refused(
    tmp_path: Path,
) -> None:
    """Drafted while the Mastodon source could publish; started again without its access token,
    the reply cannot go out: approving says so at once (it is not left "publishing…")."""
    async with FakeSlack() as slack, FakeMastodon(token=TOKEN) as masto:
        for n in range(16):
            masto.post(
                f"Kestrel Mobile down again, no signal since this morning #{n}",
                tags=("kestreldown",),
                acct=f"user{n}",
                ago=timedelta(minutes=40 - 2 * n),
            )
        source = masto.source(TOKEN, backfill="2h")
        async with running_service(config_for(tmp_path, slack, source)):
            await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        value = buttons(message, APPROVE)[0]
        read_only = {k: v for k, v in source.items() if k != "access_token"}
        config = config_for(tmp_path, slack, read_only)
        async with running_service(config) as service:
            await click(service, slack, APPROVE, value, APPROVER, message["ts"])
            await wait_for(lambda: bool(slack.responses), timeout=10)
        assert "cannot publish now" in slack.responses[-1]["text"]
        assert not masto.posted
    refused = [row for row in audit(config) if row["action"] == "refused approve"]
    assert refused
    assert "cannot publish now" in refused[-1]["detail"]
