"""``predict-reach --min-final``: the default keeps the calibration's floor of 2,000 (its
cascades were selected on it); 0 predicts posts of any size; nonsense sizes are refused."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from bot.spread.reach import DEFAULT_CALIBRATION
from bot.spread.reach_file import calibration_with_floor, predict_reach_file

# "tiny": three reshares in the first hour, the post the README warns about
CASCADES = """cascade_id,relative_time_seconds,number_of_followers
tiny,0,300
tiny,200,40
tiny,900,25
tiny,2400,60
big,0,250000
""" + "".join(f"big,{20 * i},{500 + 7 * i}\n" for i in range(1, 150))


def run(tmp_path: Path, *extra: str) -> str:
    source = tmp_path / "cascades.csv"
    source.write_text(CASCADES, encoding="utf-8")
    target = tmp_path / "out.csv"
    args = ["predict-reach", str(source), "--observe", "3600", "--output", str(target), *extra]
    assert main(args) == 0
    return target.read_text(encoding="utf-8")


def predicted(text: str) -> dict[str, float]:
    return {
        row["cascade_id"]: float(row["predicted_final"])
        for row in csv.DictReader([*text.splitlines()])
    }


def test_the_default_is_the_calibration_with_its_own_floor(tmp_path: Path) -> None:
    assert DEFAULT_CALIBRATION.floor == 2000  # the figure the help and README quote
    assert calibration_with_floor(None) is DEFAULT_CALIBRATION
    source = tmp_path / "cascades.csv"
    source.write_text(CASCADES, encoding="utf-8")
    before = tmp_path / "before.csv"  # what the command wrote before --min-final existed
    predict_reach_file(source, before, 3600.0, DEFAULT_CALIBRATION)
    default = run(tmp_path)
    assert default == before.read_text(encoding="utf-8")
    assert run(tmp_path, "--min-final", "2000") == default
    assert predicted(default)["tiny"] == 2115.0  # as the command wrote it before the option


def test_min_final_zero_predicts_a_tiny_post_small(tmp_path: Path) -> None:
    floored, any_size = predicted(run(tmp_path)), predicted(run(tmp_path, "--min-final", "0"))
    assert 3 <= any_size["tiny"] < 100 < floored["tiny"]
    assert any_size["big"] <= floored["big"]


@pytest.mark.parametrize("value", ["-1", "-0.5", "nan", "inf", "lots", ""])
def test_a_size_that_is_not_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    source = tmp_path / "cascades.csv"
    source.write_text(CASCADES, encoding="utf-8")
    argv = ["predict-reach", str(source), "--observe", "60", "--output", str(tmp_path / "o.csv")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, f"--min-final={value}"])
    assert exit_.value.code == 2
    assert "give a number of reshares >= 0" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_min_final_is_refused_with_the_seismic_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "cascades.csv"
    source.write_text(CASCADES, encoding="utf-8")
    target = tmp_path / "o.csv"
    argv = ["predict-reach", str(source), "--observe", "60", "--output", str(target)]
    assert main([*argv, "--model", "seismic", "--min-final", "0"]) == 2
    assert "--min-final applies to --model calibrated only" in capsys.readouterr().err
    assert not target.exists()
