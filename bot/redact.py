"""URLs and error text fit to show in ``/healthz``, the logs and a channel notice.

A configured URL may carry a secret: ``user:pass@`` and ``?token=…`` do, and so does the whole
of some feed URLs. Shown, a URL keeps what tells it apart from the others (scheme, host, port,
path) and loses the rest.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.sanitize import printable

MAX_ERROR = 500
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>).,;:]")


def redact_url(url: str) -> str:
    """``url`` without its user, password, query and fragment (a query becomes ``?…``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    where = f"{parts.scheme}://{host}{'' if port is None else f':{port}'}" if host else ""
    tail = ("?…" if parts.query else "") + ("#…" if parts.fragment else "")
    return f"{where}{parts.path}{tail}"


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted (an exception's words may quote the one asked)."""
    return _URL.sub(lambda found: redact_url(found.group()), text)


def shown_error(text: str) -> str:
    """An error's text as shown to people: URLs redacted, no control characters, bounded."""
    shown = printable(redact_urls(text))
    return shown if len(shown) <= MAX_ERROR else shown[: MAX_ERROR - 1] + "…"
