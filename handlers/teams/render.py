"""Incident and drafts cards as Adaptive Cards 1.5 for Teams, from the platform-neutral cards
(pure functions).

Only elements Teams renders are used: TextBlock, RichTextBlock/TextRun, FactSet, Container,
Input.Text, Input.ChoiceSet, ActionSet, Action.Execute (with an Action.Submit fallback for
old clients) and Action.ShowCard. Buttons carry the incident, or the draft and its version,
only: a click reloads it from storage (verbs and data shapes in handlers.teams.actions).

Text people wrote (mentions, excerpts, drafts) goes in TextRuns, which Teams never reads as
markdown; short user-made fragments inside our own markdown (handles, names, reasons, topics)
are escaped, and so are people's display names (``name_of``: ids are audited, names shown).
Links are http(s) only. Teams takes messages up to 80 KB, counted in UTF-16: a card that would
be bigger is rendered again with shorter texts, then fewer parts, until it fits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.drafts.cards import Markup, state_line
from bot.drafts.limits import limit_for
from bot.spread.risk import people_count
from bot.text import cut
from handlers.teams.actions import (
    SNOOZE_INPUT,
    SNOOZE_MINUTES,
    Verb,
    reason_input,
    text_input,
)

Json = dict[str, Any]
NameOf = Callable[[str], str]
"""A person's platform id as the reader should see them (plain text: escaped where used)."""

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
# Teams counts the whole activity, encoded as UTF-16 (payload_size): it refuses more than 100 KB
# (413 MessageSizeTooBig) and guarantees delivery up to 80 KB, the reactions it adds later
# included (msteams-docs, "Format your bot messages"; earlier revisions said 40 KB).
MAX_MESSAGE_BYTES = 80_000
MARGIN_BYTES = 16_000  # a fifth: Teams calls its count approximate
ENVELOPE_BYTES = 4_000  # the rest of the activity (ids, from…: 1.2 KB measured), a text line
MAX_ATTACHMENT_BYTES = MAX_MESSAGE_BYTES - MARGIN_BYTES - ENVELOPE_BYTES
MAX_URL = 500
MAX_DRAFTS = 12
SILENCE_HOURS = 24
REASON_MAX = 500
SPARKS = "▁▂▃▄▅▆▇█"
# the schema's default location, should it be shipped beside this file (it is MIT-licensed)
DEFAULT_SCHEMA = Path(__file__).with_name("adaptive-card-1.5.json")
VARIANT_NAMES = {
    "apologetic": "Apologetic",
    "informative": "Informative",
    "dm": "Move to private messages",
    "thanks": "Thanks",
    "statement": "Holding statement",
}

_MARKDOWN = re.compile(r"([\\`*_\[\]()<>{}~#|!])")
_LIST_MARKER = re.compile(r"^(\d*)([-+.])")  # "- x", "+ x", "1. x" start lists
_TICKS = re.compile(r"`+")  # a run of backticks: one delimiter (runs of one only are written)
_URL_UNSAFE = re.compile(r"[\s()\[\]<>\"'\\`{}|^]")


@dataclass(frozen=True, slots=True)
class Fit:
    """How much of a card to show: one step of making a too-big card smaller."""

    text: int = 2_000  # the longest text shown (a mention, an excerpt, a decided draft)
    examples: int = 3
    drafts: int = MAX_DRAFTS
    editable: bool = True  # proposed drafts in text boxes (their whole text, never cut)
    boxes: int = MAX_DRAFTS  # of those, how many (the first) keep their box


FITS = (
    Fit(),
    Fit(text=600),
    Fit(text=200),
    Fit(text=200, editable=False),
    Fit(text=80, editable=False),
    Fit(text=80, examples=1, drafts=4, editable=False),
)


class InvalidCard(ValueError):
    """A card Teams would refuse, or render wrong."""


# --- text ------------------------------------------------------------------------------------


def same(user: str) -> str:
    """Show a person as their id (what renderers do when given no names)."""
    return user


def escape(text: str, limit: int = 100) -> str:
    """A user-made fragment for our markdown: one line of at most ``limit`` characters,
    markdown's characters backslashed (a TextBlock reads emphasis, links and lists), no ``{{``
    (date functions)."""
    line = cut(" ".join(str(text).split()), limit)
    return _LIST_MARKER.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", line))


