"""The negativity scorer on how people really type: curly apostrophes, @handles mid-sentence,
line breaks, denied problems ("no delays") and emoji beside a brand name."""

from __future__ import annotations

import pytest

from bot.complaints import CueMatcher, clean
from bot.model import LanguageGuess, Sentiment
from bot.negativity import CLEAR, NegativityScorer, _verdict

EN = LanguageGuess("en", 0.99)
FR = LanguageGuess("fr", 0.99)


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


def cue_counts(text: str) -> dict[str, int]:
    matcher = CueMatcher()
    return dict(zip(matcher.groups, matcher.find(clean(text)).counts, strict=True))


# Curly apostrophes (an iPhone's default) read as straight ones


@pytest.mark.parametrize("apostrophe", ["\u2019", "\u2018", "\u02bc"])
def test_a_curly_apostrophe_scores_as_a_straight_one(
    scorer: NegativityScorer, apostrophe: str
) -> None:
    for text in ("The Kestrel app doesn't work", "Kestrel isn't bad at all"):
        curly = scorer.score(text.replace("'", apostrophe), EN)
        assert curly == scorer.score(text, EN), text


def test_doesnt_work_with_a_curly_apostrophe_is_a_complaint(scorer: NegativityScorer) -> None:
    result = scorer.score("The Kestrel app doesn\u2019t work", EN)
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.reasons[0] == "not working: \u201cdoesn't work\u201d"


def test_isnt_bad_with_a_curly_apostrophe_is_not_negative(scorer: NegativityScorer) -> None:
    result = scorer.score("Kestrel isn\u2019t bad at all", EN)
    assert result.sentiment is not Sentiment.NEGATIVE
    assert result.compound > 0


@pytest.mark.parametrize("hyphen", ["\u2010", "\u2011"])
def test_a_typographic_hyphen_matches_a_brand_s_cue_phrase_written_with_a_plain_one(
    hyphen: str,
) -> None:
    """A phone or a word processor keeps "Wi\u2011Fi" on one line with a non-breaking hyphen."""
    matcher = CueMatcher({"not_working": ["wi-fi dead"]})
    counts = matcher.find(clean(f"Kestrel wi{hyphen}fi dead again")).counts
    assert counts[matcher.groups.index("not_working")] == 1


# @handles and line breaks between the words of a cue


def test_clean_leaves_words_one_space_apart() -> None:
    assert clean("Thanks @KestrelMobile for nothing") == "thanks for nothing"
    assert clean("@KestrelMobile  thanks\n\nfor\tnothing https://t.co/x ") == "thanks for nothing"
    assert clean("Kestrel doesn\u2019t work") == "kestrel doesn't work"


@pytest.mark.parametrize(
    "text",
    [
        "Thanks @KestrelMobile for nothing",
        "thanks\nfor nothing kestrel",
        "Thanks  for   nothing, Kestrel",
    ],
)
def test_sarcasm_across_a_handle_or_a_line_break(scorer: NegativityScorer, text: str) -> None:
    result = scorer.score(text, EN)
    assert result.sentiment is Sentiment.NEGATIVE
    assert any("sarcasm" in reason for reason in result.reasons)


# A problem that is denied is no problem


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Flight wasn't delayed, thanks Kestrel", "waiting"),
        ("No delays, no problems, Kestrel was great", "waiting"),
        ("Kestrel is not down, it's your phone", "not_working"),
        ("honestly 5G in my area is solid, no complaints so far", "bad_service"),
        ("I can't complain about Kestrel", "bad_service"),
        ("my bag was not lost this time", "lost"),
        ("the Kestrel app never crashed once", "not_working"),
        ("flight not cancelled after all", "cancelled"),
        ("zero bugs since the update", "not_working"),
    ],
)
def test_a_denied_problem_is_not_a_cue(text: str, group: str) -> None:
    assert cue_counts(text)[group] == 0


