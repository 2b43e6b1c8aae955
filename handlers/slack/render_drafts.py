"""Reply drafts as Block Kit (pure functions): the drafts message in an incident's thread, and
the Edit and Reject modals. Buttons carry ``draft id:version`` only; a click reloads the draft."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.drafts.addressing import as_published
from bot.drafts.cards import Markup, state_line
from bot.drafts.limits import limit_for
from bot.drafts.rules import saved_text
from handlers.slack.render import (
    SECTION_TEXT,
    NameOf,
    cut_escaped,
    escape,
    fitted,
    handle,
    inert,
    moment,
    mrkdwn,
    person,
    safe_url,
    same,
)

APPROVE, EDIT, REJECT, RETRY = (
    "vigie_draft_approve", "vigie_draft_edit", "vigie_draft_reject", "vigie_draft_retry",
)  # fmt: skip
EDIT_VIEW, REJECT_VIEW = "vigie_draft_edit_view", "vigie_draft_reject_view"
SAVED_BY = "saved-by"  # the Edit modal's notice that someone saved another text meanwhile
TEXT_INPUT, REASON_INPUT = "vigie_draft_text", "vigie_draft_reason"
TEXT_BLOCK, REASON_BLOCK, COUNT_BLOCK = "text", "reason", "count"
MAX_DRAFTS = 12  # 3 blocks each, with the header well within Slack's 50
EDITABLE = 3000  # the most a plain_text_input holds (the Edit modal)
TOO_LONG = (
    "⚠️ Shown cut: longer than Slack shows, so it cannot be approved or edited here; reject it "
    "or decide it where it shows whole"
)
CUT_TO_FIT = "✂️ Shown cut to fit this message: Edit shows it whole"
CUT_TO_FIT_DECIDED = "✂️ Shown cut"
READ_WHOLE = frozenset({"proposed", "failed", "approved"})
"""States whose text someone still acts on (approves, fixes, copies by hand): cut last."""


@dataclass(frozen=True)
class Fit:
    """How much of each draft's text the drafts message shows: one step of making it fit
    Slack's total text (``MESSAGE_TEXT``)."""

    acted_on: int = EDITABLE  # drafts in READ_WHOLE
    decided: int = EDITABLE  # the others (rejected, withdrawn, expired, published...)
    state: int = 2000  # a draft's state line


FITS = (
    Fit(),
    Fit(decided=300, state=600),
    Fit(acted_on=1500, decided=200, state=600),
    Fit(acted_on=800, decided=200, state=300),
    Fit(acted_on=400, decided=120, state=300),
    Fit(acted_on=200, decided=80, state=200),
    Fit(acted_on=100, decided=80, state=120),
)
VARIANT_NAMES = {
    "apologetic": "Apologetic",
    "informative": "Informative",
    "dm": "Move to private messages",
    "thanks": "Thanks",
    "statement": "Holding statement",
}


def draft_blocks(
    card: dict[str, Any], version: str, *, new_post: bool = False, name_of: NameOf = same
) -> list[Block]:
    """The drafts message: what is answered, then each variant with its state and buttons.
    ``new_post``: it is posted, not edited, so people are named by ``name_of`` rather than
    ``<@U…>``, which would notify them.

    Slack refuses a message whose blocks hold more than about ``MESSAGE_TEXT`` characters in
    all, so long drafts are shown shorter and shorter (``FITS``; decided ones first) until it
    fits. A draft shown cut cannot be approved from the message (nobody approves a text they
    could not read whole), but Edit opens it whole; rejecting other variants makes room."""

    def as_person(who: str) -> str:
        return person(who, not new_post, name_of)

    return fitted(lambda fit: _draft_blocks(card, version, as_person, fit), FITS)


def _draft_blocks(
    card: dict[str, Any], version: str, as_person: Callable[[str], str], fit: Fit
) -> list[Block]:
    target = card["target"]
    install = str(card.get("install") or "")
    blocks: list[Block] = [SectionBlock(block_id=f"dh-{version}", text=_heading(card))]
    for draft in card["drafts"][:MAX_DRAFTS]:
        block_id = f"{draft['id']}-{version}"
        blocks += _draft(draft, target, block_id, as_person, install, fit)
    return blocks