def code_kept(markdown: str) -> str:
    """Vigie's words quoting what someone typed, with ``code`` spans: code spans kept as they
    are, everything outside them escaped. A backtick someone typed can only move their text
    into a code span or out of one, never make it markup (a link, emphasis, a heading)."""
    parts = _TICKS.split(markdown)  # even: outside code spans; odd: inside
    if len(parts) % 2 == 0:  # the last backtick opens no span: it is text
        tail = parts.pop()
        parts[-1] += "`" + tail
    return "".join(
        f"`{part}`" if index % 2 else _MARKDOWN.sub(r"\\\1", part)
        for index, part in enumerate(parts)
    )


def line_breaks(markdown: str) -> str:
    """Markdown with each line break made one Teams shows: its markdown joins lines a single
    ``\\n`` separates (MicrosoftDocs/msteams-docs#740) and shows a blank line as one break."""
    return "\n\n".join(line for line in markdown.split("\n") if line.strip())


def plain(text: str) -> str:
    """Text for a TextRun, which Teams shows as it is, except ``{{DATE(…)}}`` functions."""
    return str(text).replace("{{", "{\u200b{")


def safe_url(url: str) -> str:
    """A link fit for a markdown link or Action.OpenUrl: http(s), no characters that end or
    split the link, not absurdly long; "" when it is not one."""
    url = str(url).strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL:
        return ""
    return _URL_UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}" if ord(m[0]) < 256 else "", url)


def sparkline(counts: Sequence[int]) -> str:
    if not counts:
        return "-"
    top = max(counts) or 1
    return "".join(SPARKS[min(len(SPARKS) - 1, round(c / top * (len(SPARKS) - 1)))] for c in counts)


def when(value: str | None) -> str:
    """A moment each reader sees in their own time zone (Adaptive Cards' DATE/TIME), with its
    date: a time alone is ambiguous a day ahead or after (a 24 h snooze, a draft's expiry), and
    Adaptive Cards cannot say "today" or "tomorrow" as Slack does (``moment`` there)."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def _compact(number: int) -> str:
    """A follower count as the risk explanation says it (999,950 is 1M, not 1000k)."""
    return people_count(number)


def _span(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


# --- elements --------------------------------------------------------------------------------


def text_block(text: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def rich(*runs: Json, **style: Any) -> Json:
    return {"type": "RichTextBlock", "inlines": list(runs), **style}


def run(text: str, **style: Any) -> Json:
    return {"type": "TextRun", "text": plain(text), **style}


def execute(title: str, verb: Verb, data: Json, style: str | None = None) -> Json:
    """A button. Old clients get an Action.Submit that sends the same data plus the verb."""
    styled = {"style": style} if style else {}
    fallback = {"type": "Action.Submit", "title": title, "data": {**data, "verb": verb.value}}
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb.value,
        "data": data,
        **styled,
        "fallback": {**fallback, **styled},
    }


def show_card(title: str, body: list[Json], actions: list[Json]) -> Json:
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {"type": "AdaptiveCard", "body": body, "actions": actions},
    }


def adaptive_card(body: list[Json], actions: list[Json], fallback_text: str) -> Json:
    card: Json = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": VERSION,
        "fallbackText": fallback_text,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def with_notice(card: Json, notice: str) -> Json:
    """``card`` with ``notice`` above it (plain text), for the person whose click it answers:
    Teams shows an invoke's answer as a card or as a message, never both."""
    note = rich(run(cut(notice, REASON_MAX), color="attention", weight="bolder"))
    return {**card, "body": [note, *card.get("body", [])]}


def with_input_value(
    card: Json, input_id: str, value: str, above: Sequence[Json] = ()
) -> Json | None:
    """``card`` with its input ``input_id`` holding ``value`` (what someone typed, kept when
    their click was refused) and ``above`` it the elements given; None when the card has no
    such input (shown without its box) or would be too big for Teams with it."""
    kept = json.loads(json.dumps(card))
    for node in _nodes(kept):
        for key in ("body", "items"):
            elements = node.get(key)
            if not isinstance(elements, list):
                continue
            for index, element in enumerate(elements):
                if isinstance(element, dict) and element.get("id") == input_id:
                    element["value"] = value
                    elements[index:index] = list(above)
                    return kept if attachment_size(kept) <= MAX_ATTACHMENT_BYTES else None
    return None


