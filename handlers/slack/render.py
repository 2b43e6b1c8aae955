"""Incident cards and messages as Block Kit, from the platform-neutral card (pure functions).

Every block is built from slack_sdk's models, whose ``to_dict`` validates lengths; on top of that
``check_blocks`` enforces what the models do not (50 blocks, unique block ids). Buttons carry the
incident number only: a click reloads the incident from storage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.config.incidents import slack_mention
from bot.spread.risk import people_count
from bot.text import cut

MAX_BLOCKS = 50
MESSAGE_TEXT = 12_000
"""The most text a message's blocks may hold together (their text objects, summed): past about
13,000 characters Slack refuses the message with ``msg_blocks_too_long``, though every block
is within its own limit. Neither slack_sdk's models nor their ``to_dict`` check it."""
CARD_RESERVE = 200  # of MESSAGE_TEXT, for what the platform adds to a card (a new post's ping)
CARD_FITS = ((3000, 3), (1500, 3), (600, 3), (300, 3), (150, 3), (150, 1))
"""The longest explanation and example text shown on a card, and how many examples, tried in
turn until the card fits."""
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELD_TEXT = 2000
SNOOZE_MINUTES = (30, 60, 240, 1440)
SILENCE_HOURS = 24
SPARKS = "▁▂▃▄▅▆▇█"

ACK, UNACK, SNOOZE, RESOLVE, REOPEN, SILENCE = (
    "vigie_ack", "vigie_unack", "vigie_snooze", "vigie_resolve", "vigie_reopen", "vigie_silence",
)  # fmt: skip


_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def cut_escaped(text: str, limit: int) -> str:
    """``cut`` for text already escaped for Slack (``escape``, ``inert``), with Vigie's markup:
    never through an entity ("&am…"), a ``<…>`` mention, date or link, or between a mark and
    the zero-width space that keeps it inert. Escape first, then cut: the other way round the
    escaped text outgrows the limit."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head[limit // 2 :]:
        head = head.rsplit(" ", 1)[0]
    opened = head.rfind("<")  # user text holds no "<" once escaped: this is markup
    if opened > head.rfind(">"):
        head = head[:opened]
    entity = head.rfind("&", max(len(head) - 4, 0))
    if entity >= 0 and (found := _ENTITY.match(text, entity)) and found.end() > len(head):
        head = head[:entity]
    if head[-1:] in tuple("*_~`") and text[len(head) : len(head) + 1] == "\u200b":
        head = head[:-1]
    return head.rstrip() + "…"


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object Slack does not pre-process (``verbatim``): a post's plain "@here",
    "#channel" or bare link stays text, while Vigie's own ``<@U…>``, ``<!date^…>`` and
    ``<url|label>`` markup still works."""
    return MarkdownTextObject(text=text, verbatim=True)


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn and plain message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_EMPHASIS = str.maketrans({mark: mark + "\u200b" for mark in "*_~`"})


def inert(text: str) -> str:
    """Someone else's words for mrkdwn: escaped, and their *, _, ~ and ` followed by a
    zero-width space, so a post's "*bold*" stays as written instead of turning bold."""
    return escape(text).translate(_EMPHASIS)


def mention_markup(who: str) -> str:
    """A configured mention as Slack markup: a user id, a user group id, @here or @channel
    (markup pasted from Slack unwrapped first). Anything else, which the configuration refuses
    but an incident's older policy snapshot may hold, is shown as text."""
    found = slack_mention(who)
    if found is None:
        return escape(who)
    if found in ("", "here", "channel"):
        return f"<!{found}>" if found else ""
    return f"<!subteam^{found}>" if found.startswith("S") else f"<@{found}>"


NameOf = Callable[[str], str]
"""A Slack user id's display name as Vigie last learnt it, or the id itself (plain text)."""


def same(who: str) -> str:
    return who


def person(who: str, notify_safe: bool = True, name_of: NameOf = same) -> str:
    """Who did something. A Slack user id shows as the person's name, which notifies them when
    a message is posted (an edit does not): ``notify_safe=False`` for new posts names them in
    plain text instead, by ``name_of`` (made inert: a name is someone else's text)."""
    is_user = who[:1] in ("U", "W") and who.isalnum() and who.isupper()
    if not is_user:
        return escape(who)
    return f"<@{who}>" if notify_safe else inert(name_of(who))


MAX_HANDLE = 100
MAX_URL = 500


def handle(author: str) -> str:
    """An author's handle for mrkdwn: inert, and short (a webhook may send anything)."""
    return cut_escaped(inert(author), MAX_HANDLE)


