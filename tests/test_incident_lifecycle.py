"""An incident's life as a comms team sees it: it stays open while the storm goes on, resolves
when the storm is over, is not reopened by the storm just dealt with, and its card and reminders
tell the truth while it calms down. Real SQLite files, the engine on an injected time line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.incidents import actions
from storage.incidents import get_incident
from tests.test_incident_engine import MIN, T0, Desk, policy

HOUR = 60 * MIN
LEVELS = [  # as app.yaml has them
    {"name": "watch", "min_risk": 40, "steps": [{"notify": "team"}]},
    {"name": "crisis", "min_risk": 60, "steps": [{"notify": "lead"}]},
]


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path, policy())


def steady(desk: Desk, start: int, end: int, per_bin: int, text: str = "flight cancelled") -> None:
    """``per_bin`` complaints every 5 minutes from minute ``start`` to ``end``, time ticking."""
    for minute in range(start, end, 5):
        desk.post(T0 + minute * MIN, per_bin, text=text)
        desk.tick(T0 + minute * MIN)


def status(desk: Desk, incident_id: int = 1) -> str:
    incident = get_incident(desk.db, incident_id)
    assert incident is not None
    return incident.status.value


def test_a_storm_still_going_at_full_strength_is_not_resolved(tmp_path: Path) -> None:
    """After six hours the burst detector takes a long storm for the brand's new level and the
    risk falls below every level; the complaints have not stopped, so neither has the incident."""
    desk = Desk(tmp_path, policy(levels=LEVELS, resolve_after="1h"))
    steady(desk, 0, 10 * 60, per_bin=8)
    assert status(desk) == "open"
    assert not desk.when(1, "resolved")
    steady(desk, 10 * 60, 10 * 60 + 30, per_bin=0)  # it stops
    desk.tick(T0 + 12 * HOUR)
    assert status(desk) == "resolved"
    resolved = desk.when(1, "resolved")[0]
    assert T0 + 11 * HOUR <= resolved <= T0 + 12 * HOUR  # calm for resolve_after, not before


def test_a_storm_back_to_the_brand_s_usual_trickle_resolves(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(levels=LEVELS, resolve_after="1h"))
    steady(desk, 0, 6 * 60, per_bin=1)  # the brand's usual: a dozen complaints an hour
    steady(desk, 6 * 60, 7 * 60, per_bin=8)
    storm = desk.db.execute("SELECT MAX(id) FROM incidents").fetchone()[0]
    assert status(desk, storm) == "open"
    steady(desk, 7 * 60, 11 * 60, per_bin=1)
    assert status(desk, storm) == "resolved"


def test_resolving_by_hand_is_not_undone_by_the_storm_just_dealt_with(desk: Desk) -> None:
    desk.storm(T0, 20)  # 60 complaints, then nothing
    desk.tick(T0 + 30 * MIN)
    assert desk.act(actions.resolve, 1, "ann", T0 + 31 * MIN).ok
    desk.tick(T0 + 90 * MIN)  # the hour still holds the 60 complaints for a while
    assert status(desk) == "resolved"
    assert not desk.when(1, "reopened")
    assert get_incident(desk.db, 2) is None


def test_a_new_storm_after_resolving_by_hand_reopens_it(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 30 * MIN)
    assert desk.act(actions.resolve, 1, "ann", T0 + 31 * MIN).ok
    desk.storm(T0 + 35 * MIN, 10)  # 30 new complaints
    desk.tick(T0 + 50 * MIN)
    assert status(desk) == "open"
    assert desk.when(1, "reopened")


def test_a_merged_topic_keeps_the_incident_it_joined_alive(desk: Desk) -> None:
    """Mentions of a merged topic count in the volume and risk of the incident they went to."""
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert get_incident(desk.db, 2) is not None
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    for minute in range(21, 200):
        desk.post(T0 + minute * MIN, 4, text="still cancelled #refundnow")
    desk.tick(T0 + 200 * MIN)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.value == "open"
    assert incident.risk > 0
    assert "240 negative mentions in 1 h" in incident.explanation
    assert get_incident(desk.db, 3) is None  # no new incident for the merged topic


def cards_of(desk: Desk, since: int) -> list[dict[str, Any]]:
    rows = desk.db.execute(
        "SELECT payload FROM outbox WHERE id > ? AND kind = 'update' ORDER BY id", [since]
    ).fetchall()
    return [json.loads(row[0])["card"] for row in rows]


def test_the_card_keeps_showing_the_risk_while_the_incident_calms_down(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    steady(desk, 0, 60, per_bin=5)
    last = desk.db.execute("SELECT MAX(id) FROM outbox").fetchone()[0]
    desk.tick(T0 + 3 * HOUR)  # nothing more: the risk falls to 0
    risks = [card["risk"] for card in cards_of(desk, last)]
    assert risks
    assert risks[-1] == 0
    assert status(desk) == "open"  # calm, not yet for six hours


def test_reminders_follow_the_risk_and_say_it(tmp_path: Path) -> None:
    levels = [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "alert", "min_risk": 30, "remind_every": "1h", "steps": [{"notify": "team"}]},
    ]
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="12h"))
    steady(desk, 0, 60, per_bin=5)
    steady(desk, 60, 4 * 60, per_bin=0)
    reminders = desk.when(1, "reminded")
    texts = [detail for action, detail in desk.actions() if action == "reminded"]
    assert texts
    assert all("nobody has acknowledged this alert incident; risk now" in t for t in texts)
    assert all(at < T0 + 2 * HOUR + 5 * MIN for at in reminders)  # none once below every level


def test_a_snooze_that_ended_leaves_the_card(desk: Desk) -> None:
    steady(desk, 0, 30, per_bin=10)
    assert desk.act(actions.snooze, 1, "ann", T0 + 30 * MIN, T0 + 60 * MIN).ok
    last = desk.db.execute("SELECT MAX(id) FROM outbox").fetchone()[0]
    steady(desk, 30, 90, per_bin=10)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.snoozed_until is None
    assert cards_of(desk, last)[-1]["snoozed_until"] is None


def test_an_incident_whose_policy_this_version_cannot_read_goes_on_under_the_configured_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A later version renames a setting: the incidents stored before must not stop the start."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    levels = [{"name": "only", "min_risk": 20, "steps": [{"notify": "team"}]}]
    later = desk.restarted(
        policy(levels=levels),
        "UPDATE incidents SET data = json_set(data, '$.policy.renamed_setting', 1, "
        "'$.policy.levels', json('[]'))",
    )
    later.storm(T0 + 20 * MIN, 10)  # loads the stored state
    later.tick(T0 + 40 * MIN)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert incident.status.value == "open"
    assert later.desk.engine.incidents[1].level_name == "only"
    assert "cannot be read by this version" in caplog.text


def test_resolving_within_a_bin_leaves_its_earlier_mentions_dealt_with(desk: Desk) -> None:
    """The storm runs to 09:33:59 and is resolved at 09:34, inside the bin 09:30-09:35."""
    desk.storm(T0, 34)
    assert desk.act(actions.resolve, 1, "ann", T0 + 34 * MIN).ok
    desk.tick(T0 + 40 * MIN)
    assert status(desk) == "resolved"
    assert not desk.when(1, "reopened")


def test_a_topic_merged_into_a_resolved_incident_opens_nothing_by_itself(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    assert desk.act(actions.resolve, 1, "ann", T0 + 22 * MIN).ok
    desk.tick(T0 + 40 * MIN)
    assert get_incident(desk.db, 3) is None
    assert status(desk) == "resolved"


def test_an_incident_saved_before_a_field_was_added_loads(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    later = desk.restarted(
        policy(), "UPDATE incidents SET data = json_remove(data, '$.last_paged_at')"
    )
    later.storm(T0 + 20 * MIN, 5)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert incident.status.value == "open"


def held_by(desk: Desk, incident_id: int) -> set[str]:
    rows = desk.db.execute(
        "SELECT native_id FROM incident_mentions WHERE incident_id = ?", [incident_id]
    ).fetchall()
    return {row[0] for row in rows}


def test_replies_under_a_post_of_an_open_incident_join_it(desk: Desk) -> None:
    """A thread of angry replies under a complaint the storm already holds is the same story:
    it counts there, and nobody is paged about a second incident."""
    desk.storm(T0, 10)  # m1 … m30: the storm, incident #1
    desk.tick(T0 + 10 * MIN)
    assert "m1" in held_by(desk, 1)
    desk.storm(T0 + 10 * MIN, 10, text="same here, cancelled too", parent="m1")
    desk.tick(T0 + 25 * MIN)
    assert get_incident(desk.db, 2) is None
    assert desk.when(1, "joined", "replies to test post m1")
    assert {"m31", "m60"} <= held_by(desk, 1)  # the replies, first and last


def test_replies_under_a_post_no_incident_holds_get_their_own(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.storm(T0 + 10 * MIN, 10, text="same here, cancelled too", parent="elsewhere")
    desk.tick(T0 + 25 * MIN)
    thread = get_incident(desk.db, 2)
    assert thread is not None
    assert thread.topic == "thread:test:elsewhere"
    assert not desk.when(1, "joined")


def test_a_joined_reply_thread_stays_joined_after_a_restart(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    desk.storm(T0 + 10 * MIN, 10, text="same here, cancelled too", parent="m1")
    desk.tick(T0 + 25 * MIN)
    later = desk.restarted()
    later.storm(T0 + 26 * MIN, 10, text="still cancelled, same here", parent="m1")
    later.tick(T0 + 40 * MIN)
    assert len(later.when(1, "joined")) == 1  # said once, not again after each restart
    assert get_incident(later.db, 2) is None
    assert "m90" in held_by(later, 1)  # the last reply, heard after the restart


def opened(desk: Desk) -> list[tuple[int, str]]:
    rows = desk.db.execute("SELECT id, data FROM incidents ORDER BY id").fetchall()
    return [(int(row[0]), json.loads(row[1])["topic"]) for row in rows]


@pytest.mark.parametrize(
    "text",
    [
        "flight cancelled again #refundnow #neveragain",
        "cancelled, see https://news.example/acme-strike #refundnow",
    ],
)
def test_one_story_under_two_topics_opens_one_incident(desk: Desk, text: str) -> None:
    """Each mention counts in each of its topics and in the storm: the three groups cross the
    line together, yet it is one story, with one card and one page."""
    for minute in range(30):
        desk.post(T0 + minute * MIN, 3, text=text)
        desk.tick(T0 + minute * MIN)
    desk.tick(T0 + 40 * MIN)
    assert len(opened(desk)) == 1
    assert len(held_by(desk, 1)) == 90
    assert [row[1] for row in desk.intents("open")] == ["#team", "#lead"]


def test_a_second_topic_that_becomes_a_story_of_its_own_still_opens(desk: Desk) -> None:
    for minute in range(20):
        desk.post(T0 + minute * MIN, 3, text="flight cancelled again #refundnow #neveragain")
        desk.tick(T0 + minute * MIN)
    assert len(opened(desk)) == 1
    for minute in range(20, 80):  # then #neveragain alone, about something else
        desk.post(T0 + minute * MIN, 3, text="lost my bag, #neveragain")
        desk.tick(T0 + minute * MIN)
    topics = [topic for _, topic in opened(desk)]
    assert topics[0] == "#refundnow"
    assert "#neveragain" in topics[1:]  # (the storm of lost bags may open before it splits out)
    assert f"m{desk.count}" not in held_by(desk, 1)


def test_a_storm_of_a_topic_incident_s_mentions_pages_nobody_again(desk: Desk) -> None:
    """The topic crosses first (it needs fewer mentions); the storm it is part of crosses a
    few minutes later on the same complaints, which are already the topic incident's."""
    for minute in range(40):
        desk.post(T0 + minute * MIN, 1 if minute < 10 else 3, text="cancelled #acmestrike")
        desk.tick(T0 + minute * MIN)
    assert [topic for _, topic in opened(desk)] == ["#acmestrike"]


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
def test_reopened_by_hand_a_merged_topic_goes_where_it_went_before(
    tmp_path: Path, restart: bool
) -> None:
    """The topics merged into an incident follow it when it is reopened, and it can be
    reopened by hand for as long, whether or not the service restarted meanwhile."""
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    assert desk.act(actions.resolve, 1, "ann", T0 + 22 * MIN).ok
    desk.tick(T0 + 22 * MIN + 3 * HOUR)  # later than reopen_within (2 h), within resolve_after
    if restart:
        desk = desk.restarted(policy(resolve_after="6h"))
    assert desk.act(actions.reopen, 1, "ann", T0 + 22 * MIN + 3 * HOUR).ok
    start = T0 + 23 * MIN + 3 * HOUR
    desk.storm(start, 10, text="still cancelled #refundnow")
    desk.tick(start + 15 * MIN)
    assert get_incident(desk.db, 3) is None  # the merged topic's storm is #1's, as before
    assert f"m{desk.count}" in held_by(desk, 1)


def test_a_topic_still_splits_out_of_a_storm_that_joined_a_reply_thread(desk: Desk) -> None:
    desk.storm(T0, 10)  # the storm, incident #1
    desk.tick(T0 + 10 * MIN)
    desk.storm(T0 + 10 * MIN, 10, text="same here, cancelled too", parent="m1")
    desk.tick(T0 + 25 * MIN)
    assert desk.when(1, "joined")
    for minute in range(25, 60):  # a story of its own, filed into the storm meanwhile
        desk.post(T0 + minute * MIN, 2, text="lost my bag, cancelled #baggage")
        desk.tick(T0 + minute * MIN)
    assert [topic for _, topic in opened(desk)] == ["storm", "#baggage"]
