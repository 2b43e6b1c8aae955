"""How long a reply may be on each platform, measured the way that platform measures it.

- Mastodon: 500 characters unless the instance says otherwise; an http(s) link counts 23.
  Counted here in code points, which are never fewer than the graphemes newer servers count.
- Bluesky: 300 graphemes (``regex``'s ``\\X``) and never more than 3000 UTF-8 bytes.
- Reddit: 10,000 characters.
- X: 280 weighted characters (twitter-text v3): code points in the Latin, general punctuation
  and similar ranges weigh 1, others 2; an emoji weighs 2 however many code points it has; an
  http(s) link weighs 23. Counted after NFC normalisation, as X does.
- Anything else ("web": a page we cannot publish to; the reply is copied by hand): 500.

:func:`fit` shortens a text to a limit by dropping whole trailing words, never part of a word or
of a link. The platforms' own link parsers are stricter than the pattern here (X wants a known
top-level domain); a link they do not recognise counts its full length there.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import regex

Unit = Literal["characters", "graphemes", "weighted characters"]

ELLIPSIS = "…"
URL_WEIGHT = 23
BLUESKY_MAX_BYTES = 3000
# a link: http(s):// not inside a word, without the punctuation that usually follows one
URL = re.compile(r"(?<!\w)https?://\S+?(?=[.,;:!?…)\]'\"»”]*(?:\s|$))", re.IGNORECASE)
_WORD = re.compile(r"\S+")
_GRAPHEME = regex.compile(r"\X")
# one emoji: a flag, a keycap, or pictographs (with skin tones, variation selectors, tags) joined
_EMOJI = regex.compile(
    r"\p{RI}\p{RI}"
    r"|[#*0-9]\uFE0F?\u20E3"
    r"|(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F)"
    r"[\uFE0F\p{Emoji_Modifier}\U000E0020-\U000E007F]*"
    r"(?:\u200D\p{Extended_Pictographic}[\uFE0F\p{Emoji_Modifier}]*)*"
)
# twitter-text v3: these code point ranges weigh 1, everything else 2
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_LABELS = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "reddit": "Reddit",
    "x": "X",
    "hackernews": "Hacker News",
    "web": "Web",
}


def _weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT_RANGES) else 2


def _weighted_length(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if _EMOJI.fullmatch(cluster):
            total += 2
        elif cluster.isascii():
            total += len(cluster)
        else:
            total += sum(_weight(char) for char in cluster)
    return total


def _without_urls(text: str) -> tuple[str, int]:
    """The text with its links taken out, and how many links there were."""
    stripped, count = URL.subn("", text)
    return stripped, count


@dataclass(frozen=True)
class Limit:
    """The most a reply may hold on ``platform``, in ``unit``; see :meth:`length`."""

    platform: str
    maximum: int
    unit: Unit
    url_weight: int | None = None  # what a link counts, where the platform shortens links
    max_bytes: int | None = None  # a second ceiling in UTF-8 bytes (Bluesky)

    def length(self, text: str) -> int:
        """The text's length as the platform counts it, in ``unit``."""
        links = 0
        if self.url_weight is not None:
            text, links = _without_urls(text)
        if self.unit == "graphemes":
            size = len(_GRAPHEME.findall(text))
        elif self.unit == "weighted characters":
            size = _weighted_length(unicodedata.normalize("NFC", text))
        else:
            size = len(text)
        return size + links * (self.url_weight or 0)

    def fits(self, text: str) -> bool:
        if self.max_bytes is not None and len(text.encode("utf-8", "surrogatepass")) > (
            self.max_bytes
        ):
            return False
        return self.length(text) <= self.maximum

    @property
    def label(self) -> str:
        return _LABELS.get(self.platform, self.platform)

    def describe(self) -> str:
        """'Bluesky's 300 graphemes'."""
        return f"{self.label}'s {self.maximum:,} {self.unit}"

    def problems(self, text: str) -> list[str]:
        """Why ``text`` does not fit ('is 312 graphemes; Bluesky takes 300'); [] when it does."""
        found = []
        size = self.length(text)
        if size > self.maximum:
            found.append(f"is {size:,} {self.unit}; {self.label} takes {self.maximum:,}")
        size = len(text.encode("utf-8", "surrogatepass"))
        if self.max_bytes is not None and size > self.max_bytes:
            found.append(f"is {size:,} bytes in UTF-8; {self.label} takes {self.max_bytes:,}")
        return found


def limit_for(platform: str, override: int | None = None) -> Limit:
    """The limit of ``platform``; ``override`` replaces the maximum (a Mastodon instance's own).

    Platforms Vigie cannot publish to (Hacker News, RSS, unknown) get the "web" limit under
    their own name: the reply is copied by hand.
    """
    platform = platform.strip().lower() or "web"
    if override is not None and override < 1:
        raise ValueError(f"a length limit must be positive, not {override}")
    if platform == "mastodon":
        limit = Limit("mastodon", 500, "characters", url_weight=URL_WEIGHT)
    elif platform == "bluesky":
        limit = Limit("bluesky", 300, "graphemes", max_bytes=BLUESKY_MAX_BYTES)
    elif platform == "reddit":
        limit = Limit("reddit", 10_000, "characters")
    elif platform in ("x", "twitter"):
        limit = Limit("x", 280, "weighted characters", url_weight=URL_WEIGHT)
    else:
        limit = Limit(platform, 500, "characters")
    if override is not None:
        limit = Limit(limit.platform, override, limit.unit, limit.url_weight, limit.max_bytes)
    return limit


_HOSTS = {
    "twitter.com": "x",
    "x.com": "x",
    "t.co": "x",
    "bsky.app": "bluesky",
    "reddit.com": "reddit",
    "redd.it": "reddit",
    "news.ycombinator.com": "hackernews",
}


def platform_of_url(url: str) -> str:
    """The platform a post's URL belongs to, from its host; "web" when unknown."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return "web"
    while host:
        if host in _HOSTS:
            return _HOSTS[host]
        _, _, host = host.partition(".")  # www.reddit.com, old.reddit.com, mobile.twitter.com
        if "." not in host:
            break
    return "web"


def fit(text: str, limit: Limit) -> str:
    """``text`` within ``limit``: unchanged if it fits, else whole words followed by "…".

    Words and links are never cut; "" when not even the first word fits.
    """
    if limit.fits(text):
        return text
    ends = [match.end() for match in _WORD.finditer(text)]
    start = len(text) - len(text.lstrip())

    def shortened(count: int) -> str:
        kept = text[start : ends[count - 1]]
        last_word = kept.rsplit(None, 1)[-1]
        return kept + (" " if URL.search(last_word) else "") + ELLIPSIS

    low, high = 0, len(ends) - 1  # the whole text does not fit; ``low`` words (with …) do
    while low < high:
        middle = (low + high + 1) // 2
        if limit.fits(shortened(middle)):
            low = middle
        else:
            high = middle - 1
    return shortened(low) if low else ""
