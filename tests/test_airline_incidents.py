"""The week of airline tweets, replayed twice at full speed: same incidents, sane paging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.eval_incidents import highest_levels, per_day, replay, top_level_delay
from bot.config.incidents import IncidentPolicy
from tests.conftest import AIRLINE_TWEETS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not AIRLINE_TWEETS.exists(), reason=f"needs the shared airline tweets at {AIRLINE_TWEETS}"
    ),
]


def test_the_airline_week_gives_the_same_incidents_twice_and_pages_sanely(tmp_path: Path) -> None:
    first = replay(tmp_path / "a.db")
    second = replay(tmp_path / "b.db")
    assert json.dumps(first) == json.dumps(second)

    busiest = max(per_day(first).values())
    assert busiest <= 6, per_day(first)

    levels = [level.name for level in IncidentPolicy().levels]
    delay = top_level_delay(first, "american", levels[-1])
    assert delay is not None, "American Airlines never reached the top level"
    assert delay <= 30

    highest = highest_levels(first, levels)
    assert levels.index(highest.get("virgin-america", levels[0])) == 0, highest
