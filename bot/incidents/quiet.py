"""Quiet hours: local times of day, in the policy's time zone, when lesser levels wait."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config.incidents import QuietHours


def quiet_until(hours: QuietHours, now: datetime) -> datetime | None:
    """When the quiet period containing ``now`` ends (UTC), or None if ``now`` is not quiet.

    Times are read on the local wall clock, so "22:00 to 07:00" stays 22:00 to 07:00 across a
    daylight-saving change (that night is an hour shorter or longer in UTC).
    """
    zone = ZoneInfo(hours.time_zone)
    local = now.astimezone(zone)
    start, end = hours.start, hours.end
    if start == end:
        return None
    today = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= today < end
        end_day = local.date()
    else:  # across midnight
        quiet = today >= start or today < end
        end_day = local.date() + timedelta(days=1) if today >= start else local.date()
    if not quiet:
        return None
    until = _wall(end_day, end, zone)
    if until <= now:  # the end falls in the hour repeated by an autumn change: its second time
        until = until.replace(fold=1)
    return until.astimezone(now.tzinfo)


def _wall(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time; a time skipped by a spring-forward lands just after the gap."""
    moment = datetime.combine(day, at, tzinfo=zone)
    round_trip = moment.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return round_trip  # in the gap: the first valid instant after it
    return moment
