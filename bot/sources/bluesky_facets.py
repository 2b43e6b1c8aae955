"""Rich text for a Bluesky post: the links, #hashtags and @mentions in its text, as facets.

Bluesky shows a post's text as plain text except where an ``app.bsky.richtext.facet`` says
otherwise: each facet points at a slice of the text by UTF-8 *byte* offsets (``byteStart``
inclusive, ``byteEnd`` exclusive) and says what it is: a ``#link`` to a ``uri``, a ``#tag`` (the
tag without its ``#``) or a ``#mention`` of an account by its DID, which the caller looks up from
the handle. Facets never overlap. Links are found the way reply drafts count them
(bot/drafts/limits.py), so a link that fits the draft is the link that is clickable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import regex

from bot.drafts.limits import URL

Kind = Literal["link", "tag", "mention"]
Facet = dict[str, Any]

FACET = "app.bsky.richtext.facet"
MAX_TAG_GRAPHEMES = 64  # the lexicon's maxGraphemes for a tag
# a handle (atproto.com/specs/handle) after "@", at the start, after a space or "("; a dot or a
# hyphen may follow it (the end of a sentence), a letter, digit or underscore may not
_MENTION = regex.compile(
    r"(?<![^\s(])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?![\w.-]*[\w-])"
)
# as Bluesky's own clients: "#" after a space or at the start, up to the next space; trailing
# punctuation is not part of the tag, and a tag of digits only is no tag
_TAG = regex.compile(r"(?<!\S)[#\uff03]((?!\ufe0f)[^\s\u00ad\u2060\u200a-\u200d\u20e2]+)")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_NOT_ONLY_DIGITS = regex.compile(r"[^\d\p{P}]")
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True, slots=True)
class Span:
    """A slice of the text, in UTF-8 bytes, and what it is: ``value`` is the link's URI, the
    tag without "#" or the handle without "@"."""

    start: int
    end: int
    kind: Kind
    value: str


def find_spans(text: str) -> list[Span]:
    """The links, hashtags and mentions in ``text``, in order, none overlapping."""
    found = [
        *(_span(text, m.start(), m.end(), "link", m.group()) for m in URL.finditer(text)),
        *(
            _span(text, m.start(), m.end(), "mention", m[1].lower())
            for m in _MENTION.finditer(text)
        ),
        *(span for m in _TAG.finditer(text) if (span := _tag(text, m)) is not None),
    ]
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (s.start, s.kind != "link")):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def to_facets(spans: list[Span], dids: Mapping[str, str]) -> list[Facet]:
    """The facets of ``spans``; a mention whose handle is not in ``dids`` stays plain text."""
    facets = []
    for span in spans:
        feature = _feature(span, dids)
        if feature is not None:
            index = {"byteStart": span.start, "byteEnd": span.end}
            facets.append({"index": index, "features": [feature]})
    return facets


def _feature(span: Span, dids: Mapping[str, str]) -> dict[str, str] | None:
    if span.kind == "link":
        return {"$type": f"{FACET}#link", "uri": span.value}
    if span.kind == "tag":
        return {"$type": f"{FACET}#tag", "tag": span.value}
    did = dids.get(span.value)
    return None if did is None else {"$type": f"{FACET}#mention", "did": did}


def _tag(text: str, match: regex.Match[str]) -> Span | None:
    tag = _TRAILING_PUNCTUATION.sub("", match[1])
    too_long = len(_GRAPHEME.findall(tag)) > MAX_TAG_GRAPHEMES
    if not tag or too_long or not _NOT_ONLY_DIGITS.search(tag):
        return None
    start = match.start()
    return _span(text, start, match.start(1) + len(tag), "tag", tag)


def _span(text: str, start: int, end: int, kind: Kind, value: str) -> Span:
    """A span from character offsets, turned into UTF-8 byte offsets."""
    head = len(text[:start].encode("utf-8"))
    return Span(head, head + len(text[start:end].encode("utf-8")), kind, value)
