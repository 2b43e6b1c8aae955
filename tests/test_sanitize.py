"""A mention made safe to score and store, whatever a source sent."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model import Author, Engagement, Mention
from bot.sanitize import MAX_COUNT, clean_mention, clean_text

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
