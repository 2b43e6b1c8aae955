"""A reply is measured as it is published: on Mastodon with the author's handle put in front when
the text does not name them, by the same rule the Mastodon source publishes with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.playbook import Playbook
from bot.drafts.addressing import addressee_of, as_published
from bot.drafts.cards import drafts_card
from bot.drafts.compose import check, compose
from bot.drafts.limits import limit_for
from bot.drafts.model import Draft, DraftKind, DraftSet, DraftState, Target

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MASTODON = limit_for("mastodon", 500)
TEXT = "x" * 494  # fits alone; 509 characters once "@ana@m.example " is put in front


def test_check_counts_the_handle_put_in_front() -> None:
    assert check(TEXT, limit=MASTODON, language="en", banned=()) == []  # no author: as typed
    assert check(TEXT, limit=MASTODON, language="en", banned=(), author="ana@m.example") == [
        "is 509 characters; Mastodon takes 500, counting the “@ana@m.example” put in front to "
        "notify the author"
    ]
    named = "@ana@m.example " + TEXT[:485]
    assert check(named, limit=MASTODON, language="en", banned=(), author="ana@m.example") == []
    bluesky = limit_for("bluesky")
    assert check("y" * 300, limit=bluesky, language="en", banned=(), author="ana") == []


def test_a_longer_handle_that_starts_alike_does_not_name_the_author() -> None:
    text = "@anabel " + TEXT[:490]  # 498: and "@ana " goes in front on Mastodon
    assert check(text, limit=MASTODON, language="en", banned=(), author="ana")


def test_the_card_shows_the_length_as_published() -> None:
    target = Target("mastodon", 500, "characters", "test", "m1", author="ana@m.example")
    drafts = DraftSet(1, 7, "acme", DraftKind.REPLY, target, T0)
    draft = Draft(
        1, 1, 7, "acme", "dm", "en", "delay", TEXT, DraftState.PROPOSED, T0, T0 + timedelta(1)
    )
    [shown] = drafts_card(drafts, [draft], "Acme")["drafts"]
    assert (shown["text"], shown["length"]) == (TEXT, 509)


@pytest.mark.parametrize(
    "text",
    [
        "@ana " + TEXT[:495],  # on another instance "@ana" is a local stranger, or nobody
        "@ana@evil.example " + TEXT[:482],
        "@ana@m.example.evil " + TEXT[:480],
    ],
)
def test_only_the_full_handle_names_a_mastodon_author(text: str) -> None:
    assert as_published(text, "mastodon", "ana@m.example") == f"@ana@m.example {text}"
    assert check(text, limit=MASTODON, language="en", banned=(), author="ana@m.example")


def test_the_full_handle_names_the_author_in_any_case_and_before_punctuation() -> None:
    text = "Thanks @Ana@M.Example."
    assert as_published(text, "mastodon", "@ana@m.example") == text


@pytest.mark.parametrize(
    ("author", "platform"),
    [
        ("did:plc:abcd1234efgh5678", "bluesky"),
        ("1234567890", "x"),
        ("did:web:a.example", "bluesky"),
    ],
)
def test_a_machine_id_is_no_one_to_greet(author: str, platform: str) -> None:
    assert addressee_of(author, platform) == ""
    assert as_published("Sorry!", platform, author) == "Sorry!"
    assert as_published("Sorry!", "mastodon", author) == "Sorry!"
    playbook = Playbook()
    [draft, *_] = compose(
        playbook,
        "Kestrel",
        text="Kestrel is down again",
        author=author,
        language="en",
        limit=limit_for(platform),
    ).drafts
    assert "did:" not in draft.text
    assert "@" not in draft.text


def test_a_handle_with_digits_is_still_a_name() -> None:
    assert addressee_of("ana2000", "x") == "@ana2000"
