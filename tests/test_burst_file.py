"""The detect-bursts file: missing bins, gzip, and timestamps with and without offsets."""

from __future__ import annotations

import csv
import gzip
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.spread.burst import BurstSettings, detect_series
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
    expected = [r.burst for r in detect_series(map(float, counts), BurstSettings())]
    assert flags == expected


def test_a_gap_off_the_given_grid_is_refused(tmp_path: Path) -> None:
    """With ``--bin 5m``; without it, the width is the gaps' greatest common divisor (1 minute)."""
    source = tmp_path / "odd.csv"
    source.write_text(
        "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n2024-01-01T00:12:00,3\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"line 4: .* whole number of 5-minute bins"):
        detect_bursts_file(source, tmp_path / "out.csv", width=timedelta(minutes=5))
    assert detect_bursts_file(source, tmp_path / "out.csv") == 13


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
            "line 4: .* goes back 55 minutes, .*daylight saving ends: "
            "export in UTC or with UTC offsets",
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


def volume(tmp_path: Path, text: str, name: str = "volume.csv") -> Path:
    source = tmp_path / name
    source.write_text("timestamp,value\n" + text, encoding="utf-8")
    return source


def test_a_sparse_export_gets_the_greatest_common_divisor_of_its_gaps(tmp_path: Path) -> None:
    """5-minute bins without 00:05, 00:15, 00:20, 00:30: the smallest gap (10 minutes) was
    taken for the width and 00:25 refused as off its grid."""
    source = volume(
        tmp_path,
        "2024-01-01 00:00:00,2\n2024-01-01 00:10:00,1\n2024-01-01 00:25:00,3\n"
        "2024-01-01 00:35:00,1\n",
    )
    said: list[str] = []
    assert detect_bursts_file(source, tmp_path / "out.csv", say=said.append) == 8
    assert said == [
        "bins of 5 minutes (the greatest common divisor of the gaps between timestamps; "
        "give --bin to set it)"
    ]
    assert [r["value"] for r in written(tmp_path / "out.csv")] == [
        "2", "0", "1", "0", "0", "3", "0", "1",
    ]  # fmt: skip


def test_with_a_bin_width_given_a_later_row_changes_no_earlier_decision(tmp_path: Path) -> None:
    """One more row 30 minutes after the last of an hourly file re-gridded the whole file at
    30 minutes; with ``--bin 1h`` it is refused, and a later row's value never matters."""
    hours = [f"2024-01-{1 + h // 24:02d} {h % 24:02d}:00:00,{60 + h % 5}\n" for h in range(72)]
    hourly = volume(tmp_path, "".join(hours), "hourly.csv")
    plus = volume(tmp_path, "".join(hours) + "2024-01-03 23:30:00,30\n", "plus.csv")
    spike = volume(tmp_path, "".join(hours) + "2024-01-04 00:00:00,100000\n", "spike.csv")
    width = timedelta(hours=1)
    with pytest.raises(ValueError, match=r"plus\.csv: line 74: .* whole number of 60-minute"):
        detect_bursts_file(plus, tmp_path / "plus.out", width=width)
    detect_bursts_file(hourly, tmp_path / "hourly.out", width=width)
    detect_bursts_file(spike, tmp_path / "spike.out", width=width)
    assert written(tmp_path / "spike.out")[:72] == written(tmp_path / "hourly.out")


def test_rows_newest_first_are_sorted_and_a_repeated_time_is_refused(tmp_path: Path) -> None:
    newest = volume(tmp_path, "2024-01-01 00:10,1\n2024-01-01 00:05,4\n2024-01-01 00:00,2\n")
    oldest = volume(
        tmp_path, "2024-01-01 00:00,2\n2024-01-01 00:05,4\n2024-01-01 00:10,1\n", "old.csv"
    )
    detect_bursts_file(newest, tmp_path / "newest.out")
    detect_bursts_file(oldest, tmp_path / "oldest.out")
    assert (tmp_path / "newest.out").read_text() == (tmp_path / "oldest.out").read_text()
    twice = volume(tmp_path, "2024-01-01 00:10,1\n2024-01-01 00:05,5\n2024-01-01 00:05,7\n")
    with pytest.raises(ValueError, match="same time") as refused:
        detect_bursts_file(twice, tmp_path / "out.csv")
    assert str(refused.value) == (
        f"{twice}: line 4: timestamp 2024-01-01 00:05 is the same time as line 3's "
        "2024-01-01 00:05: give one row per bin"
    )


@pytest.mark.parametrize(
    ("stamps", "filled"),
    [
        (["1424986973", "1424987573"], "1424987273"),
        (["1424986973000", "1424987573000"], "1424987273000"),
        (["1424986973.5", "1424987573.5"], "1424987273.5"),
        (["2024-01-01T00:00:00+0100", "2024-01-01T00:10:00+0100"], "2024-01-01T00:05:00+0100"),
        (["2024-01-01 00:00", "2024-01-01 00:10"], "2024-01-01 00:05"),
        (["20240101T0000Z", "20240101T0010Z"], "20240101T0005Z"),
        (["2024-01-01 00:00:00.50", "2024-01-01 00:10:00.50"], "2024-01-01 00:05:00.50"),
    ],
)
def test_unix_times_are_read_and_filled_bins_are_written_like_the_row_before(
    tmp_path: Path, stamps: list[str], filled: str
) -> None:
    source = volume(tmp_path, f"{stamps[0]},5\n{stamps[1]},7\n")
    detect_bursts_file(source, tmp_path / "out.csv", width=timedelta(minutes=5))
    assert [r["timestamp"] for r in written(tmp_path / "out.csv")] == [stamps[0], filled, stamps[1]]


def test_values_are_written_as_given_and_huge_ones_refused(tmp_path: Path) -> None:
    source = volume(tmp_path, "2024-01-01 00:00,1.50\n2024-01-01 00:10,1e3\n")
    detect_bursts_file(source, tmp_path / "out.csv")
    assert [r["value"] for r in written(tmp_path / "out.csv")] == ["1.50", "1e3"]
    huge = volume(tmp_path, "2024-01-01 00:00,1\n2024-01-01 00:05,1e308\n")
    with pytest.raises(ValueError, match=r"line 3: value '1e308' is more than 1,000,000,000,000"):
        detect_bursts_file(huge, tmp_path / "huge.csv")
    assert not (tmp_path / "huge.csv").exists()
