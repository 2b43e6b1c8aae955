"""The French negativity model: vaderSentiment-fr's scores and plain-language signals, weighed.

vaderSentiment-fr alone reads negation badly ("rien à redire" is praise). A multinomial logistic
regression over its scores, punctuation, negation and common function words ("pas", "encore",
"toujours") corrects much of that. Words such as "merci" are left out on purpose: in the political
tweets the model learns from they are mostly sarcastic, in a customer's mention mostly not. Weights
in ``bot/data/french_model.json``, trained by ``bench/train_french.py`` on the DEFT 2017 tweets,
with cross-validated figures in its output.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.complaint_model import CLASSES, Chances, Judgement, softmax

MODEL_PATH = Path(__file__).parent / "data" / "french_model.json"
_FUNCTION_WORDS = (
    "je j me mon ma mes tu vous votre vos nous notre on il elle ils ce cette ça c est pas ne plus"
    " jamais rien encore toujours déjà aussi très trop mais car parce que qui quoi pourquoi comment"
    " quand où si bien mal tout tous"
)
FUNCTION_WORDS = tuple(_FUNCTION_WORDS.split())
_FUNCTION_INDEX = {word: index for index, word in enumerate(FUNCTION_WORDS)}
_WORDS = re.compile(r"[a-zàâçéèêëîïôûùüÿœ']+")
_NEGATIONS = frozenset(("ne", "n'", "pas", "jamais", "rien", "aucun", "aucune", "personne"))
_HANDLE_OR_LINK = re.compile(r"https?://\S+|@\w+")
_CAP = 3

Polarity = Callable[[str], Mapping[str, float]]


def feature_names() -> list[str]:
    return [
        "vader_neg", "vader_neu", "vader_pos", "vader_compound", "vader_compound_squared",
        "question", "exclamation", "length", "negations", "hashtags",
        *(f"word_{word}" for word in FUNCTION_WORDS),
    ]  # fmt: skip


def features(text: str, polarity: Polarity) -> tuple[list[float], float]:
    """The feature vector of ``text`` and vaderSentiment-fr's compound."""
    cleaned = _HANDLE_OR_LINK.sub(" ", text)
    vader = polarity(cleaned)
    compound = float(vader["compound"])
    words = [0.0] * len(FUNCTION_WORDS)
    negations = 0
    for word, count in Counter(_WORDS.findall(cleaned.lower())).items():
        index = _FUNCTION_INDEX.get(word)
        if index is not None:
            words[index] = 2.0 if count > 1 else 1.0
        if word in _NEGATIONS or word.startswith("n'"):
            negations += count
    vector = [
        float(vader["neg"]), float(vader["neu"]), float(vader["pos"]), compound, compound**2,
        float("?" in text), float("!" in text), min(len(cleaned), 560) / 140,
        float(min(negations, _CAP)), min(text.count("#"), _CAP) / _CAP,
        *words,
    ]  # fmt: skip
    return vector, compound


class FrenchModel:
    def __init__(self, polarity: Polarity, weights: Mapping[str, Any] | None = None) -> None:
        self.polarity = polarity
        data = weights if weights is not None else json.loads(MODEL_PATH.read_text("utf-8"))
        if list(data["features"]) != feature_names() or tuple(data["classes"]) != CLASSES:
            raise ValueError("French model weights do not match the features; retrain")
        self.coefficients = [list(map(float, row)) for row in data["coefficients"]]
        self.intercepts = list(map(float, data["intercepts"]))

    def has_evidence(self, text: str) -> bool:
        """Whether the words of ``text`` say anything: a vaderSentiment-fr score."""
        return float(self.polarity(_HANDLE_OR_LINK.sub(" ", text))["compound"]) != 0

    def judge(self, text: str) -> Judgement:
        chances, compound, reasons = self.chances(text)
        return Judgement(dict(zip(CLASSES, chances, strict=True)), compound, reasons)

    def chances(self, text: str) -> tuple[Chances, float, tuple[str, ...]]:
        """``judge`` without building a Judgement: the class probabilities, compound, reasons."""
        vector, compound = features(text, self.polarity)
        logits = [
            intercept + sum(w * x for w, x in zip(row, vector, strict=True) if x)
            for row, intercept in zip(self.coefficients, self.intercepts, strict=True)
        ]
        return softmax(logits), compound, ()
