"""A brand's own name out of the text it is scored on, when the name alone would sway the score.

"Best Buy cancelled my order" is no praise and "Liquid Death arrived today" no complaint, but
VADER reads "best" and "death" wherever they are. A brand term the scorer gives a sentiment, a
cue, a negation or a booster on its own ("Best Buy", "Fail Safe", "No Frills", "United") is
replaced, where the text names the brand, by a handle: every scorer already reads @handles as
carrying no sentiment. Terms that say nothing on their own ("Kestrel") are left alone, and so is
a keyword that holds another of the brand's terms and more words ("kestrel outage": the words
around the name are the author's). A brand's cue phrase holding a masked term is masked the same
way, so it still matches the masked text.

The text is matched case-insensitively, whatever the whitespace between a term's words and
whichever apostrophe it is written with; an accented spelling the term does not have
("Crème" for "Creme") is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.model import Brand
from bot.text import APOSTROPHES, fold

PLACEHOLDER = "@brand"
"""What a masked term becomes: a handle, which carries no sentiment for any scorer."""

Sways = Callable[[str, str], bool]
"""Whether a phrase would sway the score of a text in a language (``NegativityScorer.sways``)."""


def _search_phrase(term: str, terms: Iterable[str]) -> bool:
    """Whether ``term`` holds another of the brand's terms and more words: a keyword such as
    "kestrel outage" is the author's words around the name, which stay (the name alone is
    masked where it sways)."""
    folded = fold(term)
    words = len(folded.split())
    return any(
        len(other.split()) < words and re.search(rf"(?<!\w){re.escape(other)}(?!\w)", folded)
        for other in map(fold, terms)
    )


def _pattern(term: str) -> re.Pattern[str]:
    words = [
        "".join(
            f"[{re.escape(APOSTROPHES)}]" if char in APOSTROPHES else re.escape(char)
            for char in word
        )
        for word in term.split()
    ]
    start = r"(?<!\w)" if re.match(r"\w", term) else ""
    end = r"(?!\w)" if re.search(r"\w$", term) else ""
    return re.compile(start + r"\s+".join(words) + end, re.IGNORECASE)


class BrandMask:
    """Masks the swaying terms of the brands a text names; cheap when no brand has one."""

    def __init__(self, brands: Iterable[Brand], sways: Sways) -> None:
        self._patterns: dict[str, re.Pattern[str]] = {}
        # the matcher names one spelling of terms that fold alike ("Le Bon Marché" for "Le Bon
        # Marche" too): each is masked with every configured spelling
        self._spellings: dict[str, list[str]] = {}
        for brand in brands:
            terms = [term.strip() for term in brand.terms if term.strip()]
            swaying = {
                fold(term)
                for term in terms
                if not _search_phrase(term, terms)
                and any(sways(term, code) for code in brand.languages)
            }
            for term in terms:
                if term not in self._patterns and fold(term) in swaying:
                    self._patterns[term] = _pattern(term)
                    self._spellings.setdefault(fold(term), []).append(term)

    @property
    def terms(self) -> tuple[str, ...]:
        """The brand terms that are masked, in configuration order."""
        return tuple(self._patterns)

    def __call__(self, text: str, terms: Iterable[str] | None = None) -> str:
        """``text`` with the swaying ones among ``terms`` (the matched terms, as configured;
        all of them when None), in every configured spelling, replaced by :data:`PLACEHOLDER`."""
        chosen = (
            self._patterns
            if terms is None
            else {s: None for t in terms for s in self._spellings.get(fold(t), ())}
        )
        for term in sorted(chosen, key=len, reverse=True):  # "Best Buy Mobile" before "Best Buy"
            text = self._patterns[term].sub(PLACEHOLDER, text)
        return text
