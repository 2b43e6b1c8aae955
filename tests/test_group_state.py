"""A group's saved state is what ``asdict`` would give (the hand-written, faster form must not
drift from the dataclasses it mirrors), and it round-trips."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from bot.incidents.groups import GroupRisk
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def scored(number: int) -> ScoredMention:
    mention = Mention(
        "test", f"m{number}", "flight cancelled #acmefail", T0 + timedelta(minutes=number),
        author=Author(f"user{number}", followers=10 * number),
    )  # fmt: skip
    negativity = Negativity(0.9, Sentiment.NEGATIVE, -0.7, ("cancelled: “cancelled”",))
    return ScoredMention(mention, ("acme",), ("acme",), LanguageGuess("en", 1.0), negativity, T0)


def test_the_state_matches_the_dataclasses_and_round_trips() -> None:
    group = GroupRisk(("acme", "storm"), T0)
    for number in range(40):
        group.add(scored(number), influencer=number == 7)
        if number % 6 == 5:
            group.close()
    state = json.loads(json.dumps(group.state()))  # as saved
    assert state["current"] == json.loads(json.dumps(asdict(group.current)))
    assert state["closed"] == [json.loads(json.dumps(asdict(b))) for b in group.closed]
    detector = group.detector.state()
    for name, scale in group.detector._scales().items():
        assert detector["scales"][name] == asdict(scale)
    for name, swing in group.detector._swings().items():
        assert detector["swings"][name] == asdict(swing)
    assert detector["settings"] == asdict(group.detector.settings)
    again = GroupRisk.from_state(state)
    assert json.loads(json.dumps(again.state())) == state
