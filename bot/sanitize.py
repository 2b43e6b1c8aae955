"""A mention made safe to score and store, whatever a source sent.

JSON allows what SQLite and UTF-8 do not: a lone surrogate (``"\\ud83d"``, half an emoji cut by a
client) cannot be encoded, and an integer past 2**63 - 1 cannot be stored. Either would fail a
whole batch; here the text keeps everything else (U+FFFD for the broken half) and counts stop at
the largest one stored.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.model import Author, Engagement, Mention

MAX_COUNT = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a surrogate pair is joined, a lone surrogate becomes U+FFFD."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _count(value: int) -> int:
    return min(max(int(value), 0), MAX_COUNT)


def clean_mention(mention: Mention) -> Mention:
    """``mention`` with every text field valid Unicode and every count storable; the same
    object when nothing needed a change (the usual case, checked in microseconds)."""
    author, engagement = mention.author, mention.engagement
    texts = (mention.native_id, mention.text, mention.url, mention.language, mention.parent_id)
    counts = (
        author.followers,
        *(engagement.reposts, engagement.likes, engagement.replies, engagement.quotes),
    )
    if all(clean_text(t) is t for t in (*texts, author.handle, author.name)) and all(
        0 <= c <= MAX_COUNT for c in counts
    ):
        return mention
    return replace(
        mention,
        native_id=clean_text(mention.native_id),
        text=clean_text(mention.text),
        url=clean_text(mention.url),
        language=clean_text(mention.language),
        parent_id=clean_text(mention.parent_id),
        author=Author(clean_text(author.handle), clean_text(author.name), _count(author.followers)),
        engagement=Engagement(*(_count(c) for c in counts[1:])),
    )