_URL_UNSAFE = re.compile(r"[\s<>|]")


def safe_url(url: str) -> str:
    """A link fit for mrkdwn: http(s) only, no characters that end or split Slack's link syntax
    (``<``, ``>``, ``|``, any whitespace: percent-encoded as Teams does, or dropped past
    Latin-1), not absurdly long; "" when it is not one."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return ""
    url = _URL_UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}" if ord(m[0]) < 256 else "", url)
    return url if len(url) <= MAX_URL else ""


def sparkline(counts: list[int]) -> str:
    if not counts:
        return "-"
    top = max(counts) or 1
    return "".join(SPARKS[min(len(SPARKS) - 1, round(c / top * (len(SPARKS) - 1)))] for c in counts)


def _level_mark(card: dict[str, Any]) -> str:
    if card["status"] == "resolved":
        return "✅"
    if card["status"] == "merged":
        return "↪️"
    return "🔴" if card["top_level"] else "🟠" if card["level"] != "watch" else "🟡"


F = TypeVar("F")


def text_size(blocks: Iterable[Block | dict[str, Any]]) -> int:
    """The characters of all the text objects in ``blocks``: what ``MESSAGE_TEXT`` limits."""

    def size(value: Any) -> int:
        if isinstance(value, list):
            return sum(size(v) for v in value)
        if not isinstance(value, dict):
            return 0
        text = value.get("text") if value.get("type") in ("mrkdwn", "plain_text") else None
        return (len(text) if isinstance(text, str) else 0) + sum(size(v) for v in value.values())

    return sum(size(b.to_dict() if isinstance(b, Block) else b) for b in blocks)


def fitted(
    render: Callable[[F], list[Block]], fits: Sequence[F], budget: int = MESSAGE_TEXT
) -> list[Block]:
    """The first of ``render(fit)`` for ``fits`` (from the most shown to the least) whose text
    is within ``budget`` and whose blocks are within their own limits; the last one if none is
    (``check_blocks`` then says why)."""
    blocks: list[Block] = []
    for fit in fits:
        blocks = render(fit)
        try:
            if text_size(blocks) <= budget:
                break
        except SlackObjectFormationError:  # a block past its own limit: try a smaller fit
            continue
    return blocks


def card_blocks(
    card: dict[str, Any], version: str, *, new_post: bool = False, name_of: NameOf = same
) -> list[Block]:
    """The incident's message. ``version`` makes block ids new at every edit, as Slack asks;
    ``new_post``: it is posted, not edited, so people are named by ``name_of`` rather than
    ``<@U…>``, which would notify them. Long examples and explanation are cut shorter until
    the message is within ``MESSAGE_TEXT``."""
    return fitted(
        lambda fit: _card_blocks(card, version, new_post, fit, name_of),
        CARD_FITS,
        MESSAGE_TEXT - CARD_RESERVE,
    )


def _card_blocks(
    card: dict[str, Any], version: str, new_post: bool, fit: tuple[int, int], name_of: NameOf
) -> list[Block]:
    longest, examples = fit
    number = card["incident"]
    status = card["status"]
    title = f"{_level_mark(card)} {str(card['level']).upper()} · {card['brand']}"
    if card["topic"] != "storm":
        title += f" · {card['topic']}"
    explanation = str(card["explanation"]).split(": ", 1)[-1]
    blocks: list[Block] = [
        HeaderBlock(block_id=f"h-{version}", text=PlainTextObject(text=cut(title, HEADER_TEXT))),
        SectionBlock(
            block_id=f"risk-{version}",
            text=mrkdwn(
                cut_escaped(
                    f"*Risk {card['risk']}* (peak {card['peak_risk']}): "
                    f"{cut_escaped(inert(explanation), longest)}",
                    SECTION_TEXT,
                )
            ),
            fields=[
                mrkdwn(cut_escaped(f"*{name}*\n{value}", FIELD_TEXT))
                for name, value in (
                    ("Incident", f"#{number} · {status}"),
                    ("Theme", escape(str(card["theme"]).replace("_", " ") or "-")),
                    ("Negative mentions", str(card["mentions"])),
                    ("Last hour (5 min)", f"`{sparkline(list(card.get('trend', [])))}`"),
                )
            ],
        ),
    ]
    for index, example in enumerate(card.get("examples", [])[:examples]):
        blocks.append(_example(example, f"m{index}-{version}", longest))
    blocks.append(
        ContextBlock(
            block_id=f"ctx-{version}",
            elements=[mrkdwn(_status_line(card, lambda who: person(who, not new_post, name_of)))],
        )
    )
    actions = _actions(card, version)
    if actions is not None:
        blocks.append(actions)
    return blocks


def _example(example: dict[str, Any], block_id: str, fit: int = SECTION_TEXT) -> SectionBlock:
    followers = int(example.get("followers") or 0)
    reach = f" ({_compact(followers)} followers)" if followers else ""
    author = f"*@{handle(str(example.get('author') or 'someone'))}*{reach}"
    url = safe_url(str(example.get("url") or ""))
    link = f" <{url}|open>" if url else ""
    text = f"{author}: {cut_escaped(inert(str(example.get('text', ''))), fit)}"
    return SectionBlock(
        block_id=block_id, text=mrkdwn(cut_escaped(text, SECTION_TEXT - len(link)) + link)
    )


def _status_line(card: dict[str, Any], shown: Callable[[str], str]) -> str:
    """The card's dates and who acted, each person as ``shown`` (mrkdwn) renders them."""
    opened = datetime.fromisoformat(card["opened_at"])
    parts = [f"Opened {moment(opened)}"]
    if card["acknowledged_by"]:
        parts.append(f"acknowledged by {shown(card['acknowledged_by'])}")
    if card.get("snoozed_until"):
        until = datetime.fromisoformat(card["snoozed_until"])
        by = f" by {shown(card['snoozed_by'])}" if card.get("snoozed_by") else ""
        parts.append(f"snoozed until {moment(until)}{by}")
    if card["status"] == "resolved":
        parts.append(f"resolved by {shown(card['resolved_by'] or 'vigie')}")
    if card.get("merged_into"):
        parts.append(f"merged into #{card['merged_into']}")
    return cut_escaped(" · ".join(parts), SECTION_TEXT)


