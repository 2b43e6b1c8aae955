"""Engagement velocity from successive observations of one post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.model import Engagement
from bot.spread.velocity import (
    MAX_PROJECTION,
    Observation,
    expected_share_so_far,
    heading_to,
    velocity,
)

POSTED = datetime(2026, 3, 10, 9, tzinfo=UTC)


def seen(minutes: float, reposts: int, likes: int = 0) -> Observation:
    return Observation(POSTED + timedelta(minutes=minutes), Engagement(reposts, likes))


def test_one_observation_says_nothing() -> None:
    assert velocity(POSTED, [seen(5, 10)]) is None


def test_rate_per_minute_over_the_last_interval() -> None:
    result = velocity(POSTED, [seen(5, 10, 20), seen(10, 30, 50)])
    assert result is not None
    assert result.per_minute == pytest.approx((20 + 30) / 5)
    assert result.reposts_per_minute == pytest.approx(4)
    assert result.acceleration == 0


def test_acceleration_is_positive_when_a_post_speeds_up() -> None:
    result = velocity(POSTED, [seen(0, 0), seen(5, 5), seen(10, 30)])
    assert result is not None
    assert result.acceleration > 0


def test_counts_going_down_are_not_negative_velocity() -> None:
    result = velocity(POSTED, [seen(5, 10), seen(10, 8)])  # a deleted repost
    assert result is not None
    assert result.per_minute == 0


def test_early_engagement_projects_further_than_late_engagement() -> None:
    early = velocity(POSTED, [seen(2, 5), seen(5, 40)])
    late = velocity(POSTED, [seen(2 * 1440, 5), seen(2 * 1440 + 3, 40)])
    assert early is not None
    assert late is not None
    assert early.projected_total > late.projected_total >= 40


def test_the_expected_share_grows_with_age() -> None:
    shares = [expected_share_so_far(s) for s in (60, 600, 3600, 86_400, 7 * 86_400)]
    assert shares == sorted(shares)
    assert 0 < shares[0] < 0.2
    assert 0.5 < shares[2] < 0.6  # about 46% of reshares still to come after an hour


@pytest.mark.parametrize("age_seconds", [-60.0, 0.0, 1.0, 30.0])
def test_a_post_too_young_or_dated_in_the_future_is_not_projected(age_seconds: float) -> None:
    """A wrong device clock (a Bluesky createdAt) or a first poll at one second must not turn
    two reposts into millions."""
    assert heading_to(2, age_seconds) == 2.0


def test_a_projection_is_bounded() -> None:
    assert heading_to(10, 60) <= 10 * MAX_PROJECTION
    assert heading_to(10, 3600) == pytest.approx(10 / expected_share_so_far(3600))


def test_two_readings_at_the_same_moment_are_no_rate() -> None:
    """Two replicas answering in the same second read as 1,200 reposts a minute."""
    result = velocity(POSTED, [seen(0, 0), seen(5, 10), seen(5, 30)])
    assert result is not None
    assert result.reposts_per_minute == pytest.approx(30 / 5)
    assert velocity(POSTED, [seen(5, 10), seen(5, 30)]) is None


def test_readings_in_any_order_are_put_in_time_order() -> None:
    in_order = [seen(0, 0), seen(5, 5), seen(10, 30)]
    assert velocity(POSTED, in_order[::-1]) == velocity(POSTED, in_order)


def test_a_dip_and_its_recovery_are_not_new_engagement() -> None:
    result = velocity(POSTED, [seen(0, 10), seen(5, 8), seen(10, 10)])
    assert result is not None
    assert result.per_minute == 0
    assert result.acceleration == 0
    climbing = velocity(POSTED, [seen(0, 10), seen(5, 8), seen(10, 15)])
    assert climbing is not None
    assert climbing.reposts_per_minute == pytest.approx(5 / 5)  # above the 10 seen before
