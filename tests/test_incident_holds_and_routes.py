"""Silences typed as a card shows a topic, escalations held by a snooze, and storms on a topic
merged into an incident since resolved (on tests/test_incident_engine.py's ``Desk``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.incidents import actions
from bot.incidents.groups import typed_topic
from storage.incidents import get_incident
from tests.test_incident_engine import MIN, T0, Desk, policy


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("news.example/outage", "url:news.example/outage"),
        ("link news.example/outage", "url:news.example/outage"),
        ("https://www.News.example/outage/?utm_source=x", "url:news.example/outage"),
        ("url:news.example/outage", "url:news.example/outage"),
        ("RefundNow", "#refundnow"),
        ("#refundnow", "#refundnow"),
        ("storm", "storm"),
        ("thread:test:42", "thread:test:42"),
    ],
)
def test_a_topic_is_read_as_the_card_shows_it(typed: str, key: str) -> None:
    assert typed_topic(typed) == key


@pytest.mark.parametrize("typed", ["reply thread", "#a", "not a topic", "foo-bar", ""])
def test_a_topic_no_key_can_be_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"reply thread cannot be typed|no topic can be"):
        typed_topic(typed)


def test_a_silenced_link_typed_as_the_card_shows_it_mutes_its_incident(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    done = desk.act(
        actions.silence, "ann", T0, T0 + 120 * MIN, brand="acme", topic="news.example/outage"
    )
    assert done.ok
    assert "topic link news.example/outage" in done.message
    desk.storm(T0 + MIN, 10, text="flight cancelled https://news.example/outage")
    desk.tick(T0 + 30 * MIN)
    link = next(
        i
        for n in (1, 2)
        if (i := get_incident(desk.db, n)) is not None and i.topic == "url:news.example/outage"
    )
    assert desk.when(link.id, "held", "silenced by ann")
    assert not desk.when(link.id, "notified")


def test_a_silenced_tag_typed_without_its_hash_mutes_its_incident(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    assert desk.act(actions.silence, "ann", T0, T0 + 120 * MIN, topic="RefundNow").ok
    desk.storm(T0 + MIN, 10, text="flight cancelled #refundnow")
    desk.tick(T0 + 30 * MIN)
    tag = next(
        i for n in (1, 2) if (i := get_incident(desk.db, n)) is not None and i.topic == "#refundnow"
    )
    assert desk.when(tag.id, "held", "silenced by ann")


def test_a_silence_on_a_topic_that_cannot_be_is_refused(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    refused = desk.act(actions.silence, "ann", T0, T0 + 60 * MIN, topic="the outage page")
    assert not refused.ok
    assert "a link (news.example/page), a hashtag (#tag) or storm" in refused.message
    thread = desk.act(actions.silence, "ann", T0, T0 + 60 * MIN, topic="reply thread")
    assert not thread.ok
    assert "Silence topic button" in thread.message
    assert desk.db.execute("SELECT COUNT(*) FROM silences").fetchone()[0] == 0


def test_an_unacknowledged_incident_does_not_escalate_during_its_snooze(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)  # card at 09:07, escalation due 09:22
    assert desk.act(actions.acknowledge, 1, "ann", T0 + 10 * MIN).ok
    desk.storm(T0 + 10 * MIN, 15)
    desk.tick(T0 + 25 * MIN)  # escalation skipped: acknowledged
    until = T0 + 180 * MIN
    assert desk.act(actions.snooze, 1, "ann", T0 + 25 * MIN, until).ok
    assert desk.act(actions.unacknowledge, 1, "ann", T0 + 26 * MIN).ok  # a hand-over
    desk.storm(T0 + 25 * MIN, 40)  # still going strong
    desk.tick(T0 + 70 * MIN)
    assert not desk.when(1, "escalated", "to crisis")  # was: at 09:41, during the snooze
    assert desk.when(1, "held", "escalation: snoozed by ann, until 2026-03-10 12:00 UTC")
    desk.storm(T0 + 120 * MIN, 70)  # still going when the snooze ends
    desk.tick(T0 + 190 * MIN)
    assert desk.when(1, "escalated", "to crisis") == [until]


def test_a_chain_woken_during_a_snooze_does_not_escalate_before_it_ends(tmp_path: Path) -> None:
    shipped = [level.model_dump(mode="json") for level in policy().levels]
    shipped[1]["steps"] = [{"notify": "team"}, {"wait": "90m"}, {"escalate": {}}]
    desk = Desk(tmp_path, policy(levels=shipped, resolve_after="6h"))
    desk.storm(T0, 10)
    desk.tick(T0 + 100 * MIN)  # calm when the wait ends at 10:37: the escalation is parked
    assert desk.when(1, "not escalated", "calming down")
    until = T0 + 300 * MIN
    assert desk.act(actions.snooze, 1, "ann", T0 + 100 * MIN, until).ok
    desk.storm(T0 + 105 * MIN, 20)  # back during the snooze: the chain wakes
    desk.tick(T0 + 135 * MIN)
    assert not desk.when(1, "escalated", "to crisis")
    assert desk.when(1, "held", "escalation: snoozed by ann")


def test_a_storm_on_a_topic_merged_into_a_resolved_incident_reopens_it(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    two = get_incident(desk.db, 2)
    assert two is not None
    assert two.topic == "#refundnow"
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    assert desk.act(actions.resolve, 1, "ann", T0 + 23 * MIN).ok
    desk.storm(T0 + 40 * MIN, 10, text="still cancelled #refundnow")  # within reopen_within
    desk.tick(T0 + 60 * MIN)
    assert desk.when(1, "reopened")
    assert get_incident(desk.db, 3) is None  # was: a new incident on #refundnow
    assert desk.desk.engine.live[("acme", "#refundnow")] == 1  # the topic goes to #1 again
    later = desk.restarted(policy())
    later.post(T0 + 61 * MIN, 1, text="again #refundnow")
    later.tick(T0 + 62 * MIN)
    assert later.desk.engine.live[("acme", "#refundnow")] == 1  # after a restart too


def test_a_merged_incident_leaves_memory_with_the_one_it_was_merged_into(tmp_path: Path) -> None:
    """Merged incidents have no resolution time of their own: they were kept in memory for
    ever, one more for every merge of a long-running instance."""
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    desk.tick(T0 + 20 * MIN)
    assert desk.act(actions.merge, 2, 1, "ann", T0 + 21 * MIN).ok
    assert desk.act(actions.resolve, 1, "ann", T0 + 23 * MIN).ok
    desk.tick(T0 + 60 * MIN)
    assert set(desk.desk.engine.incidents) == {1, 2}  # within reopen_within: both kept
    desk.tick(T0 + 23 * MIN + desk.desk.engine.keeps_resolved() + 10 * MIN)
    assert set(desk.desk.engine.incidents) == set()
