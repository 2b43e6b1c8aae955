"""A mention made safe to score and store, whatever a source sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.matching import BrandMatcher
from bot.model import Author, Brand, Engagement, Mention
from bot.sanitize import MAX_COUNT, clean_mention, clean_text, printable

AT = datetime(2026, 3, 10, 9, tzinfo=UTC)


def test_a_sound_mention_is_left_as_it_is() -> None:
    mention = Mention("s", "1", "Kestrel 😀 déçu", AT, author=Author("ana", "Ana", 12))
    assert clean_mention(mention) is mention


def test_a_lone_surrogate_becomes_a_replacement_character_and_a_pair_is_joined() -> None:
    assert clean_text("cut \ud83d") == "cut \ufffd"
    assert clean_text("whole \ud83d\ude00") == "whole 😀"
    assert clean_text("whole \ud83d\ude00").encode("utf-8")


def test_counts_stop_at_what_sqlite_stores() -> None:
    huge = Mention(
        "s", "1", "x", AT, author=Author("a", "\udfff", 2**70), engagement=Engagement(2**64, 3)
    )
    cleaned = clean_mention(huge)
    assert cleaned.author.followers == MAX_COUNT
    assert cleaned.engagement == Engagement(MAX_COUNT, 3, 0, 0)
    assert cleaned.author.name == "\ufffd"


ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[H\x9b31m\x00\r"


def test_control_characters_leave_what_is_shown_and_line_breaks_and_tabs_stay() -> None:
    """The review's post (send.py): it retitled the terminal, cleared it and drew a line."""
    mention = Mention(
        "hook",
        "esc-1",
        f"kestrel down{ESCAPES}\n\tfake: all systems normal",
        AT,
        url="https://x.example/\x1b[31mred",
        author=Author("ev\x1b[8mhidden", "Eve\x07"),
    )
    cleaned = clean_mention(mention)
    assert cleaned.text == "kestrel down]0;PWNED[2J[H31m\n\tfake: all systems normal"
    assert cleaned.url == "https://x.example/[31mred"
    assert cleaned.author == Author("ev[8mhidden", "Eve")
    assert cleaned.native_id == "esc-1"


def test_an_id_keeps_its_characters_a_reply_must_name_the_post_as_its_network_does() -> None:
    mention = Mention("hook", "odd\x1bid", "kestrel", AT, parent_id="p\x00")
    assert clean_mention(mention).native_id == "odd\x1bid"
    assert clean_mention(mention).parent_id == "p\x00"


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by U+200D, a format character
ISOLATED = "\u2066evil\u2069 \u202egnp.exe\u202c"


def test_bidi_controls_leave_handles_and_names_but_not_text_and_emoji_stay_joined() -> None:
    mention = Mention(
        "hook",
        "1",
        f"kestrel {FAMILY} {ISOLATED}",
        AT,
        author=Author(f"kestrel\u202esupport{FAMILY}", f"{ISOLATED} {FAMILY}"),
    )
    cleaned = clean_mention(mention)
    assert cleaned.text == mention.text
    assert cleaned.author.handle == f"kestrelsupport{FAMILY}"
    assert cleaned.author.name == f"evil gnp.exe {FAMILY}"


def test_a_mention_with_emoji_sequences_line_breaks_and_tabs_is_left_as_it_is() -> None:
    mention = Mention("s", "1", f"Kestrel\n\tdown {FAMILY}", AT, author=Author("ana", FAMILY))
    assert clean_mention(mention) is mention


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Kestrel\rdown again", "Kestrel\ndown again"),  # the review's cr.py: a classic Mac break
        ("line one\r\nKestrel", "line one\nKestrel"),  # Windows: one break, not two
        ("a\r\r\nb", "a\n\nb"),
        ("Kestrel\x0bdown", "Kestrel\ndown"),  # vertical tab
        ("Kestrel\x0cdown", "Kestrel\ndown"),  # form feed
        ("Kestrel\x85down", "Kestrel\ndown"),  # NEL
        ("Kestrel\x1c\x1d\x1edown", "Kestrel\n\n\ndown"),  # file, group, record separators
        ("Kestrel\x1fdown", "Kestrel down"),  # unit separator
        ("Kestrel\x1b[2J\x00down", "Kestrel[2Jdown"),  # the others go
    ],
)
def test_line_and_whitespace_controls_become_breaks_and_spaces_and_words_stay_apart(
    sent: str, kept: str
) -> None:
    mention = Mention("s", "1", f"{sent} {FAMILY}", AT, author=Author(f"ana{sent}", "Ana"))
    cleaned = clean_mention(mention)
    assert cleaned.text == f"{kept} {FAMILY}"
    assert cleaned.author.handle == f"ana{kept}"


@pytest.mark.parametrize("control", ["\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85"])
def test_a_brand_next_to_a_line_control_is_still_matched_once_cleaned(control: str) -> None:
    matcher = BrandMatcher([Brand(name="Kestrel", slug="kestrel")])
    for text in (f"Kestrel{control}down again", f"so slow{control}Kestrel"):
        cleaned = clean_mention(Mention("s", "1", text, AT)).text
        assert [match.brand for match in matcher.match(cleaned)] == ["kestrel"], repr(cleaned)


def test_marked_controls_keep_the_length_and_whitespace_ones_are_spaces() -> None:
    """What the console does with a line stored before intake cleaned it (handlers/console.py)."""
    shown = printable("Kestrel\rdown\x1b[2J\r\n\tok\x85", "\ufffd")
    assert shown == "Kestrel down\ufffd[2J \n\tok "
