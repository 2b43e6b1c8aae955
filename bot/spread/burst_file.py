"""``python -m bot detect-bursts SERIES.csv --output OUT.csv``: burst flags for a volume series.

Input is NAB-style ``timestamp,value``: one row per bin, oldest first, rows taken as consecutive
bins. The bin width is the median gap between timestamps (5 minutes for NAB); hourly or longer
bins get :meth:`BurstSettings.hourly`. Output repeats both columns and adds ``surprise`` and
``burst`` (0/1), one decision per row made from the earlier rows only, exactly as the live
detector would have made it.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bot.spread.burst import BurstDetector, BurstSettings

INPUT_COLUMNS = ("timestamp", "value")
OUTPUT_COLUMNS = ("timestamp", "value", "surprise", "burst")


@dataclass(frozen=True, slots=True)
class VolumeRow:
    timestamp: str
    at: datetime
    value: float


def read_volume(source: Path) -> list[VolumeRow]:
    """All rows of a ``timestamp,value`` file; ValueError naming the file and line otherwise."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"{source}: cannot read: {error.strerror}") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != INPUT_COLUMNS:
        raise ValueError(f"{source}: line 1: expected the header 'timestamp,value', got {header}")
    rows: list[VolumeRow] = []
    for cells in reader:
        if not cells:
            continue
        row = _parse_row(cells, f"{source}: line {reader.line_num}")
        if rows and row.at <= rows[-1].at:
            raise ValueError(
                f"{source}: line {reader.line_num}: timestamp {row.timestamp} is not after "
                f"the previous row's {rows[-1].timestamp}"
            )
        rows.append(row)
    return rows


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


def settings_for(rows: list[VolumeRow]) -> BurstSettings:
    """Default settings at the bin width of ``rows`` (5 minutes when there are too few rows)."""
    if len(rows) < 2:
        return BurstSettings()
    gaps = [(b.at - a.at).total_seconds() / 60.0 for a, b in itertools.pairwise(rows)]
    minutes = statistics.median(gaps)
    if minutes >= 60.0:
        return replace(BurstSettings.hourly(), bin_minutes=minutes)
    return BurstSettings(bin_minutes=minutes)


def detect_bursts_file(source: Path, target: Path, settings: BurstSettings | None = None) -> int:
    """Write ``target`` with surprise and burst columns for every bin of ``source``; row count.

    The whole input is checked before ``target`` is opened, so a bad row leaves no partial file.
    """
    rows = read_volume(source)
    detector = BurstDetector(settings or settings_for(rows))
    with target.open("w", encoding="utf-8", newline="") as outfile:
        writer = csv.writer(outfile)
        writer.writerow(OUTPUT_COLUMNS)
        for row in rows:
            reading = detector.update(row.value)
            value = int(row.value) if row.value.is_integer() else row.value
            writer.writerow([row.timestamp, value, f"{reading.surprise:.3f}", int(reading.burst)])
    return len(rows)
