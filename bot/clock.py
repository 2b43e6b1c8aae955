"""Injected time. Components never call ``datetime.now()``: they read a :class:`Clock`.

``SystemClock`` is wall time that never steps back. ``EventClock`` is driven by replayed events:
it shows the time of the last event processed, so a week of data replays in seconds with the
decisions it would have had live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall time that never steps back: if the system clock is set back (an NTP step, a
    manual change), time keeps flowing on the monotonic clock from where it was, until wall
    time catches up. Forward steps are taken as they come (the incident engine catches up)."""

    def __init__(
        self,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wall = wall
        self.monotonic = monotonic
        self._last: tuple[datetime, float] | None = None
        self._lock = threading.Lock()  # read from the event loop and the storage thread

    def now(self) -> datetime:
        with self._lock:
            wall, steady = self.wall(), self.monotonic()
            if self._last is not None:
                last, at = self._last
                wall = max(wall, last + timedelta(seconds=steady - at))
            self._last = (wall, steady)
            return wall


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
