"""``predict-reach --model``: the default calibration assumes cascades that end above 2,000
reshares (as the SEISMIC data it was fitted on); ``seismic`` predicts for posts of any size."""

from __future__ import annotations

import csv
from pathlib import Path

from bot.cli import main

CASCADES = """cascade_id,relative_time_seconds,number_of_followers
solo,0,100
small,0,800
small,120,150
small,600,90
"""


def predicted(tmp_path: Path, *model: str) -> dict[str, float]:
    source = tmp_path / "cascades.csv"
    source.write_text(CASCADES, encoding="utf-8")
    target = tmp_path / "out.csv"
    args = ["predict-reach", str(source), "--observe", "3600", "--output", str(target), *model]
    assert main(args) == 0
    with target.open(encoding="utf-8") as handle:
        return {row["cascade_id"]: float(row["predicted_final"]) for row in csv.DictReader(handle)}


def test_the_default_calibration_never_predicts_below_its_data(tmp_path: Path) -> None:
    assert min(predicted(tmp_path).values()) > 2000


def test_seismic_predicts_small_posts_small(tmp_path: Path) -> None:
    sizes = predicted(tmp_path, "--model", "seismic")
    assert sizes["solo"] == 0  # nobody reshared it in an hour: nothing to come
    assert 2 <= sizes["small"] < 50
