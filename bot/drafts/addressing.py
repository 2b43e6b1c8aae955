"""How a reply names its author, exactly as it is published.

Mastodon notifies only the accounts a post names, so a Mastodon reply that does not name its
author gets "@user@host " put in front when it is published. Composing, checking an edited text
and publishing all use :func:`as_published`, so a draft is measured as the source will post it.
"""

from __future__ import annotations

import re


def addressee_of(author: str, platform: str) -> str:
    """How a reply names its author: '@ana', or 'u/ana' on Reddit; "" when unknown."""
    handle = author.strip().lstrip("@")
    if not handle:
        return ""
    return f"u/{handle}" if platform == "reddit" else f"@{handle}"


def addressed_on_mastodon(text: str, handle: str) -> str:
    """``text`` starting with "@handle " unless it already names the account (as "@user" or
    "@user@any.host"); ``handle`` is "user@host", with or without a leading "@"."""
    handle = handle.strip().lstrip("@")
    user = handle.split("@")[0]
    if not user or re.search(rf"@{re.escape(user)}(?![\w.-])", text, flags=re.IGNORECASE):
        return text
    return f"@{handle} {text}"


def as_published(text: str, platform: str, author: str) -> str:
    """``text`` as the source will post it in reply to ``author`` on ``platform``."""
    return addressed_on_mastodon(text, author) if platform == "mastodon" else text
