"""How negative a mention is, with the reasons a comms team can check.

English goes through the complaint model (VADER plus customer-care cues, ``complaint_model.py``),
French through the French model (vaderSentiment-fr plus plain signals, read the customer-care
way: a question that names no problem is a request, ``french_model.py``). A language without a
scorer gets a neutral score and says so, rather than an English misreading.
Emoji that carry a verdict (😡, 👍) decide when the words say nothing: text with no letters, or
words with no cue and no sentiment ("Kestrel 😡😡😡": a brand name is no evidence). They count the
same in every language.

``score`` is the probability that the mention is negative (0..1); ``compound`` is a signed score in
-1..1 for ranking and correlation with human ratings.

English VADER scores come from ``Vader``: the library's rules, rewritten to cost about a third as
much, with the library's results to the bit. French ones come from ``FrenchVader``: the rules of
vaderSentiment-fr in time linear in the text (the library's grows with its square), also to the bit.
"""

from __future__ import annotations

import heapq
import math
import re
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from itertools import compress
from typing import Any

from vaderSentiment import vaderSentiment as _vader
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.complaint_model import Chances, ComplaintModel
from bot.complaints import NEGATIVE_EMOJI, NEGATORS, POSITIVE_EMOJI, CueMatcher, clean
from bot.french_model import CARE_HOMONYMS, FRENCH_NEGATORS, FrenchModel
from bot.model import LanguageGuess, Negativity, Sentiment
from bot.text import has_letter

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
# The signed score leans on VADER, which humans agree with on general text, and moves it by the
# model's verdict, which knows customer-care language.
VADER_SHARE = 0.7
# A signed score this far from zero is a clear verdict: the label never contradicts it. (Closer to
# zero the model's likeliest class stands even against the sign: complaints are often written in
# polite or sarcastic words that VADER reads as positive.)
CLEAR = 0.5
SUPPORTED_LANGUAGES = ("en", "fr")
_VERDICT_EMOJI = NEGATIVE_EMOJI | POSITIVE_EMOJI

Polarity = Callable[[str], Mapping[str, float]]


_BOOSTERS: dict[str, float] = _vader.BOOSTER_DICT
_SPECIAL_CASES: dict[str, float] = _vader.SPECIAL_CASES
_NEGATE = frozenset(_vader.NEGATE)
_N_SCALAR: float = _vader.N_SCALAR
_C_INCR: float = _vader.C_INCR
_PUNCTUATION = string.punctuation
# the longest word of each multi-word special case or booster: an idiom needs its own nearby
_IDIOM_WORDS = frozenset(
    max(phrase.split(), key=len) for phrase in (*_SPECIAL_CASES, *_BOOSTERS) if " " in phrase
)
# Every word that can change a lexicon word's valence from up to three words before it or two
# after it, or its own ("no", "kind" of): with none around (nor a "n't" before), the valence is
# the lexicon's.
_MODIFIERS = (
    frozenset(word for word in _BOOSTERS if " " not in word)
    | _NEGATE
    | _IDIOM_WORDS
    | {"no", "so", "this", "least", "kind"}
)

# a word that changes the reading of a text it is in, with no sentiment of its own
_ENGLISH_MODIFIERS = _MODIFIERS | NEGATORS


