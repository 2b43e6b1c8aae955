"""``python -m bot predict-reach``: predicted final reshare count of every cascade in a CSV file.

Input columns ``cascade_id, relative_time_seconds, number_of_followers`` (CSV, or gzipped: told
by the file's first bytes, whatever its name; the row at time 0 is the original post, and a
cascade without one is refused like a malformed row, naming the line of its first row; rows in
any order; rows after ``--observe`` are checked but not kept). Output columns ``cascade_id,
observed, predicted_final``, one row per cascade in order of appearance, then ``branching``
(p̂·n*) and ``explosive`` (0/1: branching >= 1, where SEISMIC has no finite estimate and
``predicted_final`` is a capped stand-in; act on the flag, not on the number).
``predicted_final`` is the median size at 7 days under ``reach.DEFAULT_CALIBRATION``, which was
fitted on (and by default assumes) Twitter cascades that end above 2,000 reshares, like the SEISMIC
subset; ``--min-final`` replaces that floor (:func:`calibration_with_floor`, 0 for any size).
"""

from __future__ import annotations

import csv
import math
from array import array
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.spread.reach import (
    DEFAULT_CALIBRATION,
    Calibration,
    FloatArray,
    ReachPrediction,
    calibrated,
    seismic_features,
)
from bot.spread.text_input import READ_ERRORS, CsvOutput, open_text

INPUT_COLUMNS = ("cascade_id", "relative_time_seconds", "number_of_followers")
OUTPUT_COLUMNS = ("cascade_id", "observed", "predicted_final", "branching", "explosive")

MAX_FOLLOWERS = 1e12
"""More followers than any account has (a hundred times the people on Earth): a column of
something else, and a number the model's arithmetic would overflow on (an infinite prediction)."""

Cascade = tuple[FloatArray, FloatArray]


def read_cascades(source: Path, observe: float = math.inf) -> dict[str, Cascade]:
    """Times and follower counts per cascade, sorted by time with the original post first.

    Rows after ``observe`` seconds are checked but dropped while reading (a cascade file is
    often mostly rows no prediction uses). Raises ValueError naming the file and line of a
    malformed row, or of the first row of a cascade without its original post (no row at time
    0). When several rows of a cascade are at time 0, the first in file order is the original
    post.
    """
    rows: dict[str, tuple[array[float], array[float]]] = {}
    first_line: dict[str, int] = {}  # where each cascade starts, to name one without its post
    has_post: set[str] = set()
    try:
        with open_text(source) as handle:
            reader = csv.reader(handle)
            key_at, time_at, followers_at = _header_positions(next(reader, []), source)
            for record in reader:
                if not record:
                    continue
                try:
                    key, time, followers = _parse(record, key_at, time_at, followers_at)
                except ValueError as error:
                    raise ValueError(f"{source}: line {reader.line_num}: {error}") from None
                times, follower_counts = rows.setdefault(key, (array("d"), array("d")))
                first_line.setdefault(key, reader.line_num)
                if time == 0:
                    has_post.add(key)
                if time <= observe:
                    times.append(time)
                    follower_counts.append(followers)
    except (*READ_ERRORS, csv.Error) as error:
        raise ValueError(f"{source}: cannot read: {error}") from None
    _check_original_posts(source, first_line, has_post)
    return {key: _sorted_cascade(key, *columns) for key, columns in rows.items()}


def _check_original_posts(source: Path, first_line: dict[str, int], has_post: set[str]) -> None:
    """Refuse cascades without a row at time 0, naming the file, the first such cascade's first
    line, and how many there are (SEISMIC counts from the original post and its followers: a
    cascade without it, or whose ids were mistyped, has no prediction to give)."""
    lacking = [key for key in first_line if key not in has_post]
    if not lacking:
        return
    first = lacking[0]
    others = ""
    if len(lacking) > 1:
        shown = ", ".join(map(repr, lacking[1:4])) + (", …" if len(lacking) > 4 else "")
        more = "1 more cascade lacks" if len(lacking) == 2 else f"{len(lacking) - 1} more lack"
        others = f", and {more} one: {shown}"
    raise ValueError(
        f"{source}: line {first_line[first]}: cascade {first!r} has no original post (no row "
        f"at time 0){others}; every cascade needs its original post at time 0"
    )


