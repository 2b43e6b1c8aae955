"""Adaptive Cards for Teams: every card valid against the 1.5 schema and within Teams' size
whatever the incident or drafts hold, user text inert, the right buttons; and card clicks
parsed from the exact shapes Teams sends (anything else: InvalidAction)."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.incidents import IncidentPolicy
from bot.drafts.cards import drafts_card
from bot.drafts.model import Draft, DraftKind, DraftSet, DraftState, Target
from bot.incidents.cards import card_of
from bot.incidents.model import Incident, Status
from handlers.teams.actions import (
    MAX_TEXT,
    InvalidAction,
    TeamsAction,
    Verb,
    parse_invoke,
    parse_submit,
)
from handlers.teams.inbound import UNSAVED
from handlers.teams.render import (
    CONTENT_TYPE,
    ENVELOPE_BYTES,
    MAX_ATTACHMENT_BYTES,
    MAX_MESSAGE_BYTES,
    InvalidCard,
    _compact,
    attachment_size,
    card_attachment,
    check_card,
    check_structure,
    cut,
    escape,
    incident_adaptive_card,
    line_breaks,
    payload_size,
    safe_url,
)
from tests.conftest import SHARED_DATA

SCHEMA = SHARED_DATA / "schemas" / "adaptive-card-1.5.json"
NOW = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
AT_09_05, AT_10_05, AT_13_05 = (
    f"{{{{DATE(2026-03-10T{t}:00Z, SHORT)}}}} {{{{TIME(2026-03-10T{t}:00Z)}}}}"
    for t in ("09:05", "10:05", "13:05")
)  # how a card shows a moment: its date, then its time
HOSTILE = "**bold** _it_ [click](javascript:alert(1)) <at>all</at> {{DATE(2017-02-14T06:08:00Z)}}"
ALL_STATES = list(DraftState)
CUT_NOTE = "⚠️ Shown cut: too long for this Teams card. Approve or edit it elsewhere."


@pytest.fixture(scope="module")
def schema() -> Path:
    if not SCHEMA.exists():
        pytest.skip(f"shared data not present: {SCHEMA} (the Adaptive Card 1.5 schema)")
    return SCHEMA


def incident(**changes: Any) -> dict[str, Any]:
    """A card as bot.incidents.cards.card_of makes it."""
    base: dict[str, Any] = {
        "incident": 7,
        "brand": "Kestrel Mobile",
        "topic": "storm",
        "theme": "not_working",
        "status": "open",
        "level": "alert",
        "top_level": False,
        "risk": 55,
        "peak_risk": 61,
        "explanation": "55: 30 negative mentions in 1 h, 6x the usual",
        "mentions": 30,
        "opened_at": "2026-03-10T09:05:00+00:00",
        "acknowledged_by": "",
        "snoozed_until": None,
        "resolved_by": "",
        "merged_into": None,
        "trend": [0, 1, 2, 8, 13],
        "examples": [example(i) for i in range(3)],
    }
    base.update(changes)
    return base


def example(number: int, **changes: Any) -> dict[str, Any]:
    base = {
        "key": ["mastodon", f"m-{number}"],
        "author": f"user{number}",
        "followers": 248_300 // (number + 1),
        "text": f"no signal again #{number}",
        "url": f"https://mastodon.example/@user{number}/{number}",
        "negativity": 0.8,
    }
    return {**base, **changes}


def drafts(
    states: list[DraftState],
    *,
    platform: str = "mastodon",
    text: str = "Sorry about that, we are on it.",
    kind: DraftKind = DraftKind.REPLY,
    **target: Any,
) -> dict[str, Any]:
    """A card as bot.drafts.cards.drafts_card makes it, one draft per state."""
    fields: dict[str, Any] = {
        "platform": platform,
        "limit": 500,
        "unit": "characters",
        "source": platform,
        "url": "https://mastodon.example/@pix/1",
        "author": "pix",
        "excerpt": "my phone has had no signal since this morning",
        "can_publish": True,
    }
    fields.update(target)
    draft_set = DraftSet(3, 7, "kestrel", kind, Target(**fields), NOW)
    variants = [
        Draft(
            id=10 + i,
            set_id=3,
            incident_id=7,
            brand="kestrel",
            variant="apologetic",
            language="en",
            theme="not_working",
            text=text,
            state=state,
            created_at=NOW,
            expires_at=NOW + timedelta(hours=4),
            version=2,
            edited_by="Ana" if state is DraftState.PROPOSED else "",
            decided_by="" if state.open else "Ben",
            decided_at=None if state.open else NOW,
            reason="off-brand" if state in (DraftState.REJECTED, DraftState.FAILED) else "",
            published_url="https://mastodon.example/@kestrel/9"
            if state is DraftState.PUBLISHED
            else "",
            published_at=NOW if state is DraftState.PUBLISHED else None,
        )
        for i, state in enumerate(states)
    ]
    return drafts_card(draft_set, variants, "Kestrel Mobile")


def content(card: dict[str, Any]) -> dict[str, Any]:
    attachment = card_attachment(card)
    assert attachment["contentType"] == CONTENT_TYPE
    return dict(attachment["content"])


def nodes(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += nodes(item)
    elif isinstance(value, list):
        for item in value:
            found += nodes(item)
    return found


def verbs(card: dict[str, Any]) -> list[str]:
    return [n["verb"] for n in nodes(card) if n.get("type") == "Action.Execute"]


def of_type(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in nodes(card) if n.get("type") == kind]


def markdown_texts(card: dict[str, Any]) -> list[str]:
    """Every string Teams reads as markdown: TextBlock texts and fact values."""
    texts = [n["text"] for n in of_type(card, "TextBlock")]
    return texts + [f["value"] for n in of_type(card, "FactSet") for f in n["facts"]]


def click(card: dict[str, Any], verb: Verb, **typed: str) -> dict[str, Any]:
    """The invoke value Teams sends for a click on ``verb``: the button's data merged with the
    card's input values (their defaults, or what was typed), all strings."""
    button = next(n for n in of_type(card, "Action.Execute") if n["verb"] == verb.value)
    inputs = {
        n["id"]: n.get("value", "") for n in nodes(card) if n.get("type", "").startswith("Input.")
    }
    data = {**button["data"], **inputs, **typed}
    action = {"type": "Action.Execute", "title": button["title"], "verb": verb.value, "data": data}
    return {"action": action, "trigger": "manual"}


