"""One spelling per link, so the same page heard through two sources is one mention."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_TRACKING = re.compile(r"^(utm_|fbclid|gclid|igshid|ref_?src|mc_(cid|eid))")


def canonical_url(url: str) -> str:
    """``host/path?query``: no scheme, no ``www.``, no tracking parameters, no fragment, no
    trailing slash, host in lower case; "" for what is not an http(s) link."""
    url = url.strip().rstrip(".,;:!?")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc.lower().removeprefix("www.")
    query = "&".join(pair for pair in parts.query.split("&") if pair and not _TRACKING.match(pair))
    return f"{host}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")