def _heading(card: dict[str, Any]) -> MarkdownTextObject:
    target = card["target"]
    limit = f"{target['limit']:,} {target['unit']}"
    if card["kind"] == "statement":
        text = (
            f"*📣 Holding statement{_in_language(card)}* for #{card['incident']} ({limit}, fits "
            f"{target['platform_name']}). Approve it, then post it from {escape(card['brand'])}'s "
            "accounts."
        )
        return mrkdwn(text)
    author = f"*@{handle(target['author'])}*" if target["author"] else "this post"
    url = safe_url(str(target.get("url") or ""))
    link = f" <{url}|open post>" if url else ""
    excerpt = cut_escaped(inert(" ".join(str(target["excerpt"]).split())), 600)
    where = f"{target['platform_name']}, {limit}"
    how = "" if target["can_publish"] else " · Vigie cannot post there: copy the approved text"
    text = f"*💬 Reply drafts* for {author} ({where}{how}){link}\n> {excerpt}"
    return mrkdwn(cut_escaped(text, SECTION_TEXT))


def quoted(text: str) -> str:
    """Someone's text as a mrkdwn quote, inert: shown as it will be published, its *, _, ~
    and ` as typed rather than turning bold, italic, struck or code."""
    return "\n".join(f"> {line}" if line else ">" for line in inert(text).split("\n"))


def _draft(
    draft: dict[str, Any],
    target: dict[str, Any],
    block_id: str,
    as_person: Callable[[str], str],
    install: str,
    fit: Fit = FITS[0],
) -> list[Block]:
    name = VARIANT_NAMES.get(draft["variant"], str(draft["variant"]).replace("_", " ").title())
    count = f"{draft['length']}/{target['limit']}"
    # plain text, never formatted: the draft reads (and is copied, for a person to post) exactly
    # as it will be published, without the invisible marks that would make mrkdwn inert
    # & < > escaped (Slack shows them decoded): nothing in a draft can mention anyone. Escaped
    # first, then cut: Slack's limits count the escaped text
    head = escape(f"{name} · {draft['language']} · {count}")
    text = str(draft["text"])
    editable = len(text) <= EDITABLE  # the Edit modal holds it whole
    room = fit.acted_on if draft["state"] in READ_WHOLE else fit.decided
    escaped = escape(text)
    whole = f"{head}\n\n{escaped}"
    shown = editable and len(text) <= room and len(whole) <= SECTION_TEXT  # here, whole
    if not shown:
        whole = f"{head}\n\n{cut_escaped(escaped, min(room, EDITABLE))}"
    state = _state(draft, target, as_person)
    if draft["state"] == "proposed" and not editable:
        state = f"{TOO_LONG} · {state}"
    elif not shown:
        acted_on = editable and draft["state"] in ("proposed", "failed")
        state = f"{CUT_TO_FIT if acted_on else CUT_TO_FIT_DECIDED} · {state}"
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"d-{block_id}",
            text=PlainTextObject(text=cut_escaped(whole, SECTION_TEXT), emoji=False),
        ),
        ContextBlock(
            block_id=f"ds-{block_id}",
            elements=[mrkdwn(cut_escaped(state, fit.state))],
        ),
    ]
    value = f"{draft['id']}:{draft['version']}"
    if install:
        value += f":{install}"
    if draft["state"] == "proposed":
        buttons = [
            _button("Approve", APPROVE, value, "primary"),
            _button("Edit", EDIT, value),
            _button("Reject", REJECT, value, "danger"),
        ]
        if not editable:  # longer than Slack shows anywhere: decided elsewhere
            buttons = buttons[2:]
        elif not shown:  # nobody approves a text they could not read whole: Edit shows it
            buttons = buttons[1:]
        blocks.append(ActionsBlock(block_id=f"da-{block_id}", elements=buttons))
    elif draft["state"] == "failed":  # retry as it is, fix the text (back to proposed) or drop
        buttons = [
            _button("Retry", RETRY, value),
            *([_button("Edit", EDIT, value)] if editable else []),
            _button("Reject", REJECT, value, "danger"),
        ]
        blocks.append(ActionsBlock(block_id=f"da-{block_id}", elements=buttons))
    return blocks