# --- incident cards ---------------------------------------------------------------------------

STATUSES = {
    "pending": [Verb.ACK, Verb.SNOOZE, Verb.RESOLVE, Verb.SILENCE],
    "open": [Verb.ACK, Verb.SNOOZE, Verb.RESOLVE, Verb.SILENCE],
    "acknowledged": [Verb.UNACK, Verb.SNOOZE, Verb.RESOLVE, Verb.SILENCE],
    "resolved": [Verb.REOPEN],
    "merged": [],
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_incident_cards_are_valid_with_the_buttons_of_their_status(
    schema: Path, status: str, count: int
) -> None:
    card = content(
        incident(
            status=status,
            examples=[example(i) for i in range(count)],
            acknowledged_by="Ana" if status == "acknowledged" else "",
            resolved_by="Ben" if status == "resolved" else "",
            merged_into=3 if status == "merged" else None,
            snoozed_until="2026-03-10T10:05:00+00:00" if status == "acknowledged" else None,
        )
    )
    check_card(card, schema)
    assert card["version"] == "1.5"
    assert verbs(card) == [v.value for v in STATUSES[status]]
    assert len([t for t in markdown_texts(card) if "[Open post](https://" in t]) == count
    for button in of_type(card, "Action.Execute"):
        assert button["data"] == {"incident": 7}
        assert button["fallback"]["data"] == {"incident": 7, "verb": button["verb"]}


def test_a_card_made_by_card_of_renders(schema: Path) -> None:
    policy = IncidentPolicy()
    top = len(policy.levels) - 1
    made = card_of(
        Incident(
            id=7,
            brand="kestrel",
            topic="#kestreldown",
            theme="cancelled",
            status=Status.ACKNOWLEDGED,
            level=top,
            policy=policy,
            opened_at=NOW,
            updated_at=NOW,
            risk=80,
            peak_risk=85,
            explanation="80: 120 negative mentions in 1 h",
            mention_count=120,
            acknowledged_by="Ana",
            snoozed_until=NOW + timedelta(hours=1),
            trend=(1, 2, 3),
            examples=(example(0),),
        ),
        "Kestrel Mobile",
    )
    card = content(made)
    check_card(card, schema)
    assert card["body"][0]["style"] == "attention"
    assert verbs(card) == [
        Verb.UNACK.value,
        Verb.SNOOZE.value,
        Verb.RESOLVE.value,
        Verb.SILENCE.value,
    ]
    assert AT_10_05 in card["body"][-1]["text"]


def test_the_header_is_coloured_by_level_and_status() -> None:
    def header(**changes: Any) -> tuple[str, str]:
        box = content(incident(**changes))["body"][0]
        return box["style"], box["items"][0]["inlines"][0]["color"]

    assert header() == ("warning", "warning")
    assert header(top_level=True, level="crisis") == ("attention", "attention")
    assert header(status="resolved", resolved_by="Ben", top_level=True) == ("good", "good")
    text = content(incident(topic="#kestreldown"))["body"][0]["items"][0]["inlines"][0]["text"]
    assert text == "ALERT · Kestrel Mobile · #kestreldown"


def test_facts_status_line_and_snooze_choices() -> None:
    card = content(incident(acknowledged_by="Ana", snoozed_until="2026-03-10T10:05:00+00:00"))
    facts = {f["title"]: f["value"] for f in of_type(card, "FactSet")[0]["facts"]}
    assert facts == {
        "Incident": "#7 · open",
        "Theme": "not working",
        "Negative mentions": "30",
        "Last hour (5 min)": "▁▂▂▅█",
    }
    status = card["body"][-1]["text"]
    assert status.startswith("Opened {{DATE(2026-03-10T09:05:00Z, SHORT)}} {{TIME(")
    assert "acknowledged by Ana" in status
    assert f"snoozed until {AT_10_05}" in status  # a date too: a snooze may end tomorrow
    (choices,) = of_type(card, "Input.ChoiceSet")
    assert [c["value"] for c in choices["choices"]] == ["30", "60", "240", "1440"]
    assert [c["title"] for c in choices["choices"]] == ["30 min", "1 h", "4 h", "24 h"]


def test_huge_incidents_are_cut_to_fit_teams(schema: Path) -> None:
    huge = incident(
        brand="B" * 400,
        topic="#" + "t" * 400,
        explanation="99: " + "word " * 6000,
        examples=[example(i, author="a" * 300, text="x " * 20_000) for i in range(3)],
        acknowledged_by="n" * 300,
    )
    attachment = card_attachment(huge)
    card = attachment["content"]
    check_card(card, schema)
    assert len(json.dumps(attachment)) <= MAX_ATTACHMENT_BYTES < MAX_MESSAGE_BYTES
    runs = [r["text"] for block in of_type(card, "RichTextBlock") for r in block["inlines"]]
    assert any(r.endswith("…") and len(r) < 2_100 for r in runs)
    assert len(card["body"][0]["items"][0]["inlines"][0]["text"]) <= 150


def test_the_size_is_counted_as_teams_counts_it_the_whole_activity_in_utf16() -> None:
    assert payload_size({"text": "abc"}) == 2 * len('{"text": "abc"}')
    assert payload_size({"text": "日本"}) == payload_size({"text": "ab"})  # not \\u escapes
    assert payload_size({"text": "🔥"}) == payload_size({"text": "ab"})  # a surrogate pair
    assert attachment_size({"x": 1}) == payload_size(
        {"contentType": CONTENT_TYPE, "content": {"x": 1}}
    )
    assert MAX_ATTACHMENT_BYTES + ENVELOPE_BYTES < MAX_MESSAGE_BYTES


def test_a_card_in_japanese_is_not_cut_for_escapes_teams_never_counts(schema: Path) -> None:
    """Each character outside ASCII is 6 or 12 characters as a ``\\u`` escape, but 2 or 4 bytes
    for Teams: a card in Japanese keeps its excerpts as whole as one in English."""
    text = "電波が朝から全く入らない。" * 150  # 1,950 characters
    card = content(incident(examples=[example(i, text=text) for i in range(3)]))
    check_card(card, schema)
    runs = [r["text"] for block in of_type(card, "RichTextBlock") for r in block["inlines"]]
    assert runs.count(f": {text}") == 3
    assert attachment_size(card) <= MAX_ATTACHMENT_BYTES


def test_user_text_is_inert(schema: Path) -> None:
    hostile = incident(
        topic="#[x](https://evil.example)",
        acknowledged_by="*Ana*](https://evil.example)",
        examples=[example(0, author=HOSTILE, text=HOSTILE, url="javascript:alert(1)")],
    )
    card = content(hostile)
    check_card(card, schema)
    runs = [r["text"] for block in of_type(card, "RichTextBlock") for r in block["inlines"]]
    assert any("**bold** _it_ [click](javascript:alert(1))" in r for r in runs)  # as typed
    assert not any("{{DATE(2017" in r for r in runs)  # no date function in a TextRun
    for text in markdown_texts(card):
        assert "javascript:" not in text
        assert "evil.example)" not in text.replace("\\)", "")
        assert "**bold**" not in text
    assert "acknowledged by \\*Ana\\*\\]\\(https://evil.example\\)" in card["body"][-1]["text"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/a b(c)", "https://x.example/a%20b%28c%29"),
        ("http://x.example/[1]", "http://x.example/%5B1%5D"),
        ("javascript:alert(1)", ""),
        ("ftp://x.example", ""),
        ("https://" + "a" * 600, ""),
    ],
)
def test_links_are_http_and_cannot_break_out_of_markdown(url: str, expected: str) -> None:
    assert safe_url(url) == expected


