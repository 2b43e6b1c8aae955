"""Cue matching details: the sarcastic "great job", blanking kind words, a brand's own phrases."""

from __future__ import annotations

import pytest

from bot.complaints import CueMatcher, clean
from bot.model import LanguageGuess, Sentiment
from bot.negativity import NegativityScorer

EN = LanguageGuess("en", 1.0)


@pytest.fixture(scope="module")
def matcher() -> CueMatcher:
    return CueMatcher()


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


def _counts(matcher: CueMatcher, text: str) -> dict[str, int]:
    hits = matcher.find(clean(text))
    return {group: count for group, count in zip(matcher.groups, hits.counts, strict=True) if count}


# "great job" is sarcastic only when its own clause names a problem


@pytest.mark.parametrize(
    "text",
    [
        "Great job! Not a single problem.",
        "great job, never had a smoother flight",
        "Great job to the crew, I have no complaints",
        "great job no issues at all",  # a "no" that denies a problem is sincere
        "Great job with the no-fee transfers, Wise",
        "Great job Monzo never disappoints",
    ],
)
def test_sincere_great_job_is_not_sarcasm(
    matcher: CueMatcher, scorer: NegativityScorer, text: str
) -> None:
    counts = _counts(matcher, text)
    assert "sarcasm" not in counts
    assert "bad_service" not in counts  # "no complaints" stays denied
    assert scorer.score(text, EN).sentiment is not Sentiment.NEGATIVE


def test_great_job_does_not_swallow_the_problems_after_it(matcher: CueMatcher) -> None:
    counts = _counts(
        matcher, "great job, flight delayed 3 hours, bag lost, no refund, nobody answers"
    )
    for group in ("waiting", "duration", "lost", "money", "unreachable"):
        assert counts.get(group) == 1, group


def test_sarcastic_great_job_blanks_only_itself(matcher: CueMatcher) -> None:
    hits = matcher.find(clean("great job delaying my flight again"))
    counts = dict(zip(matcher.groups, hits.counts, strict=True))
    assert hits.examples[matcher.groups.index("sarcasm")] == "great job"
    assert counts["sarcasm"] == 1
    assert counts["waiting"] == 1  # "delaying" is still read
    assert "great job" not in hits.literal
    assert "delaying my flight" in hits.literal


# kind words beside sarcasm are blanked after the negations are read, whole words only


def test_a_blanked_kind_word_does_not_move_the_negations(matcher: CueMatcher) -> None:
    with_thanks = matcher.find(clean("so much for fast delivery, thanks. no more delays they said"))
    without = matcher.find(clean("so much for fast delivery. no more delays they said"))
    waiting = matcher.groups.index("waiting")
    assert with_thanks.counts[waiting] == without.counts[waiting] == 0
    assert with_thanks.denied == without.denied == 1


def test_a_blanked_kind_word_is_not_cut_out_of_other_words(matcher: CueMatcher) -> None:
    hits = matcher.find(clean("so much for the quick refund, it's fun"))
    assert "refund" in hits.literal
    assert " fun" not in hits.literal
    assert hits.counts[matcher.groups.index("money")] == 1


# a brand's own phrases are read as the text is


def test_brand_phrases_are_written_as_cleaned_text() -> None:
    matcher = CueMatcher({"not_working": ["phone won\u2019t boot", "Wi-Fi  KO"]})
    assert _counts(matcher, "my phone won\u2019t boot") == {"not_working": 1}
    assert _counts(matcher, "my phone won't boot") == {"not_working": 1}
    assert _counts(matcher, "wi-fi ko since monday") == {"not_working": 1}


def test_brand_phrases_ending_or_starting_with_a_symbol() -> None:
    matcher = CueMatcher({"not_working": ["no signal!", "#kestreldown"]})
    assert _counts(matcher, "no signal! since monday")["not_working"] == 1
    assert _counts(matcher, "no signal!")["not_working"] == 1
    assert _counts(matcher, "big outage #kestreldown today")["not_working"] == 2
    assert "not_working" not in _counts(matcher, "no signals here")  # still a whole word


def test_a_brand_phrase_with_nothing_left_once_cleaned_is_ignored() -> None:
    matcher = CueMatcher({"not_working": ["@kestrel", "  "]})
    assert _counts(matcher, "hello @kestrel") == {}


@pytest.mark.parametrize(
    "text", ["great job losing my bag", "great job never calling back", "great job not answering"]
)
def test_great_job_naming_a_problem_is_sarcasm(matcher: CueMatcher, text: str) -> None:
    assert _counts(matcher, text).get("sarcasm") == 1


def test_every_shared_cue_is_found_by_its_literal_prefix() -> None:
    """A cue with no literal prefix (a nested group, say) goes to the regex tried over every
    text: a few per cent of the scorer's speed each. Anchored cues are tried once, at the start."""
    from bot.complaints import CUE_GROUPS, _literal_prefixes

    slow = [
        pattern
        for patterns in CUE_GROUPS.values()
        for pattern in patterns
        if not pattern.startswith("^") and not _literal_prefixes(pattern)
    ]
    assert slow == []
