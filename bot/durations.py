"""Reading ``--since 24h``-style arguments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.records import MalformedRecord, parse_time

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30m, 24h, 7d or 2w")
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: float(amount)})


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from ``now`` ('24h') or a point in time ('2015-02-17T08:00:00Z')."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_time(text)
    except MalformedRecord:
        raise ValueError(
            f"{text!r} is neither a duration (30m, 24h, 7d) nor an ISO 8601 time"
        ) from None
