"""The platform-neutral incident card: what it carries, and when it is worth an edit."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config.incidents import IncidentPolicy
from bot.incidents.cards import card_of, signature
from bot.incidents.model import Incident, Status

NOW = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)


def incident() -> Incident:
    return Incident(
        id=7,
        brand="kestrel",
        topic="storm",
        theme="not_working",
        status=Status.ACKNOWLEDGED,
        level=0,
        policy=IncidentPolicy(),
        opened_at=NOW,
        updated_at=NOW,
        risk=55,
        acknowledged_by="U123",
    )


def test_the_card_says_who_snoozed_the_incident() -> None:
    snoozed = replace(incident(), snoozed_until=NOW + timedelta(hours=24), snoozed_by="U456")
    card = card_of(snoozed, "Kestrel Mobile")
    assert card["snoozed_by"] == "U456"
    assert card["snoozed_until"] == "2026-03-11T09:05:00+00:00"
    assert card_of(incident(), "Kestrel Mobile")["snoozed_by"] == ""


def test_a_snooze_by_someone_else_until_the_same_moment_updates_the_card() -> None:
    until = NOW + timedelta(hours=1)
    ana = replace(incident(), snoozed_until=until, snoozed_by="U456")
    ben = replace(ana, snoozed_by="U789")
    assert signature(ana) != signature(ben)
    assert signature(ana) != signature(replace(ana, snoozed_until=until + timedelta(hours=1)))


def test_an_unsnoozed_incidents_signature_is_unchanged() -> None:
    """Signatures stored before the card named who snoozed stay equal: no needless edit of
    every live card after an upgrade."""
    assert json.loads(signature(incident())) == [
        "acknowledged",
        0,
        11,
        0,
        "U123",
        "",
        "not_working",
    ]