def test_a_negation_reaches_two_words_in_its_own_clause_only() -> None:
    assert cue_counts("no more delays")["waiting"] == 0
    assert cue_counts("no, delayed again")["waiting"] == 1  # another clause
    assert cue_counts("not only delayed but rude")["waiting"] == 1  # an intensifier
    assert cue_counts("not sure why my flight is delayed")["waiting"] == 1  # too far
    # a negation that is the complaint itself is kept, and so are the groups it cannot deny
    assert cue_counts("the app doesn't work")["not_working"] == 1
    assert cue_counts("never again, Kestrel")["bad_service"] == 1
    assert cue_counts("still no refund")["money"] == 1
    assert cue_counts("no response for a week")["unreachable"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "Flight wasn't delayed, thanks Kestrel",
        "No delays, no problems, Kestrel was great",
        "honestly 5G in my area is solid, no complaints so far",
    ],
)
def test_praise_that_denies_a_problem_is_not_negative(scorer: NegativityScorer, text: str) -> None:
    result = scorer.score(text, EN)
    assert result.sentiment is not Sentiment.NEGATIVE
    assert result.score < 0.5
    assert not result.reasons


def test_a_denied_outage_weighs_less_than_a_real_one(scorer: NegativityScorer) -> None:
    denied = scorer.score("Kestrel is not down, it's your phone", EN)
    assert not denied.reasons
    assert scorer.score("Kestrel is down, it's your phone", EN).score > denied.score + 0.2
    assert scorer.score("Kestrel is not down", EN).sentiment is Sentiment.NEUTRAL


# The label never contradicts a clear signed score


def test_the_label_follows_a_clear_signed_score() -> None:
    # the model leans negative, VADER is clearly positive: signed +0.57
    result = _verdict((0.5, 0.2, 0.3), 0.9, (), "VADER")
    assert result.compound >= CLEAR
    assert result.sentiment is Sentiment.POSITIVE
    # ... and back
    result = _verdict((0.3, 0.2, 0.5), -0.9, (), "VADER")
    assert result.compound <= -CLEAR
    assert result.sentiment is Sentiment.NEGATIVE
    # closer to zero the model's likeliest class stands: complaints are often politely worded
    assert _verdict((0.6, 0.2, 0.2), 0.3, (), "VADER").sentiment is Sentiment.NEGATIVE


def test_label_and_signed_score_agree_on_named_examples(scorer: NegativityScorer) -> None:
    result = scorer.score("No delays, no problems, Kestrel was great", EN)
    assert result.sentiment is Sentiment.POSITIVE
    assert result.compound > 0.05


# Emoji beside a brand name: the name says nothing, the emoji do


@pytest.mark.parametrize(
    ("text", "language", "sentiment"),
    [
        ("Kestrel 😡😡😡", EN, Sentiment.NEGATIVE),
        ("@KestrelMobile 👎", EN, Sentiment.NEGATIVE),
        ("Kestrel 👍", EN, Sentiment.POSITIVE),
        ("#kestrel 🎉🎉 https://t.co/x", EN, Sentiment.POSITIVE),
        ("Kestrel app update today 😡", EN, Sentiment.NEGATIVE),
        ("Kestrel 😡😡😡", FR, Sentiment.NEGATIVE),
        ("Kestrel 🙏❤", FR, Sentiment.POSITIVE),
    ],
)
def test_emoji_decide_when_the_words_say_nothing(
    scorer: NegativityScorer, text: str, language: LanguageGuess, sentiment: Sentiment
) -> None:
    result = scorer.score(text, language)
    assert result.sentiment is sentiment
    assert result.reasons == ("emoji",)


def test_words_that_say_something_outweigh_the_emoji(scorer: NegativityScorer) -> None:
    assert scorer.score("Kestrel 😡", EN).sentiment is Sentiment.NEGATIVE
    complaint = scorer.score("Kestrel lost my bag again 👍", EN)
    assert complaint.sentiment is Sentiment.NEGATIVE
    assert complaint.reasons != ("emoji",)
    praise = scorer.score("I love Kestrel, the crew was great 😭", EN)
    assert praise.sentiment is Sentiment.POSITIVE
    # a language without a scorer stays unscored, emoji or not
    german = scorer.score("Kestrel 😡😡😡", LanguageGuess("de", 0.9))
    assert german.reasons == ("language 'de' not scored",)


def test_a_decimal_duration_is_quoted_whole(scorer: NegativityScorer) -> None:
    """'2.5 hours late' was quoted as '5 hours' on the card."""
    reasons = scorer.score("Kestrel flight 2.5 hours late, no info", EN).reasons
    assert any("2.5 hours" in reason for reason in reasons), reasons
    assert cue_counts("waited 1,5 hours")["duration"] == 1
