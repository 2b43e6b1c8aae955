"""``python -m bot detect-bursts SERIES.csv --output OUT.csv``: burst flags for a volume series.

Input is NAB-style ``timestamp,value`` (CSV, or gzipped: told by the first bytes, whatever the
name), one row per bin of a regular grid, in any order (sorted by time first; two rows at the
same time are refused). A timestamp is ISO 8601 or Unix seconds or milliseconds
(:func:`bot.records.parse_time`). A value is a count from 0 to ``MAX_VALUE``.

The bin width is ``--bin`` when given; otherwise it is inferred from the file's layout as the
greatest common divisor of the gaps between timestamps (a sparse export of 5-minute bins that
skips its empty ones still has 5-minute bins), and the command says which width it used. That
inference looks at the whole file's timestamps, so one more row off the grid (30 minutes after
the last of an hourly file) changes the width and with it every decision: give ``--bin`` to pin
it. The values never do: each decision is made from the earlier bins only, exactly as the live
detector would have made it. Every gap must be a whole number of bins, and a bin the file leaves
out is a bin of 0, written to the output like any other, its timestamp in the layout of the row
before it. Taken as consecutive instead, a series without its zero bins got 15-minute bins for 5
and kept flagging hours past its surge.

Timestamps are all without a UTC offset or all with one (Unix times are UTC; compared as
instants, so a series with offsets may cross a daylight-saving change); local times without
offsets repeat an hour at the autumn change: a file in time order whose clock goes back by less
than an hour is refused with a request for UTC.

Hourly or longer bins get :meth:`BurstSettings.hourly`. Output repeats both columns as the input
wrote them and adds ``surprise`` and ``burst`` (0/1). The file's past is unknown: its first hour
teaches the baseline (surprise 0, burst 0; :func:`bot.spread.burst.detect_series`).
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.records import MalformedRecord, parse_time
from bot.spread.burst import BurstSettings, detect_series
from bot.spread.text_input import READ_ERRORS, CsvOutput, open_text

INPUT_COLUMNS = ("timestamp", "value")
OUTPUT_COLUMNS = ("timestamp", "value", "surprise", "burst")
MAX_BINS = 2_000_000
"""At most this many bins once the missing ones are filled (19 years of 5-minute bins): more
means timestamps off the grid by seconds, not an export that skipped its empty bins."""
MAX_VALUE = 1e12
"""The largest count a bin may hold (a thousand times a day of all of Twitter's posts): more is
a column of something else, and would overflow the detector's arithmetic."""

_LOCAL_TIME = (
    "; a local-time export repeats an hour when daylight saving ends: "
    "export in UTC or with UTC offsets"
)
_UNIX = re.compile(r"\d+(?:\.\d+)?")
_UNIX_FROM = 946_684_800  # 2000-01-01: a smaller number of digits is a compact date (20240310)
_MILLISECONDS_FROM = 1e11  # as parse_time reads them
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"(?P<date>\d{4}(?P<dash>-?)\d{2}(?P=dash)\d{2})"
    r"(?:(?P<sep>[Tt ])\d{2}(?:(?P<colon>:?)(?P<minute>\d{2})"
    r"(?:(?P=colon)(?P<second>\d{2})(?:(?P<point>[.,])(?P<fraction>\d+))?)?)?)?"
    r"(?P<offset>[Zz]|[+-]\d{2}(?:(?P<ocolon>:?)\d{2}(?:(?P=ocolon)\d{2}(?:\.\d+)?)?)?)?\s*"
)


@dataclass(frozen=True, slots=True)
class VolumeRow:
    timestamp: str
    at: datetime
    value: float
    text: str = "0"
    """The value as the input wrote it (a filled bin's is 0)."""


@dataclass(frozen=True, slots=True)
class Series:
    """Every bin of a file, and the bin width (None for a single row without ``--bin``)."""

    rows: list[VolumeRow]
    width: timedelta | None
    inferred: bool