def test_line_breaks_are_ones_teams_shows() -> None:
    answer = "**Open incidents**\n#1 Kestrel\n\n  top themes: signal\n"
    assert line_breaks(answer) == "**Open incidents**\n\n#1 Kestrel\n\n  top themes: signal"
    assert line_breaks("one line") == "one line"


def test_escape_and_cut() -> None:
    assert escape("- a *b* [c](d) {{x}}") == "\\- a \\*b\\* \\[c\\]\\(d\\) \\{\\{x\\}\\}"
    assert escape("1. line\nnext") == "1\\. line next"
    assert cut("one two three", 9) == "one two…"
    assert cut("short", 9) == "short"


# --- drafts cards -----------------------------------------------------------------------------

BUTTONS = {
    DraftState.PROPOSED: [Verb.APPROVE, Verb.EDIT, Verb.REJECT],
    DraftState.FAILED: [Verb.RETRY, Verb.EDIT, Verb.REJECT],  # fix the text, or drop it
}


@pytest.mark.parametrize("state", ALL_STATES)
def test_each_draft_state_renders_valid_with_its_buttons(schema: Path, state: DraftState) -> None:
    card = content(drafts([state]))
    check_card(card, schema)
    assert verbs(card) == [v.value for v in BUTTONS.get(state, [])]
    for button in of_type(card, "Action.Execute"):
        assert button["data"] == {"draft": 10, "version": 2}
    texts = " ".join(markdown_texts(card))
    expected = {
        DraftState.PROPOSED: f"Proposed · expires {AT_13_05} · edited by Ana",
        DraftState.PUBLISHING: f"Approved by Ben at {AT_09_05} · publishing",
        DraftState.PUBLISHED: f"published {AT_09_05} — [view reply](https://",
        DraftState.APPROVED: "copy the text and [open the post](https://mastodon.example/@pix/1)",
        DraftState.FAILED: "publishing failed: off-brand",
        DraftState.REJECTED: f"Rejected by Ben at {AT_09_05}: off-brand",
        DraftState.EXPIRED: f"Expired at {AT_13_05}",
        DraftState.WITHDRAWN: "Withdrawn: Ben approved another draft",
    }[state]
    assert expected in texts


