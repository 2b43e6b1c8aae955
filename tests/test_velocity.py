"""Where a post's reposts are heading, from its count and its age."""

from __future__ import annotations

import pytest

from bot.spread.reach import HORIZON
from bot.spread.velocity import MAX_PROJECTION, TRUST_AGE, projected_reposts


def test_a_projection_is_continuous_in_age_and_ends_at_the_horizon() -> None:
    assert projected_reposts(100, 0) == 100
    assert projected_reposts(100, -30) == 100  # dated in the future: a wrong clock
    assert projected_reposts(100, 59.9) == pytest.approx(projected_reposts(100, 60.1), rel=0.01)
    assert projected_reposts(100, 90) < 5 * 100  # a minute-old count is not trusted 20 times
    assert projected_reposts(100, TRUST_AGE) <= 100 * MAX_PROJECTION
    assert projected_reposts(100, 3600) > projected_reposts(100, 86400) > 100
    assert projected_reposts(100, HORIZON) == pytest.approx(100)
    assert projected_reposts(100, 30 * 86400) == pytest.approx(100)