def with_typed_copy(card: Json, notice: str, typed: str) -> Json:
    """``card`` with ``notice`` and, under it, ``typed`` (read-only, to copy): what someone
    typed that the card has no box for any more. Only those two when the card would be too big
    with it."""
    copy = rich(run(typed))
    whole = with_notice({**card, "body": [copy, *card.get("body", [])]}, notice)
    if attachment_size(whole) <= MAX_ATTACHMENT_BYTES:
        return whole
    return with_notice(adaptive_card([copy], [], "Your text, not saved"), notice)


def saved_version(editor: str, text: str) -> list[Json]:
    """Another person's saved text, shown above a box that holds the clicker's own instead."""
    return [
        text_block(f"**Saved by {escape(editor)}** (replaced if you save again):", size="small"),
        rich(run(cut(text, 2_000), isSubtle=True)),
    ]


# --- the incident card -----------------------------------------------------------------------


def incident_adaptive_card(card: Mapping[str, Any], name_of: NameOf = same) -> Json:
    """The incident's Adaptive Card, as big as fits in a Teams message."""
    return _fitted(lambda fit: incident_content(card, fit, name_of))


def incident_content(card: Mapping[str, Any], fit: Fit = FITS[0], name_of: NameOf = same) -> Json:
    number, status = card["incident"], card["status"]
    explanation = str(card["explanation"]).split(": ", 1)[-1]
    body = [
        _header(card),
        rich(
            run(f"Risk {card['risk']}", weight="bolder"),
            run(f" (peak {card['peak_risk']}): {cut(explanation, fit.text)}"),
        ),
        {
            "type": "FactSet",
            "facts": [
                {"title": "Incident", "value": f"#{number} · {escape(status)}"},
                {"title": "Theme", "value": escape(str(card["theme"]).replace("_", " ") or "-")},
                {"title": "Negative mentions", "value": str(card["mentions"])},
                {"title": "Last hour (5 min)", "value": sparkline(list(card.get("trend", [])))},
            ],
        },
    ]
    body += [_example(e, fit) for e in list(card.get("examples", []))[: fit.examples]]
    body.append(
        text_block(_status_line(card, name_of), isSubtle=True, size="small", separator=True)
    )
    return adaptive_card(body, _incident_actions(card), _title(card))


def _title(card: Mapping[str, Any]) -> str:
    about = "" if card["topic"] == "storm" else f" {escape(card['topic'])}"
    return cut(f"#{card['incident']} {escape(card['brand'])}{about}: {card['level']}", 200)


def _header(card: Mapping[str, Any]) -> Json:
    status = card["status"]
    if status == "resolved":
        style, color = "good", "good"
    elif status == "merged":
        style, color = "emphasis", "default"
    else:
        style, color = ("attention", "attention") if card["top_level"] else ("warning", "warning")
    title = f"{str(card['level']).upper()} · {card['brand']}"
    if card["topic"] != "storm":
        title += f" · {card['topic']}"
    heading = rich(run(cut(title, 150), weight="bolder", size="large", color=color))
    return {"type": "Container", "style": style, "bleed": True, "items": [heading]}


def _example(example: Mapping[str, Any], fit: Fit) -> Json:
    followers = int(example.get("followers") or 0)
    reach = f" ({_compact(followers)} followers)" if followers else ""
    author = cut(str(example.get("author") or "someone"), 100)
    items = [
        rich(
            run(f"@{author}", weight="bolder"),
            run(reach, isSubtle=True),
            run(": " + cut(" ".join(str(example.get("text", "")).split()), fit.text)),
        )
    ]
    url = safe_url(str(example.get("url") or ""))
    if url:
        items.append(text_block(f"[Open post]({url})", size="small", spacing="none"))
    return {"type": "Container", "separator": True, "items": items}


def _status_line(card: Mapping[str, Any], name_of: NameOf) -> str:
    parts = [f"Opened {when(card['opened_at'])}"]
    if card["acknowledged_by"]:
        parts.append(f"acknowledged by {escape(name_of(card['acknowledged_by']))}")
    if card.get("snoozed_until"):
        by = f" by {escape(name_of(card['snoozed_by']))}" if card.get("snoozed_by") else ""
        parts.append(f"snoozed until {when(card['snoozed_until'])}{by}")
    if card["status"] == "resolved":
        parts.append(f"resolved by {escape(name_of(card['resolved_by'] or 'vigie'))}")
    if card.get("merged_into"):
        parts.append(f"merged into #{card['merged_into']}")
    return " · ".join(parts)


