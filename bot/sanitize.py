"""A mention made safe to score, store and show, whatever a source sent.

JSON allows what SQLite and UTF-8 do not: a lone surrogate (``"\\ud83d"``, half an emoji cut by a
client) cannot be encoded, and an integer past 2**63 - 1 cannot be stored. Either would fail a
whole batch; here the text keeps everything else (U+FFFD for the broken half) and counts stop at
the largest one stored.

What people see loses its control characters (an escape sequence in a post would drive the
operator's terminal: clear it, retitle it, draw lines that are not there), but not the space they
stood for: a line break of any convention (``\\r\\n``, ``\\r``, vertical tab, form feed, NEL, the
file, group and record separators) becomes ``\\n``, the unit separator a space, and tabs stay.
Deleted, they would glue words together ("Kestrel\\rdown" read "Kestreldown", and matched no
brand). Handles and display names also lose bidirectional overrides and isolates, which make one
name read as another. Format characters in general stay: U+200D joins emoji sequences.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.model import Author, Engagement, Mention

MAX_COUNT = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # category Cc but \t and \n
# What str.splitlines() breaks at, in category Cc (U+2028 and U+2029 are not controls).
_BREAK = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85]")
_SPACES = re.compile("[\x0b-\x0d\x1c-\x1f\x85]")  # the controls str.isspace() accepts, but \t, \n
_OTHER = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a surrogate pair is joined, a lone surrogate becomes U+FFFD."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def printable(text: str, mark: str = "") -> str:
    """``text`` with its control characters (Unicode category Cc) other than ``\\n`` and
    ``\\t`` replaced: each line or whitespace control by a space, any other by ``mark``
    (removed by default). With a one-character mark the length stays. The same object when
    it has none."""
    if not _CONTROL.search(text):
        return text
    return _OTHER.sub(mark, _SPACES.sub(" ", text))


def readable(text: str) -> str:
    """``text`` as it is shown and stored: its line breaks ``\\n`` whatever their convention
    (``\\r\\n`` is one), then :func:`printable`. The same object when it has no control."""
    if not _CONTROL.search(text):
        return text
    return printable(_BREAK.sub("\n", text))


def clean_name(text: str) -> str:
    """A handle or display name: readable, and without bidirectional overrides or isolates."""
    text = readable(clean_text(text))
    return _BIDI.sub("", text) if _BIDI.search(text) else text


def _shown(text: str) -> str:
    return readable(clean_text(text))


def _count(value: int) -> int:
    return min(max(int(value), 0), MAX_COUNT)


def clean_engagement(engagement: Engagement) -> Engagement:
    """Counts as storage keeps them: whole, 0 to 2**63-1 (a source's refreshed counts, like a
    mention's, may be negative, huge or not numbers at all)."""
    counts = (engagement.reposts, engagement.likes, engagement.replies, engagement.quotes)
    return Engagement(*(_any_count(c) for c in counts))


def _any_count(value: object) -> int:
    try:
        return _count(int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return 0


def clean_mention(mention: Mention) -> Mention:
    """``mention`` with every text field valid Unicode, what is shown printable, and every count
    storable; the same object when nothing needed a change (the usual case, checked in
    microseconds). Ids are only made valid: a reply must name the post as its network does."""
    author, engagement = mention.author, mention.engagement
    ids = (mention.native_id, mention.language, mention.parent_id)
    native_id, language, parent_id = (clean_text(t) for t in ids)
    text, url = _shown(mention.text), _shown(mention.url)
    handle, name = clean_name(author.handle), clean_name(author.name)
    counts = (
        author.followers,
        *(engagement.reposts, engagement.likes, engagement.replies, engagement.quotes),
    )
    before = (*ids, mention.text, mention.url, author.handle, author.name)
    after = (native_id, language, parent_id, text, url, handle, name)
    if all(a is b for a, b in zip(after, before, strict=True)) and all(
        0 <= c <= MAX_COUNT for c in counts
    ):
        return mention
    return replace(
        mention,
        native_id=native_id,
        text=text,
        url=url,
        language=language,
        parent_id=parent_id,
        author=Author(handle, name, _count(author.followers)),
        engagement=Engagement(*(_count(c) for c in counts[1:])),
    )
