"""Checks of the URLs a source is configured with, shared by the ``source_*`` settings."""

from __future__ import annotations

from urllib.parse import urlsplit

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


def not_http(value: str, example: str) -> str:
    """Why ``value`` is refused as an http(s) URL, showing it without its user, password and
    query (a URL may carry a token); a value that does not even read as ``scheme://host`` is
    not shown at all (it may be a secret written in the wrong place)."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.netloc:
        return f"{redact_url(value.strip())!r} is not an http(s) address such as {example}"
    return (
        f"not an http(s) address such as {example} (the value, not shown in case it is a "
        "secret, does not start with http:// or https://)"
    )
