"""What an incident's chain does when it resumes: after a lull, a hold, a reopening, a restart
after an outage; and how many mentions an incident holds when a storm overflows a bin."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.incidents import actions
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup, IncidentEngine
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from storage.database import open_database
from storage.incidents import audit_of, get_incident
from tests.test_incident_engine import MIN, T0, Desk, incident_mentions, policy

HOUR = 60 * MIN
SEC = timedelta(seconds=1)


def keep_posting(desk: Desk, first: int, last: int) -> None:
    """Three complaints every 5 minutes from ``first`` to ``last`` minutes after 09:00, each
    followed by a tick a minute later."""
    for minute in range(first, last, 5):
        desk.post(T0 + minute * MIN, 3)
        desk.tick(T0 + minute * MIN + MIN)


def escalating_after(wait: str, **overrides: Any) -> Any:
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[1]["steps"] = [{"notify": "team"}, {"wait": wait}, {"escalate": {}}]
    return policy(levels=levels, **overrides)


def test_a_lull_parks_the_escalation_until_the_storm_comes_back(tmp_path: Path) -> None:
    chosen = escalating_after("70m", resolve_after="3h")
    desk = Desk(tmp_path, chosen)
    desk.storm(T0, 10)  # alert; the wait ends in a lull: risk below every level
    desk.tick(T0 + 75 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    desk = desk.restarted(chosen)  # the parked step outlives a restart
    keep_posting(desk, 75, 200)  # the storm is back; still nobody acknowledges
    escalated = desk.when(1, "escalated", "to crisis")
    assert escalated
    parked = desk.when(1, "not escalated", "calming down")
    assert len(parked) == 1  # said once, not at every check
    assert parked[0] < escalated[0] <= T0 + 100 * MIN
    assert desk.when(1, "notified", "lead")


def test_an_acknowledged_lull_does_not_escalate_when_the_storm_comes_back(tmp_path: Path) -> None:
    desk = Desk(tmp_path, escalating_after("70m", resolve_after="3h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 75 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 76 * MIN).ok
    keep_posting(desk, 80, 160)
    assert not desk.when(1, "escalated", "to crisis")
    assert ("not escalated", "acknowledged by ann") in desk.actions()


def quiet_morning(tmp_path: Path) -> Desk:
    """Alert at 09:05, escalated to crisis at 09:22 inside quiet hours (09:15-11:00): the
    lead's notification is held; ann acknowledges at 09:30."""
    quiet = {"time_zone": "UTC", "start": "09:15", "end": "11:00"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet, resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 25 * MIN)
    assert desk.when(1, "held", "quiet hours")
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 30 * MIN).ok
    return desk


def lead_cards(desk: Desk) -> list[tuple[str, str, str, str]]:
    return [row for row in desk.intents("open") if row[1] == "#lead"]


def test_a_held_page_acknowledged_meanwhile_posts_the_card_without_paging(tmp_path: Path) -> None:
    desk = quiet_morning(tmp_path)
    keep_posting(desk, 35, 130)  # the storm goes on: the card belongs in #lead
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert cards[0][2].startswith("2026-03-10T11:00")
    assert '"mention": ""' in cards[0][3]
    notified = [d for a, d in desk.actions() if a == "notified" and "lead" in d]
    assert notified == ["lead (console #lead), nobody paged: acknowledged by ann during the hold"]


def test_a_held_page_for_a_storm_that_calmed_down_is_not_sent(tmp_path: Path) -> None:
    desk = quiet_morning(tmp_path)  # nothing more after 09:10
    desk.tick(T0 + 3 * HOUR)
    assert not lead_cards(desk)
    assert desk.when(1, "held", "calming down") == [T0 + 2 * HOUR]  # when the quiet ended


def test_a_held_page_for_a_calm_storm_goes_out_if_it_comes_back(tmp_path: Path) -> None:
    quiet = {"time_zone": "UTC", "start": "09:15", "end": "11:00"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet, resolve_after="6h"))
    desk.storm(T0, 10)  # escalated at 09:22, held; calm when the quiet hours end
    desk.tick(T0 + 2 * HOUR + 5 * MIN)
    assert not lead_cards(desk)
    desk.storm(T0 + 2 * HOUR + 5 * MIN, 10)  # it comes back, nobody acknowledged
    desk.tick(T0 + 2 * HOUR + 30 * MIN)
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert '"mention": "@lead"' in cards[0][3]