def moment(at: datetime) -> str:
    """A date and time each reader sees in their own time zone, the date as "today",
    "tomorrow" or "Mar 2" (a time alone is ambiguous a day ahead or after); the fallback for
    old clients and notifications is in UTC, with its date."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _actions(card: dict[str, Any], version: str) -> ActionsBlock | None:
    status = card["status"]
    if status == "merged":
        return None
    number, install = str(card["incident"]), str(card.get("install") or "")
    value = button_value(number, "", install)
    if status == "resolved":
        elements: list[Any] = [_button("Reopen", REOPEN, value)]
    else:
        elements = [
            _button("Unacknowledge", UNACK, value)
            if status == "acknowledged"  # a mistaken click is undone where it was made
            else _button("Acknowledge", ACK, value, style="primary"),
            StaticSelectElement(
                action_id=SNOOZE,
                placeholder=PlainTextObject(text="Snooze…"),
                options=[
                    Option(
                        text=PlainTextObject(text=_span(m)),
                        value=button_value(number, str(m), install),
                    )
                    for m in SNOOZE_MINUTES
                ],
            ),
            _button("Resolve", RESOLVE, value),
            _button(f"Silence topic {SILENCE_HOURS} h", SILENCE, value, style="danger"),
        ]
    return ActionsBlock(block_id=f"act-{version}", elements=elements)


def button_value(number: str, argument: str, install: str) -> str:
    """An incident button's value: ``number[:argument][:install]``, ``install`` being the id of
    the database that posted the card (``storage.drafts.install_id``; buttons posted before it
    was carried have none): after the database is started afresh, its numbers mean other
    incidents."""
    if install:
        return f"{number}:{argument}:{install}"
    return f"{number}:{argument}" if argument else number


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text), action_id=action_id, value=value, style=style
    )


def _span(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def _compact(number: int) -> str:
    """A follower count as people say it (999,950 is 1M, not 1000k): the same as the risk
    explanation's, so a card and its explanation agree."""
    return people_count(number)


class InvalidBlocks(ValueError):
    """A message Slack would refuse."""


def check_blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    """The blocks as Slack JSON, validated: the models' limits, 50 blocks, unique block ids,
    ``MESSAGE_TEXT`` characters of text in all."""
    if len(blocks) > MAX_BLOCKS:
        raise InvalidBlocks(f"{len(blocks)} blocks; Slack takes at most {MAX_BLOCKS}")
    as_json = [block.to_dict() for block in blocks]  # raises on a model's limit
    ids = [block.get("block_id") for block in as_json if block.get("block_id")]
    if len(ids) != len(set(ids)):
        raise InvalidBlocks(f"block ids are not unique: {ids}")
    if (size := text_size(as_json)) > MESSAGE_TEXT:
        raise InvalidBlocks(
            f"{size:,} characters of text; Slack takes about {MESSAGE_TEXT:,} in a message"
        )
    return as_json
