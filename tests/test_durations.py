"""``--since 24h``-style arguments, as typed on a keyboard or a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.durations import parse_duration, parse_since

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("7D", timedelta(days=7)), (" 1.5 H ", timedelta(hours=1.5))],
)
def test_a_duration_reads_in_any_case(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_since_takes_a_duration_or_a_time_and_says_what_it_expects_otherwise() -> None:
    assert parse_since("2W", NOW) == NOW - timedelta(weeks=2)
    assert parse_since("2026-03-01T00:00:00Z", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("yesterday", NOW)
