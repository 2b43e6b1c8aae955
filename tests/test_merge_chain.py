"""Merges that chain (#2 into #1, then #1 into #3) after a restart, on a real SQLite file: the
first topic's complaints still go to the incident at the end of the chain, as they did before
the restart, instead of opening a new incident and paging again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.incidents import actions
from storage.incidents import get_incident, load_engine_state
from tests.test_incident_engine import MIN, T0, Desk, incident_mentions, policy


def chained(tmp_path: Path) -> Desk:
    """A storm (#1) and two topics (#2, #3); #2 merged into #1, then #1 into #3."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.storm(T0 + 15 * MIN, 5, text="cancelled again #boycottacme")
    desk.tick(T0 + 25 * MIN)
    topics = {n: getattr(get_incident(desk.db, n), "topic", None) for n in (1, 2, 3)}
    assert topics == {1: "storm", 2: "#refundnow", 3: "#boycottacme"}
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 26 * MIN).ok
    assert desk.act(actions.merge, 1, 3, "ann", T0 + 27 * MIN).ok
    return desk


def statuses(desk: Desk) -> list[tuple[int, str]]:
    rows = desk.db.execute("SELECT id, status FROM incidents ORDER BY id").fetchall()
    return [(int(i), str(s)) for i, s in rows]


def test_a_chain_of_merges_outlives_a_restart(tmp_path: Path) -> None:
    later = chained(tmp_path).restarted()
    before = incident_mentions(later, 3)
    later.storm(T0 + 28 * MIN, 10, text="still cancelled #refundnow")
    later.tick(T0 + 45 * MIN)
    assert statuses(later) == [(1, "merged"), (2, "merged"), (3, "open")]  # no #4, no page
    assert incident_mentions(later, 3) == before + 30  # the #refundnow complaints went to #3


def test_the_whole_chain_is_loaded_and_routed_to_its_live_end(tmp_path: Path) -> None:
    desk = chained(tmp_path)
    state = load_engine_state(desk.db, timedelta(hours=1))
    assert sorted(i.id for i in state.incidents) == [1, 2, 3]
    later = desk.restarted()
    later.tick(T0 + 28 * MIN)  # the desk loads what is stored on its first step
    live = later.desk.engine.live
    assert {topic: live.get(("acme", topic)) for topic in ("storm", "#refundnow")} == {
        "storm": 3,
        "#refundnow": 3,
    }


def test_a_chain_ending_in_a_resolved_incident_routes_nothing(tmp_path: Path) -> None:
    desk = chained(tmp_path)
    assert desk.act(actions.resolve, 3, "ann", T0 + 28 * MIN).ok
    later = desk.restarted()
    later.tick(T0 + 29 * MIN)
    assert later.desk.engine.live.get(("acme", "#refundnow")) is None
    assert later.desk.engine.live.get(("acme", "storm")) is None
