"""Reading ``--since 24h``-style arguments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.records import MalformedRecord, parse_time

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw])\s*$", re.IGNORECASE)  # 7D: 7d


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30m, 24h, 7d or 2w")
    amount, unit = match.groups()
    try:
        return timedelta(**{_UNITS[unit.lower()]: float(amount)})
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any duration this service handles") from None


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from ``now`` ('24h') or a point in time ('2015-02-17T08:00:00Z')."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    except OverflowError:
        raise ValueError(f"{text!r} goes back further than any date") from None
    try:
        return parse_time(text)
    except MalformedRecord:
        raise ValueError(
            f"{text!r} is neither a duration (30m, 24h, 7d) nor an ISO 8601 time"
        ) from None