def _header_positions(header: list[str], source: Path) -> tuple[int, int, int]:
    names = [name.strip() for name in header]
    missing = [column for column in INPUT_COLUMNS if column not in names]
    if missing:
        raise ValueError(f"{source}: line 1: missing column(s) {', '.join(missing)}")
    key_at, time_at, followers_at = (names.index(column) for column in INPUT_COLUMNS)
    return key_at, time_at, followers_at


def _parse(
    record: list[str], key_at: int, time_at: int, followers_at: int
) -> tuple[str, float, float]:
    if len(record) <= max(key_at, time_at, followers_at):
        raise ValueError(f"too few fields ({len(record)}): {record!r}")
    key = record[key_at].strip()
    if not key:
        raise ValueError("empty cascade_id")
    followers = _number(record, followers_at, 2)
    if followers > MAX_FOLLOWERS:
        raise ValueError(
            f"number_of_followers {record[followers_at]!r} is more than {MAX_FOLLOWERS:,.0f}, "
            "more than any account has"
        )
    return key, _number(record, time_at, 1), followers


def _number(record: list[str], position: int, column: int) -> float:
    text = record[position]
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{INPUT_COLUMNS[column]} is not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{INPUT_COLUMNS[column]} must be a finite number >= 0, got {text!r}")
    return value


def _sorted_cascade(key: str, times: array[float], followers: array[float]) -> Cascade:
    t = np.asarray(times, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    if t.size == 0 or t[order[0]] != 0:
        raise ValueError(f"cascade {key!r} has no original post (no row at time 0)")
    return t[order], np.asarray(followers, dtype=np.float64)[order]


def calibration_with_floor(min_final: float | None) -> Calibration:
    """``DEFAULT_CALIBRATION`` knowing every cascade ends at ``min_final`` or more.

    None keeps the calibration's own floor (the 2,000 its cascades were selected on); 0 is for
    posts of any size, below the data it was fitted on. Raises ValueError for a negative size.
    """
    if min_final is None:
        return DEFAULT_CALIBRATION
    return replace(DEFAULT_CALIBRATION, floor=float(min_final))


def predict_cascade(
    cascade: Cascade, observe: float, calibration: Calibration | None = DEFAULT_CALIBRATION
) -> ReachPrediction:
    """SEISMIC prediction for one cascade as returned by :func:`read_cascades`."""
    times, followers = cascade
    features = seismic_features(times, followers, np.ones_like(times), observe)
    return calibrated(features, observe, calibration)


def predict_reach_file(
    source: Path,
    target: Path,
    observe: float,
    calibration: Calibration | None = DEFAULT_CALIBRATION,
) -> int:
    """Write ``cascade_id, observed, predicted_final, branching, explosive`` for each cascade;
    returns their number (``calibration`` None: the package's own SEISMIC estimate, for
    cascades of any size).

    Raises ValueError for a bad ``observe``, an unreadable or malformed file (naming the line).
    """
    if not (math.isfinite(observe) and observe > 0):
        raise ValueError(f"observe must be a positive number of seconds, got {observe!r}")
    cascades = read_cascades(source, observe)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = CsvOutput(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for key, cascade in cascades.items():
            prediction = predict_cascade(cascade, observe, calibration)
            writer.writerow(
                [
                    key,
                    prediction.observed,
                    f"{prediction.predicted_final:.1f}",
                    f"{prediction.branching:.3f}",
                    int(prediction.explosive),
                ]
            )
    return len(cascades)
