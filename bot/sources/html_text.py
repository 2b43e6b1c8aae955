"""HTML fragments to plain text: feed titles and summaries, Reddit and Hacker News bodies.

Tags go, entities are decoded, block elements (p, br, li, div, ...) become line breaks, and runs
of spaces (non-breaking ones too) fold into one. Script and style contents are dropped. This is
not a sanitiser: what comes out is text, never shown as HTML.
"""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_HIDDEN = frozenset({"script", "style", "template", "head", "noscript"})


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
    """'<p>Kestrel&nbsp;<b>down</b></p><p>again</p>' -> 'Kestrel down\\nagain'."""
    if "<" in fragment or "&" in fragment:
        parser = _Text()
        parser.feed(fragment)
        parser.close()
        fragment = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in fragment.splitlines())
    return "\n".join(line for line in lines if line)
