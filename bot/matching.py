"""Which brands a text mentions: one Aho-Corasick automaton for every brand's terms.

A term matches on word boundaries, case- and accent-insensitively, whatever the whitespace
between its words and whichever apostrophe it is written with (``bot.text.fold``). An exclusion
that contains one of the brand's terms masks just that hit ("manchester united" for United: another
"United" in the same text still counts); an exclusion around none of them ("birdwatching" for
Kestrel) rules the whole text out for that brand, as excluded keywords do in listening tools.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import ahocorasick

from bot.model import Brand
from bot.text import fold, joins_word


class _Kind(Enum):
    TERM = "term"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class BrandMatch:
    brand: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Hit:
    brand: int
    kind: _Kind
    start: int
    end: int  # exclusive
    term: str


class BrandMatcher:
    def __init__(self, brands: Iterable[Brand]) -> None:
        self.brands = tuple(brands)
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, dict[tuple[int, _Kind], str]] = {}
        for index, brand in enumerate(self.brands):
            for kind, terms in ((_Kind.TERM, brand.terms), (_Kind.EXCLUDE, brand.exclude)):
                for term in terms:
                    key = fold(term.strip())
                    if key:
                        entries.setdefault(key, {}).setdefault((index, kind), term.strip())
        for key, owners in entries.items():
            values = tuple((index, kind, term) for (index, kind), term in owners.items())
            self._automaton.add_word(key, (len(key), values))
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    def match(self, text: str) -> list[BrandMatch]:
        """The brands ``text`` mentions, in configuration order, with the terms that matched."""
        if self._empty:
            return []
        folded = fold(text)
        hits = list(self._hits(folded))
        if not hits:
            return []
        excluded = [hit for hit in hits if hit.kind is _Kind.EXCLUDE]
        vetoed = {  # an exclusion around none of the brand's terms rules the whole text out
            ex.brand
            for ex in excluded
            if not any(hit.kind is _Kind.TERM and _inside_any(hit, [ex]) for hit in hits)
        }
        found: dict[int, list[str]] = {}
        for hit in hits:
            if (
                hit.kind is _Kind.TERM
                and hit.brand not in vetoed
                and not _inside_any(hit, excluded)
            ):
                terms = found.setdefault(hit.brand, [])
                if hit.term not in terms:
                    terms.append(hit.term)
        return [
            BrandMatch(self.brands[index].slug, tuple(terms))
            for index, terms in sorted(found.items())
        ]

    def _hits(self, folded: str) -> Iterable[_Hit]:
        for last, (length, values) in self._automaton.iter(folded):
            start = last - length + 1
            if _bounded(folded, start, last + 1):
                for brand, kind, term in values:
                    yield _Hit(brand, kind, start, last + 1, term)


def _bounded(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not part of a longer word.

    A term that starts or ends with a symbol ('#brand', '@brand', 'c++') needs no boundary there,
    nor does a Latin term beside CJK text ('Kestrelは最悪').
    """
    if start > 0 and joins_word(text[start - 1], text[start]):
        return False
    return not (end < len(text) and joins_word(text[end - 1], text[end]))


def _inside_any(hit: _Hit, exclusions: list[_Hit]) -> bool:
    return any(
        ex.brand == hit.brand and ex.start <= hit.start and hit.end <= ex.end for ex in exclusions
    )
