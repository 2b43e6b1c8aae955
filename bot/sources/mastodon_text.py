"""A status's HTML ``content`` as plain text, shaped as the post reads.

Paragraphs stay apart by a blank line, ``<br>`` is a line break, entities are decoded and tags
dropped. Mastodon shortens links for display by hiding their ends in
``<span class="invisible">``; that text is kept, so a link reads whole (``https://kestrel.com/x``
rather than ``kestrel.com/…``) and a brand's domain can match. Mentions and hashtags read as
``@name`` and ``#tag``, except a mention of an account the caller names (from the status's
``mentions``): that one reads in full, ``@name@host``, since Mastodon's HTML shows no domain and a
brand's handle configured in full must still match. The result is text, never shown as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

_PARAGRAPHS = frozenset({"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})
_LINES = frozenset({"br", "li", "div", "hr", "tr"})
_HIDDEN = frozenset({"script", "style", "template"})
_WHITE_SPACE = re.compile(r"\s+")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Named:
    """An account a status mentions: profile URL, username, handle in full (``name@host``)."""

    url: str
    username: str
    handle: str


class _Reader(HTMLParser):
    def __init__(self, named: Iterable[Named]) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.named = tuple(named)
        self.link: tuple[str, int] | None = None  # an open mention link: its href, first part

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag, opening=True)
        if tag == "a" and self.named:
            found = dict(attrs)
            if "mention" in (found.get("class") or "").split():
                self.link = (found.get("href") or "", len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.link is not None:
            href, first = self.link
            self.link = None
            handle = self._handle(href, "".join(self.parts[first:]).strip())
            if handle:
                self.parts[first:] = [f"@{handle}"]
        self._boundary(tag, opening=False)

    def _handle(self, href: str, shown: str) -> str:
        """The full handle of the account a mention link names: by its URL, else by the name it
        shows when one account of the status has that name ("" when none or several)."""
        by_url = [named.handle for named in self.named if href and named.url == href]
        if by_url:
            return by_url[0]
        shown = shown.removeprefix("@").casefold()
        by_name = {
            named.handle
            for named in self.named
            if shown in (named.handle.casefold(), named.username.casefold())
        }
        return by_name.pop() if len(by_name) == 1 else ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINES:  # <br/>; a self-closed <p/> or <script/> opens nothing
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        # outside <pre>, a run of white space (a newline in the source too) is one space
        self.parts.append(data if self.pre else _WHITE_SPACE.sub(" ", data))

    def _boundary(self, tag: str, *, opening: bool) -> None:
        step = 1 if opening else -1
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden + step)
        elif tag == "pre":
            self.pre = max(0, self.pre + step)
        if tag in _PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag in _LINES and opening:
            self.parts.append("\n")


def content_text(html: str, named: Iterable[Named] = ()) -> str:
    """``<p>Kestrel&#39;s <b>down</b></p><p>again<br>and again</p>`` ->
    ``Kestrel's down\\n\\nagain\\nand again``; a mention link to one of ``named`` as its
    ``@handle`` in full."""
    if "<" not in html and "&" not in html:
        return "\n".join(line.strip() for line in html.strip().splitlines())
    reader = _Reader(named)
    reader.feed(html)
    reader.close()
    text = _SPACES.sub(" ", "".join(reader.parts))
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
