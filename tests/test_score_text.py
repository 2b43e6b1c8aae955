"""``score`` reads a text as the service does (entities unescaped), keeps one-column files row
for row, gives an empty text no language, and warns of languages it cannot score."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.test_cli_errors import read_csv, score


def test_entities_are_unescaped_before_scoring_and_the_cell_kept(tmp_path: Path) -> None:
    """'fine &gt;:(' read raw was neutral; the service reads 'fine >:(', negative."""
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine &gt;:(\n2,fine >:(\n", encoding="utf-8")
    assert score(source, tmp_path / "out.csv") == 0
    escaped, plain = read_csv(tmp_path / "out.csv")
    assert escaped["text"] == "fine &gt;:("
    assert escaped["sentiment"] == plain["sentiment"] == "negative"
    assert escaped["negativity"] == plain["negativity"]


def test_a_one_column_file_keeps_its_empty_rows(tmp_path: Path) -> None:
    """A blank line is a row with an empty text when the header has one column."""
    source = tmp_path / "in.csv"
    source.write_text('text\nI hate this\n\nI love this\n""\nok\n', encoding="utf-8")
    assert score(source, tmp_path / "out.csv") == 0
    rows = read_csv(tmp_path / "out.csv")
    assert [row["text"] for row in rows] == ["I hate this", "", "I love this", "", "ok"]
    assert [row["lang"] for row in rows] == ["en", "und", "en", "und", "en"]
    assert rows[1]["sentiment"] == "neutral"


def test_a_language_without_a_scorer_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,ok\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    arguments = ["score", str(source), "--text-column", "text", "--output", str(out)]
    assert main([*arguments, "--languages", "en,de"]) == 0
    assert "no scorer for de (only en, fr)" in capsys.readouterr().err
    assert main([*arguments, "--languages", "fr,en"]) == 0
    assert "no scorer" not in capsys.readouterr().err
    assert list(read_csv(out)[0]) == ["id", "text", "lang", "negativity", "sentiment"]