class Vader:
    """VADER's ``polarity_scores``, score for score, at a fraction of the library's cost.

    The library lower-cases the whole token list again up to four times for each lexicon word it
    weighs and rebuilds the text a character at a time to look for emoji. This lower-cases once,
    weighs only the words the lexicon knows and skips the rules no word nearby can trigger,
    applying the others in the same order, so every float comes out bit for bit the same (tests
    check the airline file, VADER's ground truth and sentences dense in what the rules look at).
    """

    def __init__(self, analyzer: SentimentIntensityAnalyzer | None = None) -> None:
        analyzer = analyzer or SentimentIntensityAnalyzer()
        self.lexicon: dict[str, float] = analyzer.lexicon
        # the library reads text one character at a time: longer emoji keys never match
        self._emojis: dict[str, str] = {k: v for k, v in analyzer.emojis.items() if len(k) == 1}
        self._emoji_chars = frozenset(self._emojis)
        # a booster is never weighed itself, even if the lexicon had it (VADER's has none, and
        # one table fewer to look words up in is faster)
        self._weighed: Mapping[str, float] = self.lexicon
        if not _BOOSTERS.keys().isdisjoint(self.lexicon):
            self._weighed = {w: v for w, v in self.lexicon.items() if w not in _BOOSTERS}

    def __call__(self, text: str) -> dict[str, float]:
        if not text.isascii() and not self._emoji_chars.isdisjoint(text):
            text = self._describe_emoji(text)
        words = [
            stripped if len(stripped := token.strip(_PUNCTUATION)) > 2 else token
            for token in text.split()
        ]
        # the complaint model passes lower-cased text: nothing to lower again
        lowers = words if text.lower() == text else [word.lower() for word in words]
        # most words are not in the lexicon and score 0: only the others are weighed
        weighed = list(compress(range(len(lowers)), map(self._weighed.__contains__, lowers)))
        valences: list[float] = []
        if weighed:
            is_cap_diff = 0 < len(words) - sum(map(str.isupper, words)) < len(words)
            valences = [self._valence(i, words, lowers, is_cap_diff) for i in weighed]
        if "but" in lowers:
            sentiments: list[float] = [0] * len(words)
            for i, valence in zip(weighed, valences, strict=True):
                sentiments[i] = valence
            return _score_valence(_but_check(lowers, sentiments), 0, text)
        return _score_valence(valences, len(words) - len(weighed), text)

    def _describe_emoji(self, text: str) -> str:
        return describe_emoji(text, self._emojis)

    def _valence(
        self, i: int, words: Sequence[str], lowers: Sequence[str], is_cap_diff: bool
    ) -> float:
        """The library's ``sentiment_valence`` for a word the lexicon knows."""
        lexicon = self.lexicon
        low = lowers[i]
        start = max(i - 3, 0)
        if _MODIFIERS.isdisjoint(lowers[start : i + 3]) and not any(
            "n't" in word for word in lowers[start:i]
        ):
            # the rules below would only add 0.0 (three times) to the lexicon's non-zero valence
            if is_cap_diff and words[i].isupper():
                return lexicon[low] + _C_INCR if lexicon[low] > 0 else lexicon[low] - _C_INCR
            return lexicon[low]
        if low == "kind" and i < len(lowers) - 1 and lowers[i + 1] == "of":
            return 0
        valence = _after_no(lexicon[low], low, lowers, i, lexicon, _N_SCALAR)
        if is_cap_diff and words[i].isupper():
            valence = valence + _C_INCR if valence > 0 else valence - _C_INCR
        for start_i in range(3):
            before = i - (start_i + 1)
            if before >= 0 and lowers[before] not in lexicon:
                s = _scalar_inc_dec(words[before], lowers[before], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowers, start_i, i)
                if start_i == 2 and not _IDIOM_WORDS.isdisjoint(lowers[i - 3 : i + 3]):
                    valence = _special_idioms_check(valence, lowers, i)
        if i > 0 and lowers[i - 1] == "least" and "least" not in lexicon:
            valence = _least_check(valence, lowers, i)
        return valence


def _scalar_inc_dec(word: str, lower: str, valence: float, is_cap_diff: bool) -> float:
    scalar = 0.0
    if lower in _BOOSTERS:
        scalar = _BOOSTERS[lower]
        if valence < 0:
            scalar *= -1
        if is_cap_diff and word.isupper():
            if valence > 0:
                scalar += _C_INCR
            else:
                scalar -= _C_INCR
    return scalar


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


