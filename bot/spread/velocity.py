"""Where a post's reposts are heading, from how many it has and how old it is.

Most reposts of a post come in its first minutes and then slow down along a heavy-tailed curve
(the SEISMIC memory kernel, ``bot.spread.reach.memory_ccdf``), so a count read early says more
about the final size than the same count read late: :func:`projected_reposts`.
"""

from __future__ import annotations

import numpy as np

from bot.spread.reach import HORIZON, memory_ccdf

MAX_PROJECTION = 20.0
"""A projection is at most this many times the count observed (the kernel gives 27 at a minute)."""
TRUST_AGE = 600.0
"""Seconds before a post's count is fully trusted to project from: a minute-old post's first
reposts are mostly its author's circle, so its multiplier grows from 1 over these ten minutes
(the reach tables' error is measured from ten minutes on)."""


def projected_reposts(reposts: float, age_seconds: float) -> float:
    """Where ``reposts`` seen at ``age_seconds`` are heading by the reach horizon (7 days).

    The kernel's share of the horizon's reposts expected by then, inverted (at most
    ``MAX_PROJECTION`` times), eased in over ``TRUST_AGE``: continuous in age, the count itself
    at age 0 (or a future date: a wrong clock) and from the horizon on."""
    age = min(max(age_seconds, 0.0), HORIZON)
    by_age, by_horizon = 1.0 - memory_ccdf(np.array([age, HORIZON]))
    factor = min(MAX_PROJECTION, float(by_horizon / max(by_age, 1e-9)))
    trust = min(1.0, age / TRUST_AGE)
    return float(reposts) * (1.0 + trust * (factor - 1.0))
