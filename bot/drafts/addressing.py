"""How a reply names its author, exactly as it is published.

Mastodon notifies only the accounts a post names, so a Mastodon reply that does not name its
author in full ("@user@host") gets that handle put in front when it is published: a bare "@user"
names whoever is called so on the instance the reply is posted from, a stranger or nobody.
Composing, checking an edited text and publishing all use :func:`as_published`, so a draft is
measured as the source will post it.

A handle that is a machine id (a Bluesky DID, an X numeric id: what a source keeps when it
could not look the profile up) names nobody a reader knows: the reply greets no one by name.
"""

from __future__ import annotations

import re

_MACHINE_ID = re.compile(r"did:[a-z0-9]+:\S+|\d+", re.IGNORECASE)
# where a named handle ends: not in a longer name or host ("@ana." ends a sentence)
_END = r"(?![\w@]|[.-]\w)"


def handle_of(author: str) -> str:
    """The author's handle without "@"; "" when unknown or only a machine id."""
    handle = author.strip().lstrip("@")
    return "" if _MACHINE_ID.fullmatch(handle) else handle


def addressee_of(author: str, platform: str) -> str:
    """How a reply names its author: '@ana', or 'u/ana' on Reddit; "" when unknown."""
    handle = handle_of(author)
    if not handle:
        return ""
    return f"u/{handle}" if platform == "reddit" else f"@{handle}"


def addressed_on_mastodon(text: str, handle: str) -> str:
    """``text`` starting with "@handle " unless it already names the account in full;
    ``handle`` is "user@host", with or without a leading "@"."""
    handle = handle_of(handle)
    if not handle or re.search(rf"(?<![\w@])@{re.escape(handle)}{_END}", text, re.IGNORECASE):
        return text
    return f"@{handle} {text}"


def as_published(text: str, platform: str, author: str) -> str:
    """``text`` as the source will post it in reply to ``author`` on ``platform``."""
    return addressed_on_mastodon(text, author) if platform == "mastodon" else text