def test_draft_buttons_name_the_database_that_posted_them(schema: Path) -> None:
    card = content({**drafts([DraftState.PROPOSED]), "install": "6b663e7f"})
    check_card(card, schema)
    for button in of_type(card, "Action.Execute"):
        assert button["data"] == {"draft": 10, "version": 2, "install": "6b663e7f"}


def test_a_proposed_draft_is_an_editable_text_box_with_its_count(schema: Path) -> None:
    card = content(drafts([DraftState.PROPOSED, DraftState.REJECTED]))
    (box,) = [n for n in of_type(card, "Input.Text") if n["id"] == "text-10"]
    assert box["value"] == "Sorry about that, we are on it."
    assert box["isMultiline"] is True
    assert "maxLength" not in box  # Mastodon counts a link 23, whatever its length
    assert "36/500 characters" in " ".join(markdown_texts(card))
    assert any("no live count" in t and "when you save" in t for t in markdown_texts(card))
    (reason,) = [n for n in of_type(card, "Input.Text") if n["id"] == "reason-10"]
    assert reason["maxLength"] == 500
    reject = next(n for n in of_type(card, "Action.ShowCard") if n["title"] == "Reject…")
    assert [a["verb"] for a in reject["card"]["actions"]] == [Verb.REJECT.value]
    assert "text-11" not in json.dumps(card)  # only proposed drafts are editable


@pytest.mark.parametrize(
    ("platform", "limit", "unit", "max_length"),
    [
        ("reddit", 10_000, "characters", 10_000),
        ("web", 500, "characters", 500),
        ("mastodon", 500, "characters", None),
        ("bluesky", 300, "graphemes", None),
        ("x", 280, "weighted characters", None),
    ],
)
def test_max_length_only_where_the_platform_counts_plain_characters(
    platform: str, limit: int, unit: str, max_length: int | None
) -> None:
    card = content(drafts([DraftState.PROPOSED], platform=platform, limit=limit, unit=unit))
    (box,) = of_type(card, "Input.Text")[:1]
    assert box.get("maxLength") == max_length


