"""Names people chose (an output file, a brand) are printed as written, never read as Rich
markup: ``[red]`` stays in the path, ``[/x]`` in a brand's name raises nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import BRANDS, mention_record, write_config, write_jsonl
from tests.test_cli_errors import one_line, score, write_csv


def test_the_success_line_names_the_output_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "in.csv", [["1", "kestrel is down again"]])
    output = tmp_path / "scores[red].csv"
    assert score(source, output) == 0
    assert one_line(capsys.readouterr().err) == f"scored 1 rows into {output}"
    assert output.is_file()


def test_incidents_of_a_brand_whose_name_looks_like_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        mention_record(n, created_at=f"2026-03-10T09:{n // 3:02d}:{n % 3 * 20:02d}Z")
        for n in range(1, 41)
    ]
    data = write_jsonl(tmp_path / "storm.jsonl", records)
    sources = [{"type": "replay", "name": "file", "path": str(data)}]
    config = write_config(tmp_path, sources, http={"enabled": False})
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    capsys.readouterr()
    # the brand renamed since: the commands show the configured name
    brand = {**BRANDS[0], "name": "Kestrel [/x] [bold]Mobile", "slug": "kestrel-mobile"}
    write_config(tmp_path, sources, http={"enabled": False}, brands=[brand])
    assert main(["incidents", "-c", str(config), "--status", "all"]) == 0
    shown = capsys.readouterr().out
    assert "[/x]" in shown  # the table wraps the name: its parts
    assert "[bold]Mob" in shown
    assert main(["incident", "-c", str(config), "1"]) == 0
    assert "Kestrel [/x] [bold]Mobile" in capsys.readouterr().out


def test_an_unknown_brand_is_named_as_typed_beside_the_configured_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    brand = {**BRANDS[0], "name": "Kestrel [/x] Mobile", "slug": "kestrel-mobile"}
    sources = [{"type": "replay", "name": "file", "path": str(tmp_path / "none.jsonl")}]
    config = write_config(tmp_path, sources, http={"enabled": False}, brands=[brand])
    assert main(["mentions", "-c", str(config), "--brand", "no[/pe]"]) == 2
    said = one_line(capsys.readouterr().err)
    assert "no brand 'no[/pe]' in the configuration; Kestrel [/x] Mobile (kestrel-mobile)" in said
