"""A status's HTML ``content`` as plain text, shaped as the post reads.

Paragraphs stay apart by a blank line, ``<br>`` is a line break, entities are decoded and tags
dropped. Mastodon shortens links for display by hiding their ends in
``<span class="invisible">``; that text is kept, so a link reads whole (``https://kestrel.com/x``
rather than ``kestrel.com/…``) and a brand's domain can match. Mentions and hashtags read as
``@name`` and ``#tag``. The result is text, never shown as HTML.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_PARAGRAPHS = frozenset({"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})
_LINES = frozenset({"br", "li", "div", "hr", "tr"})
_HIDDEN = frozenset({"script", "style", "template"})
_WHITE_SPACE = re.compile(r"\s+")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag, opening=True)

    def handle_endtag(self, tag: str) -> None:
        self._boundary(tag, opening=False)

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


def content_text(html: str) -> str:
    """``<p>Kestrel&#39;s <b>down</b></p><p>again<br>and again</p>`` ->
    ``Kestrel's down\\n\\nagain\\nand again``."""
    if "<" not in html and "&" not in html:
        return "\n".join(line.strip() for line in html.strip().splitlines())
    reader = _Reader()
    reader.feed(html)
    reader.close()
    text = _SPACES.sub(" ", "".join(reader.parts))
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
