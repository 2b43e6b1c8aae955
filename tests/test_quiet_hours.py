"""Quiet hours on the local wall clock, on the nights its time changes (Paris, 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.incidents import QuietHours
from bot.incidents.quiet import quiet_until

SECOND = timedelta(seconds=1)


def paris(start: str, end: str) -> QuietHours:
    return QuietHours(time_zone="Europe/Paris", start=start, end=end)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_an_end_skipped_by_the_spring_change_is_the_change() -> None:
    # 29 March: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never shows
    hours = paris("01:00", "02:30")
    end = quiet_until(hours, utc(3, 29, 0, 30))  # 01:30 CET
    assert end == utc(3, 29, 1)  # 03:00 CEST, not 03:30
    assert quiet_until(hours, end - SECOND) == end
    assert quiet_until(hours, end) is None  # the hold and the check agree
    assert quiet_until(hours, utc(3, 29, 1, 5)) is None


def test_a_start_skipped_by_the_spring_change_is_the_change() -> None:
    hours = paris("02:30", "06:00")
    assert quiet_until(hours, utc(3, 29, 0, 59)) is None  # 01:59 CET
    assert quiet_until(hours, utc(3, 29, 1)) == utc(3, 29, 4)  # 03:00 -> 06:00 CEST


@pytest.mark.parametrize("minute", [15, 45, 75, 89])  # 02:15 and 02:45 CEST, 02:15, 02:29 CET
def test_quiet_hours_ending_in_the_repeated_hour_are_one_stretch(minute: int) -> None:
    # 25 October: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00 to 03:00 shows twice
    hours = paris("22:00", "02:30")
    now = utc(10, 25, 0) + timedelta(minutes=minute)
    assert quiet_until(hours, now) == utc(10, 25, 1, 30)  # the second 02:30


def test_quiet_hours_do_not_start_again_in_the_repeated_hour() -> None:
    hours = paris("02:15", "02:45")
    assert quiet_until(hours, utc(10, 25, 0, 10)) is None  # 02:10 CEST
    assert quiet_until(hours, utc(10, 25, 0, 20)) == utc(10, 25, 1, 45)
    assert quiet_until(hours, utc(10, 25, 1, 50)) is None  # 02:50 CET: over for the night
    early = paris("01:00", "02:15")  # over at the first 02:15... and not again at the second
    assert quiet_until(early, utc(10, 24, 23, 30)) == utc(10, 25, 1, 15)
    assert quiet_until(early, utc(10, 25, 1, 20)) is None


def test_an_ordinary_night_is_unchanged() -> None:
    hours = paris("22:00", "07:00")
    assert quiet_until(hours, utc(3, 10, 22)) == utc(3, 11, 6)
    assert quiet_until(hours, utc(3, 11, 5, 59)) == utc(3, 11, 6)
    assert quiet_until(hours, utc(3, 11, 6)) is None
    assert quiet_until(hours, utc(3, 11, 12)) is None