def _incident_actions(card: Mapping[str, Any]) -> list[Json]:
    """The incident's buttons; their data names the database that posted the card
    (``install``, stamped on the card as it is sent) besides the incident: after ``vigie.db``
    is started afresh, numbers start again, and an old card's button must not act on the new
    incident with its number."""
    data: dict[str, Any] = {"incident": card["incident"]}
    if card.get("install"):
        data["install"] = str(card["install"])
    status = card["status"]
    if status == "merged":
        return []
    if status == "resolved":
        return [execute("Reopen", Verb.REOPEN, data)]
    return [
        execute("Unacknowledge", Verb.UNACK, data)
        if status == "acknowledged"  # a mistaken click is undone where it was made
        else execute("Acknowledge", Verb.ACK, data, "positive"),
        show_card("Snooze…", [_snooze_choice()], [execute("Snooze", Verb.SNOOZE, data)]),
        execute("Resolve", Verb.RESOLVE, data),
        execute(f"Silence topic {SILENCE_HOURS} h", Verb.SILENCE, data, "destructive"),
    ]


def _snooze_choice() -> Json:
    return {
        "type": "Input.ChoiceSet",
        "id": SNOOZE_INPUT,
        "label": "Snooze for",
        "style": "compact",
        "value": "60",
        "isRequired": True,
        "errorMessage": "Pick how long",
        "choices": [{"title": _span(m), "value": str(m)} for m in SNOOZE_MINUTES],
    }


# --- the drafts card -------------------------------------------------------------------------


def drafts_adaptive_card(card: Mapping[str, Any], name_of: NameOf = same) -> Json:
    """The drafts message, as big as fits in a Teams message: texts shortened first, then
    fewer drafts in text boxes (those after shown read-only), before none in boxes."""
    open_drafts = sum(d["state"] in EDITABLE_STATES for d in card["drafts"][:MAX_DRAFTS])
    fewer = [Fit(text=200, boxes=boxes) for boxes in range(open_drafts - 1, 0, -1)]
    return _fitted(lambda fit: drafts_content(card, fit, name_of), (*FITS[:3], *fewer, *FITS[3:]))


def drafts_content(card: Mapping[str, Any], fit: Fit = FITS[0], name_of: NameOf = same) -> Json:
    drafts = list(card["drafts"])
    shown = drafts[: min(fit.drafts, MAX_DRAFTS)]
    body = _drafts_heading(card, fit)
    if fit.editable and any(d["state"] in EDITABLE_STATES for d in shown):
        body.append(
            text_block(
                "Teams shows no live count: an edit is checked against the limit when you save.",
                isSubtle=True,
                size="small",
            )
        )
    install = str(card.get("install") or "")
    boxed = [d["id"] for d in shown if d["state"] in EDITABLE_STATES][: fit.boxes]
    for draft in shown:
        body.append(_draft(draft, card["target"], fit, name_of, install, draft["id"] in boxed))
    if len(drafts) > len(shown):
        body.append(text_block(f"{len(drafts) - len(shown)} more drafts are not shown here."))
    return adaptive_card(body, [], _drafts_title(card))


def _drafts_title(card: Mapping[str, Any]) -> str:
    if card["kind"] == "statement":
        language = f" ({escape(str(card['language']))})" if card.get("language") else ""
        return f"#{card['incident']} holding statement draft for {escape(card['brand'])}{language}"
    target = card["target"]
    who = f"@{escape(target['author'])}" if target["author"] else "a post"
    return cut(f"#{card['incident']} reply drafts for {who} on {target['platform_name']}", 200)