def test_a_held_page_after_a_silence_is_re_checked_too(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)  # alert, notified at 09:07
    silenced = desk.act(actions.silence, "ann", T0 + 10 * MIN, T0 + 2 * HOUR, brand="acme")
    assert silenced.ok
    desk.tick(T0 + 30 * MIN)  # the escalation is decided, its page held
    assert desk.when(1, "held", "silenced by ann")
    assert desk.act(actions.acknowledge, 1, "bob", T0 + 40 * MIN).ok
    keep_posting(desk, 40, 135)
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert '"mention": ""' in cards[0][3]


def test_a_reopened_incident_runs_its_chain_from_the_start_with_its_wait(tmp_path: Path) -> None:
    levels = [
        {"name": "watch", "min_risk": 20, "steps": [{"wait": "10m"}, {"notify": "team"}]},
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "lead"}]},
    ]
    desk = Desk(tmp_path, policy(levels=levels))
    desk.storm(T0, 20)
    desk.tick(T0 + 30 * MIN)
    assert desk.act(actions.resolve, 1, "ann", T0 + 31 * MIN).ok
    desk.storm(T0 + 35 * MIN, 10)
    desk.tick(T0 + 60 * MIN)
    reopened = desk.when(1, "reopened")
    assert reopened
    notified = [at for at in desk.when(1, "notified") if at >= reopened[0]]
    assert notified == [reopened[0] + 10 * MIN]


def test_reopened_by_hand_it_waits_too(tmp_path: Path) -> None:
    levels = [
        {"name": "watch", "min_risk": 20, "steps": [{"wait": "10m"}, {"notify": "team"}]},
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "lead"}]},
    ]
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    desk.storm(T0, 20)
    desk.tick(T0 + 30 * MIN)
    assert desk.act(actions.resolve, 1, "ann", T0 + 31 * MIN).ok
    assert desk.act(actions.reopen, 1, "bob", T0 + 32 * MIN).ok
    keep_posting(desk, 33, 60)  # its storm goes on (a calm one's notify waits for a storm)
    assert desk.when(1, "notified")[-1] == T0 + 42 * MIN


def live_batch(start: datetime, count: int, first: int) -> list[ScoredMention]:
    negativity = Negativity(0.95, Sentiment.NEGATIVE, -0.8, ("cancelled: “cancelled”",))
    batch = []
    for n in range(count):
        when = start + n * timedelta(seconds=10)
        mention = Mention("test", f"m{first + n}", "flight cancelled", when, author=Author())
        guess = LanguageGuess("en", 1.0)
        batch.append(ScoredMention(mention, ("acme",), ("acme",), guess, negativity, when))
    return batch


def storm_heard_live_until_eleven(tmp_path: Path) -> tuple[EngineSetup, int]:
    """A storm from 09:00 to 11:00 heard live (4 complaints every 5 minutes), then the service
    stops; its setup (resolve_after 6 h) and how many mentions were sent."""
    setup = EngineSetup(policy(resolve_after="6h"), {"acme": "Acme"})
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    sent = 0
    for minute in range(0, 120, 5):
        desk.store(db, live_batch(T0 + minute * MIN, 4, sent), {}, T0 + (minute + 1) * MIN)
        sent += 4
        desk.tick(db, T0 + (minute + 2) * MIN)
    db.close()
    return setup, sent


def test_a_live_restart_after_an_outage_does_not_count_the_outage_as_calm(
    tmp_path: Path,
) -> None:
    setup, sent = storm_heard_live_until_eleven(tmp_path)
    db = open_database(tmp_path / "vigie.db")  # down from 11:00 to 19:00; the storm went on
    desk = IncidentDesk(setup, event_time=False)
    backlog = []
    for minute in range(120, 600, 5):
        backlog += live_batch(T0 + minute * MIN, 4, sent)
        sent += 4
    restart = T0 + 10 * HOUR
    desk.store(db, backlog, {}, restart)
    for minute in range(0, 60, 5):
        desk.store(db, live_batch(restart + minute * MIN, 4, sent), {}, restart + minute * MIN)
        sent += 4
        desk.tick(db, restart + (minute + 1) * MIN)
    actions_ = [e.action for e in audit_of(db, 1)]
    assert "resolved" not in actions_
    assert "reopened" not in actions_
    assert "unheard" in actions_
    assert actions_.count("notified") == 2  # the team, then the lead: nobody paged again
    incident = get_incident(db, 1)
    assert incident is not None
    assert incident.status.value == "open"
    assert get_incident(db, 2) is None


