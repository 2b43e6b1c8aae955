"""Injected time. Components never call ``datetime.now()``: they read a :class:`Clock`.

``SystemClock`` is wall time. ``EventClock`` is driven by replayed events: it shows the time of
the last event processed, so a week of data replays in seconds with the decisions it would have
had live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class EventClock:
    """Time as the events say; never runs backwards. Before the first event it reads ``start``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._started = start is not None

    def now(self) -> datetime:
        return self._now

    def advance(self, when: datetime) -> None:
        if not self._started or when > self._now:
            self._now = when
            self._started = True
