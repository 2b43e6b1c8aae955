"""Whether a post's author is one of a brand's own accounts (``brands[].handles``).

Handles are compared without case or a leading ``@``. A configured handle with a host
(``@kestrel@mastodon.social``) is that account only; one without (``@kestrel``) is the account
of that name on any network, so ``kestrel@mastodon.social`` on Mastodon, ``kestrel`` on Reddit
and ``kestrel.bsky.social`` on Bluesky (a handle under a hosting domain everyone shares) are all
the brand's. A Bluesky handle on a domain of its own (``kestrel.com``) is listed in full: the
name alone says nothing about who owns the domain.
"""

from __future__ import annotations

from collections.abc import Iterable

# Bluesky handles anyone can take under a shared domain: their first label is the account's name
_HOSTED = (".bsky.social",)


def _bare(handle: str) -> str:
    return handle.strip().lower().lstrip("@")


def own_accounts(handles: Iterable[str]) -> frozenset[str]:
    """The configured handles in the form ``is_own`` compares."""
    return frozenset(bare for bare in map(_bare, handles) if bare)


def _name_of(who: str) -> str:
    """The account's name without the instance or hosting domain that is not part of it."""
    for domain in _HOSTED:
        if who.endswith(domain) and "." not in who[: -len(domain)]:
            return who[: -len(domain)]
    return who.partition("@")[0]


def is_own(author: str, accounts: frozenset[str]) -> bool:
    """The author is one of ``accounts`` (from ``own_accounts``)."""
    who = _bare(author)
    return bool(who) and (who in accounts or _name_of(who) in accounts)
