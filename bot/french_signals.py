"""How a French mention says what it feels, beyond vaderSentiment-fr's single score.

vaderSentiment-fr sums its lexicon into one compound; the model also weighs how many of the
mention's words are in that lexicon on each side and how strong the strongest is ("catastrophe"
against "dommage"), sentiment words just after a negation ("pas terrible", "jamais content"),
emoji and emoticons, laughter ("mdr"), stretched words ("nuuul"), "!!" or "?!", intensifiers
("vraiment", "tellement"), quotation marks (a word held at a distance: le « progrès ») and words
in capitals. Each is a named feature with its own weight in ``bot/data/french_model.json``; the
lists below are general French, for any brand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.complaints import NEGATIVE_EMOJI, POSITIVE_EMOJI

SIGNAL_NAMES = (
    "lexicon_positive_words", "lexicon_negative_words", "strongest_positive", "strongest_negative",
    "positive_emoji", "negative_emoji", "laughter", "elongation", "repeated_punctuation",
    "intensifier", "negated_positive", "negated_negative", "quotes", "capitals",
)  # fmt: skip
_CAP = 3
_STRONGEST = 4.0  # vaderSentiment-fr's valences run from -4 to 4
# a sentiment word this many words after one of these is read as negated
_NEGATION_REACH = 3
_NEGATORS = frozenset(("ne", "pas", "plus", "jamais", "rien", "sans", "aucun", "aucune", "ni"))
_POSITIVE_EMOTICON = re.compile(r"(?<!\w)[:;=]-?(?:\)+|D\b|p\b)|\^\^|<3", re.IGNORECASE)
_NEGATIVE_EMOTICON = re.compile(r"(?<!\w)[:=]'?-?(?:\(+|/(?!/))")
_LAUGHTER = re.compile(r"\b(?:mdr|lol|ptdr|xd|(?:ha){2,}h?|(?:hi){2,})\b")
_ELONGATION = re.compile(r"([a-zàâçéèêîôûù])\1\1")
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")
_INTENSIFIERS = re.compile(
    r"\b(?:vraiment|tellement|complètement|totalement|vachement|grave|carrément|hyper"
    r"|franchement|absolument)\b"
)
_QUOTES = re.compile(r"[«»\"“”]")
_CAPITALS = re.compile(r"\b[A-ZÀ-Ý]{3,}\b")
# vaderSentiment-fr keeps its lexicon without accents
_ACCENTS = str.maketrans(
    {**dict(zip("àâäçéèêëîïôöûùüÿ", "aaaceeeeiioouuuy", strict=True)), "œ": "oe", "æ": "ae"}
)


def signals(text: str, words: Sequence[str], lexicon: Mapping[str, float]) -> list[float]:
    """``SIGNAL_NAMES``' values: ``text`` as written, ``words`` its lower-case words without
    handles and links, ``lexicon`` vaderSentiment-fr's (as the scorer reads it)."""
    lower = text.lower()
    valences, negated_positive, negated_negative = _lexicon_words(words, lexicon)
    positive = [valence for valence in valences if valence > 0]
    negative = [valence for valence in valences if valence < 0]
    return [
        min(len(positive), _CAP) / _CAP,
        min(len(negative), _CAP) / _CAP,
        max(positive, default=0.0) / _STRONGEST,
        min(negative, default=0.0) / _STRONGEST,
        float(_has_emoji(text, POSITIVE_EMOJI) or bool(_POSITIVE_EMOTICON.search(text))),
        float(_has_emoji(text, NEGATIVE_EMOJI) or bool(_NEGATIVE_EMOTICON.search(text))),
        float(bool(_LAUGHTER.search(lower))),
        float(bool(_ELONGATION.search(lower))),
        float(bool(_REPEATED_PUNCTUATION.search(text))),
        float(bool(_INTENSIFIERS.search(lower))),
        float(negated_positive),
        float(negated_negative),
        float(bool(_QUOTES.search(text))),
        min(len(_CAPITALS.findall(text)), _CAP) / _CAP,
    ]


def _lexicon_words(
    words: Sequence[str], lexicon: Mapping[str, float]
) -> tuple[list[float], bool, bool]:
    """The valences of the lexicon's words in ``words``, and whether a positive or a negative one
    comes just after a negation."""
    valences: list[float] = []
    negated_positive = negated_negative = False
    for index, word in enumerate(words):
        valence = lexicon.get(word if word.isascii() else word.translate(_ACCENTS))
        if valence is None:
            continue
        valences.append(valence)
        before = words[max(0, index - _NEGATION_REACH) : index]
        if any(w in _NEGATORS or w.startswith("n'") for w in before):
            negated_positive |= valence > 0
            negated_negative |= valence < 0
    return valences, negated_positive, negated_negative


def _has_emoji(text: str, emoji: frozenset[str]) -> bool:
    return not text.isascii() and not emoji.isdisjoint(text)