def test_a_holding_statement_has_its_own_heading(schema: Path) -> None:
    card = content(
        drafts([DraftState.PROPOSED], kind=DraftKind.STATEMENT, author="", url="", excerpt="")
    )
    check_card(card, schema)
    assert card["body"][0]["text"].startswith("**📣 Holding statement** for #7 (500 characters")
    assert card["fallbackText"] == "#7 holding statement draft for Kestrel Mobile"


def test_a_statement_of_several_names_its_language_and_an_older_card_still_renders(
    schema: Path,
) -> None:
    """One statement per language: keyed (``native_id``) and headed by its language. A card
    stored before there were several has no ``language``."""
    blank = {"author": "", "url": "", "excerpt": ""}
    french = drafts([DraftState.PROPOSED], kind=DraftKind.STATEMENT, native_id="fr", **blank)
    card = content(french)
    check_card(card, schema)
    assert card["body"][0]["text"].startswith("**📣 Holding statement in French** for #7 (")
    assert card["fallbackText"] == "#7 holding statement draft for Kestrel Mobile (French)"
    older = drafts([DraftState.PROPOSED], kind=DraftKind.STATEMENT, **blank)
    del older["language"]
    assert content(older)["fallbackText"] == "#7 holding statement draft for Kestrel Mobile"


def test_the_heading_quotes_the_post_and_escapes_its_author(schema: Path) -> None:
    card = content(drafts([DraftState.PROPOSED], author="ann_*x*", excerpt=HOSTILE))
    check_card(card, schema)
    heading = card["body"][0]["text"]
    assert "**@ann\\_\\*x\\***" in heading
    assert "[Open post](https://mastodon.example/@pix/1)" in heading
    assert card["body"][1]["inlines"][0]["text"].startswith("**bold** _it_")
    assert not any("**bold**" in t for t in markdown_texts(card))


def test_many_long_drafts_still_fit_and_never_show_a_cut_text_as_editable(schema: Path) -> None:
    long_text = "word " * 1_900  # 9,500 characters: a Reddit reply near its limit
    card_json = drafts([DraftState.PROPOSED] * 12, platform="reddit", limit=10_000, text=long_text)
    attachment = card_attachment(card_json)
    card = attachment["content"]
    check_card(card, schema)
    assert attachment_size(card) <= MAX_ATTACHMENT_BYTES
    boxes = [b["id"] for b in of_type(card, "Input.Text") if b["id"].startswith("text-")]
    assert boxes == [f"text-{10 + n}" for n in range(len(boxes))]  # the first keep their box
    assert 1 <= len(boxes) < 12
    # nobody approves (or edits) what they cannot read whole: only the boxed ones
    assert verbs(card).count(Verb.APPROVE.value) == verbs(card).count(Verb.EDIT.value)
    assert verbs(card).count(Verb.APPROVE.value) == len(boxes)
    assert verbs(card).count(Verb.REJECT.value) == 12
    assert markdown_texts(card).count(CUT_NOTE) == 12 - len(boxes)


def test_a_long_draft_shown_whole_keeps_approve_when_text_boxes_do_not_fit(schema: Path) -> None:
    text = "word " * 30  # 150 characters: whole even at the smallest size
    card = content(drafts([DraftState.PROPOSED] * 12, platform="reddit", limit=10_000, text=text))
    check_card(card, schema)
    assert verbs(card).count(Verb.APPROVE.value) == 12  # these fit as text boxes, all editable
    crowded = drafts(
        [DraftState.PROPOSED] * 12, platform="reddit", limit=10_000, text="word " * 1_900
    )
    crowded["drafts"][-1]["text"] = text
    card = content(crowded)
    boxes = [b["id"] for b in of_type(card, "Input.Text") if b["id"].startswith("text-")]
    assert "text-21" not in boxes  # the last one: read-only, but shown whole
    assert verbs(card).count(Verb.APPROVE.value) == len(boxes) + 1


def test_long_reasons_notes_and_names_are_cut(schema: Path) -> None:
    card_json = drafts([DraftState.FAILED, DraftState.REJECTED, DraftState.PROPOSED])
    for draft in card_json["drafts"]:
        draft.update(reason="error " * 20_000, decided_by="n" * 5_000, notes=["note " * 9_000] * 50)
    card = content(card_json)
    check_card(card, schema)
    states = [t for t in markdown_texts(card) if "failed:" in t or "Rejected by" in t]
    assert len(states) == 2
    assert all(len(t) < 1_000 and "…" in t for t in states)


