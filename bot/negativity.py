"""How negative a mention is, with the reasons a comms team can check.

English goes through the complaint model (VADER plus customer-care cues, ``complaint_model.py``),
French through the French model (vaderSentiment-fr plus plain signals, ``french_model.py``). A
language without a scorer gets a neutral score and says so, rather than an English misreading. Text
with no letters (emoji only) is read by VADER's emoji lexicon, which is the same in every language.

``score`` is the probability that the mention is negative (0..1); ``compound`` is a signed score in
-1..1 for ranking and correlation with human ratings.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.complaint_model import ComplaintModel, Judgement
from bot.complaints import NEGATIVE_EMOJI, POSITIVE_EMOJI, CueMatcher
from bot.french_model import FrenchModel
from bot.model import LanguageGuess, Negativity, Sentiment

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
# The signed score leans on VADER, which humans agree with on general text, and moves it by the
# model's verdict, which knows customer-care language.
VADER_SHARE = 0.7
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


def _from_compound(compound: float, reasons: tuple[str, ...] = ()) -> Negativity:
    return Negativity(round(max(0.0, -compound), 4), label_for(compound), compound, reasons)


def _verdict(judgement: Judgement, lexicon: str) -> Negativity:
    """A model's judgement as a Negativity: P(negative), the likeliest label, a signed score."""
    chances = judgement.probabilities
    sentiment = Sentiment(max(chances, key=chances.__getitem__))
    signed = VADER_SHARE * judgement.compound + (1 - VADER_SHARE) * (
        chances["positive"] - chances["negative"]
    )
    reasons = judgement.reasons
    if sentiment is Sentiment.NEGATIVE and not reasons and judgement.compound < 0:
        reasons = (f"negative wording ({lexicon} {judgement.compound:+.2f})",)
    return Negativity(round(chances["negative"], 4), sentiment, round(signed, 4), reasons)


class NegativityScorer:
    def __init__(self, cues: CueMatcher | None = None) -> None:
        english = SentimentIntensityAnalyzer().polarity_scores
        self._english_vader = english
        self._complaints = ComplaintModel(english, cues or CueMatcher())
        self._french = FrenchModel(_french_polarity())

    @property
    def languages(self) -> tuple[str, ...]:
        return SUPPORTED_LANGUAGES

    def score(
        self, text: str, language: LanguageGuess, cues: CueMatcher | None = None
    ) -> Negativity:
        """``cues``: a brand's own complaint phrases on top of the shared ones (English)."""
        if not any(char.isalpha() for char in text):
            return self._symbols(text)
        if language.code == "en":
            return self._english(text, cues)
        if language.code == "fr":
            return _verdict(self._french.judge(text), "VADER-fr")
        return Negativity(0.0, Sentiment.NEUTRAL, 0.0, (f"language '{language.code}' not scored",))

    def _english(self, text: str, cues: CueMatcher | None) -> Negativity:
        return _verdict(self._complaints.judge(text, cues), "VADER")

    def _symbols(self, text: str) -> Negativity:
        """Emoji and punctuation only: the emoji decide; nothing at all is neutral."""
        if not text.strip():
            return Negativity(0.0, Sentiment.NEUTRAL, 0.0, ("empty text",))
        negative = sum(1 for char in text if char in NEGATIVE_EMOJI)
        positive = sum(1 for char in text if char in POSITIVE_EMOJI)
        if negative == positive:
            return _from_compound(float(self._english_vader(text)["compound"]))
        # 1 emoji reads as -0.5 / +0.5, three or more as about -0.8 / +0.8
        compound = math.copysign(1 - 0.5 ** (abs(negative - positive)), positive - negative)
        compound = round(max(-0.9, min(0.9, compound * 1.1)), 4)
        return _from_compound(compound, ("emoji",))
