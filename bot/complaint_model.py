"""The English negativity model: VADER plus customer-care cues, weighed by a linear model.

Features are things a comms team can read: VADER's own scores, how many cues of each group
(``complaints.py``) a mention has, a few plain-language signals (question, exclamation, negation,
shouting, length) and counts of common function words ("my", "still", "again"), which say more
about a complaint than any industry's vocabulary. The weights are a multinomial logistic
regression trained by ``bench/train_negativity.py`` on labelled customer mentions and stored in
``bot/data/complaint_model.json``; cross-validated figures are in that script's output.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.complaints import NEGATION_WORDS, PROBLEM_GROUPS, CueMatcher, clean

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
# words (as _WORDS finds them) ending in "n't", and of three letters or more: counted at C speed
_ENDS_IN_NT = re.compile(r"n't(?![a-z'])")
_LONG_WORDS = re.compile(r"[a-z']{3,}")
_NEGATIONS = NEGATION_WORDS
_COUNTED = frozenset(_NEGATIONS | _FUNCTION_INDEX.keys())
# a word of three capitals or more: r"\b[A-Z]{3,}\b", written to start with a capital so that
# the regex engine skips ahead to capitals instead of trying every position
_SHOUT = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]{2,}\b")
_CAP = 3  # counts above this say nothing more
_CAPS = itertools.repeat(_CAP)

Polarity = Callable[[str], Mapping[str, float]]


@dataclass(frozen=True, slots=True)
class Judgement:
    probabilities: dict[str, float]
    compound: float  # VADER's signed score on the cleaned text
    reasons: tuple[str, ...]


Chances = tuple[float, float, float]  # P(negative), P(neutral), P(positive)


def softmax(logits: Sequence[float]) -> Chances:
    """The three classes' probabilities from their logits."""
    first, second, third = logits
    top = max(logits)
    first, second, third = math.exp(first - top), math.exp(second - top), math.exp(third - top)
    total = first + second + third
    return first / total, second / total, third / total


class CueReasons:
    """The reasons a card shows for a mention: the problem cues found, each with its phrase
    ("waiting: \u201cdelayed\u201d"), what a person checks first. The same for every language: the
    groups are concepts, the phrases a language's."""

    def __init__(self, groups: Sequence[str]) -> None:
        self._labels = [
            (index, f"{group.replace('_', ' ')}: \u201c")
            for index, group in enumerate(groups)
            if group in PROBLEM_GROUPS
        ]

    def __call__(self, examples: Sequence[str]) -> tuple[str, ...]:
        """``examples``: the first phrase found per group, in ``groups`` order ("" when none)."""
        if not any(examples):
            return ()
        found = [f"{label}{examples[i]}\u201d" for i, label in self._labels if examples[i]]
        return tuple(found[:3])


def feature_names(matcher: CueMatcher) -> list[str]:
    return [
        "vader_neg", "vader_neu", "vader_pos", "vader_compound", "vader_compound_squared",
        "question", "exclamation", "length", "negations", "shouting", "problem_cues",
        "has_problem", "gratitude_with_problem", "question_without_problem",
        "positive_without_problem",
        *(f"cue_{group}" for group in matcher.groups),
        *(f"word_{word}" for word in FUNCTION_WORDS),
    ]  # fmt: skip


# (dense head: every feature before the function words; the function-word features that are
# not zero, by position, in the order the words first appear; VADER's compound; cue phrases)
_Measured = tuple[list[float], dict[int, float], float, tuple[str, ...]]


def _measure(text: str, polarity: Polarity, matcher: CueMatcher) -> _Measured:
    """The features of ``text``, as cheaply as they come: every mention goes through here.

    Counts may stay ints and flags bools: a weight times 3 is the same float as times 3.0.
    """
    cleaned = clean(text)
    hits = matcher.find(cleaned)
    vader = polarity(hits.literal)
    cues = list(map(min, hits.counts, _CAPS))
    problems = sum(matcher.problem_counts(cues))
    question = "?" in text
    compound = vader["compound"]
    tokens = _WORDS.findall(cleaned)
    words: dict[int, float] = {}
    negations = 0
    if present := _COUNTED.intersection(tokens):
        # in text order, so the weights are added in the same order for the same text
        for word in sorted(present, key=tokens.index) if len(present) > 1 else present:
            count = tokens.count(word)
            if word in _NEGATIONS:
                negations += count
            if (index := _FUNCTION_INDEX.get(word)) is not None:
                words[index] = 2.0 if count > 1 else 1.0
    if "n't" in cleaned:
        negations += len(_ENDS_IN_NT.findall(cleaned))
    if hits.denied:  # "no delays": a negation that denies a problem is no complaint's negation
        negations = max(0, negations - hits.denied)
    shouting = 0.0
    if shouts := len(_SHOUT.findall(text)):
        shouting = shouts / (len(_LONG_WORDS.findall(cleaned)) or 1)
    head = [
        vader["neg"], vader["neu"], vader["pos"], compound, compound**2,
        question, "!" in text, min(len(cleaned), 560) / 140, min(negations, _CAP),
        shouting, min(problems, 5), problems > 0,
        (problems > 0) * cues[matcher.gratitude_index], problems == 0 and question,
        problems == 0 and compound > 0.3,
        *cues,
    ]  # fmt: skip
    return head, words, compound, hits.examples


def features(
    text: str, polarity: Polarity, matcher: CueMatcher
) -> tuple[list[float], float, tuple[str, ...]]:
    """The feature vector of ``text``, VADER's compound, and the cue phrases found."""
    head, words, compound, examples = _measure(text, polarity, matcher)
    vector = head + [words.get(index, 0.0) for index in range(len(FUNCTION_WORDS))]
    return [float(value) for value in vector], float(compound), examples


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
        head = len(self.names) - len(FUNCTION_WORDS)
        # the dense head is a dot product per class; a function word adds its weight triple,
        # precomputed for both values it takes (x2.0 is exact, so the sums are the same)
        self._head = [row[:head] for row in self.coefficients]
        self._words = [
            (weights, tuple(2.0 * weight for weight in weights))
            for weights in zip(*(row[head:] for row in self.coefficients), strict=True)
        ]
        self._reasons = CueReasons(matcher.groups)

    def judge(self, text: str, matcher: CueMatcher | None = None) -> Judgement:
        """``matcher``: the brand's own cues, when it adds some to the shared groups."""
        chances, compound, reasons = self.chances(text, matcher)
        return Judgement(dict(zip(CLASSES, chances, strict=True)), compound, reasons)

    def chances(
        self, text: str, matcher: CueMatcher | None = None
    ) -> tuple[Chances, float, tuple[str, ...]]:
        """``judge`` without building a Judgement: the class probabilities, compound, reasons."""
        head, words, compound, examples = _measure(text, self.polarity, matcher or self.matcher)
        (first_row, second_row, third_row), (first, second, third) = self._head, self.intercepts
        first = sum(map(operator.mul, first_row, head), first)
        second = sum(map(operator.mul, second_row, head), second)
        third = sum(map(operator.mul, third_row, head), third)
        for index, value in words.items():
            w1, w2, w3 = self._words[index][value > 1.0]
            first += w1
            second += w2
            third += w3
        return softmax((first, second, third)), compound, self._reasons(examples)

    def has_evidence(self, text: str, matcher: CueMatcher | None = None) -> bool:
        """Whether the words of ``text`` say anything: a cue of any group, or a VADER score."""
        hits = (matcher or self.matcher).find(clean(text))
        return any(hits.counts) or self.polarity(hits.literal)["compound"] != 0
