"""Whether a post's author is one of a brand's own accounts (``brands[].handles``).

Handles are compared without case or a leading ``@``. A configured handle with a host
(``@kestrel@mastodon.social``) is that account only; one without (``@kestrel``) is the account
of that name on any network, so ``kestrel@mastodon.social`` on Mastodon and ``kestrel`` on
Reddit are both the brand's.
"""

from __future__ import annotations

from collections.abc import Iterable


def _bare(handle: str) -> str:
    return handle.strip().lower().lstrip("@")


def own_accounts(handles: Iterable[str]) -> frozenset[str]:
    """The configured handles in the form ``is_own`` compares."""
    return frozenset(bare for bare in map(_bare, handles) if bare)


def is_own(author: str, accounts: frozenset[str]) -> bool:
    """The author is one of ``accounts`` (from ``own_accounts``)."""
    who = _bare(author)
    return bool(who) and (who in accounts or who.partition("@")[0] in accounts)
