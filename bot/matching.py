"""Which brands a text mentions: one Aho-Corasick automaton for every brand's terms.

A term matches on word boundaries, case- and accent-insensitively, whatever the whitespace
between its words and whichever apostrophe it is written with (``bot.text.fold``). An exclusion
that contains one of the brand's terms (even inside a word: "kestrels") masks just that hit
("manchester united" for United: another "United" in the same text still counts); an exclusion
without any of them ("birdwatching" for Kestrel) rules the whole text out for that brand, as
excluded keywords do in listening tools. An exclusion masks a #hashtag or @handle hit it covers
but for the sign ("apple pie" masks "#apple" in "#apple pie").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from itertools import accumulate

import ahocorasick

from bot.model import Brand
from bot.text import fold, is_hangul, is_spaceless, is_word_char, joins_word


class _Kind(Enum):
    TERM = "term"
    MASK = "mask"  # an exclusion around a term ('manchester united'): that hit does not count
    VETO = "veto"  # an exclusion without one ('birdwatching'): the text is not the brand's


# Korean attaches particles and the copula to a noun: '삼성은', '기아가', '토스예요' name the brand,
# '토스트' (toast) does not.
_PARTICLES = """
    은 는 이 가 을 를 의 에 에서 에게 한테 께 께서 로 으로 와 과 랑 이랑 하고 도 만 까지
    부터 보다 처럼 마저 조차 이나 이든 든 요 이요 이야 이에요 예요 입니다 이다 다 에는
    에서는 에도 에서도 으로는 로는 으로도 로도 과는 와는 한테는 에게는 도요 만요
"""
PARTICLES = frozenset(_PARTICLES.split())


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
            terms: dict[str, str] = {}  # folded -> the first spelling configured
            for term in brand.terms:
                terms.setdefault(fold(term.strip()), term.strip())
            terms.pop("", None)
            for key, term in terms.items():
                entries.setdefault(key, {}).setdefault((index, _Kind.TERM), term)
            for exclusion in brand.exclude:
                key = fold(exclusion.strip())
                if key:
                    kind = _Kind.MASK if _holds_a_term(key, terms) else _Kind.VETO
                    entries.setdefault(key, {}).setdefault((index, kind), exclusion.strip())
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
        masks = _Masks(folded, [hit for hit in hits if hit.kind is _Kind.MASK])
        vetoed = {hit.brand for hit in hits if hit.kind is _Kind.VETO}
        found: dict[int, list[str]] = {}
        for hit in hits:
            if hit.kind is _Kind.TERM and hit.brand not in vetoed and not masks.cover(hit):
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

    A term that starts or ends with a symbol ('#brand', 'c++') needs no boundary there, nor does a
    Latin term beside CJK text ('Kestrelは最悪'), except that an '@handle' is not the end of an
    e-mail address ('bob@acme.com'): its '@' follows no letter or digit (CJK text aside, where a
    mention may follow the last word: '谢谢@小米').
    """
    if start > 0:
        before, first = text[start - 1], text[start]
        if joins_word(before, first):
            return False
        if first == "@" and is_word_char(before) and not is_spaceless(before):
            return False
    if end < len(text) and joins_word(text[end - 1], text[end]):
        return is_hangul(text[end - 1]) and _particle_at(text, end)
    return True


def _particle_at(text: str, start: int) -> bool:
    """Whether a Korean particle (or the copula) makes up the rest of the word at ``start``."""
    end = start
    while end < len(text) and is_hangul(text[end]):
        end += 1
    return text[start:end] in PARTICLES


def _holds_a_term(exclusion: str, terms: Iterable[str]) -> bool:
    """Whether a folded exclusion holds one of the brand's folded terms, a hashtag's '#' or a
    handle's '@' apart ('apple pie' holds '#apple'): it masks that hit, not the whole text."""
    return any(
        term in exclusion or (term[0] in "#@" and term[1:] and term[1:] in exclusion)
        for term in terms
    )


class _Masks:
    """A text's exclusion hits per brand, sorted by start with the farthest end reached so far:
    whether one covers a hit is a binary search, not a scan (a long post repeating
    'manchester united' would otherwise take time quadratic in its length)."""

    def __init__(self, text: str, masks: Iterable[_Hit]) -> None:
        self._text = text
        spans: dict[int, list[tuple[int, int]]] = {}
        for mask in masks:
            spans.setdefault(mask.brand, []).append((mask.start, mask.end))
        self._starts: dict[int, list[int]] = {}
        self._reach: dict[int, list[int]] = {}
        for brand, intervals in spans.items():
            intervals.sort()
            self._starts[brand] = [start for start, _ in intervals]
            self._reach[brand] = list(accumulate((end for _, end in intervals), max))

    def cover(self, hit: _Hit) -> bool:
        """Whether one of the hit's brand's exclusions covers it, a hashtag's '#' or a handle's
        '@' apart: 'apple pie' masks '#apple' in '#apple pie' as it masks 'apple' in 'apple pie'."""
        starts = self._starts.get(hit.brand)
        if not starts:
            return False
        start = hit.start + 1 if self._text[hit.start] in "#@" else hit.start
        before = bisect_right(starts, start)  # the exclusions starting at or before the hit
        return before > 0 and self._reach[hit.brand][before - 1] >= hit.end
