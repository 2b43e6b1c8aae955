"""The English negativity model: VADER plus customer-care cues, weighed by a linear model.

Features are things a comms team can read: VADER's own scores, how many cues of each group
(``complaints.py``) a mention has, a few plain-language signals (question, exclamation, negation,
shouting, length) and counts of common function words ("my", "still", "again"), which say more
about a complaint than any industry's vocabulary. The weights are a multinomial logistic
regression trained by ``bench/train_negativity.py`` on labelled customer mentions and stored in
``bot/data/complaint_model.json``; cross-validated figures are in that script's output.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.complaints import PROBLEM_GROUPS, CueMatcher, clean

MODEL_PATH = Path(__file__).parent / "data" / "complaint_model.json"
CLASSES = ("negative", "neutral", "positive")
_FUNCTION_WORDS = (
    "i my me mine you your we our us they this that just now today tonight tomorrow still again"
    " ever all any every can will would should could need want get got tried trying hope help so"
    " very even only really but because since after before from to at on"
)
FUNCTION_WORDS = tuple(_FUNCTION_WORDS.split())
_FUNCTION_INDEX = {word: index for index, word in enumerate(FUNCTION_WORDS)}
_WORDS = re.compile(r"[a-z']+")
_NEGATIONS = frozenset(("not", "no", "never", "cannot", "nothing", "nobody", "none"))
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")
_CAP = 3  # counts above this say nothing more

Polarity = Callable[[str], Mapping[str, float]]


@dataclass(frozen=True, slots=True)
class Judgement:
    probabilities: dict[str, float]
    compound: float  # VADER's signed score on the cleaned text
    reasons: tuple[str, ...]


def class_probabilities(logits: Sequence[float]) -> dict[str, float]:
    """Softmax over the three classes' logits."""
    top = max(logits)
    exps = [math.exp(logit - top) for logit in logits]
    total = sum(exps)
    return {name: e / total for name, e in zip(CLASSES, exps, strict=True)}


def feature_names(matcher: CueMatcher) -> list[str]:
    return [
        "vader_neg", "vader_neu", "vader_pos", "vader_compound", "vader_compound_squared",
        "question", "exclamation", "length", "negations", "shouting", "problem_cues",
        "has_problem", "gratitude_with_problem", "question_without_problem",
        "positive_without_problem",
        *(f"cue_{group}" for group in matcher.groups),
        *(f"word_{word}" for word in FUNCTION_WORDS),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Measured:
    head: list[float]  # every feature before the function words, dense
    words: dict[int, float]  # function-word features that are not zero, by position
    compound: float
    examples: tuple[str, ...]


def _measure(text: str, polarity: Polarity, matcher: CueMatcher) -> _Measured:
    cleaned = clean(text)
    hits = matcher.find(cleaned)
    vader = polarity(hits.literal)
    cues = [float(count if count < _CAP else _CAP) for count in hits.counts]
    problems = sum(cues[index] for index in matcher.problem_indices)
    question = float("?" in text)
    compound = float(vader["compound"])
    words: dict[int, float] = {}
    negations = long_words = 0
    for word, count in Counter(_WORDS.findall(cleaned)).items():
        index = _FUNCTION_INDEX.get(word)
        if index is not None:
            words[index] = 2.0 if count > 1 else 1.0
        if word in _NEGATIONS or word.endswith("n't"):
            negations += count
        if len(word) >= 3:
            long_words += count
    head = [
        float(vader["neg"]), float(vader["neu"]), float(vader["pos"]), compound, compound**2,
        question, float("!" in text), min(len(cleaned), 560) / 140,
        float(min(negations, _CAP)),
        len(_SHOUT.findall(text)) / (long_words or 1), float(min(problems, 5)), float(problems > 0),
        float(problems > 0) * cues[matcher.gratitude_index], float(problems == 0) * question,
        float(problems == 0 and compound > 0.3),
        *cues,
    ]  # fmt: skip
    return _Measured(head, words, compound, hits.examples)


def features(
    text: str, polarity: Polarity, matcher: CueMatcher
) -> tuple[list[float], float, tuple[str, ...]]:
    """The feature vector of ``text``, VADER's compound, and the cue phrases found."""
    measured = _measure(text, polarity, matcher)
    words = [measured.words.get(index, 0.0) for index in range(len(FUNCTION_WORDS))]
    return measured.head + words, measured.compound, measured.examples


class ComplaintModel:
    """Multinomial logistic regression over ``features``; weights from a JSON file."""

    def __init__(
        self, polarity: Polarity, matcher: CueMatcher, weights: Mapping[str, Any] | None = None
    ) -> None:
        self.polarity = polarity
        self.matcher = matcher
        self.names = feature_names(matcher)
        data = weights if weights is not None else json.loads(MODEL_PATH.read_text("utf-8"))
        if list(data["features"]) != self.names:
            raise ValueError("complaint model weights do not match the features; retrain")
        self.classes = tuple(data["classes"])
        if self.classes != CLASSES:
            raise ValueError(f"complaint model classes {self.classes} are not {CLASSES}")
        self.coefficients = [list(map(float, row)) for row in data["coefficients"]]
        self.intercepts = list(map(float, data["intercepts"]))
        # one (negative, neutral, positive) weight triple per feature, for a sparse dot product
        self._by_feature = list(zip(*self.coefficients, strict=True))

    def judge(self, text: str, matcher: CueMatcher | None = None) -> Judgement:
        """``matcher``: the brand's own cues, when it adds some to the shared groups."""
        measured = _measure(text, self.polarity, matcher or self.matcher)
        first, second, third = self.intercepts
        for value, (w1, w2, w3) in zip(measured.head, self._by_feature, strict=False):
            if value:  # most features are zero for any one text
                first += w1 * value
                second += w2 * value
                third += w3 * value
        words = self._by_feature[len(measured.head) :]
        for index, value in measured.words.items():
            w1, w2, w3 = words[index]
            first += w1 * value
            second += w2 * value
            third += w3 * value
        logits = (first, second, third)
        probabilities = class_probabilities(logits)
        return Judgement(probabilities, measured.compound, self._reasons(measured.examples))

    def _reasons(self, examples: Sequence[str]) -> tuple[str, ...]:
        """The complaint cues found, with the phrase: what a person checks first."""
        found = [
            f"{group.replace('_', ' ')}: \u201c{example}\u201d"
            for group, example in zip(self.matcher.groups, examples, strict=True)
            if example and group in PROBLEM_GROUPS
        ]
        return tuple(found[:3])
