"""How long a reply may be on each platform, measured the way that platform measures it.

- Mastodon: 500 characters unless the instance says otherwise; an http(s) link counts 23.
  Counted here in code points, which are never fewer than the graphemes newer servers count.
- Bluesky: 300 graphemes (``regex``'s ``\\X``) and never more than 3000 UTF-8 bytes.
- Reddit: 10,000 characters.
- X: 280 weighted characters, counted by twitter-text v3's own rules (the ``twitter-text-parser``
  port's ``parse_tweet``): code points in the Latin, general punctuation and similar ranges weigh
  1, others 2; an emoji weighs 2 however many code points it has (one newer than the port's
  emoji list weighs its code points: more, never less); a link weighs 23. A link is what
  twitter-text recognises, with or without http(s)://: ``acme.com`` and ``acme.com/help`` are
  links, but only under a top-level domain it knows, so ``kestrel.example/help`` and even
  ``https://kestrel.example/help`` count their full length, as does ``help@acme.com`` (an
  address, not a link). Counted after NFC normalisation, as X does; a "\\r\\n" counts 2, as in
  twitter-text itself (the port would count it 1).
- Anything else ("web": a page we cannot publish to; the reply is copied by hand): 500.

:func:`fit` shortens a text to a limit by dropping whole trailing words, never part of a word or
of a link. Mastodon's link parser is stricter than the http(s) pattern here (``URL``); a link it
does not recognise counts its full length there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import regex
from twitter_text import extract_urls, parse_tweet  # type: ignore[import-untyped]
from twitter_text.config import config as _twitter_config  # type: ignore[import-untyped]

Unit = Literal["characters", "graphemes", "weighted characters"]

ELLIPSIS = "…"
URL_WEIGHT = 23
BLUESKY_MAX_BYTES = 3000
# a link: http(s):// not inside a word, without the punctuation that usually follows one
URL = re.compile(r"(?<!\w)https?://\S+?(?=[.,;:!?…)\]'\"»”]*(?:\s|$))", re.IGNORECASE)
_WORD = re.compile(r"\S+")
_SPACES = re.compile(r"(\s+)")
_GRAPHEME = regex.compile(r"\X")
# twitter-text v3: these code point ranges weigh 1, everything else 2 (used for white space only)
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


X_MOST_DOTS = 20
X_LONGEST_PARSED = 4000
"""Runs without white space with more dots, or longer, are not given to twitter-text, whose
link pattern takes time quadratic in a run's dots (6 ms for 20, a second for 300): they are
weighed character by character, each http(s) link 23, as before twitter-text was used. Such a
run (``1.2.3.…``) is rare in a reply; a long link with a few dots is parsed as X parses it."""


@lru_cache(maxsize=8192)
def _x_word(word: str, url_weight: int) -> int:
    """twitter-text's weighted length of one run without white space.

    Links and emoji never span white space, so a text's weight is its runs' weights plus its
    white space's. Runs are cached: :func:`fit` measures the same words again and again.
    """
    if _unparsed(word):
        stripped, links = _without_urls(word)
        return sum(_weight(char) for char in stripped) + links * url_weight
    options = {**_twitter_config["defaults"], "transformed_url_length": url_weight}
    return int(parse_tweet(word, options).weightedLength)


def _unparsed(word: str) -> bool:
    return len(word) > X_LONGEST_PARSED or word.count(".") > X_MOST_DOTS


@lru_cache(maxsize=1024)
def _x_has_link(word: str) -> bool:
    """Whether twitter-text finds a link in ``word`` (cached as :func:`_x_word` is; in a run
    not given to it, an http(s) link)."""
    if _unparsed(word):
        return URL.search(word) is not None
    return bool(extract_urls(word))


def _x_length(text: str, url_weight: int) -> int:
    total = 0
    for index, part in enumerate(_SPACES.split(text)):
        if index % 2:  # white space: weighed here, as the port would count "\r\n" as one
            total += sum(_weight(char) for char in part)
        elif part:
            total += _x_word(part, url_weight)
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
        if self.unit == "weighted characters":  # X: twitter-text finds the links itself
            return _x_length(text, self._x_url_weight)
        if self.url_weight is not None:
            text, links = _without_urls(text)
        size = len(_GRAPHEME.findall(text)) if self.unit == "graphemes" else len(text)
        return size + links * (self.url_weight or 0)

    @property
    def _x_url_weight(self) -> int:
        return URL_WEIGHT if self.url_weight is None else self.url_weight

    def has_link(self, word: str) -> bool:
        """Whether ``word`` holds a link, as this platform finds them (a "…" stays out of it)."""
        if self.unit == "weighted characters" and _x_has_link(word):
            return True
        return URL.search(word) is not None

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
        return kept + (" " if limit.has_link(last_word) else "") + ELLIPSIS

    low, high = 0, len(ends) - 1  # the whole text does not fit; ``low`` words (with …) do
    while low < high:
        middle = (low + high + 1) // 2
        if limit.fits(shortened(middle)):
            low = middle
        else:
            high = middle - 1
    return shortened(low) if low else ""
