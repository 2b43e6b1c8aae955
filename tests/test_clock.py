"""Injected clocks: event time follows the events, never backwards, never into the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import MAX_AHEAD, EventClock, SystemClock

WALL = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_event_time_follows_the_events_and_never_runs_back() -> None:
    clock = EventClock(wall=lambda: WALL)
    clock.advance(datetime(2015, 2, 22, 9, tzinfo=UTC))
    clock.advance(datetime(2015, 2, 22, 8, tzinfo=UTC))
    assert clock.now() == datetime(2015, 2, 22, 9, tzinfo=UTC)


def test_an_event_dated_in_the_future_does_not_move_event_time() -> None:
    """One row dated 2099 would otherwise make every later event a century old."""
    clock = EventClock(wall=lambda: WALL)
    clock.advance(datetime(2015, 2, 22, 9, tzinfo=UTC))
    clock.advance(datetime(2099, 1, 1, tzinfo=UTC))
    clock.advance(datetime(2015, 2, 22, 9, 5, tzinfo=UTC))
    assert clock.now() == datetime(2015, 2, 22, 9, 5, tzinfo=UTC)
    assert clock.ignored == 1
    ahead = WALL + MAX_AHEAD - timedelta(seconds=1)  # a live source a little ahead
    clock.advance(ahead - timedelta(seconds=1))
    clock.advance(ahead)
    assert clock.now() == ahead


def test_one_event_years_ahead_of_the_others_does_not_move_event_time() -> None:
    """A wrong year in one row of a replayed export, still in the past of the wall clock."""
    clock = EventClock(wall=lambda: WALL)
    clock.advance(datetime(2015, 2, 22, 9, tzinfo=UTC))
    clock.advance(datetime(2016, 2, 22, 9, 1, tzinfo=UTC))
    assert clock.now() == datetime(2015, 2, 22, 9, tzinfo=UTC)
    clock.advance(datetime(2015, 2, 22, 9, 2, tzinfo=UTC))
    assert clock.now() == datetime(2015, 2, 22, 9, 2, tzinfo=UTC)
    assert clock.ignored == 1
    clock.advance(datetime(2015, 2, 22, 9, 3, tzinfo=UTC))
    assert clock.ignored == 1


def test_a_gap_of_days_is_taken_when_the_next_event_confirms_it() -> None:
    clock = EventClock(wall=lambda: WALL)
    clock.advance(datetime(2015, 2, 22, 9, tzinfo=UTC))
    clock.advance(datetime(2015, 3, 1, 9, tzinfo=UTC))  # a week without mentions
    clock.advance(datetime(2015, 3, 1, 9, 5, tzinfo=UTC))
    assert clock.now() == datetime(2015, 3, 1, 9, 5, tzinfo=UTC)
    assert clock.ignored == 0


def test_sparse_events_days_apart_move_time_one_step_late() -> None:
    """Each leap is confirmed by the next event leaping too; the last one waits."""
    clock = EventClock(wall=lambda: WALL)
    start = datetime(2015, 2, 1, 9, tzinfo=UTC)
    for n in range(10):
        clock.advance(start + timedelta(days=3 * n))
    assert clock.now() == start + timedelta(days=3 * 8)
    assert clock.ignored == 0


def test_event_time_follows_the_wall_once_the_story_is_over() -> None:
    steady = [1000.0]
    clock = EventClock(wall=lambda: WALL, monotonic=lambda: steady[0])
    end = datetime(2015, 2, 22, 9, tzinfo=UTC)
    clock.advance(end)
    steady[0] += 600
    assert clock.now() == end  # events alone move it
    clock.follow_wall()
    steady[0] += 90
    assert clock.now() == end + timedelta(seconds=90)
    clock.advance(end + timedelta(seconds=30))  # an older event does not take it back
    assert clock.now() == end + timedelta(seconds=90)
    clock.advance(end + timedelta(minutes=5))  # a newer one moves it
    assert clock.now() == end + timedelta(minutes=5)


def test_system_time_does_not_step_back() -> None:
    walls = iter([WALL, WALL - timedelta(minutes=5)])
    steady = iter([100.0, 101.0])
    clock = SystemClock(wall=lambda: next(walls), monotonic=lambda: next(steady))
    first = clock.now()
    assert clock.now() == first + timedelta(seconds=1)


def test_a_leap_of_wall_time_past_the_process_s_own_time_is_told_once() -> None:
    """A suspended machine: the monotonic clock stood still while wall time went on."""
    wall, steady = [WALL], [0.0]
    clock = SystemClock(wall=lambda: wall[0], monotonic=lambda: steady[0])
    clock.now()
    wall[0], steady[0] = WALL + timedelta(minutes=4), 0.0  # an NTP step forward: not a leap
    clock.now()
    assert clock.leapt_from() is None
    reached = WALL + timedelta(minutes=4, seconds=10)
    wall[0], steady[0] = WALL + timedelta(hours=3), 10.0
    assert clock.now() == WALL + timedelta(hours=3)
    wall[0], steady[0] = WALL + timedelta(hours=3, seconds=5), 15.0
    clock.now()
    assert clock.leapt_from() == reached
    assert clock.leapt_from() is None  # told once