def _state(draft: dict[str, Any], target: dict[str, Any], as_person: Callable[[str], str]) -> str:
    markup = Markup(
        person=as_person,
        time=_time,
        link=lambda url, label: f"<{safe}|{label}>" if (safe := safe_url(url)) else "",
        text=escape,
    )
    return state_line(draft, target, markup)


def _time(value: str | None) -> str:
    return moment(datetime.fromisoformat(value)) if value else "-"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text), action_id=action_id, value=value, style=style
    )


def edit_view(
    draft: dict[str, Any],
    target: dict[str, Any],
    metadata: str,
    text: str | None = None,
    saved_by: str = "",
) -> View:
    """The Edit modal: the draft's text, and its length against the platform's limit, which
    Slack refreshes as the person types (``on_character_entered``). With ``saved_by`` (someone
    saved another text while the modal was open), the modal says so and shows that text above
    the box, which keeps what the person typed (``text``): saving again replaces it."""
    current = draft["text"] if text is None else text
    blocks: list[Block] = []
    if saved_by:
        saved = quoted(draft["text"])
        notice = (
            f"{person(saved_by)} saved this text while you were editing; yours is kept below. "
            "Save to replace theirs with yours, or Cancel to keep theirs."
        )
        blocks += [
            ContextBlock(block_id=SAVED_BY, elements=[mrkdwn(notice)]),
            SectionBlock(block_id="saved", text=mrkdwn(cut_escaped(saved, SECTION_TEXT))),
        ]
    blocks += [
        InputBlock(
            block_id=TEXT_BLOCK,
            label=PlainTextObject(text=_edit_label(draft, target)),
            dispatch_action=True,
            element=PlainTextInputElement(
                action_id=TEXT_INPUT,
                multiline=True,
                initial_value=current if saved_by else draft["text"],
                dispatch_action_config={"trigger_actions_on": ["on_character_entered"]},
            ),
        ),
        count_block(current, target),
    ]
    return View(
        type="modal",
        callback_id=EDIT_VIEW,
        private_metadata=metadata,
        title=PlainTextObject(text="Edit statement" if _statement(draft) else "Edit reply"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def _in_language(card: dict[str, Any]) -> str:
    """The heading's ' in French' when the incident has a holding statement per language (older
    cards have no ``language``)."""
    return f" in {escape(str(card['language']))}" if card.get("language") else ""


def _statement(draft: dict[str, Any]) -> bool:
    return bool(draft["variant"] == "statement")


def _edit_label(draft: dict[str, Any], target: dict[str, Any]) -> str:
    if _statement(draft):
        return VARIANT_NAMES["statement"]
    return f"Reply to @{target['author']}"[:2000] if target["author"] else "Reply"


def count_block(text: str, target: dict[str, Any]) -> ContextBlock:
    limit = limit_for(target["platform"], target["limit"])
    published = as_published(saved_text(text), target["platform"], target["author"])
    length = limit.length(published)  # as saved: spaces around the text do not count
    over = length > limit.maximum
    mark = "⛔" if over else "✏️"
    line = f"{mark} {length}/{limit.maximum} {limit.unit} on {target['platform_name']}"
    if over:
        line += f": {length - limit.maximum} too many"
    return ContextBlock(block_id=COUNT_BLOCK, elements=[PlainTextObject(text=line)])


def reject_view(metadata: str) -> View:
    return View(
        type="modal",
        callback_id=REJECT_VIEW,
        private_metadata=metadata,
        title=PlainTextObject(text="Reject draft"),
        submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            InputBlock(
                block_id=REASON_BLOCK,
                label=PlainTextObject(text="Why? (kept in the audit trail)"),
                element=PlainTextInputElement(
                    action_id=REASON_INPUT, multiline=True, min_length=3, max_length=500
                ),
            )
        ],
    )
