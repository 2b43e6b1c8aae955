"""Answers to one person in Slack: UTC times shown in the reader's zone; a person's name the
same whichever kind of request it came with."""

from __future__ import annotations

from handlers.slack.answers import local_times
from handlers.slack.people import sender_of


def test_utc_times_in_an_answer_show_in_the_readers_zone() -> None:
    said = local_times("#3 was already acknowledged by <@U1> 2026-03-10 14:02 UTC")
    token = "<!date^1773151320^{date_short_pretty} {time}|2026-03-10 14:02 UTC>"
    assert said == f"#3 was already acknowledged by <@U1> {token}"
    assert local_times("2026-02-30 14:02 UTC, 14:02") == "2026-02-30 14:02 UTC, 14:02"


def test_a_person_is_named_by_handle_from_events_clicks_and_commands() -> None:
    profile = {"real_name": "Ana Lima", "display_name": "ana", "name": "ana.lima"}
    event = {"event": {"type": "app_mention", "user": "U1", "user_profile": profile}}
    click = {"user": {"id": "U1", "username": "ana.lima", "name": "ana.lima"}}
    command = {"user_id": "U1", "user_name": "ana.lima"}
    assert {sender_of(body) for body in (event, click, command)} == {("U1", "ana.lima")}