def read_volume(source: Path, width: timedelta | None = None) -> list[VolumeRow]:
    """Every bin of a ``timestamp,value`` file, in time order, missing ones filled with 0;
    ValueError naming the file (and the line) otherwise."""
    return read_series(source, width).rows


def read_series(source: Path, width: timedelta | None = None) -> Series:
    """:func:`read_volume` with the bin width: ``width``, or inferred from the gaps (their
    greatest common divisor) when None."""
    if width is not None and width <= timedelta(0):
        raise ValueError(f"the bin width must be positive, got {width}")
    try:
        with open_text(source) as handle:
            rows, lines = _read_rows(handle, source)
    except (*READ_ERRORS, csv.Error) as error:
        raise ValueError(f"{source}: cannot read: {error}") from None
    _check_repeated_hour(rows, lines, source)
    order = sorted(range(len(rows)), key=lambda n: rows[n].at)
    rows, lines = [rows[n] for n in order], [lines[n] for n in order]
    _check_duplicates(rows, lines, source)
    inferred = width is None
    width = width or gcd_width(rows)
    return Series(_on_grid(rows, lines, source, width), width, inferred)


def _read_rows(handle: TextIO, source: Path) -> tuple[list[VolumeRow], list[int]]:
    """The rows in file order and their line numbers."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != INPUT_COLUMNS:
        raise ValueError(f"{source}: line 1: expected the header 'timestamp,value', got {header}")
    rows: list[VolumeRow] = []
    lines: list[int] = []
    for cells in reader:
        if not cells:
            continue
        where = f"{source}: line {reader.line_num}"
        row = _parse_row(cells, where)
        if rows:
            _check_offsets(rows[0], row, where)
        rows.append(row)
        lines.append(reader.line_num)
    return rows, lines


def _check_offsets(first: VolumeRow, row: VolumeRow, where: str) -> None:
    if (row.at.tzinfo is None) != (first.at.tzinfo is None):
        has, lacks = ("a", "none") if row.at.tzinfo else ("no", "one")
        raise ValueError(
            f"{where}: timestamp {row.timestamp} has {has} UTC offset and the earlier rows "
            f"have {lacks}: give every timestamp an offset (or none; Unix times are UTC)"
        )


def _check_repeated_hour(rows: list[VolumeRow], lines: list[int], source: Path) -> None:
    """Refuse local times (no offset) in time order but for a clock that goes back by less than
    an hour (as many steps forward as back, at least): the hour a local-time export repeats
    when daylight saving ends. Sorted, its two hours would interleave. A file newest first, or
    shuffled, is only sorted."""
    if not rows or rows[0].at.tzinfo is not None:
        return
    steps = [(n, rows[n - 1].at - rows[n].at) for n in range(1, len(rows))]
    back = [(n, gap) for n, gap in steps if gap > timedelta(0)]
    forward = sum(gap < timedelta(0) for _, gap in steps)
    if not back or forward < len(back) or any(gap >= timedelta(hours=1) for _, gap in back):
        return
    n = back[0][0]
    raise ValueError(
        f"{source}: line {lines[n]}: timestamp {rows[n].timestamp} goes back "
        f"{_words(back[0][1])}, to before the previous row's {rows[n - 1].timestamp}, in a "
        f"file otherwise in time order{_LOCAL_TIME} (or, if it is not that, put the rows in "
        "time order)"
    )


def _check_duplicates(rows: list[VolumeRow], lines: list[int], source: Path) -> None:
    """Refuse two rows at the same time (``rows`` in time order), naming the later line."""
    for (before, after), (one, other) in zip(
        itertools.pairwise(rows), itertools.pairwise(lines), strict=True
    ):
        if after.at == before.at:
            (first, line), (second, later) = sorted([(one, before), (other, after)])
            raise ValueError(
                f"{source}: line {second}: timestamp {later.timestamp} is the same time as "
                f"line {first}'s {line.timestamp}: give one row per bin"
            )


def _parse_row(cells: list[str], where: str) -> VolumeRow:
    if len(cells) != 2:
        raise ValueError(f"{where}: expected 2 columns (timestamp,value), got {len(cells)}")
    stamp, raw = cells[0].strip(), cells[1].strip()
    at = _parse_time(stamp, where)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{where}: value {raw!r} is not a number") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: value {raw!r} is not a count >= 0")
    if value > MAX_VALUE:
        raise ValueError(f"{where}: value {raw!r} is more than {MAX_VALUE:,.0f}, too large a count")
    return VolumeRow(stamp, at, value, raw)


def _parse_time(stamp: str, where: str) -> datetime:
    """ISO 8601 as written (local times stay local), or Unix seconds or milliseconds (UTC)."""
    if _UNIX.fullmatch(stamp) and float(stamp) >= _UNIX_FROM:
        try:
            return parse_time(stamp)
        except MalformedRecord as error:
            raise ValueError(f"{where}: {error}") from None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(
            f"{where}: {stamp!r} is not an ISO 8601 timestamp nor Unix seconds or milliseconds"
        ) from None


def _on_grid(
    rows: list[VolumeRow], lines: list[int], source: Path, width: timedelta | None
) -> list[VolumeRow]:
    """``rows`` (in time order) with the bins they skip added, at value 0."""
    if width is None or not rows:
        return rows
    filled: list[VolumeRow] = []
    for (before, after), line in zip(itertools.pairwise(rows), lines[1:], strict=True):
        bins, rest = divmod(after.at - before.at, width)
        if rest:
            raise ValueError(
                f"{source}: line {line}: {after.timestamp} is not a whole number of "
                f"{_duration(width)} bins after {before.timestamp}: timestamps must be on a "
                "regular grid"
            )
        if len(filled) + bins > MAX_BINS:
            raise ValueError(
                f"{source}: line {line}: more than {MAX_BINS:,} {_duration(width)} bins: "
                "timestamps must be on a regular grid"
            )
        filled.append(before)
        stamp = _stamper(before.timestamp)
        filled.extend(
            VolumeRow(stamp(at), at, 0.0) for at in (before.at + n * width for n in range(1, bins))
        )
    filled.append(rows[-1])
    return filled


def gcd_width(rows: list[VolumeRow]) -> timedelta | None:
    """The greatest common divisor of the gaps between timestamps (``rows`` in time order;
    None with fewer than two rows)."""
    gaps = [(b.at - a.at) // timedelta(microseconds=1) for a, b in itertools.pairwise(rows)]
    if not gaps:
        return None
    return timedelta(microseconds=functools.reduce(math.gcd, gaps))


def _duration(width: timedelta) -> str:
    minutes = width.total_seconds() / 60.0
    return f"{minutes:g}-minute" if minutes >= 1 else f"{width.total_seconds():g}-second"


def _words(gap: timedelta) -> str:
    """'55 minutes', '1 hour', '30 seconds'."""
    seconds = gap.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds / size).is_integer():
            count = int(seconds / size)
            return f"{count} {unit}{'s' * (count != 1)}"
    return f"{seconds:g} second{'s' * (seconds != 1)}"


def _stamper(template: str) -> Callable[[datetime], str]:
    """A function writing a time in the layout of ``template``: Unix seconds or milliseconds as
    it is, or ISO 8601 with its date, separator, precision and UTC offset layout (more digits
    only when a time needs them)."""
    if _UNIX.fullmatch(template) and float(template) >= _UNIX_FROM:
        return functools.partial(_unix_like, template=template)
    match = _ISO.fullmatch(template)
    if match is None:  # a layout fromisoformat reads and this does not (a week date)
        sep = " " if " " in template else "T"
        return lambda at: at.isoformat(sep=sep)
    return functools.partial(_iso_like, parts=match)


def _unix_like(at: datetime, template: str) -> str:
    """``at`` in Unix seconds or milliseconds as ``template`` is, with as many decimals."""
    places = len(template.partition(".")[2])
    milliseconds = float(template) >= _MILLISECONDS_FROM
    unit = timedelta(milliseconds=1) if milliseconds else timedelta(seconds=1)
    ticks, rest = divmod(at - _EPOCH, unit)
    return str(ticks) + _fraction(
        rest // timedelta(microseconds=1), 3 if milliseconds else 6, places
    )


def _fraction(units: int, width: int, places: int, point: str = ".") -> str:
    """``units`` (a fraction written in ``width`` digits) with ``places`` decimals, or more when
    they are needed; "" when none are."""
    digits = f"{units:0{width}d}"
    places = max(places, len(digits.rstrip("0")) if units else 0)
    return point + digits.ljust(places, "0")[:places] if places else ""


def _iso_like(at: datetime, parts: re.Match[str]) -> str:
    """``at`` as the ISO 8601 ``parts`` are laid out: date with or without dashes, ``T`` or
    space, down to the minute, second or fraction of the template, offset as it wrote it."""
    dash, sep = parts["dash"], parts["sep"]
    text = at.strftime(f"%Y{dash}%m{dash}%d")
    seconds = bool(at.second or at.microsecond)
    if sep or at.hour or at.minute or seconds:
        colon = ":" if parts["colon"] is None else parts["colon"]
        text += f"{sep or 'T'}{at.hour:02d}"
        if parts["minute"] is not None or at.minute or seconds or not sep:
            text += f"{colon}{at.minute:02d}"
        if parts["second"] is not None or seconds:
            text += f"{colon}{at.second:02d}"
            places = len(parts["fraction"] or "")
            text += _fraction(at.microsecond, 6, places, parts["point"] or ".")
    return text + _offset_like(at, parts["offset"])


def _offset_like(at: datetime, template: str | None) -> str:
    offset = at.utcoffset()
    if offset is None or template is None:
        return ""
    if template in "Zz" and not offset:
        return template
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(abs(int(offset.total_seconds())), 60)
    hours, minutes = divmod(minutes, 60)
    colon = ":" if ":" in template or template in "Zz" else ""
    text = f"{sign}{hours:02d}"
    if minutes or seconds or len(template) > 3 or template in "Zz":
        text += f"{colon}{minutes:02d}"
    if seconds:
        text += f"{colon}{seconds:02d}"
    return text


def settings_for(rows: list[VolumeRow], width: timedelta | None = None) -> BurstSettings:
    """Default settings at bins of ``width``, or of the gaps of ``rows`` (5 minutes when there
    are too few rows)."""
    width = width or gcd_width(rows)
    if width is None:
        return BurstSettings()
    minutes = width.total_seconds() / 60.0
    if minutes >= 60.0:
        return replace(BurstSettings.hourly(), bin_minutes=minutes)
    return BurstSettings(bin_minutes=minutes)


def width_note(series: Series) -> str:
    """The line saying which bin width was used, and how it was chosen."""
    if series.width is None:
        return "one row: default 5-minute settings (give --bin to set the width)"
    how = (
        "from --bin"
        if not series.inferred
        else ("the greatest common divisor of the gaps between timestamps; give --bin to set it")
    )
    return f"bins of {_words(series.width)} ({how})"


def detect_bursts_file(
    source: Path,
    target: Path,
    settings: BurstSettings | None = None,
    width: timedelta | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Write ``target`` with surprise and burst columns for every bin of ``source`` (missing
    bins included, at 0); the number of bins written. ``width``: the bin width (None: inferred
    from the gaps); ``say`` is told which width was used.

    The whole input is checked before ``target`` is opened, so a bad row leaves no partial file.
    """
    series = read_series(source, width)
    if say is not None:
        say(width_note(series))
    chosen = settings or settings_for(series.rows, series.width)
    readings = detect_series((row.value for row in series.rows), chosen)
    with target.open("w", encoding="utf-8", newline="") as outfile:
        writer = CsvOutput(outfile)
        writer.writerow(OUTPUT_COLUMNS)
        for row, reading in zip(series.rows, readings, strict=True):
            writer.writerow(
                [row.timestamp, row.text, f"{reading.surprise:.3f}", int(reading.burst)]
            )
    return len(series.rows)