def _negation_check(valence: float, lowers: Sequence[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(lowers[i - 1]):
            valence = valence * _N_SCALAR
    elif start_i == 1:
        if lowers[i - 2] == "never" and (lowers[i - 1] == "so" or lowers[i - 1] == "this"):
            valence = valence * 1.25
        elif lowers[i - 2] == "without" and lowers[i - 1] == "doubt":
            pass
        elif _negated(lowers[i - 2]):
            valence = valence * _N_SCALAR
    else:
        # the library's precedence: "so" or "this" just before boosts whatever comes earlier
        if (
            (lowers[i - 3] == "never" and (lowers[i - 2] == "so" or lowers[i - 2] == "this"))
            or lowers[i - 1] == "so"
            or lowers[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif lowers[i - 3] == "without" and (lowers[i - 2] == "doubt" or lowers[i - 1] == "doubt"):
            pass
        elif _negated(lowers[i - 3]):
            valence = valence * _N_SCALAR
    return valence


def _special_idioms_check(
    valence: float,
    lowers: Sequence[str],
    i: int,
    special: Mapping[str, float] = _SPECIAL_CASES,
    boosters: Mapping[str, float] = _BOOSTERS,
) -> float:
    """The library's ``_special_idioms_check`` on lower-cased words (English tables unless
    another language's are given)."""
    onezero = f"{lowers[i - 1]} {lowers[i]}"
    twoonezero = f"{lowers[i - 2]} {lowers[i - 1]} {lowers[i]}"
    twoone = f"{lowers[i - 2]} {lowers[i - 1]}"
    threetwoone = f"{lowers[i - 3]} {lowers[i - 2]} {lowers[i - 1]}"
    threetwo = f"{lowers[i - 3]} {lowers[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in special:
            valence = special[seq]
            break
    if len(lowers) - 1 > i:
        zeroone = f"{lowers[i]} {lowers[i + 1]}"
        if zeroone in special:
            valence = special[zeroone]
    if len(lowers) - 1 > i + 1:
        zeroonetwo = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zeroonetwo in special:
            valence = special[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in boosters:
            valence = valence + boosters[n_gram]
    return valence


def _least_check(valence: float, lowers: Sequence[str], i: int) -> float:
    """Called when the word before is 'least' (which the lexicon does not know)."""
    if i > 1:
        if lowers[i - 2] != "at" and lowers[i - 2] != "very":
            valence = valence * _N_SCALAR
    else:
        valence = valence * _N_SCALAR
    return valence


def _but_check(lowers: list[str], sentiments: list[float]) -> list[float]:
    """The library's loop, quirk included: ``index`` finds the first equal score, not this one.

    The library scans the list for each score (quadratic in the words); here a heap per score
    holds the positions that may have it, so the first one is found without a scan. Zeros are
    skipped: they only ever replace each other, and the sign of a zero changes no sum or count.
    """
    bi = lowers.index("but")
    where: dict[float, list[int]] = {}
    for index, sentiment in enumerate(sentiments):
        if sentiment:
            where.setdefault(sentiment, []).append(index)  # ascending: already a heap
    for index in range(len(sentiments)):
        sentiment = sentiments[index]
        if not sentiment:
            continue
        heap = where[sentiment]
        while sentiments[heap[0]] != sentiment:  # a position whose score has changed since
            heapq.heappop(heap)
        si = heap[0]
        if si == bi:
            continue
        changed = sentiment * 0.5 if si < bi else sentiment * 1.5
        sentiments[si] = changed
        heapq.heappush(where.setdefault(changed, []), si)
    return sentiments


def _score_valence(sentiments: list[float], zeros: int, text: str) -> dict[str, float]:
    """The library's ``score_valence`` over ``sentiments`` and ``zeros`` more words scoring 0.

    Leaving the zeros out changes no sum: the scores are added in the same order.
    """
    if not sentiments and not zeros:
        return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    sum_s = float(sum(sentiments))
    ep_count = min(text.count("!"), 4)
    qm_count = text.count("?")
    qm_amplifier: float = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
    if sum_s > 0:
        sum_s += punct_emph_amplifier
    elif sum_s < 0:
        sum_s -= punct_emph_amplifier
    compound = sum_s / math.sqrt((sum_s * sum_s) + 15)  # the library's normalize, inlined
    if compound < -1.0:
        compound = -1.0
    elif compound > 1.0:
        compound = 1.0
    pos_sum = neg_sum = 0.0
    neu_count = zeros
    for score in sentiments:
        if score > 0:
            pos_sum += float(score) + 1
        if score < 0:
            neg_sum += float(score) - 1
        if score == 0:
            neu_count += 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct_emph_amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct_emph_amplifier
    total = pos_sum + math.fabs(neg_sum) + neu_count
    return {
        "neg": round(math.fabs(neg_sum / total), 3),
        "neu": round(math.fabs(neu_count / total), 3),
        "pos": round(math.fabs(pos_sum / total), 3),
        "compound": round(compound, 4),
    }


def _french_polarity(care_senses: bool = True) -> Polarity:
    """vaderSentiment-fr's scores; with ``care_senses``, without its ``CARE_HOMONYMS``."""
    polarity: Polarity = _french_analyzer(care_senses).polarity_scores
    return polarity


def _french_library() -> Any:
    """vaderSentiment-fr's own analyzer, as the library ships it."""
    # vaderSentiment-fr imports fuzzywuzzy, which warns about a missing optional C speed-up.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from vaderSentiment_fr.vaderSentiment import (
            SentimentIntensityAnalyzer as FrenchAnalyzer,
        )
    return FrenchAnalyzer()


def _french_analyzer(care_senses: bool = True) -> FrenchVader:
    """vaderSentiment-fr's scores (``polarity_scores``, and the ``lexicon`` they read), as above."""
    analyzer = FrenchVader(_french_library())
    if care_senses:
        for word in CARE_HOMONYMS:
            analyzer.lexicon.pop(word, None)
    return analyzer


class FrenchVader:
    """vaderSentiment-fr's ``polarity_scores``, score for score, in time linear in the text.

    The library lower-cases the whole word list again (and rebuilds its list of words never
    negated) for every lexicon word it weighs, in its negation and idiom checks: a 10,000-character
    text took 0.2 s, 200,000 characters 100 s. As ``Vader`` does for English, this lower-cases the
    words once and applies the library's rules in the same order, so every float comes out bit for
    bit the same (tests compare it with the library on the French tweets and on dense sentences).
    ``lexicon`` is the library's dictionary itself: leaving a word out of one leaves it out of both.
    """

    def __init__(self, analyzer: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from vaderSentiment_fr import vaderSentiment as library
        self._library = library
        self._analyzer = analyzer
        self.lexicon: dict[str, float] = analyzer.lexicon
        self._emojis: dict[str, str] = analyzer.emojis
        self._boosters: dict[str, float] = library.BOOSTER_DICT
        self._special_cases: dict[str, float] = library.SPECIAL_CASES
        self._negate = frozenset(library.NEGATE)
        self._no_negate = frozenset(library.unidecode.unidecode(w) for w in library.NO_NEGATE)
        self._unaccent: Callable[[str], str] = library.unidecode.unidecode
        self._n_scalar: float = library.N_SCALAR
        self._c_incr: float = library.C_INCR

    @property
    def modifiers(self) -> frozenset[str]:
        """The words that change a lexicon word's valence near them (negations, boosters),
        as the cleaned text writes them (lower case, accents kept), with the cues' negations."""
        words = (*self._negate, *self._no_negate, *self._boosters, *FRENCH_NEGATORS)
        single = (w.lower() for w in words if " " not in w)
        return frozenset(variant for w in single for variant in (w, self._unaccent(w)))

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not text.isascii() and not self._emojis.keys().isdisjoint(text):
            text = self._describe_emoji(text)
        else:
            text = text.strip()
        words = [
            stripped if len(stripped := token.strip(_PUNCTUATION)) > 2 else token
            for token in re.split(r"[\s']", text)
        ]
        is_cap_diff = 0 < len(words) - sum(map(str.isupper, words)) < len(words)
        lowers = [word.lower() for word in words]
        sentiments: list[float] = []
        last = len(words) - 1
        for i, low in enumerate(lowers):
            if low in self._boosters or (low == "kind" and i < last and lowers[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments.append(self._valence(i, words, lowers, is_cap_diff))
        return self._analyzer.score_valence(sentiments, text)  # type: ignore[no-any-return]

    __call__ = polarity_scores

    def _describe_emoji(self, text: str) -> str:
        return describe_emoji(text, self._emojis)

    def _valence(self, i: int, words: list[str], lowers: list[str], is_cap_diff: bool) -> float:
        """The library's ``sentiment_valence`` for word ``i``, reading the lower-cased words."""
        lexicon = self.lexicon
        item = self._unaccent(lowers[i])
        if item not in lexicon:
            return 0
        valence = _after_no(lexicon[item], item, lowers, i, lexicon, self._n_scalar)
        if words[i].isupper() and is_cap_diff:
            valence = valence + self._c_incr if valence > 0 else valence - self._c_incr
        for start_i in range(3):
            before = i - (start_i + 1)
            if i > start_i and lowers[before] not in lexicon:
                s = self._scalar_inc_dec(words[before], lowers[before], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                # the library's _negation_check
                if lowers[i] not in self._no_negate and self._negated(lowers[before]):
                    valence = valence * self._n_scalar
                if start_i == 2:
                    valence = _special_idioms_check(
                        valence, lowers, i, self._special_cases, self._boosters
                    )
        # the library's _least_check
        if i > 1 and lowers[i - 1] not in lexicon and lowers[i - 1] == "least":
            if lowers[i - 2] != "at" and lowers[i - 2] != "very":
                valence = valence * self._n_scalar
        elif i > 0 and lowers[i - 1] not in lexicon and lowers[i - 1] == "least":
            valence = valence * self._n_scalar
        return valence

    def _scalar_inc_dec(self, word: str, lower: str, valence: float, is_cap_diff: bool) -> float:
        scalar = 0.0
        if lower in self._boosters:
            scalar = self._boosters[lower]
            if valence < 0:
                scalar *= -1
            if word.isupper() and is_cap_diff:
                scalar = scalar + self._c_incr if valence > 0 else scalar - self._c_incr
        return scalar

    def _negated(self, lower: str) -> bool:
        """The library's ``negated`` of one lower-cased word."""
        return lower in self._negate or "n't" in lower


def _after_no(
    valence: float,
    word: str,
    lowers: Sequence[str],
    i: int,
    lexicon: Mapping[str, float],
    n_scalar: float,
) -> float:
    """The libraries' "no" rules for word ``i`` (``word`` as the lexicon spells it): "no"
    before a lexicon word weighs nothing, a word up to three after "no" is negated."""
    if word == "no" and i != len(lowers) - 1 and lowers[i + 1] in lexicon:
        valence = 0.0
    if (
        (i > 0 and lowers[i - 1] == "no")
        or (i > 1 and lowers[i - 2] == "no")
        or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
    ):
        valence = lexicon[word] * n_scalar
    return valence


def describe_emoji(text: str, emojis: Mapping[str, str]) -> str:
    """The libraries' emoji loop (each emoji replaced by its description, spaced), building a
    list rather than a string a character at a time."""
    described: list[str] = []
    prev_space = True
    for char in text:
        if char in emojis:
            if not prev_space:
                described.append(" ")
            described.append(emojis[char])
            prev_space = False
        else:
            described.append(char)
            prev_space = char == " "
    return "".join(described).strip()


def label_for(compound: float) -> Sentiment:
    if compound <= NEGATIVE_BELOW:
        return Sentiment.NEGATIVE
    if compound >= POSITIVE_ABOVE:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


def _from_compound(compound: float, reasons: tuple[str, ...] = ()) -> Negativity:
    return Negativity(round(max(0.0, -compound), 4), label_for(compound), compound, reasons)


def _verdict(
    chances: Chances, compound: float, reasons: tuple[str, ...], lexicon: str
) -> Negativity:
    """A model's judgement as a Negativity: P(negative), the likeliest label, a signed score."""
    negative, _, positive = chances
    signed = VADER_SHARE * compound + (1 - VADER_SHARE) * (positive - negative)
    sentiment = _likeliest(chances)
    if abs(signed) >= CLEAR and sentiment is not Sentiment.NEUTRAL:
        sentiment = label_for(signed)  # a negative label on a clearly positive score, or back
    if sentiment is Sentiment.NEGATIVE and not reasons and compound < 0:
        reasons = (f"negative wording ({lexicon} {compound:+.2f})",)
    return Negativity(round(negative, 4), sentiment, round(signed, 4), reasons)


def _likeliest(chances: Chances) -> Sentiment:
    """The likeliest class; the first of equals, in class order."""
    negative, neutral, positive = chances
    if negative >= neutral and negative >= positive:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL if neutral >= positive else Sentiment.POSITIVE


def _emoji_counts(text: str) -> tuple[int, int]:
    """How many emoji that carry a verdict ``text`` has: (negative, positive)."""
    if text.isascii() or _VERDICT_EMOJI.isdisjoint(text):
        return 0, 0
    negative = sum(1 for char in text if char in NEGATIVE_EMOJI)
    positive = sum(1 for char in text if char in POSITIVE_EMOJI)
    return negative, positive


def _without_emoji(text: str) -> str:
    return "".join(char for char in text if char not in _VERDICT_EMOJI)


def _emoji_verdict(negative: int, positive: int) -> Negativity:
    """The verdict of the emoji alone, when one kind outnumbers the other."""
    # 1 emoji reads as -0.5 / +0.5, three or more as about -0.8 / +0.8
    compound = math.copysign(1 - 0.5 ** (abs(negative - positive)), positive - negative)
    compound = round(max(-0.9, min(0.9, compound * 1.1)), 4)
    return _from_compound(compound, ("emoji",))


class NegativityScorer:
    def __init__(
        self,
        cues: CueMatcher | None = None,
        english_weights: Mapping[str, Any] | None = None,
        french_weights: Mapping[str, Any] | None = None,
    ) -> None:
        """``english_weights``, ``french_weights``: a model's, instead of the shipped ones
        (benchmarks)."""
        english = Vader()
        self._english_vader = english
        self._complaints = ComplaintModel(english, cues or CueMatcher(), english_weights)
        french = _french_analyzer()
        self._french = FrenchModel(french.polarity_scores, french.lexicon, french_weights)
        self._french_modifiers = french.modifiers

    @property
    def languages(self) -> tuple[str, ...]:
        return SUPPORTED_LANGUAGES

    def score(
        self, text: str, language: LanguageGuess, cues: CueMatcher | None = None
    ) -> Negativity:
        """``cues``: a brand's own complaint phrases on top of the shared ones (English)."""
        if not has_letter(text):
            return self._symbols(text)
        if language.code not in SUPPORTED_LANGUAGES:
            reason = f"language '{language.code}' not scored"
            return Negativity(0.0, Sentiment.NEUTRAL, 0.0, (reason,))
        negative, positive = _emoji_counts(text)
        if negative != positive and not self._has_evidence(text, language.code, cues):
            return _emoji_verdict(negative, positive)
        if language.code == "fr":
            return _verdict(*self._french.chances(text), "VADER-fr")
        return _verdict(*self._complaints.chances(text, cues), "VADER")

    def sways(self, phrase: str, code: str) -> bool:
        """Whether ``phrase`` (a brand's name) would sway the score of a text in language
        ``code`` that holds it: it says something of its own (a cue, a lexicon word: "Best Buy",
        "Liquid Death") or changes the words around it (a negation or a booster: "No Frills")."""
        if code not in SUPPORTED_LANGUAGES or not has_letter(phrase):
            return False
        if self._has_evidence(phrase, code, None):
            return True
        modifiers = self._french_modifiers if code == "fr" else _ENGLISH_MODIFIERS
        return any(word in modifiers for word in clean(phrase).split())

    def _has_evidence(self, text: str, code: str, cues: CueMatcher | None) -> bool:
        """Whether the words, without the emoji that carry a verdict, say anything."""
        words = _without_emoji(text)
        if code == "fr":
            return self._french.has_evidence(words)
        return self._complaints.has_evidence(words, cues)

    def _symbols(self, text: str) -> Negativity:
        """Emoji and punctuation only: the emoji decide; nothing at all is neutral."""
        if not text.strip():
            return Negativity(0.0, Sentiment.NEUTRAL, 0.0, ("empty text",))
        negative, positive = _emoji_counts(text)
        if negative == positive:
            return _from_compound(float(self._english_vader(text)["compound"]))
        return _emoji_verdict(negative, positive)