def test_drafts_beyond_what_fits_are_counted_not_dropped_silently() -> None:
    card = content(drafts([DraftState.PROPOSED] * 30, platform="reddit", limit=10_000))
    shown = {n["id"] for n in of_type(card, "Input.Text") if n["id"].startswith("text-")}
    assert len(shown) == 12
    assert "18 more drafts are not shown here." in markdown_texts(card)


def test_one_short_editable_draft_keeps_its_whole_text() -> None:
    text = "x" * 9_999
    card = content(drafts([DraftState.PROPOSED], platform="reddit", limit=10_000, text=text))
    (box,) = [n for n in of_type(card, "Input.Text") if n["id"] == "text-10"]
    assert box["value"] == text


# --- the checker ------------------------------------------------------------------------------


def test_check_card_refuses_what_teams_would_not_take(schema: Path) -> None:
    good = content(incident())
    check_card(good, schema)

    misspelt = copy.deepcopy(good)
    misspelt["body"][2]["type"] = "FactSett"
    with pytest.raises(InvalidCard, match="body/2"):
        check_card(misspelt, schema)

    unknown_key = copy.deepcopy(good)
    unknown_key["body"][1]["txt"] = "typo"
    with pytest.raises(InvalidCard):
        check_card(unknown_key, schema)

    no_fallback = copy.deepcopy(good)
    del no_fallback["actions"][0]["fallback"]
    with pytest.raises(InvalidCard, match="fallback"):
        check_structure(no_fallback)

    twice = copy.deepcopy(good)
    twice["body"].append({"type": "Input.Text", "id": "snooze_minutes"})
    with pytest.raises(InvalidCard, match="unique"):
        check_structure(twice)

    old = {**good, "version": "1.6"}
    with pytest.raises(InvalidCard, match=r"1\.5"):
        check_structure(old)

    too_big = {**good, "body": [{"type": "TextBlock", "text": "x" * 30_000}]}
    with pytest.raises(InvalidCard, match="bytes"):
        check_structure(too_big)


def test_check_card_says_where_the_schema_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="schema_path"):
        check_card(content(incident()), tmp_path / "absent.json")


# --- clicks -----------------------------------------------------------------------------------


def test_every_incident_button_parses_back_to_its_action() -> None:
    card = content(incident())
    assert parse_invoke(click(card, Verb.ACK)) == TeamsAction(Verb.ACK, incident=7)
    assert parse_invoke(click(card, Verb.SNOOZE)) == TeamsAction(
        Verb.SNOOZE, incident=7, minutes=60
    )
    assert parse_invoke(click(card, Verb.SNOOZE, snooze_minutes="1440")).minutes == 1440
    assert parse_invoke(click(card, Verb.RESOLVE)).verb is Verb.RESOLVE
    assert parse_invoke(click(card, Verb.SILENCE)).incident == 7
    reopen = content(incident(status="resolved", resolved_by="Ben"))
    assert parse_invoke(click(reopen, Verb.REOPEN)) == TeamsAction(Verb.REOPEN, incident=7)


def test_every_draft_button_parses_back_to_its_action() -> None:
    card = content(drafts([DraftState.PROPOSED, DraftState.PROPOSED, DraftState.FAILED]))
    approve = parse_invoke(click(card, Verb.APPROVE))
    assert approve == TeamsAction(
        Verb.APPROVE, draft=10, version=2, text="Sorry about that, we are on it."
    )
    edit = parse_invoke(click(card, Verb.EDIT, **{"text-10": "Better\r\nreply", "text-11": "n"}))
    assert edit == TeamsAction(Verb.EDIT, draft=10, version=2, text="Better\nreply")
    reject = parse_invoke(click(card, Verb.REJECT, **{"reason-10": "  wrong\n tone "}))
    assert reject == TeamsAction(Verb.REJECT, draft=10, version=2, reason="wrong tone")
    retry = parse_invoke(click(card, Verb.RETRY))  # the box comes along, as with Approve
    assert retry == TeamsAction(
        Verb.RETRY, draft=12, version=2, text="Sorry about that, we are on it."
    )
    fixed = parse_invoke(click(card, Verb.RETRY, **{"text-12": "Fixed\r\ntext"}))
    assert fixed == TeamsAction(Verb.RETRY, draft=12, version=2, text="Fixed\ntext")


