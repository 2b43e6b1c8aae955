"""What a Bluesky post says, as one text: what brands are matched on, and what is stored,
scored and shown (the pipeline sees only ``Mention.text``, so both must be the same text).

``record.text`` is not all a post says. Clients shorten a link's text (``nytimes.com/2026/03/
10/tec...``) and keep its full address in a link facet; news is shared as a link card
(``app.bsky.embed.external``: title, description, address), often with the link taken out of
the text; images carry alt texts; ``record.tags`` holds hashtags outside the text. A brand named
only there was missed.

The text is ``record.text`` with each shortened link written out in full (as the Mastodon
source shows links), then, a line each, what the post shows outside its text and the text does
not already hold: the hashtags (one line), a link whose words hide its address, the card's
title, description and address, the alt texts of its images or video (also beside a quoted
post, ``app.bsky.embed.recordWithMedia``). A post with none of these reads as it was written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

LINK = "app.bsky.richtext.facet#link"
MAX_EXTRA = 1000
"""Characters kept of one extra line (a card description or an alt text may be long)."""


def post_text(record: Mapping[str, Any]) -> str:
    """The post's text and, a line each, what it shows outside it (see the module)."""
    text, hidden = expand_links(record["text"], record.get("facets"))
    extras = [_tags_line(text, record.get("tags")), *hidden, *embed_texts(record.get("embed"))]
    lines: list[str] = []
    for extra in extras:
        line = " ".join(extra.split())[:MAX_EXTRA]
        if _says_something(line) and line not in text and line not in lines:
            lines.append(line)
    return "\n".join([text, *lines]) if lines else text


def expand_links(text: str, facets: Any) -> tuple[str, list[str]]:
    """``text`` with each link the client shortened written out in full; and the addresses of
    the links whose words are not their address ("read this"), which the text does not show.
    Facets point at UTF-8 byte ranges; one that does not fit the text is taken as hidden."""
    data = text.encode("utf-8")
    pieces: list[bytes] = []
    hidden: list[str] = []
    done = 0
    for start, end, uri in sorted(_links(facets)):
        shown = _slice(data, start, end) if start >= done else None
        if shown is None or not _shortens(shown, uri):
            hidden.append(uri)
            continue
        pieces += [data[done:start], uri.encode("utf-8")]
        done = end
    return (b"".join([*pieces, data[done:]]).decode("utf-8"), hidden)


def embed_texts(embed: Any) -> Iterator[str]:
    """The words an embed shows: a link card's title, description and address, alt texts."""
    if not isinstance(embed, dict):
        return
    media = embed.get("media")
    if isinstance(media, dict):  # recordWithMedia: a quoted post beside images, a card, a video
        embed = media
    card = embed.get("external")
    if isinstance(card, dict):
        yield from (_str(card.get(key)) for key in ("title", "description", "uri"))
    images = embed.get("images")
    for image in images if isinstance(images, list) else ():
        yield _str(image.get("alt")) if isinstance(image, dict) else ""
    yield _str(embed.get("alt"))  # app.bsky.embed.video


def _links(facets: Any) -> Iterator[tuple[int, int, str]]:
    """(byteStart, byteEnd, uri) of each link facet that says them as it should."""
    for facet in facets if isinstance(facets, list) else ():
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not isinstance(features, list):
            continue
        start, end = index.get("byteStart"), index.get("byteEnd")
        for feature in features:
            uri = feature.get("uri") if isinstance(feature, dict) else None
            if _type(feature) == LINK and isinstance(uri, str) and uri:
                if isinstance(start, int) and isinstance(end, int):
                    yield start, end, uri
                else:
                    yield -1, -1, uri  # no range: a hidden link


def _type(feature: Any) -> str:
    return str(feature.get("$type")) if isinstance(feature, dict) else ""


def _slice(data: bytes, start: int, end: int) -> str | None:
    if not 0 <= start < end <= len(data):
        return None
    try:
        return data[start:end].decode("utf-8")
    except UnicodeDecodeError:  # the range cuts a character
        return None


def _shortens(shown: str, uri: str) -> bool:
    """Whether ``shown`` is ``uri`` as clients shorten it: without its scheme (some drop
    "www." too), cut with "..."."""
    stem = shown.strip().removesuffix("...").removesuffix("…")
    bare = uri.split("://", 1)[-1]
    forms = (uri, bare, bare.removeprefix("www."))
    return bool(stem) and any(form.startswith(stem) for form in forms)


def _tags_line(text: str, tags: Any) -> str:
    """The hashtags a post carries outside its text (``record.tags``), on one line."""
    if not isinstance(tags, list):
        return ""
    return " ".join(f"#{tag}" for tag in tags if _str(tag) and f"#{tag}" not in text)


def _says_something(line: str) -> bool:
    """Not empty nor only punctuation (a card described as "...")."""
    return any(character.isalnum() for character in line)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
