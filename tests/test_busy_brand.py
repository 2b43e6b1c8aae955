"""A brand that already gets complaints every hour, on Vigie's first start: its
``usual_complaints_per_hour`` keeps its ordinary hours from reading as a storm."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.config.schema import BrandSettings
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from storage.incidents import get_incident
from tests.test_incident_engine import MIN, T0, Desk, policy

SHIPPED_LEVELS = [
    {"name": "watch", "min_risk": 40, "steps": [{"notify": "team"}]},
    {"name": "alert", "min_risk": 45, "steps": [{"notify": "team"}]},
    {"name": "crisis", "min_risk": 60, "steps": [{"notify": "lead"}]},
]


def steady_hours(tmp_path: Path, usual: float | None, per_hour: float, hours: int) -> Desk:
    """``per_hour`` complaints an hour (Poisson) from Vigie's very first minute."""
    desk = Desk(tmp_path, policy())
    chosen = policy(levels=SHIPPED_LEVELS)
    usual_per_hour = {"acme": usual} if usual is not None else {}
    setup = EngineSetup(chosen, {"acme": "Acme"}, usual_per_hour=usual_per_hour)
    desk.desk = IncidentDesk(setup, event_time=True)
    rng = random.Random(7)
    for minute in range(hours * 60):
        n = sum(rng.random() < per_hour / 3600 for _ in range(60))
        if n:
            desk.post(T0 + minute * MIN, n)
        desk.tick(T0 + minute * MIN + MIN // 2)
    return desk


def test_a_busy_brand_s_ordinary_first_hours_are_no_storm_when_app_yaml_says_so(
    tmp_path: Path,
) -> None:
    desk = steady_hours(tmp_path, usual=60.0, per_hour=60.0, hours=3)
    assert get_incident(desk.db, 1) is None


def test_by_default_a_new_brand_is_a_quiet_one(tmp_path: Path) -> None:
    """The cold-start prior: a brand with no history that gets 60 complaints an hour
    registers (whether that is a storm or its ordinary hour, Vigie cannot know)."""
    desk = steady_hours(tmp_path, usual=None, per_hour=60.0, hours=1)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert "the usual" in incident.explanation


def test_a_storm_above_the_stated_usual_still_registers(tmp_path: Path) -> None:
    desk = steady_hours(tmp_path, usual=6.0, per_hour=120.0, hours=1)
    assert get_incident(desk.db, 1) is not None


def test_the_usual_is_a_number_of_complaints_an_hour() -> None:
    assert BrandSettings(name="Acme", usual_complaints_per_hour=60).usual_complaints_per_hour == 60
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        BrandSettings(name="Acme", usual_complaints_per_hour=-1)