def test_the_submit_fallback_parses_to_the_same_action() -> None:
    card = content(drafts([DraftState.PROPOSED, DraftState.PROPOSED]))
    button = next(n for n in of_type(card, "Action.Execute") if n["verb"] == Verb.EDIT.value)
    value = {**button["fallback"]["data"], "text-10": "new", "text-11": "other"}
    assert parse_submit(value) == TeamsAction(Verb.EDIT, draft=10, version=2, text="new")
    assert parse_submit({"incident": 4, "verb": "vigie.ack"}) == TeamsAction(Verb.ACK, incident=4)


def test_the_documented_teams_shape_is_read_and_its_foreign_verb_refused() -> None:
    captured = {  # microsoft/teams.net TeamsActivityTests.cs: a card of someone else's
        "action": {
            "type": "Action.Execute",
            "title": "Submit Feedback",
            "data": {"feedback": "test invokes"},
        },
        "trigger": "manual",
    }
    with pytest.raises(InvalidAction, match="unknown verb None"):
        parse_invoke(captured)
    captured["action"] = {**captured["action"], "verb": "vigie.ack", "data": {"incident": 9}}  # type: ignore[dict-item]
    assert parse_invoke(captured) == TeamsAction(Verb.ACK, incident=9)
    del captured["trigger"]  # Outlook and old clients may leave it out
    assert parse_invoke(captured).incident == 9


def execute(verb: str, data: Any, **value: Any) -> dict[str, Any]:
    action = {"type": "Action.Execute", "verb": verb, "data": data}
    return {"action": action, "trigger": "manual", **value}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "should be an object"),
        ([], "should be an object"),
        ({"trigger": "manual"}, "value.action should be an object"),
        (execute("vigie.ack", {"incident": 1}, trigger="automatic"), "not a click"),
        ({"action": {"type": "Action.Submit", "verb": "vigie.ack", "data": {}}}, "Execute"),
        (execute("vigie.nuke", {"incident": 1}), "unknown verb"),
        (execute("vigie.ack", "incident=1"), "action.data should be an object"),
        (execute("vigie.ack", {}), "incident should be a whole number"),
        (execute("vigie.ack", {"incident": "1"}), "whole number"),
        (execute("vigie.ack", {"incident": True}), "whole number"),
        (execute("vigie.ack", {"incident": 1.5}), "whole number"),
        (execute("vigie.ack", {"incident": -3}), "out of range"),
        (execute("vigie.ack", {"incident": 0}), "out of range"),
        (execute("vigie.ack", {"incident": 10**30}), "out of range"),
        (execute("vigie.snooze", {"incident": 1}), "snooze minutes None"),
        (execute("vigie.snooze", {"incident": 1, "snooze_minutes": "45"}), "not one of"),
        (execute("vigie.snooze", {"incident": 1, "snooze_minutes": "-30"}), "not one of"),
        (execute("vigie.snooze", {"incident": 1, "snooze_minutes": True}), "not one of"),
        (execute("vigie.snooze", {"incident": 1, "snooze_minutes": "9" * 10_000}), "not one of"),
        (execute("vigie.draft.approve", {"draft": 1}), "version"),
        (execute("vigie.draft.approve", {"draft": 1, "version": -1}), "out of range"),
        (execute("vigie.draft.approve", {"draft": 1, "version": 1, "text-1": 5}), "text"),
        (execute("vigie.draft.edit", {"draft": 1, "version": 1}), "text-1 should be text"),
        (execute("vigie.draft.edit", {"draft": 1, "version": 1, "text-1": " \n"}), "empty"),
        (
            execute("vigie.draft.edit", {"draft": 1, "version": 1, "text-1": "x" * (MAX_TEXT + 1)}),
            "at most",
        ),
        (execute("vigie.draft.reject", {"draft": 1, "version": 1, "reason-1": ["no"]}), "text"),
        (
            execute("vigie.draft.reject", {"draft": 1, "version": 1, "reason-1": "x" * 5_000}),
            "at most",
        ),
    ],
)
def test_malformed_clicks_are_refused_clearly(value: Any, message: str) -> None:
    with pytest.raises(InvalidAction, match=message):
        parse_invoke(value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["incident", "draft", "version", "snooze_minutes", "text-1", "reason-1", "verb"]
)
NEAR_MISS = st.fixed_dictionaries(
    {
        "action": st.fixed_dictionaries(
            {
                "type": st.sampled_from(["Action.Execute", "Action.Submit"]) | JSON,
                "verb": st.sampled_from([v.value for v in Verb]) | JSON,
                "data": st.dictionaries(KEYS | st.text(max_size=8), JSON, max_size=6) | JSON,
            }
        ),
        "trigger": st.sampled_from(["manual", "automatic"]) | JSON,
    }
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, NEAR_MISS))
def test_arbitrary_json_gives_an_action_or_invalid_action(value: Any) -> None:
    try:
        action = parse_invoke(value)
    except InvalidAction:
        return
    assert isinstance(action, TeamsAction)
    assert (action.incident is None) == action.verb.on_draft
    assert (action.draft is None) != action.verb.on_draft


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_arbitrary_submit_values_give_an_action_or_invalid_action(value: Any) -> None:
    with contextlib.suppress(InvalidAction):
        parse_submit(value)


