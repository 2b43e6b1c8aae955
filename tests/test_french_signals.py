"""The French model's plain-language signals (``bot/french_signals.py``), on named examples."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from bot.french_model import feature_names, features
from bot.french_signals import SIGNAL_NAMES, signals
from bot.negativity import _french_analyzer

_WORDS = re.compile(r"[a-zàâçéèêëîïôûùüÿœ']+")


@pytest.fixture(scope="module")
def analyzer() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _french_analyzer()


def read(text: str, analyzer: Any) -> dict[str, float]:
    values = signals(text, _WORDS.findall(text.lower()), analyzer.lexicon)
    return dict(zip(SIGNAL_NAMES, values, strict=True))


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("service client injoignable :(", "negative_emoji"),
        ("encore en panne 😡", "negative_emoji"),
        ("livré en avance :)", "positive_emoji"),
        ("merci 👍", "positive_emoji"),
        ("mdr la hotline", "laughter"),
        ("c'est nuuul", "elongation"),
        ("toujours rien ?!", "repeated_punctuation"),
        ("vraiment déçu", "intensifier"),
        ("le service n'est pas bon", "negated_positive"),
        ("pas mal du tout", "negated_negative"),
        ("un « geste commercial » de 2 euros", "quotes"),
        ("REMBOURSEZ moi", "capitals"),
    ],
)
def test_a_signal_is_read(analyzer: Any, text: str, signal: str) -> None:
    assert read(text, analyzer)[signal] > 0


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("rendez-vous à 10:30", "positive_emoji"),  # a time, not a face
        ("voir https://exemple.fr/aide", "negative_emoji"),  # a link, not a face
        ("un bon service", "negated_positive"),
        ("le client a appelé", "elongation"),
        ("Bonjour, une question ?", "repeated_punctuation"),
        ("Le service répond", "capitals"),  # a capital letter is not shouting
    ],
)
def test_a_signal_is_not_read(analyzer: Any, text: str, signal: str) -> None:
    assert read(text, analyzer)[signal] == 0


def test_the_lexicon_is_read_without_accents_and_by_strength(analyzer: Any) -> None:
    # "déçu" and "catastrophe" are stored without accents; a catastrophe is worse
    disappointed = read("je suis déçu", analyzer)
    disaster = read("une catastrophe", analyzer)
    assert disappointed["lexicon_negative_words"] > 0
    assert disaster["strongest_negative"] < disappointed["strongest_negative"] < 0
    assert read("un service parfait", analyzer)["strongest_positive"] > 0


def test_the_signals_are_named_model_features(analyzer: Any) -> None:
    vector, _ = features("vraiment nuuul !!", analyzer.polarity_scores, analyzer.lexicon)
    named = dict(zip(feature_names(), vector, strict=True))
    assert named["intensifier"] == named["elongation"] == named["repeated_punctuation"] == 1
