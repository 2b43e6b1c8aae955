"""How fast a post is gathering engagement, from successive observations of its counts.

Raw velocity (engagement per minute between two polls) is biased early: most reactions to a post
come in its first minutes and then slow down along a heavy-tailed curve (the SEISMIC memory
kernel). ``expected_share_so_far`` says how much of a post's eventual engagement should already
have happened at a given age, so ``projected_total`` can say where a post is heading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import numpy as np

from bot.model import Engagement
from bot.spread.reach import memory_ccdf

MIN_INTERVAL_SECONDS = 1.0
"""Readings closer than this are one moment (their largest counts), not an interval."""
MIN_PROJECTION_AGE_SECONDS = 60.0
"""Younger than this, a count says too little to project (at one second the kernel would
multiply it by 1,600)."""
MAX_PROJECTION = 20.0
"""A projection is at most this many times the count observed (the kernel gives 27 at a minute)."""


@dataclass(frozen=True, slots=True)
class Observation:
    at: datetime
    engagement: Engagement

    @property
    def total(self) -> int:
        e = self.engagement
        return e.reposts + e.likes + e.replies + e.quotes


@dataclass(frozen=True, slots=True)
class Velocity:
    per_minute: float  # engagement per minute over the last interval
    reposts_per_minute: float
    acceleration: float  # change of per_minute between the last two intervals, per minute
    projected_total: float  # where the post is heading, from its age and its count so far


def expected_share_so_far(age_seconds: float) -> float:
    """The share of a post's eventual engagement expected by ``age_seconds`` (kernel CDF)."""
    remaining = float(memory_ccdf(np.array([max(age_seconds, 0.0)]))[0])
    return min(1.0, max(1e-6, 1.0 - remaining))


def heading_to(count: float, age_seconds: float) -> float:
    """Where a count observed at ``age_seconds`` is heading: the count itself for a post younger
    than ``MIN_PROJECTION_AGE_SECONDS`` (or dated in the future: a wrong clock), else the count
    over the share expected so far, at most ``MAX_PROJECTION`` times it."""
    if age_seconds < MIN_PROJECTION_AGE_SECONDS:
        return float(count)
    return float(count) * min(MAX_PROJECTION, 1.0 / expected_share_so_far(age_seconds))


def velocity(posted: datetime, observations: Sequence[Observation]) -> Velocity | None:
    """Velocity over the last three moments observed (any order); None with fewer than two.

    Counts are running maxima (:func:`_maxima`), so neither a dip nor its recovery reads as
    engagement, and readings less than ``MIN_INTERVAL_SECONDS`` apart are one moment: two
    replicas answering in the same second are no rate.
    """
    points = _maxima(observations)
    if len(points) < 2:
        return None
    rates = [_rate(a, b) for a, b in pairwise(points[-3:])]
    last, previous = rates[-1], rates[-2] if len(rates) > 1 else None
    minutes = _minutes(points[-2], points[-1])
    acceleration = (last[0] - previous[0]) / minutes if previous is not None else 0.0
    newest = points[-1]
    projected = heading_to(newest.total, (newest.at - posted).total_seconds())
    return Velocity(last[0], last[1], acceleration, max(float(newest.total), projected))


@dataclass(frozen=True, slots=True)
class _Point:
    at: datetime
    total: int
    reposts: int


def _maxima(observations: Sequence[Observation]) -> list[_Point]:
    """One point per moment, oldest first, each count the largest seen up to then."""
    points: list[_Point] = []
    total = reposts = 0
    for seen in sorted(observations, key=lambda o: o.at):
        total, reposts = max(total, seen.total), max(reposts, seen.engagement.reposts)
        if points and (seen.at - points[-1].at).total_seconds() < MIN_INTERVAL_SECONDS:
            points[-1] = _Point(points[-1].at, total, reposts)
        else:
            points.append(_Point(seen.at, total, reposts))
    return points


def _minutes(earlier: _Point, later: _Point) -> float:
    return (later.at - earlier.at).total_seconds() / 60.0


def _rate(earlier: _Point, later: _Point) -> tuple[float, float]:
    minutes = _minutes(earlier, later)
    return (later.total - earlier.total) / minutes, (later.reposts - earlier.reposts) / minutes
