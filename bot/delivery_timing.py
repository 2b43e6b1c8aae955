"""When the outbox may send: per-channel pacing, when an item falls due, and a flush's deadline.

Delivery runs on wall time even when incidents run on replayed event time: pacing and retries
are about the chat platform, which lives now. Waits are measured on the monotonic clock too, so
a wall clock set back (NTP, an operator) never holds a channel or a retry for the hour it lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from storage.outbox import OutboxItem


class DeliveryTiming:
    """The deliverer's clocks and what it remembers about them within one start."""

    def __init__(
        self,
        *,
        pace_seconds: Mapping[str, float] | None = None,
        max_backoff_seconds: float = 300.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pace_seconds = dict(pace_seconds or {})  # per platform; none: no pause
        self.max_backoff_seconds = max_backoff_seconds
        self.wall = wall
        self.monotonic = monotonic
        self._free_at: dict[tuple[str, str], float] = {}  # monotonic: a channel's next send
        self._retry_by: dict[int, float] = {}  # item id -> monotonic time its retry falls due
        self._until: float | None = None  # monotonic: a flush's deadline, which rounds honour
        self._held: dict[tuple[str, str], tuple[float, float]] = {}  # channel -> (wall, mono)

    def due_at(self, item: OutboxItem, now: float) -> float:
        """When an item falls due (wall time), never later than the wait it was given: it is
        due when its wall time or its monotonic time comes, whichever is first. A retry
        scheduled before this start waits ``max_backoff_seconds`` at most from when it is
        first seen (the wall clock may have been set back meanwhile; a longer Retry-After is
        simply asked for again)."""
        wait = item.next_attempt_at - now
        if wait <= 0:
            return item.next_attempt_at
        longest = min(wait, self.max_backoff_seconds)
        retry_by = self._retry_by.setdefault(item.id, self.monotonic() + longest)
        return now + max(0.0, min(wait, retry_by - self.monotonic()))

    def retry_in(self, item_id: int, backoff: float) -> float:
        """Schedule an item's retry ``backoff`` seconds from now; return its wall time."""
        retry_at = self.wall() + backoff
        self._retry_by[item_id] = self.monotonic() + backoff
        return retry_at

    def forget(self, item_id: int) -> None:
        """An item left the outbox: no retry of it falls due."""
        self._retry_by.pop(item_id, None)

    @contextmanager
    def deadline(self, within: float) -> Iterator[float]:
        """A flush's deadline (monotonic), which every round honours until the block ends."""
        deadline = self.monotonic() + within
        self._until = deadline
        try:
            yield deadline
        finally:
            self._until = None

    def past_deadline(self) -> bool:
        return self._until is not None and self.monotonic() >= self._until

    def left(self) -> float | None:
        """Seconds left before a flush's deadline (None: no flush under way)."""
        return None if self._until is None else max(0.0, self._until - self.monotonic())

    def hold(self, channel: tuple[str, str], due: float | None) -> None:
        """A channel's round ended waiting until ``due`` (wall time; None: nothing waits): the
        run loop starts it again then, not at each round another channel's news causes."""
        if due is None:
            self._held.pop(channel, None)
        else:
            self._held[channel] = (due, self.monotonic() + max(0.0, due - self.wall()))

    def held(self, channel: tuple[str, str]) -> float | None:
        """When a held channel falls due (wall time, on whichever clock comes first); None
        when it is due now."""
        if (hold := self._held.get(channel)) is None:
            return None
        wall, monotonic = hold
        now, mono = self.wall(), self.monotonic()
        if now >= wall or mono >= monotonic:
            del self._held[channel]
            return None
        return min(wall, now + (monotonic - mono))

    def release(self, platform: str) -> None:
        """A platform's channels are due again now (what their items waited for came)."""
        for channel in [channel for channel in self._held if channel[0] == platform]:
            del self._held[channel]

    def pace(self, channel: tuple[str, str]) -> float | None:
        """None when the channel may take another message now (counted as sent from now on);
        else when it may (wall time, never later than the pace from now, even after the
        monotonic clock went back). It never waits: a round that waited for one channel would
        hold every other channel's next round."""
        if self.past_deadline():
            return self.wall()  # a flush's deadline came: due now, for the next start
        pace = self.pace_seconds.get(channel[0], 0.0)
        now = self.monotonic()
        free = self._free_at.get(channel)
        if free is not None and pace > 0:
            if free - now > pace:  # the clock went back: the pace counts from now
                free = self._free_at[channel] = now + pace
            if free > now:
                return self.wall() + (free - now)
        self._free_at[channel] = now + pace
        return None
