"""`python -m bot mentions` on an 80-column terminal: the text gets the room, the brands column
only appears when the rows are of several brands, and what people wrote is never markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import mention_record, write_config, write_jsonl

BRANDS = [
    {"name": name, "keywords": [name.lower()], "handles": [f"@{name.lower().replace(' ', '')}"]}
    for name in ("United", "US Airways", "American Airlines", "Southwest", "Delta")
]
LONG = "flight delayed three hours, no information from the staff, and now my bag is lost too"


@pytest.fixture
def airlines(tmp_path: Path) -> Path:
    records = [
        mention_record(1, f"@united {LONG}", author="a_traveller_with_a_long_handle"),
        mention_record(2, f"Southwest: {LONG}", author="bo"),
        mention_record(3, f"Delta and United [/] [bold]not markup[/bold]: {LONG}", author="cy"),
    ]
    data = write_jsonl(tmp_path / "m.jsonl", records)
    config = write_config(
        tmp_path,
        [{"type": "replay", "name": "tweets", "path": str(data)}],
        brands=BRANDS,
        http={"enabled": False},
    )
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    return config


def table(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *extra: str
) -> list[str]:
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["mentions", "-c", str(config), *extra]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    return lines


def text_width(lines: list[str]) -> int:
    header = next(line for line in lines if "author: text" in line)
    return len(header.rsplit("┃", 2)[1])


def test_several_brands_keep_the_text_readable_at_80_columns(
    airlines: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = table(airlines, capsys, monkeypatch)
    assert "brands" in lines[1] + lines[2]
    assert text_width(lines) >= 35
    shown = "\n".join(lines)
    assert "@a_traveller" in shown  # the author, in front of the text
    assert all(words in shown for words in ("[/]", "[bold]not", "markup[/bold]"))  # as written


def test_a_brand_asked_for_drops_the_brands_column(
    airlines: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = table(airlines, capsys, monkeypatch, "--brand", "united")
    assert "2 mention(s)" in lines[0]  # United, and Delta and United
    assert not any("brands" in line for line in lines)
    assert text_width(lines) >= 50
