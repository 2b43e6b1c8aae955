"""Domain types: what a mention is, once heard and once scored, and what a brand is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@dataclass(frozen=True, slots=True)
class Author:
    handle: str = ""
    name: str = ""
    followers: int = 0


@dataclass(frozen=True, slots=True)
class Engagement:
    reposts: int = 0
    likes: int = 0
    replies: int = 0
    quotes: int = 0


@dataclass(frozen=True, slots=True)
class Mention:
    """One post heard on one source, as the source gave it (``raw`` keeps the original payload)."""

    source: str
    native_id: str
    text: str
    created_at: datetime
    url: str = ""
    author: Author = field(default_factory=Author)
    engagement: Engagement = field(default_factory=Engagement)
    language: str = ""
    parent_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """The identity of a mention: the same post heard twice is stored once."""
        return (self.source, self.native_id)


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand to listen for; ``slug`` is its stable id in storage and commands."""

    name: str
    slug: str
    keywords: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)
    cues: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Complaint cue phrases this brand adds, by group: (("not_working", ("no signal",)),)."""

    @property
    def terms(self) -> tuple[str, ...]:
        """Every phrase that, found in a text, means the brand is mentioned."""
        return (self.name, *self.keywords, *self.aliases, *self.hashtags, *self.handles)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    code: str
    confidence: float
    supported: bool = True


@dataclass(frozen=True, slots=True)
class Negativity:
    """How negative a text is: ``score`` in 0..1, a label, and why (for the card's explanation)."""

    score: float
    sentiment: Sentiment
    compound: float = 0.0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the pipeline concluded about one text: which brands, which language, how negative."""

    brands: tuple[str, ...]
    matched_terms: tuple[str, ...]
    language: LanguageGuess
    negativity: Negativity


@dataclass(frozen=True, slots=True)
class ScoredMention:
    mention: Mention
    brands: tuple[str, ...]
    matched_terms: tuple[str, ...]
    language: LanguageGuess
    negativity: Negativity
    received_at: datetime

    @classmethod
    def of(cls, mention: Mention, verdict: Verdict, received_at: datetime) -> ScoredMention:
        return cls(
            mention,
            verdict.brands,
            verdict.matched_terms,
            verdict.language,
            verdict.negativity,
            received_at,
        )
