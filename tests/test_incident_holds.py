"""What holds an incident's notifications back, and what lets them through, on the fake time line
of tests/test_incident_engine.py (its ``Desk``, a real SQLite file).

A steady trickle of two complaints every five minutes keeps one incident open at a flat risk
(58 or so); one burst from an account with two million followers lifts it to about 76 for an
hour. The policies put the levels around those two numbers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.incidents import actions
from storage.incidents import get_incident
from tests.test_incident_engine import MIN, T0, Desk, policy

STEP = 5 * MIN  # one bin: the engine reads each group's hour at every bin's end


def trickle(desk: Desk, start: int, end: int, burst_at: int | None = None) -> None:
    """From minute ``start`` to ``end`` (after T0): two complaints a bin, time moving on bin by
    bin; at minute ``burst_at``, a five-minute burst from a far-reaching account instead."""
    for minute in range(start, end, 5):
        at = T0 + minute * MIN
        if minute == burst_at:
            desk.storm(at, 5, per_minute=6, followers=2_000_000, handle="star")
        else:
            desk.post(at, 2)
        desk.tick(at + STEP)


def threads(desk: Desk, words: str) -> list[tuple[datetime, str, dict[str, Any]]]:
    """The thread messages whose text has ``words``: when, where, and what."""
    return [
        (datetime.fromisoformat(created), channel, json.loads(payload))
        for _, channel, created, payload in desk.intents("thread")
        if words in json.loads(payload).get("text", "")
    ]


def before(times: list[datetime], moment: datetime) -> list[datetime]:
    return [at for at in times if at < moment]


def risk(desk: Desk) -> int:
    incident = get_incident(desk.db, 1)
    assert incident is not None
    return incident.risk


def test_a_snooze_holds_reminders_and_a_newly_reached_level_until_it_ends(
    tmp_path: Path,
) -> None:
    """The snooze itself holds them, not a timer it pushed back: the watch chain has ended
    (nothing to push), and the alert level's chain starts during the snooze."""
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[0]["remind_every"] = "20m"
    levels[1].update(min_risk=62, steps=[{"notify": "lead"}], remind_every="20m")
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    trickle(desk, 0, 40)
    reminded = desk.when(1, "reminded")
    assert reminded, desk.actions()  # unacknowledged, reminders come every 20 minutes
    snoozed_at, until = T0 + 40 * MIN, T0 + 150 * MIN
    assert desk.act(actions.snooze, 1, "ann", snoozed_at, until).ok

    trickle(desk, 40, 150, burst_at=60)  # the burst reaches alert during the snooze
    raised = desk.when(1, "escalated", "to alert")
    assert raised, desk.actions()
    assert snoozed_at < raised[0] < until
    assert desk.when(1, "held", "snoozed by ann") == [raised[0]]
    assert before(desk.when(1, "reminded"), until) == reminded  # none while snoozed
    assert not before(desk.when(1, "notified", "lead"), until)
    opened = [(row[1], datetime.fromisoformat(row[2])) for row in desk.intents("open")]
    assert [channel for channel, at in opened if at < until] == ["#team"]

    assert not threads(desk, "Escalated to alert")  # the card says it; the thread waits
    trickle(desk, 150, 200)
    assert desk.when(1, "notified", "lead") == [until]  # the held step runs when it ends
    # it pages the new level's people once: no reminder of the level beside its notification
    assert not [at for at in desk.when(1, "reminded") if until <= at < until + 20 * MIN]
    assert [row[1] for row in desk.intents("open")] == ["#team", "#lead"]
    after = [at for at in desk.when(1, "reminded") if at > snoozed_at]
    assert after, desk.actions()  # and reminders come again
    assert min(after) >= until


def test_an_acknowledged_incident_pings_its_owner_once_per_growth(tmp_path: Path) -> None:
    """``ack_remind_every`` pings whoever acknowledged only when the risk has grown by 5 points
    since: not at every interval of a flat storm, and not again for the same growth."""
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[1].update(min_risk=98, steps=[{"notify": "team"}])  # no level change in the way
    desk = Desk(tmp_path, policy(levels=levels, ack_remind_every="20m", resolve_after="6h"))
    trickle(desk, 0, 50)
    acknowledged_at = T0 + 50 * MIN
    assert desk.act(actions.acknowledge, 1, "ann", acknowledged_at).ok
    flat = risk(desk)

    trickle(desk, 50, 150)  # five times ack_remind_every, at the risk it was acknowledged at
    assert abs(risk(desk) - flat) < 5
    assert not desk.when(1, "reminded"), desk.actions()

    trickle(desk, 150, 155, burst_at=150)  # it grows, once
    grown = risk(desk)
    assert grown >= flat + 5
    pings = threads(desk, "Still growing")
    assert len(pings) == 1, desk.actions()
    assert pings[0][2]["mention"] == "ann"
    assert f"risk {grown}, {flat} when acknowledged" in pings[0][2]["text"]

    trickle(desk, 155, 300)  # the burst's hour at its new risk, then back down: no growth
    assert len(threads(desk, "Still growing")) == 1, desk.actions()
    assert desk.when(1, "reminded") == [pings[0][0]]
    assert get_incident(desk.db, 1) is not None
    assert desk.when(1, "acknowledged") == [acknowledged_at]


def test_reminders_resume_when_a_snooze_ends_without_a_new_level(tmp_path: Path) -> None:
    """A snooze on a level with ``remind_every``: silent while it lasts, reminders after."""
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[0]["remind_every"] = "20m"
    levels[1]["min_risk"] = 98
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    trickle(desk, 0, 20)
    until = T0 + 140 * MIN
    assert desk.act(actions.snooze, 1, "ann", T0 + 20 * MIN, until).ok
    trickle(desk, 20, 140)
    assert not before(desk.when(1, "reminded"), until), desk.actions()
    trickle(desk, 140, 190)
    reminded = desk.when(1, "reminded")
    assert reminded, desk.actions()
    assert reminded[0] - until < timedelta(minutes=10)  # overdue: the first bin after it ends
