"""``python -m bot detect-bursts SERIES.csv --output OUT.csv``: burst flags for a volume series.

Input is NAB-style ``timestamp,value`` (CSV, or gzipped: told by the first bytes, whatever the
name), oldest first, one row per bin of a regular grid. The bin width is the smallest gap
between timestamps; every gap must be a whole number of bins, and a bin the file leaves out (an
export that skips empty bins) is a bin of 0, written to the output like any other. Taken as
consecutive instead, a series without its zero bins got 15-minute bins for 5 and kept flagging
hours past its surge. Timestamps are all without a UTC offset or all with one (compared as
instants, so a series with offsets may cross a daylight-saving change); local times without
offsets repeat an hour at the autumn change, which is refused with a request for UTC.

Hourly or longer bins get :meth:`BurstSettings.hourly`. Output repeats both columns and adds
``surprise`` and ``burst`` (0/1), one decision per bin made from the earlier bins only, exactly
as the live detector would have made it.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.spread.burst import BurstDetector, BurstSettings
from bot.spread.text_input import READ_ERRORS, CsvOutput, open_text

INPUT_COLUMNS = ("timestamp", "value")
OUTPUT_COLUMNS = ("timestamp", "value", "surprise", "burst")
MAX_BINS = 2_000_000
"""At most this many bins once the missing ones are filled (19 years of 5-minute bins): more
means timestamps off the grid by seconds, not an export that skipped its empty bins."""


_LOCAL_TIME = (
    "; a local-time export repeats an hour when daylight saving ends: "
    "export in UTC or with UTC offsets"
)


@dataclass(frozen=True, slots=True)
class VolumeRow:
    timestamp: str
    at: datetime
    value: float


def read_volume(source: Path) -> list[VolumeRow]:
    """Every bin of a ``timestamp,value`` file, missing ones filled with 0; ValueError naming
    the file (and the line) otherwise."""
    try:
        with open_text(source) as handle:
            rows, lines = _read_rows(handle, source)
    except (*READ_ERRORS, csv.Error) as error:
        raise ValueError(f"{source}: cannot read: {error}") from None
    return _on_grid(rows, lines, source)


def _read_rows(handle: TextIO, source: Path) -> tuple[list[VolumeRow], list[int]]:
    """The rows in file order and their line numbers, each after the one before."""
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
            _check_order(rows[-1], row, where)
        rows.append(row)
        lines.append(reader.line_num)
    return rows, lines


def _check_order(previous: VolumeRow, row: VolumeRow, where: str) -> None:
    if (row.at.tzinfo is None) != (previous.at.tzinfo is None):
        has, lacks = ("a", "none") if row.at.tzinfo else ("no", "one")
        raise ValueError(
            f"{where}: timestamp {row.timestamp} has {has} UTC offset and the earlier rows "
            f"have {lacks}: give every timestamp an offset (or none)"
        )
    if row.at <= previous.at:
        hint = "" if row.at.tzinfo else _LOCAL_TIME
        raise ValueError(
            f"{where}: timestamp {row.timestamp} is not after the previous row's "
            f"{previous.timestamp}{hint}"
        )


def _parse_row(cells: list[str], where: str) -> VolumeRow:
    if len(cells) != 2:
        raise ValueError(f"{where}: expected 2 columns (timestamp,value), got {len(cells)}")
    stamp, raw = cells[0].strip(), cells[1].strip()
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"{where}: {stamp!r} is not an ISO 8601 timestamp") from None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{where}: value {raw!r} is not a number") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: value {raw!r} is not a count >= 0")
    return VolumeRow(stamp, at, value)


def _on_grid(rows: list[VolumeRow], lines: list[int], source: Path) -> list[VolumeRow]:
    """``rows`` with the bins they skip added, at value 0."""
    width = bin_width(rows)
    if width is None:
        return rows
    filled: list[VolumeRow] = []
    for (before, after), line in zip(itertools.pairwise(rows), lines[1:], strict=True):
        bins, rest = divmod(after.at - before.at, width)
        if rest:
            raise ValueError(
                f"{source}: line {line}: {after.timestamp} is not a whole number of "
                f"{_duration(width)} bins (the smallest gap) after {before.timestamp}: "
                "timestamps must be on a regular grid"
            )
        if len(filled) + bins > MAX_BINS:
            raise ValueError(
                f"{source}: line {line}: more than {MAX_BINS:,} {_duration(width)} bins: "
                "timestamps must be on a regular grid"
            )
        filled.append(before)
        filled.extend(
            VolumeRow(_stamp_like(at, before.timestamp), at, 0.0)
            for at in (before.at + n * width for n in range(1, bins))
        )
    filled.append(rows[-1])
    return filled


def bin_width(rows: list[VolumeRow]) -> timedelta | None:
    """The smallest gap between timestamps (None with fewer than two rows)."""
    return min((b.at - a.at for a, b in itertools.pairwise(rows)), default=None)


def _duration(width: timedelta) -> str:
    minutes = width.total_seconds() / 60.0
    return f"{minutes:g}-minute" if minutes >= 1 else f"{width.total_seconds():g}-second"


def _stamp_like(at: datetime, template: str) -> str:
    """``at`` written as ``template`` is (date only, ``T`` or space, ``Z`` for UTC)."""
    if len(template) <= 10:
        return at.date().isoformat()
    text = at.isoformat(sep=" " if " " in template else "T")
    if template[-1] in "Zz" and text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def settings_for(rows: list[VolumeRow]) -> BurstSettings:
    """Default settings at the bin width of ``rows`` (5 minutes when there are too few rows)."""
    width = bin_width(rows)
    if width is None:
        return BurstSettings()
    minutes = width.total_seconds() / 60.0
    if minutes >= 60.0:
        return replace(BurstSettings.hourly(), bin_minutes=minutes)
    return BurstSettings(bin_minutes=minutes)


def detect_bursts_file(source: Path, target: Path, settings: BurstSettings | None = None) -> int:
    """Write ``target`` with surprise and burst columns for every bin of ``source`` (missing
    bins included, at 0); the number of bins written.

    The whole input is checked before ``target`` is opened, so a bad row leaves no partial file.
    """
    rows = read_volume(source)
    detector = BurstDetector(settings or settings_for(rows))
    with target.open("w", encoding="utf-8", newline="") as outfile:
        writer = CsvOutput(outfile)
        writer.writerow(OUTPUT_COLUMNS)
        for row in rows:
            reading = detector.update(row.value)
            value = int(row.value) if row.value.is_integer() else row.value
            writer.writerow([row.timestamp, value, f"{reading.surprise:.3f}", int(reading.burst)])
    return len(rows)
