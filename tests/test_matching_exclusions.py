"""Exclusions around a hashtag or handle mask that hit only, and masks are checked in time
that grows with the text, not with its square."""

from __future__ import annotations

import time

import pytest

from bot.matching import BrandMatch, BrandMatcher
from bot.model import Brand

APPLE = Brand(name="Apple Inc", slug="apple", hashtags=("#apple",), exclude=("apple pie",))
KESTREL = Brand(
    name="Kestrel Air", slug="kestrel", handles=("@kestrel",), exclude=("kestrel falcon",)
)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("#apple pie recipe. Also Apple Inc support is awful", ("Apple Inc",)),
        ("#apple pie recipe, then #apple is down", ("#apple",)),
        ("Apple Inc support is awful, unlike apple pie", ("Apple Inc",)),
    ],
)
def test_an_exclusion_around_a_hashtag_masks_it_and_rules_nothing_out(
    text: str, terms: tuple[str, ...]
) -> None:
    assert BrandMatcher([APPLE]).match(text) == [BrandMatch("apple", terms)]


def test_an_exclusion_around_a_handle_masks_it_and_rules_nothing_out() -> None:
    matcher = BrandMatcher([KESTREL])
    assert matcher.match("@kestrel falcon pics") == []
    assert matcher.match("@kestrel falcon pics; @kestrel my flight is cancelled") == [
        BrandMatch("kestrel", ("@kestrel",))
    ]


def _seconds(matcher: BrandMatcher, text: str) -> float:
    """The best of three runs: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        matcher.match(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_masks_are_checked_in_time_near_linear_in_the_text() -> None:
    """Ten times the text takes about ten times as long (a hundred before: 40,000 characters of
    'o2 arena' took a second); a ratio, not a duration, so a slow machine does not fail it."""
    matcher = BrandMatcher([Brand(name="O2", slug="o2", exclude=("o2 arena",))])
    small = "o2 arena " * 600 + "o2 is down"
    large = "o2 arena " * 6000 + "o2 is down"
    assert matcher.match(large) == [BrandMatch("o2", ("O2",))]
    assert _seconds(matcher, large) < 35 * _seconds(matcher, small)
