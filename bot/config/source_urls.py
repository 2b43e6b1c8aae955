"""Checks of the URLs a source is configured with, shared by the ``source_*`` settings."""

from __future__ import annotations

from yarl import URL

from bot.redact import redact_url


def unreachable_host(url: str) -> str | None:
    """Why ``url``'s host can never be asked for (None: it can be). aiohttp names the host as
    yarl reads it and the resolver IDNA-encodes it: a label empty (``a..b.example``) or over 63
    characters fails there with a UnicodeError at every request, so it is refused at start."""
    try:
        host = URL(url).raw_host or ""
        host.encode("idna")
    except ValueError as error:  # UnicodeError is a ValueError
        return f"its host is not a valid host name ({error})"
    return None


def checked_host(url: str) -> str:
    """``url`` as it is; ValueError when its host can never be asked for (see above)."""
    if (why := unreachable_host(url)) is not None:
        raise ValueError(f"{redact_url(url)!r}: {why}")
    return url
