"""The detect-bursts file: missing bins, gzip, and timestamps with and without offsets."""

from __future__ import annotations

import csv
import gzip
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.spread.burst import BurstDetector, BurstSettings
from bot.spread.burst_file import detect_bursts_file, read_volume, settings_for

START = datetime(2024, 1, 1)


def series(counts: list[int], keep_zeros: bool = True, sep: str = "T") -> str:
    lines = ["timestamp,value"]
    for i, count in enumerate(counts):
        if count or keep_zeros:
            lines.append(f"{(START + timedelta(minutes=5 * i)).isoformat(sep=sep)},{count}")
    return "\n".join(lines) + "\n"


def written(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def quiet_days_and_a_surge() -> list[int]:
    """Three days at about 3.6 an hour (most bins empty), one hour at about 48."""
    rng = np.random.default_rng(7)
    counts = [int(v) for v in rng.poisson(0.3, 3 * 288)]
    surge = 2 * 288 + 100
    counts[surge : surge + 12] = [int(v) for v in rng.poisson(4.0, 12)]
    counts[0] = 1  # the file starts at the same bin either way
    return counts


@pytest.mark.parametrize("sep", ["T", " "])
def test_an_export_without_its_empty_bins_reads_as_the_full_series(
    tmp_path: Path, sep: str
) -> None:
    """Taken as consecutive, the sparse export got 15-minute bins and flags 3 h past the
    surge; filled with zeros it is the full series, bin for bin."""
    counts = quiet_days_and_a_surge()
    full, sparse = tmp_path / "full.csv", tmp_path / "sparse.csv"
    full.write_text(series(counts, sep=sep), encoding="utf-8")
    sparse.write_text(series(counts, keep_zeros=False, sep=sep), encoding="utf-8")
    assert detect_bursts_file(sparse, tmp_path / "sparse.out") == len(counts)
    detect_bursts_file(full, tmp_path / "full.out")
    assert (tmp_path / "sparse.out").read_text() == (tmp_path / "full.out").read_text()
    flags = [row["burst"] == "1" for row in written(tmp_path / "sparse.out")]
    expected = [r.burst for r in map(BurstDetector().update, map(float, counts))]
    assert flags == expected


def test_a_gap_off_the_grid_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "odd.csv"
    source.write_text(
        "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n2024-01-01T00:12:00,3\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"line 4: .* whole number of 5-minute bins"):
        detect_bursts_file(source, tmp_path / "out.csv")


@pytest.mark.parametrize("name", ["volume.csv.gz", "volume.CSV.GZ", "volume.csv"])
def test_gzipped_series_are_told_by_their_first_bytes(tmp_path: Path, name: str) -> None:
    text = series([1, 0, 2, 40, 1])
    plain, packed = tmp_path / "plain.csv", tmp_path / name
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    detect_bursts_file(plain, tmp_path / "plain.out")
    detect_bursts_file(packed, tmp_path / "packed.out")
    assert (tmp_path / "packed.out").read_text() == (tmp_path / "plain.out").read_text()


def test_a_binary_file_is_refused_naming_it(tmp_path: Path) -> None:
    source = tmp_path / "volume.bin"
    source.write_bytes(b"\x00\x8b\xff\xfe" * 10)
    with pytest.raises(ValueError, match=r"volume\.bin: cannot read"):
        detect_bursts_file(source, tmp_path / "out.csv")


@pytest.mark.parametrize(
    ("stamps", "message"),
    [
        (
            ["2024-03-01 00:00:00", "2024-03-01T00:05:00+00:00"],
            "line 3: timestamp 2024-03-01T00:05:00\\+00:00 has a UTC offset and the earlier "
            "rows have none",
        ),
        (
            ["2024-03-01T00:00:00Z", "2024-03-01 00:05:00"],
            "line 3: timestamp 2024-03-01 00:05:00 has no UTC offset and the earlier rows have one",
        ),
        (
            ["2024-10-27 02:50:00", "2024-10-27 02:55:00", "2024-10-27 02:00:00"],
            "line 4: .* is not after .*daylight saving ends: export in UTC or with UTC offsets",
        ),
    ],
)
def test_timestamps_that_cannot_be_ordered_are_refused_clearly(
    tmp_path: Path, stamps: list[str], message: str
) -> None:
    source = tmp_path / "volume.csv"
    source.write_text("timestamp,value\n" + "".join(f"{s},1\n" for s in stamps), "utf-8")
    with pytest.raises(ValueError, match=message):
        detect_bursts_file(source, tmp_path / "out.csv")


def test_offsets_across_the_autumn_change_are_one_regular_series(tmp_path: Path) -> None:
    """Paris at the end of summer time: 02:55+02:00 is followed by 02:00+01:00, five minutes
    later; the bin it skips is filled and written with the offset of the bin before."""
    source = tmp_path / "paris.csv"
    source.write_text(
        "timestamp,value\n2024-10-27T02:50:00+02:00,1\n2024-10-27T02:55:00+02:00,2\n"
        "2024-10-27T02:05:00+01:00,3\n",
        encoding="utf-8",
    )
    rows = read_volume(source)
    assert [(r.timestamp, r.value) for r in rows] == [
        ("2024-10-27T02:50:00+02:00", 1.0),
        ("2024-10-27T02:55:00+02:00", 2.0),
        ("2024-10-27T03:00:00+02:00", 0.0),
        ("2024-10-27T02:05:00+01:00", 3.0),
    ]
    assert detect_bursts_file(source, tmp_path / "out.csv") == 4


def test_filled_bins_are_written_like_the_rows_around_them(tmp_path: Path) -> None:
    source = tmp_path / "utc.csv"
    source.write_text(
        "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,2\n2024-01-01T00:20:00Z,3\n",
        encoding="utf-8",
    )
    detect_bursts_file(source, tmp_path / "out.csv")
    rows = written(tmp_path / "out.csv")
    assert [(r["timestamp"], r["value"]) for r in rows] == [
        ("2024-01-01T00:00:00Z", "1"),
        ("2024-01-01T00:05:00Z", "2"),
        ("2024-01-01T00:10:00Z", "0"),
        ("2024-01-01T00:15:00Z", "0"),
        ("2024-01-01T00:20:00Z", "3"),
    ]


def test_hourly_bins_with_a_missing_hour_keep_hourly_settings(tmp_path: Path) -> None:
    source = tmp_path / "hourly.csv"
    lines = [f"2026-03-10T{hour:02d}:00:00,{1 + hour % 3}" for hour in range(24) if hour != 7]
    source.write_text("timestamp,value\n" + "\n".join(lines) + "\n", encoding="utf-8")
    rows = read_volume(source)
    assert len(rows) == 24
    assert rows[7].value == 0
    assert settings_for(rows) == BurstSettings.hourly()
