"""Incidents under policy snapshots taken before an edit of ``app.yaml``: a reopening and
inhibition read each incident by its own snapshot (on tests/test_incident_engine.py's ``Desk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.incidents import IncidentPolicy
from storage.incidents import get_incident
from tests.test_incident_engine import MIN, T0, Desk, policy


def levels(*floors: tuple[str, int]) -> list[dict[str, Any]]:
    return [
        {"name": name, "min_risk": risk, "steps": [{"notify": "team"}]} for name, risk in floors
    ]


def with_major(risk: int = 98) -> IncidentPolicy:
    """The default test policy with a 'major' level inserted between alert and crisis."""
    shipped = [level.model_dump(mode="json") for level in policy().levels]
    major = {"name": "major", "min_risk": risk, "steps": [{"notify": "lead"}]}
    return policy(levels=[shipped[0], shipped[1], major, shipped[2]])


def test_a_storm_reopening_after_a_level_was_added_keeps_the_engine_running(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy())  # 3 levels
    desk.storm(T0, 20)
    desk.tick(T0 + 4 * 60 * MIN)  # crisis, then calm: resolved
    assert desk.when(1, "resolved")
    later = desk.restarted(policy(levels=levels(("w", 5), ("a", 10), ("m", 15), ("c", 20))))
    later.storm(T0 + 250 * MIN, 10)  # within reopen_within
    for hours in range(4):  # each tick used to fail (IndexError): the engine stopped
        later.tick(T0 + 270 * MIN + hours * 60 * MIN)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert later.when(1, "reopened")
    assert len(incident.policy.levels) == 3  # still its own snapshot
    reopened = next(c for c in incident.levels if c.at >= T0 + 250 * MIN)
    assert reopened.level in ("watch", "alert", "crisis")
    assert get_incident(later.db, 2) is None


def test_a_reopened_incident_enters_the_level_its_own_snapshot_gives_the_risk(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy(levels=levels(("watch", 20), ("alert", 30), ("crisis", 99))))
    desk.post(T0, 3)
    desk.tick(T0 + 3 * 60 * MIN)
    assert desk.when(1, "resolved")
    later = desk.restarted(policy(levels=levels(("watch", 5), ("alert", 10), ("crisis", 20))))
    later.post(T0 + 190 * MIN, 3)
    later.tick(T0 + 200 * MIN)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert later.when(1, "reopened")
    assert incident.level_name != "crisis"  # was: crisis (index 2 of the new policy), risk 23
    assert incident.risk >= incident.policy.levels[incident.level].min_risk
    assert not later.when(1, "notified", "lead")


def test_a_storm_its_snapshot_counts_reopens_it_though_the_edit_would_open_none(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy(levels=levels(("watch", 20), ("alert", 30), ("crisis", 99))))
    desk.post(T0, 3)
    desk.tick(T0 + 3 * 60 * MIN)
    assert desk.when(1, "resolved")
    first = get_incident(desk.db, 1)
    assert first is not None
    high = [("watch", first.peak_risk + 1), ("alert", 90), ("crisis", 99)]
    later = desk.restarted(policy(levels=levels(*high)))  # the same storm would not open now
    later.post(T0 + 190 * MIN, 3)
    later.tick(T0 + 200 * MIN)
    assert later.when(1, "reopened")  # its own snapshot's watch level is reached
    assert get_incident(later.db, 2) is None


def test_a_crisis_under_an_older_snapshot_still_inhibits(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20)
    desk.tick(T0 + 40 * MIN)
    assert desk.when(1, "escalated", "to crisis")
    later = desk.restarted(with_major())  # crisis is now index 3, #1's crisis index 2
    later.storm(T0 + 40 * MIN, 5, text="flight cancelled again #refundnow")
    later.tick(T0 + 60 * MIN)
    two = get_incident(later.db, 2)
    assert two is not None
    assert two.topic == "#refundnow"
    assert later.when(2, "held", "inhibited by #1")
    assert not later.when(2, "notified")


def test_a_level_below_its_snapshots_inhibit_level_does_not_inhibit(tmp_path: Path) -> None:
    shipped = [level.model_dump(mode="json") for level in policy().levels]
    major = {"name": "major", "min_risk": 98, "steps": [{"notify": "lead"}]}
    desk = Desk(tmp_path, policy(levels=[shipped[0], shipped[1], major, shipped[2]]))
    desk.storm(T0, 20)
    desk.tick(T0 + 40 * MIN)  # #1 escalated to major: index 2, below its crisis
    one = get_incident(desk.db, 1)
    assert one is not None
    assert one.level_name == "major"
    later = desk.restarted(policy())  # index 2 is the top level (crisis) here
    later.storm(T0 + 40 * MIN, 5, text="flight cancelled again #refundnow")
    later.tick(T0 + 60 * MIN)
    assert get_incident(later.db, 2) is not None
    assert not later.when(2, "held", "inhibited by #1")
    assert later.when(2, "notified")


def test_a_storm_too_small_for_its_snapshot_neither_reopens_it_nor_opens_another(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy(min_mentions=6, levels=levels(("watch", 5), ("crisis", 99))))
    desk.post(T0, 6)
    desk.tick(T0 + 3 * 60 * MIN)
    assert desk.when(1, "resolved")
    later = desk.restarted(policy(min_mentions=3, levels=levels(("watch", 5), ("crisis", 99))))
    later.post(T0 + 190 * MIN, 3)  # enough for the edited policy, not for #1's own
    later.tick(T0 + 200 * MIN)
    assert not later.when(1, "reopened")
    assert get_incident(later.db, 2) is None  # within reopen_within it is #1's story


def test_an_incident_stays_reopenable_for_its_own_window_after_an_edit_shortens_it(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, policy(reopen_within="12h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 3 * 60 * MIN)
    resolved = desk.when(1, "resolved")
    assert resolved
    later = desk.restarted(policy(reopen_within="1h"))  # edited: new incidents keep 1 h
    later.tick(resolved[0] + 3 * 60 * MIN)  # a quiet step: nothing of the old one is dropped
    later = later.restarted(policy(reopen_within="1h"))
    later.storm(resolved[0] + 5 * 60 * MIN, 10)  # within its own 12 h
    later.tick(resolved[0] + 6 * 60 * MIN)
    assert later.when(1, "reopened")
    assert get_incident(later.db, 2) is None
