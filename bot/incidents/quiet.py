"""Quiet hours: local times of day, in the policy's time zone, when lesser levels wait."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config.incidents import QuietHours


def quiet_until(hours: QuietHours, now: datetime) -> datetime | None:
    """When the quiet period containing ``now`` ends (UTC), or None if ``now`` is not quiet.

    Times are read on the local wall clock, so "22:00 to 07:00" stays 22:00 to 07:00 across a
    daylight-saving change (that night is an hour shorter or longer in UTC). Each night's quiet
    hours are one stretch, from the first time the clock shows the start to the last time it
    shows the end: a time skipped in spring is the change itself, and the hour repeated in
    autumn neither ends them early nor starts them again.
    """
    zone = ZoneInfo(hours.time_zone)
    start, end = hours.start, hours.end
    if start == end:
        return None
    today = now.astimezone(zone).date()
    for day in (today - timedelta(days=1), today):
        begins = _wall(day, start, zone)
        ends = _wall(day + timedelta(days=1) if end < start else day, end, zone, last=True)
        if begins <= now < ends:
            return ends.astimezone(now.tzinfo)
    return None


def _wall(day: date, at: time, zone: ZoneInfo, *, last: bool = False) -> datetime:
    """When a local wall clock shows ``at`` on ``day`` (UTC): the first time, or with ``last``
    the last (they differ in the hour an autumn change repeats); a time skipped by a
    spring-forward is the change itself (the clock jumps past it then)."""
    moment = datetime.combine(day, at, tzinfo=zone)  # fold 0: a repeated time's first pass
    after = moment.astimezone(UTC)  # in a gap, fold 0 reads it with the offset before it
    if after.astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None):
        return moment.replace(fold=1).astimezone(UTC) if last else after
    before = moment.replace(fold=1).astimezone(UTC)  # ... and fold 1 with the one after
    low, high = 0, int((after - before).total_seconds())  # the change lies between
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(before + timedelta(seconds=middle), zone) == _offset(after, zone):
            high = middle
        else:
            low = middle
    return before + timedelta(seconds=high)


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()