def _drafts_heading(card: Mapping[str, Any], fit: Fit) -> list[Json]:
    target = card["target"]
    limit = f"{target['limit']:,} {target['unit']}"
    if card["kind"] == "statement":
        language = f" in {escape(str(card['language']))}" if card.get("language") else ""
        return [
            text_block(
                f"**📣 Holding statement{language}** for #{card['incident']} ({limit}, fits "
                f"{escape(target['platform_name'])}). Approve it, then post it from "
                f"{escape(card['brand'])}'s accounts."
            )
        ]
    author = f"**@{escape(target['author'])}**" if target["author"] else "this post"
    where = f"{escape(target['platform_name'])}, {limit}"
    how = "" if target["can_publish"] else " · Vigie cannot post there: copy the approved text"
    url = safe_url(str(target.get("url") or ""))
    link = f" · [Open post]({url})" if url else ""
    excerpt = cut(" ".join(str(target["excerpt"]).split()), min(fit.text, 600))
    return [
        text_block(f"**💬 Reply drafts** for {author} ({where}{how}){link}"),
        rich(run(excerpt, italic=True)),
    ]


def _draft(
    draft: Mapping[str, Any],
    target: Mapping[str, Any],
    fit: Fit,
    name_of: NameOf,
    install: str,
    boxed: bool = True,
) -> Json:
    name = VARIANT_NAMES.get(draft["variant"], str(draft["variant"]).replace("_", " ").title())
    count = f"{draft['length']}/{target['limit']} {target['unit']}"
    items = [text_block(f"**{escape(name)}** · {escape(draft['language'])} · {count}")]
    proposed = draft["state"] == "proposed"
    editable = draft["state"] in EDITABLE_STATES and fit.editable and boxed
    # an approved text someone must copy and post by hand is shown whole while the card can
    # hold it (the fits' first steps): cut, it would be pasted cut
    limit = fit.text if draft["state"] != "approved" or not fit.editable else len(draft["text"])
    if editable:
        items.append(_text_box(draft, target))
    else:
        items.append(rich(run(cut(draft["text"], limit))))
    items.append(text_block(_state(draft, target, fit, name_of), isSubtle=True, size="small"))
    whole = len(draft["text"]) <= limit
    if not editable and not whole:
        then = (
            " Approve or edit it elsewhere."
            if proposed
            else " The whole text is in the decision log (python -m bot audit)."
        )
        items.append(
            text_block(
                "⚠️ Shown cut: too long for this Teams card." + then,
                size="small",
                color="warning",
            )
        )
    actions = _draft_actions(draft, install, editable=editable, whole=editable or whole)
    if actions:
        items.append({"type": "ActionSet", "actions": actions})
    return {"type": "Container", "separator": True, "items": items}


def _text_box(draft: Mapping[str, Any], target: Mapping[str, Any]) -> Json:
    """The draft's whole text, editable. ``maxLength`` only where the platform counts plain
    characters (not Mastodon, where a link counts 23 whatever its length)."""
    limit = limit_for(target["platform"], target["limit"])
    box: Json = {
        "type": "Input.Text",
        "id": text_input(draft["id"]),
        "label": f"Text ({draft['length']}/{limit.maximum} {limit.unit}; checked when you save)",
        "isMultiline": True,
        "value": draft["text"],
    }
    if limit.unit == "characters" and limit.url_weight is None:
        box["maxLength"] = limit.maximum
    return box


EDITABLE_STATES = ("proposed", "failed")  # a failed publication can be fixed and proposed again


def _draft_actions(
    draft: Mapping[str, Any], install: str, *, editable: bool, whole: bool
) -> list[Json]:
    """A draft's buttons; their data names the database (``install``) besides the draft and
    its version, so a card posted by a database since started afresh acts on nothing here."""
    data: Json = {"draft": draft["id"], "version": draft["version"]}
    if install:
        data["install"] = install
    if draft["state"] == "failed":  # retry as it is, fix the text (back to proposed) or drop
        edit = [execute("Save edit", Verb.EDIT, data)] if editable else []
        return [execute("Retry", Verb.RETRY, data), *edit, _reject(draft, data)]
    if draft["state"] != "proposed":
        return []
    actions = [execute("Approve", Verb.APPROVE, data, "positive")] if whole else []
    if editable:
        actions.append(execute("Save edit", Verb.EDIT, data))
    actions.append(_reject(draft, data))
    return actions


def _reject(draft: Mapping[str, Any], data: Json) -> Json:
    """Reject…: a card asking why, then Reject."""
    reason = {
        "type": "Input.Text",
        "id": reason_input(draft["id"]),
        "label": "Why? (kept in the audit trail)",
        "isMultiline": True,
        "maxLength": REASON_MAX,
    }
    return show_card("Reject…", [reason], [execute("Reject", Verb.REJECT, data, "destructive")])


