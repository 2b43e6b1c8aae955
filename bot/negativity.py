"""How negative a mention is: VADER for English, vaderSentiment-fr for French.

``score`` is ``max(0, -compound)``: 0 for anything not negative, up to 1 for the most negative.
A language without a scorer gets a neutral score and says so, rather than an English misreading.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.model import LanguageGuess, Negativity, Sentiment

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
SUPPORTED_LANGUAGES = ("en", "fr")

Polarity = Callable[[str], Mapping[str, float]]


def _french_polarity() -> Polarity:
    # vaderSentiment-fr imports fuzzywuzzy, which warns about a missing optional C speed-up.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from vaderSentiment_fr.vaderSentiment import (
            SentimentIntensityAnalyzer as FrenchAnalyzer,
        )
    analyzer: Any = FrenchAnalyzer()
    polarity: Polarity = analyzer.polarity_scores
    return polarity


def label_for(compound: float) -> Sentiment:
    if compound <= NEGATIVE_BELOW:
        return Sentiment.NEGATIVE
    if compound >= POSITIVE_ABOVE:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


class NegativityScorer:
    def __init__(self) -> None:
        self._scorers: dict[str, Polarity] = {
            "en": SentimentIntensityAnalyzer().polarity_scores,
            "fr": _french_polarity(),
        }

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._scorers)

    def score(self, text: str, language: LanguageGuess) -> Negativity:
        polarity = self._scorers.get(language.code)
        if polarity is None:
            return Negativity(
                0.0, Sentiment.NEUTRAL, 0.0, (f"language '{language.code}' not scored",)
            )
        compound = float(polarity(text)["compound"])
        return Negativity(round(max(0.0, -compound), 4), label_for(compound), compound)
