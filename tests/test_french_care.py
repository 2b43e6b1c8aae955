"""French complaints read as the English are: sarcasm is negative, cues are evidence against an
emoji, and the problems found are the card's reasons."""

from __future__ import annotations

import json

import pytest

from bot.french_model import MODEL_PATH, care_feature_names
from bot.model import LanguageGuess, Sentiment
from bot.negativity import NegativityScorer

FR = LanguageGuess("fr", 1.0)


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


@pytest.mark.parametrize(
    "text",
    [
        "merci pour rien",
        "Merci de rien @kestrel",
        "merci du cadeau Kestrel",
        "bravo, encore une panne",
    ],
)
def test_french_sarcasm_is_negative(scorer: NegativityScorer, text: str) -> None:
    result = scorer.score(text, FR)
    assert result.sentiment is Sentiment.NEGATIVE
    assert any(reason.startswith("sarcasm: ") for reason in result.reasons)


def test_only_the_group_independent_care_weights_are_transferred() -> None:
    """The English weights of each cue group read English phrases beside English-only features;
    naming a problem, and how many, means the same in French, and so does a customer's question
    that names none."""
    assert care_feature_names() == [
        "problem_cues",
        "has_problem",
        "question",
        "question_without_problem",
    ]
    care = json.loads(MODEL_PATH.read_text("utf-8"))["care"]
    assert care["features"] == care_feature_names()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Kestrel en panne depuis 2 jours 🙏", "not working: \u201cpanne\u201d"),
        ("toujours pas remboursé 🙂", "money: \u201cremboursé\u201d"),
        ("Kestrel toujours pas de réseau 👍", "waiting: \u201ctoujours pas\u201d"),
    ],
)
def test_a_french_cue_outweighs_an_emoji(scorer: NegativityScorer, text: str, reason: str) -> None:
    result = scorer.score(text, FR)
    assert result.sentiment is Sentiment.NEGATIVE
    assert "emoji" not in result.reasons
    assert reason in result.reasons


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("Kestrel 😡😡", Sentiment.NEGATIVE),
        ("Bonjour @Kestrel 😡😡😡", Sentiment.NEGATIVE),  # a greeting is no evidence
        ("Pourquoi @Kestrel 😡😡", Sentiment.NEGATIVE),
        ("Bonjour @Kestrel 👍👍", Sentiment.POSITIVE),
    ],
)
def test_an_emoji_still_decides_when_the_french_words_say_nothing(
    scorer: NegativityScorer, text: str, sentiment: Sentiment
) -> None:
    result = scorer.score(text, FR)
    assert (result.sentiment, result.reasons) == (sentiment, ("emoji",))


def test_french_complaints_give_their_reasons(scorer: NegativityScorer) -> None:
    result = scorer.score("j'attends depuis 3h", FR)
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.reasons == ("waiting: \u201cj'attends\u201d",)
    cancelled = scorer.score("Mon vol est annulé et personne ne répond", FR)
    assert cancelled.reasons == (
        "cancelled: \u201cannulé\u201d",
        "unreachable: \u201cpersonne ne\u201d",
    )