def _state(draft: Mapping[str, Any], target: Mapping[str, Any], fit: Fit, name_of: NameOf) -> str:
    limit = min(fit.text, REASON_MAX)
    markup = Markup(
        person=lambda who: escape(name_of(who)),
        time=when,
        link=lambda url, label: f"[{label}]({safe})" if (safe := safe_url(url)) else "",
        text=lambda text: escape(text, limit),
    )
    return state_line(draft, target, markup)


# --- attachments, size and checks ------------------------------------------------------------


def card_attachment(card: Mapping[str, Any], name_of: NameOf = same) -> Json:
    """The Bot Framework attachment for a platform-neutral card (incident or drafts)."""
    if card.get("type") == "drafts":
        content = drafts_adaptive_card(card, name_of)
    else:
        content = incident_adaptive_card(card, name_of)
    return {"contentType": CONTENT_TYPE, "content": content}


def payload_size(value: Any) -> int:
    """Bytes Teams counts for ``value`` (an activity, or a part of one): its JSON in UTF-16,
    each character as itself (on the wire, msrest sends ``\\u`` escapes Teams decodes)."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-16-le"))


def attachment_size(content: Json) -> int:
    """Bytes Teams counts for the card's attachment (payload_size)."""
    return payload_size({"contentType": CONTENT_TYPE, "content": content})


def _fitted(render: Callable[[Fit], Json], fits: Sequence[Fit] = FITS) -> Json:
    for fit in fits:
        content = render(fit)
        if attachment_size(content) <= MAX_ATTACHMENT_BYTES:
            return content
    raise InvalidCard(f"card is {attachment_size(content):,} bytes even cut to the minimum")


def check_card(content: Json, schema_path: Path | None = None) -> None:
    """Raise InvalidCard unless ``content`` is an Adaptive Card Teams takes: the 1.5 JSON schema
    (from ``schema_path``, else DEFAULT_SCHEMA) and the rules the schema does not state."""
    check_structure(content)
    path = schema_path or DEFAULT_SCHEMA
    if not path.exists():
        raise FileNotFoundError(
            f"no Adaptive Card schema at {path}: pass schema_path (tests use "
            "../shared/data/schemas/adaptive-card-1.5.json) or ship it there"
        )
    errors = list(_validator(str(path.resolve())).iter_errors(content))
    if errors:
        from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

        error = best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(card)"
        raise InvalidCard(f"{where}: {error.message} ({len(errors)} schema errors)")


@lru_cache(maxsize=4)
def _validator(path: str) -> Any:
    from jsonschema import Draft6Validator  # type: ignore[import-untyped]  # tests and dev only

    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def check_structure(content: Json) -> None:
    """The rules no schema states: version 1.5, size, unique input ids, buttons that name a
    verb and carry an object with an Action.Submit fallback, http(s) links."""
    if content.get("type") != "AdaptiveCard" or content.get("version") != VERSION:
        found = f"{content.get('type')} {content.get('version')}"
        raise InvalidCard(f"not an AdaptiveCard {VERSION}: {found}")
    size = attachment_size(content)
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidCard(f"card is {size:,} bytes in UTF-16; at most {MAX_ATTACHMENT_BYTES:,}")
    inputs = [n for n in _nodes(content) if str(n.get("type", "")).startswith("Input.")]
    ids = [n.get("id") for n in inputs if n.get("type") != "Input.Choice"]
    if len(ids) != len(set(ids)) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidCard(f"input ids must be set and unique: {ids}")
    for node in _nodes(content):
        if node.get("type") == "Action.Execute":
            if not node.get("verb") or not isinstance(node.get("data"), dict):
                raise InvalidCard(f"Action.Execute without verb or data: {node.get('title')}")
            if (node.get("fallback") or {}).get("type") != "Action.Submit":
                raise InvalidCard(f"Action.Execute without Action.Submit fallback: {node}")
        if node.get("type") == "Action.OpenUrl" and not safe_url(str(node.get("url"))):
            raise InvalidCard(f"link is not http(s): {node.get('url')}")


def _nodes(value: Any) -> list[Json]:
    """Every object in the card, depth first."""
    found: list[Json] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
