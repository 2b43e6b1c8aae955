"""The predict-reach file: gzip told by content, rows past ``observe``, the extra columns."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from bot.spread.reach import predict_final_size
from bot.spread.reach_file import predict_reach_file, read_cascades

HEADER = "cascade_id,relative_time_seconds,number_of_followers\n"
ROWS = [
    ("a", 0.0, 5_000.0),
    *(("a", 30.0 * i, 150.0) for i in range(1, 40)),
    ("b", 0.0, 0.0),
    ("b", 599.99, 200.0),
    ("b", 4_000.0, 80.0),
]


def csv_text() -> str:
    return HEADER + "".join(f"{key},{t:g},{n:g}\n" for key, t, n in ROWS)


def written(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", ["cascades.CSV.GZ", "cascades.csv", "cascades.gzip"])
def test_gzip_is_told_by_its_first_bytes_not_its_name(tmp_path: Path, name: str) -> None:
    plain, packed = tmp_path / "plain.csv", tmp_path / name
    plain.write_text(csv_text(), encoding="utf-8")
    packed.write_bytes(gzip.compress(csv_text().encode("utf-8")))
    predict_reach_file(plain, tmp_path / "plain.out", 600.0)
    predict_reach_file(packed, tmp_path / "packed.out", 600.0)
    assert (tmp_path / "packed.out").read_text() == (tmp_path / "plain.out").read_text()


def test_rows_after_observe_are_checked_but_not_kept(tmp_path: Path) -> None:
    source = tmp_path / "cascades.csv"
    source.write_text(csv_text(), encoding="utf-8")
    cascades = read_cascades(source, 600.0)
    assert list(cascades) == ["a", "b"]
    assert max(float(cascades["a"][0].max()), float(cascades["b"][0].max())) <= 600.0
    assert cascades["a"][0].size == 21  # the original and the reshares at 30 .. 600 s
    source.write_text(csv_text() + "b,7000,many\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 45: number_of_followers is not a number"):
        read_cascades(source, 600.0)


def test_branching_and_explosive_follow_the_required_columns(tmp_path: Path) -> None:
    source = tmp_path / "cascades.csv"
    source.write_text(csv_text(), encoding="utf-8")
    predict_reach_file(source, tmp_path / "out.csv", 600.0, calibration=None)
    rows = written(tmp_path / "out.csv")
    assert list(rows[0]) == ["cascade_id", "observed", "predicted_final", "branching", "explosive"]
    times = [t for key, t, _ in ROWS if key == "b"]
    followers = [n for key, _, n in ROWS if key == "b"]
    expected = predict_final_size(times, followers, 600.0, calibration=None)
    b = rows[1]
    assert expected.explosive
    assert b["explosive"] == "1"
    assert float(b["branching"]) == pytest.approx(expected.branching, abs=5e-4)
    assert float(b["predicted_final"]) <= 1 + 20 * 200  # a lone reshare, not millions
    assert rows[0]["explosive"] in {"0", "1"}


def test_a_follower_count_past_any_account_is_refused_by_its_line(tmp_path: Path) -> None:
    """1e308 followers gave an infinite prediction and a numpy RuntimeWarning."""
    source = tmp_path / "c.csv"
    source.write_text(
        "cascade_id,relative_time_seconds,number_of_followers\na,0,1e308\na,5,1e308\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"c\.csv: line 2: number_of_followers '1e308' is more"):
        predict_reach_file(source, tmp_path / "o.csv", 3600)
    assert not (tmp_path / "o.csv").exists()
