"""The drafts message as Block Kit: what Slack can show whole may be approved, nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.slack import platform as slack_platform
from handlers.slack.platform import SlackPlatform
from handlers.slack.render import MESSAGE_TEXT, SECTION_TEXT, check_blocks, escape, text_size
from handlers.slack.render_drafts import (
    APPROVE,
    EDIT,
    REJECT,
    RETRY,
    count_block,
    draft_blocks,
    edit_view,
)


def card(text: str) -> dict[str, Any]:
    draft = {
        "id": 7, "version": 1, "variant": "apologetic", "language": "en", "text": text,
        "length": len(text), "state": "proposed", "expires_at": "2026-03-10T12:00:00+00:00",
        "edited_by": "", "decided_by": "", "decided_at": None, "reason": "",
        "published_url": "", "published_at": None, "notes": [],
    }  # fmt: skip
    target = {
        "platform": "reddit", "platform_name": "Reddit", "limit": 10_000, "unit": "characters",
        "source": "reddit", "url": "https://www.reddit.com/r/x/comments/1/a/", "author": "pat",
        "excerpt": "Kestrel Mobile down again", "can_publish": True,
    }  # fmt: skip
    return {
        "type": "drafts", "incident": 1, "set": 3, "kind": "reply", "brand": "Kestrel Mobile",
        "target": target, "drafts": [draft],
    }  # fmt: skip


def actions(blocks: list[Any]) -> list[str]:
    return [e.action_id for b in blocks if b.type == "actions" for e in b.elements]


def shown(blocks: list[Any]) -> str:
    return "\n".join(b.text.text for b in blocks if b.type == "section")


def test_a_draft_shown_whole_can_be_approved_edited_or_rejected() -> None:
    text = "Hi Pat, we're sorry. " * 100  # 2,100 characters
    blocks = draft_blocks(card(text), "v1")
    check_blocks(blocks)
    assert actions(blocks) == [APPROVE, EDIT, REJECT]
    assert text.split()[-1] in shown(blocks)


def test_a_draft_too_long_to_show_whole_cannot_be_approved_from_slack() -> None:
    text = "Hi Pat, we're sorry about the outage and here is what happened. " * 70  # 4,480
    blocks = draft_blocks(card(text), "v1")
    check_blocks(blocks)
    assert actions(blocks) == [REJECT]
    assert len(shown(blocks).split("\n", 1)[0]) < SECTION_TEXT
    context = " ".join(e.text for b in blocks if b.type == "context" for e in b.elements)
    assert "Shown cut" in context


def test_a_draft_whose_publication_failed_can_be_retried_fixed_or_dropped() -> None:
    failed = card("Hi Pat, sorry about that.")
    failed["drafts"][0]["state"] = "failed"
    assert actions(draft_blocks(failed, "v1")) == [RETRY, EDIT, REJECT]


def test_the_edit_count_includes_the_handle_mastodon_publishing_puts_in_front() -> None:
    target = {"platform": "mastodon", "platform_name": "Mastodon", "limit": 500, "author": "pat"}
    line = count_block("x" * 496, target).elements[0].text
    assert line.startswith("⛔ 501/500")  # "@pat " is put in front when published


def test_the_edit_count_leaves_out_the_spaces_and_blank_lines_around_the_text() -> None:
    """As saved: a trailing newline showed 301/300 for a text that saves at 300."""
    target = {"platform": "mastodon", "platform_name": "Mastodon", "limit": 500, "author": "pat"}
    line = count_block("\n" + "x" * 495 + " \n\n", target).elements[0].text
    assert line.startswith("✏️ 500/500")


def test_a_drafts_expiry_shows_its_date() -> None:
    blocks = draft_blocks(card("Hi Pat, sorry about that."), "v1")
    context = " ".join(e.text for b in blocks if b.type == "context" for e in b.elements)
    assert "expires <!date^1773144000^{date_short_pretty} {time}|2026-03-10 12:00 UTC>" in context


def test_the_edit_modal_says_what_is_edited() -> None:
    reply = card("Hi Pat, sorry about that.")
    draft, target = reply["drafts"][0], reply["target"]

    def label(draft: dict[str, Any], target: dict[str, Any]) -> str:
        view = edit_view(draft, target, "7:1:C1").to_dict()
        return str(view["blocks"][0]["label"]["text"])

    assert label(draft, target) == "Reply to @pat"
    assert label(draft, {**target, "author": ""}) == "Reply"
    statement = {**draft, "variant": "statement"}
    assert label(statement, {**target, "author": ""}) == "Holding statement"
    assert edit_view(statement, target, "7:1:C1").to_dict()["title"]["text"] == "Edit statement"


def variants(text: str, count: int, state: str = "proposed") -> dict[str, Any]:
    drafts = card(text)
    first = drafts["drafts"][0]
    drafts["drafts"] = [
        dict(first, id=n, variant=f"generated_{n}", state=state) for n in range(count)
    ]
    return drafts


def sections(blocks: list[Any]) -> list[str]:
    return [b.text.text for b in blocks if b.type == "section"][1:]  # the drafts, no heading


@pytest.mark.parametrize(("count", "size"), [(5, 2_500), (6, 2_000), (12, 3_000)])
def test_many_long_drafts_are_shown_cut_to_fit_slacks_total(count: int, size: int) -> None:
    """Slack refuses a message of more than about 12,000 characters of text in all
    (msg_blocks_too_long): the drafts are shown shorter until it fits, and Edit, which opens
    a draft whole, stays."""
    text = ("We are sorry. " * 300)[:size]
    blocks = draft_blocks(variants(text, count), "v1")
    assert text_size(check_blocks(blocks)) <= MESSAGE_TEXT
    assert len(sections(blocks)) == count
    assert all(text not in shown for shown in sections(blocks))
    assert actions(blocks) == [EDIT, REJECT] * count  # nobody approves what they cannot read
    context = " ".join(e.text for b in blocks if b.type == "context" for e in b.elements)
    assert context.count("Edit shows it whole") == count


def test_decided_drafts_are_cut_first() -> None:
    text = ("We are sorry. " * 300)[:2_900]
    drafts = variants(text, 5, state="rejected")
    drafts["drafts"][0]["state"] = "proposed"
    blocks = draft_blocks(drafts, "v1")
    assert text_size(check_blocks(blocks)) <= MESSAGE_TEXT
    assert text.split("\n")[0][-40:] in sections(blocks)[0]  # the one to decide, whole
    assert actions(blocks) == [APPROVE, EDIT, REJECT]


def test_a_drafts_preview_shows_its_text_as_it_will_be_published() -> None:
    """The approver must see what is published, and whoever posts it by hand copy it exactly:
    a draft's *, _, ~ and ` stay as typed (plain text, never formatted, no invisible marks)."""
    text = "Sorry *all* of you_ ~2 h_ ~outage~ `now` & <soon>"
    blocks = draft_blocks(card(text), "v1")
    preview = next(b for b in blocks if b.block_id and b.block_id.startswith("d-"))
    shown = preview.text.to_dict()
    assert shown["type"] == "plain_text"
    assert shown["emoji"] is False
    assert shown["text"].split("\n\n", 1)[1] == escape(text)
    assert "\u200b" not in shown["text"]


