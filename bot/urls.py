"""One spelling per link, so the same page heard through two sources is one mention."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_TRACKING = re.compile(r"^(utm_|fbclid|gclid|igshid|ref_?src|mc_(cid|eid))")


_FRAGMENT_TRACKING = re.compile(r"^(utm_|xtor=|at_|fbclid=|gclid=|mc_(cid|eid)=)", re.I)
"""Parameters feeds put after ``#``: Le Monde's ``xtor``, AT Internet's ``at_*``, UTM."""

_PLACE = re.compile(r"^(:~:|top$|main$|content$|comments?$|respond$|reply$|share)", re.I)
"""Fragments that say where to scroll, not which item: a text fragment, a page's sections."""


def canonical_url(url: str, *, fragment: bool = True) -> str:
    """``host/path?query#fragment``: no scheme, no ``www.``, no tracking parameters, no
    trailing slash, host in lower case; "" for what is not an http(s) link, or not one at all
    (``https://acme.com[1``: a footnote after a link in a post, which ``urlsplit`` refuses as
    a broken IPv6 address). A fragment stays when it names an item (``#comment-12``: each
    comment of a blog post is its own mention) and goes when it only says where to scroll
    (``#comments``, ``#:~:text=``), when it is only a feed's tracking parameters
    (``#xtor=RSS-3208``, different in each feed of one site), or when ``fragment`` is False
    (the page itself: what a topic is about)."""
    url = url.strip().rstrip(".,;:!?")
    try:
        parts = urlsplit(url)
    except ValueError:  # no page can be told from it: the mention stands without a link
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc.lower().removeprefix("www.")
    query = "&".join(pair for pair in parts.query.split("&") if pair and not _TRACKING.match(pair))
    item = "" if not fragment or not _names_an_item(parts.fragment) else parts.fragment
    return (
        f"{host}{parts.path.rstrip('/')}"
        + (f"?{query}" if query else "")
        + (f"#{item}" if item else "")
    )


def _names_an_item(fragment: str) -> bool:
    """Whether a fragment tells one item of a page from another (``comment-12``,
    ``post=12``, ``/thread?id=5``), rather than where to scroll or a feed's tracking
    (``xtor=RSS-3208``, ``at_medium=RSS&at_campaign=…``: every parameter a tracking one)."""
    if not fragment or _PLACE.match(fragment):
        return False
    pairs = fragment.split("&")
    return not all("=" in pair and _FRAGMENT_TRACKING.match(pair) for pair in pairs)
