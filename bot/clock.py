"""Injected time. Components never call ``datetime.now()``: they read a :class:`Clock`.

``SystemClock`` is wall time that never steps back. ``EventClock`` is driven by replayed events:
it shows the time of the last event processed, so a week of data replays in seconds with the
decisions it would have had live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

logger = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


LEAP = timedelta(minutes=5)
"""Wall time running this much further than the process's own (monotonic) time between two
readings is a leap: the machine was asleep (a laptop's lid closed, a paused VM: the monotonic
clock does not count a suspension) or the clock was set forward."""


class SystemClock:
    """Wall time that never steps back: if the system clock is set back (an NTP step, a
    manual change), time keeps flowing on the monotonic clock from where it was, until wall
    time catches up. Forward steps are taken as they come (the incident engine catches up);
    one longer than ``LEAP`` is remembered for :meth:`leapt_from`."""

    def __init__(
        self,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wall = wall
        self.monotonic = monotonic
        self._last: tuple[datetime, float] | None = None
        self._leapt_from: datetime | None = None
        self._lock = threading.Lock()  # read from the event loop and the storage thread

    def now(self) -> datetime:
        with self._lock:
            wall, steady = self.wall(), self.monotonic()
            if self._last is not None:
                last, at = self._last
                flowed = last + timedelta(seconds=steady - at)
                if wall - flowed > LEAP and self._leapt_from is None:
                    self._leapt_from = flowed
                wall = max(wall, flowed)
            self._last = (wall, steady)
            return wall

    def leapt_from(self) -> datetime | None:
        """When time last leapt forward (see ``LEAP``), once: the time the process had reached
        before it; None when it has not leapt since the last call. What happened between was
        not heard (the incident desk does not count it as calm)."""
        with self._lock:
            since, self._leapt_from = self._leapt_from, None
            return since


MAX_AHEAD = timedelta(hours=1)
"""An event dated further than this after wall time has a wrong date: it does not move time."""

MAX_LEAP = timedelta(days=2)
"""A leap of event time longer than this waits for a second event to confirm it."""


class EventClock:
    """Time as the events say; never runs backwards. Before the first event it reads ``start``.

    A misdated event must not move it: one row a year ahead would make every later event a year
    old (the incident engine files old mentions but no longer counts them). So an event dated in
    the future (past wall time plus ``MAX_AHEAD``: a device's wrong clock, a bad export) is
    ignored, and a leap of more than ``MAX_LEAP`` is taken only when the next event confirms it
    by leaping too (a replayed file with a gap of days, or sparse events days apart: each waits
    for the next one); a single misdated row followed by ordinary ones never moves it."""

    def __init__(
        self,
        start: datetime | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._now = start or wall()
        self._started = start is not None
        self._leap: datetime | None = None  # a leap waiting for confirmation
        self._flowing: tuple[datetime, float] | None = None  # see follow_wall
        self.wall = wall
        self.monotonic = monotonic
        self.ignored = 0  # events dated in the future, or leaps nothing confirmed

    def now(self) -> datetime:
        if self._flowing is not None:
            since, at = self._flowing
            return max(self._now, since + timedelta(seconds=self.monotonic() - at))
        return self._now

    def follow_wall(self) -> None:
        """From now on time also passes as on a watch, from where the events left it: once a
        replay is over, the service that goes on (for Slack or Teams) still needs time to pass,
        or waits, snoozes, reminders and calm would never end."""
        if self._flowing is None:
            self._flowing = (self._now, self.monotonic())

    def advance(self, when: datetime) -> None:
        if when > self.wall() + MAX_AHEAD:
            self._ignore(when, "dated in the future")
            return
        if self._started and when - self.now() > MAX_LEAP:
            leap, self._leap = self._leap, when
            if leap is None:
                return  # waits for the next event
            # confirmed (sparse events days apart): time moves to the earlier of the two, and
            # the later one waits in turn if it is still a leap from there
            self._now, self._leap = min(leap, when), None
            if when - self._now > MAX_LEAP:
                self._leap = when
                return
        elif self._leap is not None and when > self.now():
            self._ignore(self._leap, f"more than {MAX_LEAP.days} days ahead of the others")
        if not self._started or when > self.now():
            self._now = when
            self._started = True
            self._leap = None

    def _ignore(self, when: datetime, why: str) -> None:
        self.ignored += 1
        self._leap = None if self._leap == when else self._leap
        if self.ignored in (1, 10, 100) or self.ignored % 1000 == 0:
            logger.warning(
                "%d event(s) did not move event time (latest %s: %s)",
                self.ignored,
                when.isoformat(),
                why,
            )