def test_an_outage_is_not_calm_even_when_the_first_step_after_it_fails(tmp_path: Path) -> None:
    """The first step after the restart skips the time nobody heard; when that step is rolled
    back (the database locked by a backup, say), the retry must skip it again."""
    setup, _ = storm_heard_live_until_eleven(tmp_path)
    db = open_database(tmp_path / "vigie.db")  # down from 11:00 to 19:00
    db.execute("PRAGMA busy_timeout = 50")
    desk = IncidentDesk(setup, event_time=False)
    restart = T0 + 10 * HOUR
    other = sqlite3.connect(tmp_path / "vigie.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        desk.tick(db, restart)
    other.execute("ROLLBACK")
    other.close()
    desk.tick(db, restart + 5 * MIN)
    actions_ = [e.action for e in audit_of(db, 1)]
    assert "resolved" not in actions_
    assert actions_.count("unheard") == 1
    desk.load(db)  # a later reload (after another failure) is no restart
    desk.tick(db, restart + 20 * MIN)
    assert [e.action for e in audit_of(db, 1)].count("unheard") == 1


def test_an_outage_is_not_calm_when_the_first_filing_after_it_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As at start-up, when a mention kept unfiled still cannot be filed: its savepoint is
    rolled back, skip and all, while the transaction around it commits."""
    setup, sent = storm_heard_live_until_eleven(tmp_path)
    db = open_database(tmp_path / "vigie.db")  # down from 11:00 to 19:00
    desk = IncidentDesk(setup, event_time=False)
    real = IncidentEngine._file

    def unfileable(engine: IncidentEngine, effects: Any, scored: ScoredMention, brand: str) -> None:
        if scored.mention.native_id == f"m{sent}":
            raise RuntimeError("a filing bug")
        real(engine, effects, scored, brand)

    monkeypatch.setattr(IncidentEngine, "_file", unfileable)
    restart = T0 + 10 * HOUR
    with desk.transaction(db):
        assert desk.file(db, live_batch(restart, 1, sent), restart) is not None
    desk.tick(db, restart + 5 * MIN)
    actions_ = [e.action for e in audit_of(db, 1)]
    assert "resolved" not in actions_
    assert actions_.count("unheard") == 1


def test_a_short_live_restart_walks_the_time_as_usual(tmp_path: Path) -> None:
    setup = EngineSetup(policy(), {"acme": "Acme"})
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    desk.store(db, live_batch(T0, 20, 0), {}, T0 + 4 * MIN)
    db.close()
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    desk.tick(db, T0 + 6 * MIN)
    desk.tick(db, T0 + 30 * MIN)
    assert "unheard" not in [e.action for e in audit_of(db, 1)]
    assert get_incident(db, 1) is not None


def test_a_storm_overflowing_a_bin_counts_and_holds_every_mention(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    for second in range(10):  # 300 complaints in one five-minute bin, half of them a topic
        text = "flight cancelled #refundnow" if second % 2 else "flight cancelled"
        desk.post(T0 + second * timedelta(seconds=1), 30, text=text)
    desk.tick(T0 + 10 * MIN)
    incidents = [i for i in (get_incident(desk.db, n) for n in (1, 2, 3)) if i is not None]
    by_topic = {i.topic: i for i in incidents}
    assert by_topic["storm"].mention_count == incident_mentions(desk, by_topic["storm"].id) == 300
    topic = by_topic["#refundnow"]
    assert topic.mention_count == incident_mentions(desk, topic.id) == 150
    held = desk.db.execute(
        "SELECT COUNT(*) FROM incident_mentions i JOIN mentions m USING (source, native_id) "
        "WHERE i.incident_id = ? AND m.text LIKE '%#refundnow%'",
        [topic.id],
    ).fetchone()[0]
    assert held == 150  # exactly the topic's mentions, none of the others


def test_a_storm_overflowing_a_bin_on_reopening_brings_every_mention(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.resolve, 1, "ann", T0 + 21 * MIN).ok
    before = get_incident(desk.db, 1)
    assert before is not None
    for second in range(10):
        desk.post(T0 + 25 * MIN + second * timedelta(seconds=1), 30)
    desk.tick(T0 + 35 * MIN)
    after = get_incident(desk.db, 1)
    assert after is not None
    assert desk.when(1, "reopened")
    assert after.mention_count == before.mention_count + 300 == incident_mentions(desk, 1)


def test_a_night_storm_that_calmed_in_quiet_hours_gets_its_card_in_the_morning_unpaged(
    tmp_path: Path,
) -> None:
    """Quiet from before the storm until 11:00, the storm over by 09:30: nobody is paged, but
    the team still gets its card when the quiet hours end (the night's complaints may want
    answers); a storm that already had a card gets no second one."""
    quiet = {"time_zone": "UTC", "start": "08:00", "end": "11:00"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet, resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 3 * HOUR)
    opens = desk.intents("open")
    assert [row[1] for row in opens] == ["#team"]
    assert opens[0][2].startswith("2026-03-10T11:00")
    assert '"mention": ""' in opens[0][3]
    notified = [d for a, d in desk.actions() if a == "notified"]
    assert notified == ["team (console #team), nobody paged: it calmed down during quiet hours"]


def test_a_night_storm_calm_for_longer_than_resolve_after_still_gets_its_morning_card(
    tmp_path: Path,
) -> None:
    """Quiet hours of nine hours (22:00 to 07:00) and resolve_after 6 h: the storm at 22:30 is
    calm long before morning, yet the team learns of it at 07:00, then sees it resolved."""
    quiet = {"time_zone": "UTC", "start": "22:00", "end": "07:00"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet, resolve_after="6h"))
    night = T0.replace(hour=22, minute=30)
    desk.storm(night, 10)
    desk.tick(night + 10 * HOUR)
    kinds = [(row[0], row[1], row[2][:16]) for row in desk.intents()]
    morning = (night + 8 * HOUR + 30 * MIN).strftime("%Y-%m-%dT%H:%M")
    assert kinds[0] == ("open", "#team", morning)
    assert kinds[-1][0] == "resolve"
    assert '"mention": ""' in desk.intents("open")[0][3]
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.value == "resolved"


def test_an_acknowledgement_undone_after_it_skipped_the_escalation_lets_it_happen(
    tmp_path: Path,
) -> None:
    """Alert at 09:05; ann acknowledges at 09:10, so the escalation due at 09:20 is skipped; at
    09:30 she unacknowledges (clicked by mistake, or handing over): the level's wait starts
    again from then, and with nobody acknowledging the incident escalates 15 minutes later."""
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 10 * MIN).ok
    keep_posting(desk, 10, 30)
    assert ("not escalated", "acknowledged by ann") in desk.actions()
    result = desk.act(actions.unacknowledge, 1, "ann", T0 + 30 * MIN)
    assert result.ok
    assert "the escalation it skipped runs again" in result.message
    keep_posting(desk, 30, 60)
    [escalated] = desk.when(1, "escalated", "to crisis")
    assert T0 + 45 * MIN <= escalated <= T0 + 47 * MIN


def test_an_acknowledgement_undone_before_the_escalation_was_due_keeps_its_wait(
    tmp_path: Path,
) -> None:
    """Acknowledged and unacknowledged within the level's 15-minute wait: the wait is not
    started again (the escalation stays due when it was)."""
    desk = Desk(tmp_path, policy(resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 6 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 7 * MIN).ok
    result = desk.act(actions.unacknowledge, 1, "ann", T0 + 8 * MIN)
    assert result.ok
    assert "runs again" not in result.message
    keep_posting(desk, 10, 40)
    [escalated] = desk.when(1, "escalated", "to crisis")
    assert escalated < T0 + 25 * MIN


def test_a_restart_during_a_storm_keeps_its_hour_so_the_due_escalation_still_runs(
    tmp_path: Path,
) -> None:
    """Alert at 09:05, escalation due at 09:22; Vigie is down from 09:12 to 09:19 (a deploy).
    The hour it heard before stopping still counts: risk stays at its level and nobody
    acknowledged, so the escalation runs when due (the skip once emptied the hour: risk 0,
    'calming down', the page never went out)."""
    chosen = policy(resolve_after="6h")
    setup = EngineSetup(chosen, {"acme": "Acme"})
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    for minute in range(10):
        batch = live_batch(T0 + minute * MIN, 3, 3 * minute)
        desk.store(db, batch, {}, T0 + minute * MIN + 25 * SEC)
    for second in range(600, 725, 5):
        desk.tick(db, T0 + second * SEC)
    db.close()
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    for second in range(19 * 60, 40 * 60, 5):
        desk.tick(db, T0 + second * SEC)
    actions_ = [(e.action, e.detail) for e in audit_of(db, 1)]
    assert any(a == "unheard" for a, _ in actions_)
    assert any(a == "escalated" and "to crisis" in d for a, d in actions_), actions_
    assert not any(a == "not escalated" for a, _ in actions_)


def test_a_reload_after_a_failed_transaction_is_no_restart(tmp_path: Path) -> None:
    """The desk reloads the engine from storage after a failed transaction; the service kept
    running, so nothing is 'unheard' even when the next step is minutes later."""
    setup = EngineSetup(policy(resolve_after="6h"), {"acme": "Acme"})
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(setup, event_time=False)
    desk.store(db, live_batch(T0, 30, 0), {}, T0 + 4 * MIN)
    desk.tick(db, T0 + 6 * MIN)
    desk.load(db)  # as after a failed transaction
    desk.tick(db, T0 + 14 * MIN)
    assert "unheard" not in [e.action for e in audit_of(db, 1)]


def test_a_reopening_storm_over_two_bins_counts_every_mention_it_links(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 20)
    desk.tick(T0 + 4 * HOUR)
    resolved = get_incident(desk.db, 1)
    assert resolved is not None
    assert resolved.status.value == "resolved"
    desk.post(T0 + 250 * MIN, 2)  # 2 in one bin, 2 in the next: 4 in the hour
    desk.post(T0 + 256 * MIN, 2)
    desk.tick(T0 + 261 * MIN)
    reopened = get_incident(desk.db, 1)
    assert reopened is not None
    assert reopened.status.value != "resolved"
    assert reopened.mention_count == resolved.mention_count + 4
    assert reopened.mention_count == incident_mentions(desk, 1)


def test_undoing_an_acknowledgement_never_pages_a_notified_target_again(tmp_path: Path) -> None:
    """Steps notify team, wait, escalate, wait, notify lead: the lead was already paged when
    the acknowledgement is undone, so the chain is not taken back over that step."""
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[1]["steps"] = [
        {"notify": "team"},
        {"wait": "15m"},
        {"escalate": {"only_if_rising": True}},
        {"wait": "10m"},
        {"notify": "lead"},
    ]
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 10 * MIN).ok
    keep_posting(desk, 10, 50)
    paged = len([d for a, d in desk.actions() if a == "notified" and "lead" in d])
    result = desk.act(actions.unacknowledge, 1, "ann", T0 + 50 * MIN)
    assert result.ok
    assert "runs again" not in result.message
    keep_posting(desk, 50, 90)
    assert len([d for a, d in desk.actions() if a == "notified" and "lead" in d]) == paged


def paging_lead_after(wait: str, **overrides: Any) -> Any:
    """The alert level posts in #team, waits, then posts in #lead paging @lead."""
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[1]["steps"] = [{"notify": "team"}, {"wait": wait}, {"notify": "lead"}]
    return policy(levels=levels, **overrides)


def test_a_notify_after_a_wait_pages_when_nobody_acknowledged(tmp_path: Path) -> None:
    desk = Desk(tmp_path, paging_lead_after("20m", resolve_after="3h"))
    desk.storm(T0, 10)
    keep_posting(desk, 10, 40)
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert '"mention": "@lead"' in cards[0][3]


def test_a_notify_after_a_wait_acknowledged_meanwhile_pages_nobody(tmp_path: Path) -> None:
    desk = Desk(tmp_path, paging_lead_after("20m", resolve_after="3h"))
    desk.storm(T0, 10)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 10 * MIN).ok
    keep_posting(desk, 10, 40)  # the storm goes on: the card still belongs in #lead
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert '"mention": ""' in cards[0][3]
    notified = [d for a, d in desk.actions() if a == "notified" and "lead" in d]
    assert notified == [
        "lead (console #lead), nobody paged: acknowledged by ann during the chain's wait"
    ]


def test_a_notify_after_a_wait_waits_while_the_storm_is_calm(tmp_path: Path) -> None:
    desk = Desk(tmp_path, paging_lead_after("70m", resolve_after="3h"))
    desk.storm(T0, 10)  # the wait ends in a lull: risk below every level
    desk.tick(T0 + 85 * MIN)
    assert not lead_cards(desk)
    assert desk.when(1, "held", "calming down")
    keep_posting(desk, 85, 200)  # the storm is back, nobody acknowledged: now @lead hears
    cards = lead_cards(desk)
    assert len(cards) == 1
    assert '"mention": "@lead"' in cards[0][3]
    assert len(desk.when(1, "held", "calming down")) == 1  # said once
