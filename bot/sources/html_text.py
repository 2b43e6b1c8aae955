"""HTML fragments to plain text: feed titles and summaries, Reddit and Hacker News bodies.

Tags go, entities are decoded, block elements (p, br, li, div, ...) become line breaks, and runs
of spaces (non-breaking ones too) fold into one. Script and style contents are dropped. This is
not a sanitiser: what comes out is text, never shown as HTML.
"""

from __future__ import annotations

import html
import logging
import re
from html.parser import HTMLParser

logger = logging.getLogger(__name__)

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_HIDDEN = frozenset({"script", "style", "template", "head", "noscript"})
_HIDDEN_ELEMENT = re.compile(
    r"<(script|style|template|head|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG = re.compile(r"</?(?:" + "|".join(sorted(_BLOCKS)) + r")\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:  # <br/>, <hr/>; a self-closed <script/> hides nothing
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """'<p>Kestrel&nbsp;<b>down</b></p><p>again</p>' -> 'Kestrel down\\nagain'. Never raises:
    markup the parser chokes on is stripped more roughly (see :func:`_stripped`)."""
    if "<" in fragment or "&" in fragment:
        fragment = _parsed(fragment)
    lines = (" ".join(line.split()) for line in fragment.splitlines())
    return "\n".join(line for line in lines if line)


def _parsed(fragment: str) -> str:
    parser = _Text()
    try:
        parser.feed(fragment)
        parser.close()
    except AssertionError as error:  # html.parser asserts on odd "<![" sections (<![ if mso]>)
        logger.debug("markup the HTML parser refuses (%s); tags stripped instead", error)
        return _stripped(fragment)
    return "".join(parser.parts)


def _stripped(fragment: str) -> str:
    """Text by pattern: hidden elements and tags dropped (block ones as line breaks), entities
    decoded. Rougher than the parser, but a mention's text is worth more than its markup."""
    text = _HIDDEN_ELEMENT.sub("", fragment)
    text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    return html.unescape(text)
