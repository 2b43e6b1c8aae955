"""The incident engine's rules on a fake time line, against a real SQLite file.

Risk thresholds in these policies are low and the top level is out of risk's reach, so each
test pins one rule (waits, escalation, holds, reminders) rather than the risk model's numbers.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.incidents import IncidentPolicy
from bot.incidents import actions
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from bot.incidents.model import topic_label
from bot.incidents.quiet import quiet_until
from bot.model import (
    Author,
    Engagement,
    LanguageGuess,
    Mention,
    Negativity,
    ScoredMention,
    Sentiment,
)
from storage.database import open_database
from storage.incidents import audit_of, get_incident

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def policy(**overrides: Any) -> IncidentPolicy:
    base: dict[str, Any] = {
        "group_wait": "2m",
        "group_interval": "10m",
        "resolve_after": "1h",
        "targets": {"team": {"channel": "#team"}, "lead": {"channel": "#lead", "mention": "@lead"}},
        "levels": [
            {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
            {
                "name": "alert",
                "min_risk": 30,
                "steps": [{"notify": "team"}, {"wait": "15m"}, {"escalate": {}}],
            },
            {"name": "crisis", "min_risk": 99, "steps": [{"notify": "lead"}]},
        ],
    }
    base.update(overrides)
    return IncidentPolicy.model_validate(base)


class Desk:
    def __init__(self, path: Path, chosen: IncidentPolicy) -> None:
        self.path = path
        self.db = open_database(path / "vigie.db")
        setup = EngineSetup(
            chosen, {"acme": "Acme"}, own_accounts={"acme": frozenset({"acmecare"})}
        )
        self.desk = IncidentDesk(setup, event_time=True)
        self.count = 0

    def post(
        self,
        at: datetime,
        n: int = 1,
        text: str = "flight cancelled",
        now: datetime | None = None,
        parent: str = "",
        engagement: Engagement | None = None,
        **author: Any,
    ) -> None:
        """``n`` mentions from ``at``, 10 s apart; ``now`` is the event clock's time (by default
        the last mention's, as the event clock has it when they are stored)."""
        batch = []
        for i in range(n):
            self.count += 1
            when = at + i * timedelta(seconds=10)
            mention = Mention(
                "test",
                f"m{self.count}",
                text,
                when,
                author=Author(**author) if author else Author(),
                engagement=engagement or Engagement(),
                parent_id=parent,
            )
            negativity = Negativity(0.95, Sentiment.NEGATIVE, -0.8, ("cancelled: “cancelled”",))
            batch.append(
                ScoredMention(
                    mention, ("acme",), ("acme",), LanguageGuess("en", 1.0), negativity, when
                )
            )
        self.desk.store(self.db, batch, {}, now or (batch[-1].mention.created_at if batch else at))

    def restarted(self, chosen: IncidentPolicy | None = None, *edits: str) -> Desk:
        """The desk of the service started again on the same database (with ``chosen`` as its
        app.yaml policy), after ``edits`` (SQL) to what was stored: a state left by another
        version. Mentions go on being numbered where they were."""
        for sql in edits:
            self.db.execute(sql)
        self.db.conn.commit()
        self.db.close()
        later = Desk(self.path, chosen or policy())
        later.count = self.count
        return later

    def storm(self, start: datetime, minutes: int, per_minute: int = 3, **kw: Any) -> None:
        for minute in range(minutes):
            self.post(start + minute * MIN, per_minute, **kw)

    def tick(self, at: datetime) -> None:
        self.desk.tick(self.db, at)

    def act(self, action: Any, *args: Any, **kwargs: Any) -> actions.ActionResult:
        engine = self.desk.engine
        return self.desk.act(self.db, lambda journal: action(engine, journal, *args, **kwargs))

    def actions(self, incident_id: int = 1) -> list[tuple[str, str]]:
        return [(e.action, e.detail) for e in audit_of(self.db, incident_id)]

    def when(self, incident_id: int, action: str, detail: str = "") -> list[datetime]:
        return [
            e.at
            for e in audit_of(self.db, incident_id)
            if e.action == action and detail in e.detail
        ]

    def intents(self, kind: str | None = None) -> list[tuple[str, str, str, str]]:
        rows = self.db.execute(
            "SELECT kind, channel, created_at, payload FROM outbox ORDER BY id"
        ).fetchall()
        return [tuple(row) for row in rows if kind is None or row[0] == kind]


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path, policy())


