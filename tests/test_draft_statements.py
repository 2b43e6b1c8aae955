"""Holding statements: one per brand language the incident's mentions use, each its own set,
so deciding on one leaves the others be; a statement stored before there were several (keyed
``native_id`` "") still loads, renders and keeps the planner from adding more."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import EventClock
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts.cards import drafts_card, drafts_title
from bot.drafts.compose import compose_statement
from bot.drafts.control import DraftControl
from bot.drafts.limits import limit_for
from bot.drafts.model import DraftKind, DraftSet, Target
from bot.drafts.planner import Reach, statement_languages
from bot.drafts.templates import ISSUES
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from handlers.slack.render_drafts import draft_blocks
from storage import drafts as store
from storage.writer import Writer
from tests.test_draft_control import no_problems
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0, Desk

FRENCH = "Acme a annulé mon vol"


def post(desk: Desk, at: datetime, language: str, text: str) -> None:
    """One negative mention in ``language`` (``Desk.post`` writes English only)."""
    desk.count += 1
    mention = Mention("test", f"m{desk.count}", text, at, author=Author(handle=f"u{desk.count}"))
    negativity = Negativity(0.95, Sentiment.NEGATIVE, -0.8, ("cancelled: “cancelled”",))
    scored = ScoredMention(
        mention, ("acme",), ("acme",), LanguageGuess(language, 1.0), negativity, at
    )
    desk.desk.store(desk.db, [scored], {}, at)


def crisis(tmp_path: Path, french_every: int) -> Desk:
    """A storm up to the top level where one mention in ``french_every`` is French."""
    desk = planned_desk(tmp_path, Reach("", None, False))
    for number in range(120):
        at = T0 + number * MIN / 4
        if number % french_every == 0:
            post(desk, at, "fr", FRENCH)
        else:
            post(desk, at, "en", "Acme cancelled my flight")
    desk.tick(T0 + 80 * MIN)
    return desk


def statements(desk: Desk) -> list[DraftSet]:
    return [s for s in store.sets_of(desk.db, 1) if s.kind is DraftKind.STATEMENT]


def test_a_bilingual_incident_gets_a_statement_per_language_most_common_first(
    tmp_path: Path,
) -> None:
    desk = crisis(tmp_path, french_every=3)
    sets = statements(desk)
    assert [s.target.native_id for s in sets] == ["en", "fr"]
    texts = [store.drafts_in(desk.db, s.id) for s in sets]
    assert [[d.language for d in drafts] for drafts in texts] == [["en"], ["fr"]]
    assert texts[1][0].text.startswith("Nous avons connaissance")
    titles = [drafts_title(drafts_card(s, d, "Acme")) for s, d in zip(sets, texts, strict=True)]
    assert titles == [
        "#1 holding statement draft for Acme (English)",
        "#1 holding statement draft for Acme (French)",
    ]
    for drafts in sets:  # each one everywhere the card is
        assert {c for _, c in store.posted_in(desk.db, drafts.id)} == {"#team", "#lead"}
    desk.tick(T0 + 120 * MIN)  # later steps add none
    assert len(statements(desk)) == 2


def test_a_language_of_few_mentions_gets_no_statement(tmp_path: Path) -> None:
    desk = crisis(tmp_path, french_every=10)
    [only] = statements(desk)
    assert only.target.native_id == ""  # the key a statement always had
    [draft] = store.drafts_in(desk.db, only.id)
    assert draft.language == "en"
    assert drafts_title(drafts_card(only, [draft], "Acme")) == (
        "#1 holding statement draft for Acme"
    )


@pytest.mark.parametrize(
    ("counts", "chosen"),
    [
        ({"en": 6, "fr": 4}, ["en", "fr"]),
        ({"en": 3, "fr": 7, "und": 20}, ["fr", "en"]),  # unknown languages do not count
        ({"en": 9, "fr": 1}, ["en"]),  # under a fifth
        ({"en": 4, "fr": 1}, ["en", "fr"]),  # a fifth exactly
        ({"de": 10}, ["en"]),  # none of the brand's: its first
        ({}, ["en"]),
    ],
)
def test_statement_languages(counts: dict[str, int], chosen: list[str]) -> None:
    assert statement_languages(counts, ("en", "fr")) == chosen


async def test_approving_one_languages_statement_leaves_the_other_proposed(
    tmp_path: Path,
) -> None:
    desk = crisis(tmp_path, french_every=3)
    english, french = (store.drafts_in(desk.db, s.id)[0].id for s in statements(desk))
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        control = DraftControl(
            writer, EventClock(T0 + 90 * MIN), ReplySettings(), {"acme": "Acme"}, no_problems
        )
        assert (await control.approve(french, 1, "UANA")).ok
        states = await writer.run(
            lambda db: db.execute(
                "SELECT id, state FROM drafts WHERE id IN (?, ?) ORDER BY id", [english, french]
            ).fetchall()
        )
        assert [tuple(row) for row in states] == [(english, "proposed"), (french, "approved")]
        assert (await control.reject(english, 1, "UBEN", "not yet")).ok
        withdrawn = await writer.run(
            lambda db: db.execute("SELECT 1 FROM decisions WHERE action = 'withdrawn'").fetchall()
        )
        assert withdrawn == []
    finally:
        writer.close()


def test_a_statement_stored_before_there_were_several_loads_and_renders(
    tmp_path: Path,
) -> None:
    desk = planned_desk(tmp_path, Reach("", None, False))
    old = DraftSet(1, 1, "acme", DraftKind.STATEMENT, Target("x", 280, "weighted characters"), T0)
    target = {"platform": "x", "limit": 280, "unit": "weighted characters"}
    desk.db.execute(  # as an older version wrote it: no language in its key or its card
        "INSERT INTO draft_sets (id, incident_id, kind, brand, source, native_id, data) "
        "VALUES (1, 1, 'statement', 'acme', '', '', ?)",
        [json.dumps({"brand": "acme", "created_at": T0.isoformat(), "target": target})],
    )
    [loaded] = store.sets_of(desk.db, 1)
    assert loaded == old
    card = drafts_card(loaded, [], "Acme")
    assert drafts_title(card) == "#1 holding statement draft for Acme"
    [heading, *_] = draft_blocks(card, "1")
    assert heading.to_dict()["text"]["text"].startswith("*📣 Holding statement* for #1")
    del card["language"]  # as a card queued by an older version
    assert drafts_title(card) == "#1 holding statement draft for Acme"
    [heading, *_] = draft_blocks(card, "1")
    assert heading.to_dict()["text"]["text"].startswith("*📣 Holding statement* for #1")


def test_a_statement_of_several_is_headed_by_its_language_in_slack() -> None:
    french = DraftSet(
        2, 1, "acme", DraftKind.STATEMENT, Target("x", 280, "weighted characters", "", "fr"), T0
    )
    [heading, *_] = draft_blocks(drafts_card(french, [], "Acme"), "1")
    assert heading.to_dict()["text"]["text"].startswith("*📣 Holding statement in French* for #1")


@pytest.mark.parametrize("theme", sorted(ISSUES["en"]))
def test_both_languages_keep_the_contact_and_sign_off_on_x(theme: str) -> None:
    """French runs longer than English: its built-in statement still fits X whole, so the two
    statements of one incident say the same things."""
    playbook = Playbook(
        sign_off={"en": "\N{EN DASH} Kestrel care team", "fr": "\N{EN DASH} L'équipe Kestrel"},
        contact="kestrel.example/help",
        status_page="https://status.kestrel.example",
    )
    for language in ("en", "fr"):
        text = compose_statement(
            playbook, "Kestrel Mobile", language=language, theme=theme, limit=limit_for("x")
        )
        assert text.notes == ()
        assert "kestrel.example/help" in text.text
        assert text.text.endswith(playbook.sign_off_in(language))
        assert "status.kestrel.example" in text.text