@pytest.mark.parametrize(
    "text",
    [
        "We hear you & we're sorry. " + "x " * 1481,  # 2,989 characters, one "&"
        "AT&T " * 500,  # 2,500 characters, 500 "&"
        ("a&b " * 1000)[:3500],  # longer than the Edit modal holds
        "<" * 2000,
    ],
    ids=["one ampersand", "AT&T", "too long to edit", "less-thans"],
)
def test_a_draft_is_cut_after_it_is_escaped(text: str) -> None:
    """Cut to 3,000 characters then escaped ("&" is "&amp;"), a draft's section outgrew
    Slack's limit: slack_sdk raised, and the drafts message never appeared."""
    blocks = draft_blocks(card(text), "v1")
    preview = next(b for b in check_blocks(blocks) if b["block_id"].startswith("d-"))
    shown = preview["text"]["text"]
    assert len(shown) <= SECTION_TEXT
    if escape(text) not in shown:  # shown cut: never "&am…", and never approved from here
        assert not shown.rstrip("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt"))
        assert APPROVE not in actions(blocks)


def test_the_heading_excerpt_is_not_cut_through_an_entity() -> None:
    reply = card("Sorry about that.")
    reply["target"]["excerpt"] = "&" * 610
    heading = check_blocks(draft_blocks(reply, "v1"))[0]["text"]
    assert heading["text"].endswith("&amp;…")
    assert heading["verbatim"] is True  # a post's plain "@here" is not read as a mention


def test_a_drafts_message_slack_cannot_take_is_a_clean_delivery_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rendering raised outside the check, so the outbox took it for a bug (three tries, then
    failed, with a traceback): a card Slack cannot take is refused once, saying why."""

    def unrenderable(card: dict[str, Any], version: str, *, new_post: bool) -> list[Any]:
        raise SlackObjectFormationError("text attribute cannot exceed 3000 characters")

    monkeypatch.setattr(slack_platform, "draft_blocks", unrenderable)
    platform = SlackPlatform(AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/"))
    intent = Intent(
        "reply-3-slack:C1-1", 1, IntentKind.OPEN, "slack", "C1", datetime.now(UTC), "drafts",
        card("Sorry."), part="reply-3",
    )  # fmt: skip
    with pytest.raises(DeliveryError, match="not valid Block Kit: text attribute") as raised:
        asyncio.run(platform.deliver(intent, "C1 1.000001"))
    assert raised.value.retryable is False


def test_the_real_drafts_message_of_a_long_reply_with_ampersands_renders() -> None:
    platform = SlackPlatform(AsyncWebClient(token="xoxb-test"))
    text = "We hear you & we're sorry. " + "x " * 1481
    intent = Intent(
        "reply-3-slack:C1-1", 1, IntentKind.UPDATE, "slack", "C1", datetime.now(UTC), "drafts",
        card(text), part="reply-3",
    )  # fmt: skip
    assert platform._blocks(intent)[1]["text"]["text"].startswith("Apologetic · en")