def test_a_burst_becomes_one_incident_notified_after_group_wait(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 20 * MIN)
    opens = desk.intents("open")
    assert len(opens) == 1
    opened = desk.when(1, "opened")[0]
    assert desk.when(1, "notified")[0] == opened + 2 * MIN
    assert datetime.fromisoformat(opens[0][2]) == opened + 2 * MIN
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.mention_count == 60
    assert get_incident(desk.db, 2) is None


def test_no_acknowledgement_escalates_after_the_wait(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 60 * MIN)
    notified = desk.when(1, "notified", "team")
    escalated = desk.when(1, "escalated", "to crisis")
    assert escalated, desk.actions()
    assert escalated[0] - notified[0] == 15 * MIN
    assert desk.when(1, "notified", "lead")  # the crisis step ran: the lead's channel got the card
    assert [row[1] for row in desk.intents("open")] == ["#team", "#lead"]


def test_acknowledged_in_time_does_not_escalate(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 12 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 12 * MIN).ok
    desk.storm(T0 + 12 * MIN, 10)
    desk.tick(T0 + 60 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    assert ("not escalated", "acknowledged by ann") in desk.actions()
    again = desk.act(actions.acknowledge, 1, "bob", T0 + 61 * MIN)
    assert not again.ok
    assert "already acknowledged by ann" in again.message


def test_only_if_rising_holds_escalation_when_the_storm_fades(tmp_path: Path) -> None:
    steps = [{"notify": "team"}, {"wait": "15m"}, {"escalate": {"only_if_rising": True}}]
    chosen = policy()
    levels = [level.model_dump(mode="json") for level in chosen.levels]
    levels[1]["steps"] = steps
    desk = Desk(tmp_path, policy(levels=levels))
    desk.storm(T0, 6, per_minute=5)  # a short spike, then silence
    desk.tick(T0 + 60 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    assert any(a == "not escalated" and "not rising" in d for a, d in desk.actions())


def test_only_if_rising_counts_a_doubled_volume_as_rising(tmp_path: Path) -> None:
    """Risk is log-scaled: a storm growing sixfold may add only a point or two to it."""
    steps = [{"notify": "team"}, {"wait": "15m"}, {"escalate": {"only_if_rising": True}}]
    levels = [level.model_dump(mode="json") for level in policy().levels]
    levels[1]["steps"] = steps
    desk = Desk(tmp_path, policy(levels=levels))
    for minute in range(0, 40, 5):  # the alert opens at 8 an hour, the wait ends at 26
        desk.post(T0 + minute * MIN, 1 if minute < 10 else 6)
        desk.tick(T0 + minute * MIN)
    escalated = [d for a, d in desk.actions() if a == "escalated" and "to crisis" in d]
    assert escalated
    assert "rising" in escalated[0]


def test_quiet_hours_hold_until_morning_across_a_dst_change(tmp_path: Path) -> None:
    quiet = {"time_zone": "Europe/Paris", "start": "22:00", "end": "07:00"}
    # Paris goes from UTC+1 to UTC+2 in the night of 28 to 29 March 2026
    night = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    hours = policy(quiet_hours=quiet).quiet_hours
    assert hours is not None
    assert quiet_until(hours, night) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert quiet_until(hours, datetime(2026, 3, 29, 5, 0, tzinfo=UTC)) is None
    assert quiet_until(hours, datetime(2026, 10, 24, 21, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 6, 0, tzinfo=UTC
    )  # autumn: 07:00 CET
    desk = Desk(tmp_path, policy(quiet_hours=quiet, resolve_after="12h"))
    desk.storm(night, 10)
    desk.storm(datetime(2026, 3, 29, 4, 45, tzinfo=UTC), 10)  # still going in the morning
    desk.tick(night + 12 * timedelta(hours=1))
    assert desk.when(1, "held", "quiet hours")
    assert desk.when(1, "notified")[0] == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_a_bypass_level_notifies_in_quiet_hours(tmp_path: Path) -> None:
    quiet = {"time_zone": "UTC", "start": "00:00", "end": "23:59", "bypass_level": "watch"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet))
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    assert desk.when(1, "notified")
    assert not desk.when(1, "held")


def test_snooze_holds_notifications_until_it_ends(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 5 * MIN)
    until = T0 + 90 * MIN
    assert desk.act(actions.snooze, 1, "ann", T0 + 5 * MIN, until).ok
    desk.storm(T0 + 10 * MIN, 10)
    desk.tick(T0 + 80 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    desk.post(T0 + 85 * MIN, 5)
    desk.tick(T0 + 120 * MIN)
    assert desk.when(1, "escalated", "to crisis")[0] >= until
    assert desk.when(1, "notified", "lead")[0] >= until
    assert ("snoozed", "until 2026-03-10 10:30 UTC") in desk.actions()


def test_a_silence_mutes_an_incident_until_it_expires(desk: Desk) -> None:
    assert desk.act(
        actions.silence, "ann", T0, T0 + 30 * MIN, brand="acme", topic="storm", reason="known"
    ).ok
    desk.storm(T0 + MIN, 10)
    desk.tick(T0 + 29 * MIN)
    assert not desk.when(1, "notified")
    assert desk.when(1, "held", "silenced by ann")
    desk.tick(T0 + 40 * MIN)
    assert desk.when(1, "notified")[0] == T0 + 30 * MIN


def test_a_silenced_author_does_not_feed_incidents(desk: Desk) -> None:
    assert desk.act(actions.silence, "ann", T0, T0 + 1440 * MIN, author="@troll").ok
    desk.storm(T0 + MIN, 10, handle="troll")
    desk.tick(T0 + 30 * MIN)
    assert get_incident(desk.db, 1) is None


def test_the_brands_own_posts_do_not_feed_incidents(desk: Desk) -> None:
    # "sorry, flights are cancelled today" from the brand's own account is not a complaint
    desk.storm(T0, 10, handle="@AcmeCare@social.example", followers=500_000)
    desk.tick(T0 + 30 * MIN)
    assert get_incident(desk.db, 1) is None
    desk.storm(T0 + 30 * MIN, 10, handle="acme_fan")
    desk.tick(T0 + 60 * MIN)
    assert get_incident(desk.db, 1) is not None


def test_auto_resolve_after_the_calm_period(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 6 * 60 * MIN)
    resolved = desk.when(1, "resolved")
    assert resolved
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.value == "resolved"
    calm_since = resolved[0] - timedelta(hours=1)
    assert calm_since > T0 + 10 * MIN  # calm counts from when risk fell below the lowest level
    assert desk.intents("resolve")


def test_a_crisis_inhibits_a_lesser_incident_on_the_same_brand_and_theme(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 40 * MIN)  # storm #1 escalated to crisis
    assert desk.when(1, "escalated", "to crisis")
    desk.storm(T0 + 40 * MIN, 5, text="flight cancelled again #refundnow")
    desk.tick(T0 + 60 * MIN)
    topic = get_incident(desk.db, 2)
    assert topic is not None
    assert topic.topic == "#refundnow"
    assert desk.when(2, "held", "inhibited by #1")
    assert not desk.when(2, "notified")


def test_reminders_while_nobody_acknowledges(tmp_path: Path) -> None:
    chosen = policy()
    levels = [level.model_dump(mode="json") for level in chosen.levels]
    levels[0]["remind_every"] = "30m"
    levels[1]["steps"] = [{"notify": "team"}]
    levels[1]["remind_every"] = "30m"
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    for start in range(0, 120, 10):
        desk.storm(T0 + start * MIN, 2, per_minute=3)
    desk.tick(T0 + 125 * MIN)
    reminders = desk.when(1, "reminded")
    assert len(reminders) >= 2
    assert all(b - a >= 30 * MIN for a, b in itertools.pairwise(reminders))


def test_an_acknowledged_incident_that_keeps_growing_pings_its_owner(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy(ack_remind_every="20m"))
    desk.storm(T0, 3, per_minute=2)
    desk.tick(T0 + 10 * MIN)
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 10 * MIN).ok
    desk.storm(T0 + 10 * MIN, 50, per_minute=4, followers=2_000_000, handle="star")
    desk.tick(T0 + 70 * MIN)
    threads = [row for row in desk.intents("thread") if "Still growing" in row[3]]
    assert threads, desk.actions()
    assert '"mention": "ann"' in threads[0][3]


def test_the_policy_is_snapshotted_when_an_incident_opens(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 5 * MIN)
    desk.db.close()
    edited = policy()
    levels = [level.model_dump(mode="json") for level in edited.levels]
    levels[1]["steps"] = [{"notify": "team"}, {"wait": "2h"}, {"escalate": {}}]
    later = Desk(tmp_path, policy(levels=levels))  # a restart with an edited app.yaml
    later.storm(T0 + 10 * MIN, 10)
    later.tick(T0 + 60 * MIN)
    assert later.when(1, "escalated", "to crisis")  # still the 15-minute wait it opened with
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert str(incident.policy.levels[1].steps[1]) == "wait=datetime.timedelta(seconds=900)"


def test_the_same_story_gives_the_same_log(tmp_path: Path) -> None:
    logs = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        desk = Desk(tmp_path / run, policy())
        desk.storm(T0, 20)
        desk.tick(T0 + 3 * 60 * MIN)
        logs.append([(e.at, e.action, e.detail) for e in audit_of(desk.db, 1)])
    assert logs[0] == logs[1]
    assert len(logs[0]) > 3


def test_resolve_reopen_and_merge_say_what_they_did(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert get_incident(desk.db, 2) is not None
    merged = desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN)
    assert merged.ok, merged.message
    assert not desk.act(actions.acknowledge, 2, "bob", T0 + 22 * MIN).ok
    assert desk.act(actions.resolve, 1, "ann", T0 + 23 * MIN).ok
    refused = desk.act(actions.acknowledge, 1, "bob", T0 + 24 * MIN)
    assert "already resolved by ann" in refused.message
    assert desk.act(actions.reopen, 1, "bob", T0 + 25 * MIN).ok
    done = [a for a, _ in desk.actions()]
    assert done[-3:] == ["resolved", "reopened", "notified"]  # its chain runs again at once


def test_a_jump_of_years_in_event_time_is_skipped_not_walked(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    desk.post(T0 + timedelta(days=3650), 1)  # a mistyped year in a replayed file
    desk.tick(T0 + timedelta(days=3650, minutes=30))
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.value == "resolved"  # the storm calmed down in the first two days


def test_a_misdated_mention_the_event_clock_ignored_does_not_move_incident_time(
    desk: Desk,
) -> None:
    """The engine goes no further than the event clock, which ignores a row a year ahead."""
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    desk.post(T0 + timedelta(days=400), 1, now=T0 + 21 * MIN)
    assert desk.desk.engine.now == T0 + 21 * MIN
    desk.storm(T0 + timedelta(days=1), 30, per_minute=5)  # a new storm the next day
    desk.tick(T0 + timedelta(days=1, minutes=60))
    assert get_incident(desk.db, 2) is not None


def test_a_group_saved_by_another_detector_version_starts_afresh(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    edit = "UPDATE engine_groups SET state = json_set(state, '$.detector.version', 0)"
    later = desk.restarted(policy(), edit)
    later.storm(T0 + 20 * MIN, 5)  # loads the state: the incident lives on, the group restarts
    later.tick(T0 + 40 * MIN)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert incident.mention_count >= 35


@pytest.mark.parametrize(
    "edit",
    [
        "json_set(state, '$.detector', json('null'))",
        "json_set(state, '$.detector', json('[]'))",
        "json_set(state, '$.current.count', 'many')",
        "json_set(state, '$.bin_start', '2026-03-10T09:00:00')",  # no offset: a naive time
    ],
)
def test_a_damaged_saved_group_starts_afresh(tmp_path: Path, edit: str) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    later = desk.restarted(policy(), f"UPDATE engine_groups SET state = {edit}")
    later.storm(T0 + 20 * MIN, 5)  # used to fail at start-up, or at the first bin
    later.tick(T0 + 40 * MIN)
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert incident.mention_count >= 35


def test_a_storm_soon_after_resolution_reopens_at_its_own_level(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 4 * 60 * MIN)  # escalated to crisis, then calm for an hour: resolved
    assert desk.when(1, "resolved")
    desk.post(T0 + 250 * MIN, 3)  # a small new storm on the same brand, within reopen_within
    desk.tick(T0 + 320 * MIN)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert desk.when(1, "reopened")
    reopened = [c for c in incident.levels if c.at >= T0 + 250 * MIN]
    assert reopened[0].level != "crisis"  # the new storm's own level, not the old peak
    assert get_incident(desk.db, 2) is None


def test_a_calming_incident_is_not_escalated(tmp_path: Path) -> None:
    chosen = policy()
    levels = [level.model_dump(mode="json") for level in chosen.levels]
    levels[1]["steps"] = [{"notify": "team"}, {"wait": "70m"}, {"escalate": {}}]
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="3h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 3 * 60 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    assert any("calming down" in detail for _, detail in desk.actions())


def test_a_reminder_counts_from_when_its_level_began(tmp_path: Path) -> None:
    """Notified at watch long ago, raised to alert now: alert's first reminder comes a full
    ``remind_every`` later, not at the next tick."""
    chosen = policy()
    levels = [level.model_dump(mode="json") for level in chosen.levels]
    levels[1]["steps"] = [{"notify": "team"}]
    levels[1]["remind_every"] = "30m"
    levels[1]["min_risk"] = 62
    desk = Desk(tmp_path, policy(levels=levels, resolve_after="6h"))
    desk.post(T0, 3)
    desk.tick(T0 + 5 * MIN)
    for minute in range(40, 130, 5):
        desk.post(T0 + minute * MIN, 1)  # keeps it open, below alert
        desk.tick(T0 + minute * MIN)
    desk.storm(T0 + 130 * MIN, 10, per_minute=6, followers=2_000_000, handle="star")
    desk.tick(T0 + 150 * MIN)
    raised = desk.when(1, "escalated", "to alert")
    assert raised, desk.actions()
    desk.tick(T0 + 175 * MIN)
    reminders = desk.when(1, "reminded")
    assert all(r - raised[0] >= 30 * MIN for r in reminders), (raised, reminders)


def test_a_step_with_mention_none_pages_nobody(tmp_path: Path) -> None:
    chosen = policy()
    levels = [level.model_dump(mode="json") for level in chosen.levels]
    levels[0]["steps"] = [{"notify": "lead", "mention": "none"}]
    levels[1]["min_risk"] = 98
    desk = Desk(tmp_path, policy(levels=levels))
    desk.storm(T0, 3, per_minute=2)
    desk.tick(T0 + 10 * MIN)
    opened = desk.intents("open")
    assert opened
    assert '"mention": ""' in opened[0][3]  # the target's @lead is not paged at watch


def incident_mentions(desk: Desk, incident_id: int) -> int:
    row = desk.db.execute(
        "SELECT COUNT(*) FROM incident_mentions WHERE incident_id = ?", [incident_id]
    ).fetchone()
    return int(row[0])


def test_a_merge_outlives_a_restart(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    later = desk.restarted()
    later.storm(T0 + 22 * MIN, 10, text="still cancelled #refundnow")
    later.tick(T0 + 40 * MIN)
    assert get_incident(later.db, 3) is None  # no new incident for the merged topic
    incident = get_incident(later.db, 1)
    assert incident is not None
    assert incident_mentions(later, 1) >= 60


def test_an_incident_reopened_by_hand_still_resolves_when_calm(desk: Desk) -> None:
    desk.storm(T0, 10, text="cancelled again #refundnow")
    desk.tick(T0 + 4 * 60 * MIN)
    resolved = [i for i in (get_incident(desk.db, n) for n in (1, 2)) if i is not None]
    topic = next(i for i in resolved if i.topic == "#refundnow")
    assert topic.status.value == "resolved"
    assert desk.act(actions.reopen, topic.id, "bob", T0 + 4 * 60 * MIN + 2 * MIN).ok
    desk.tick(T0 + 12 * 60 * MIN)  # nothing new for eight hours
    again = get_incident(desk.db, topic.id)
    assert again is not None
    assert again.status.value == "resolved"


def test_a_storm_that_reopens_an_incident_brings_its_mentions(desk: Desk) -> None:
    desk.storm(T0, 20)
    desk.tick(T0 + 4 * 60 * MIN)
    before = get_incident(desk.db, 1)
    assert before is not None
    assert before.status.value == "resolved"
    desk.storm(T0 + 250 * MIN, 10, per_minute=3)  # 30 new complaints within reopen_within
    desk.tick(T0 + 262 * MIN)
    after = get_incident(desk.db, 1)
    assert after is not None
    assert desk.when(1, "reopened")
    assert incident_mentions(desk, 1) == before.mention_count + 30
    assert after.mention_count == before.mention_count + 30


def test_a_topic_is_shown_as_people_read_it() -> None:
    assert topic_label("thread:demo:kd-0051") == "reply thread"
    assert topic_label("url:news.example/kestrel-outage") == "link news.example/kestrel-outage"
    assert topic_label("#refundnow") == "#refundnow"
    assert topic_label("storm") == "storm"


def test_acknowledged_by_command_before_its_first_card_pages_nobody(tmp_path: Path) -> None:
    targets = {"team": {"channel": "#team", "mention": "@oncall"}, "lead": {"channel": "#lead"}}
    desk = Desk(tmp_path, policy(targets=targets))
    desk.storm(T0, 5)
    desk.tick(T0 + 5 * MIN)  # opened at 09:05, its card due at 09:07
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 6 * MIN).ok
    desk.tick(T0 + 10 * MIN)
    opens = desk.intents("open")
    assert [row[1] for row in opens] == ["#team"]  # the card still goes to the channel
    assert '"mention": ""' in opens[0][3]
    assert desk.when(1, "notified", "nobody paged: acknowledged by ann")


def test_snoozed_again_for_less_the_notifications_resume_at_the_new_end(desk: Desk) -> None:
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)  # its card at 09:07; escalation due at 09:22
    assert desk.act(actions.snooze, 1, "ann", T0 + 10 * MIN, T0 + 3 * 60 * MIN).ok
    desk.storm(T0 + 10 * MIN, 10)
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.snooze, 1, "ann", T0 + 20 * MIN, T0 + 40 * MIN).ok
    desk.storm(T0 + 20 * MIN, 30)
    desk.tick(T0 + 60 * MIN)
    escalated = desk.when(1, "escalated", "to crisis")
    assert escalated
    assert T0 + 40 * MIN <= escalated[0] <= T0 + 45 * MIN


def test_snoozed_again_for_less_than_its_wait_it_still_waits_the_whole_wait(desk: Desk) -> None:
    """A snooze never cuts a wait short: the escalation due at 09:22 happens at 09:22 when the
    snooze that pushed it to 09:30 is replaced by one ending at 09:13."""
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)  # its card at 09:07; escalation due at 09:22
    assert desk.act(actions.snooze, 1, "ann", T0 + 10 * MIN, T0 + 30 * MIN).ok
    assert desk.act(actions.snooze, 1, "ann", T0 + 11 * MIN, T0 + 13 * MIN).ok
    desk.storm(T0 + 11 * MIN, 20)
    desk.tick(T0 + 40 * MIN)
    assert desk.when(1, "escalated", "to crisis")[0] == T0 + 22 * MIN


def test_a_snoozed_chain_outlives_a_restart(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    assert desk.act(actions.snooze, 1, "ann", T0 + 10 * MIN, T0 + 30 * MIN).ok
    later = desk.restarted()
    assert later.act(actions.snooze, 1, "ann", T0 + 11 * MIN, T0 + 13 * MIN).ok
    later.storm(T0 + 11 * MIN, 20)
    later.tick(T0 + 40 * MIN)
    assert later.when(1, "escalated", "to crisis")[0] == T0 + 22 * MIN