def test_follower_counts_read_as_in_the_risk_explanation() -> None:
    assert [_compact(n) for n in (950, 2_240, 999_950, 1_000_000, 999_999_999)] == [
        "950",
        "2.2k",
        "1M",
        "1M",
        "1B",
    ]


def test_an_approved_text_to_post_by_hand_is_shown_whole(schema: Path) -> None:
    """Someone copies it to post it on Reddit: cut, it would be pasted cut."""
    text = " ".join(f"w{n}" for n in range(1500))  # 6,889 characters
    card = content(drafts([DraftState.APPROVED], platform="reddit", text=text, limit=10_000))
    check_card(card, schema)
    shown = json.dumps(card)
    assert text in shown
    assert "Shown cut" not in shown


def test_any_draft_shown_cut_says_so() -> None:
    text = " ".join(f"w{n}" for n in range(1500))
    card = drafts([DraftState.APPROVED, DraftState.REJECTED], text=text, platform="reddit")
    shown = " ".join(markdown_texts(content({**card, "drafts": card["drafts"] * 12})))
    assert "Shown cut: too long for this Teams card. The whole text is in the decision log" in shown


def test_when_not_every_text_box_fits_the_first_drafts_keep_theirs(schema: Path) -> None:
    """All drafts lost Approve and Edit at once when their boxes did not all fit."""
    text = ("word " * 3000)[:5000]
    card = content(drafts([DraftState.PROPOSED] * 6, platform="reddit", limit=10_000, text=text))
    check_card(card, schema)
    boxes = [n["id"] for n in of_type(card, "Input.Text") if str(n["id"]).startswith("text-")]
    assert 1 <= len(boxes) < 6
    assert boxes == [f"text-{10 + n}" for n in range(len(boxes))]  # the first ones
    approve = [a for a in of_type(card, "Action.Execute") if a["verb"] == Verb.APPROVE.value]
    assert len(approve) == len(boxes)


# --- moments and who snoozed --------------------------------------------------------------------


def test_a_snooze_a_day_ahead_shows_its_date_and_who_snoozed() -> None:
    """A 24 h snooze read "snoozed until 09:05" (today's 09:05 or tomorrow's?) and did not say
    who snoozed it: the date, then the person by their display name, escaped."""
    names = {"29:ana": "Ana *Lima*", "29:ben": "Ben"}
    card = incident(
        status="acknowledged",
        acknowledged_by="29:ben",
        snoozed_until="2026-03-11T09:05:00+00:00",
        snoozed_by="29:ana",
    )
    status = incident_adaptive_card(card, lambda who: names.get(who, who))["body"][-1]["text"]
    assert status.endswith(
        "acknowledged by Ben · snoozed until {{DATE(2026-03-11T09:05:00Z, SHORT)}} "
        "{{TIME(2026-03-11T09:05:00Z)}} by Ana \\*Lima\\*"
    )
    older = {k: v for k, v in card.items() if k != "snoozed_by"}  # a card stored before
    assert content(older)["body"][-1]["text"].endswith("{{TIME(2026-03-11T09:05:00Z)}}")


def test_a_drafts_expiry_a_day_ahead_shows_its_date() -> None:
    card = drafts([DraftState.PROPOSED])
    card["drafts"][0]["expires_at"] = "2026-03-11T09:05:00+00:00"  # posted at 09:05 the day before
    texts = " ".join(markdown_texts(content(card)))
    stamp = "2026-03-11T09:05:00Z"
    assert f"Proposed · expires {{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}" in texts


@pytest.mark.parametrize("state", [DraftState.PROPOSED, DraftState.FAILED])
def test_what_the_unsaved_edit_refusals_tell_to_press_is_a_button_of_the_card(
    state: DraftState,
) -> None:
    """ "save it with X first": X is the title of the button that saves the text box."""
    titles = {n["title"]: n["verb"] for n in of_type(content(drafts([state])), "Action.Execute")}
    for message in UNSAVED.values():
        named = message.split("save it with ", 1)[1].split(" first", 1)[0]
        assert titles.get(named) == Verb.EDIT.value, message
