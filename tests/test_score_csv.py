"""``python -m bot score`` on CSV files that are subtly wrong: a quotation mark never closed or
closed too early, a short row, a column named twice, a column ``score`` writes; and a file scored
before, scored again. Each wrong file is named by its line and leaves no output."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.test_cli_errors import files_in, one_line, read_csv, score


def scored_into(tmp_path: Path, text: str) -> tuple[int, Path, Path]:
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    output = tmp_path / "out.csv"
    return score(source, output), source, output


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        # the rest of the file was read as one cell, and the run said "scored 2 rows"
        (
            'id,text\n1,ok\n2,"no signal since 9am\n'
            + "".join(f"{n},kestrel down again\n" for n in range(3, 1001)),
            3,
            "a quotation mark opened in this row is never closed",
        ),
        ('id,text\n1,ok\n2,"ab"c\n3,ok\n', 3, "text after a field's closing quotation mark"),
        ("id,text\n1,ok\n2\n3,ok\n", 3, "1 field where the header has 2"),
    ],
    ids=["unclosed quote", "text after a quote", "short row"],
)
def test_a_malformed_row_is_named_by_its_line_and_leaves_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, says: str
) -> None:
    status, source, _ = scored_into(tmp_path, text)
    assert status == 1
    error = one_line(capsys.readouterr().err)
    assert f"{source}: line {line}: {says}" in error
    assert files_in(tmp_path) == {"in.csv"}


def test_blank_lines_are_still_skipped(tmp_path: Path) -> None:
    status, _, output = scored_into(tmp_path, "id,text\n1,ok\n\n2,fine\n\n")
    assert status == 0
    assert [row["id"] for row in read_csv(output)] == ["1", "2"]


def test_a_huge_cell_is_named_by_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "x" * 1_000_001
    status, source, _ = scored_into(tmp_path, f"id,text\n1,ok\n2,ok\n3,{huge}\n4,ok\n")
    assert status == 1
    error = one_line(capsys.readouterr().err)
    assert f"{source}: line 4: a field longer than 1,000,000 characters" in error
    assert files_in(tmp_path) == {"in.csv"}


def test_a_column_named_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, source, _ = scored_into(tmp_path, "id,text,text\n1,first,second\n")
    assert status == 1
    error = one_line(capsys.readouterr().err)
    assert f"{source}: line 1: column named more than once: 'text'" in error
    assert files_in(tmp_path) == {"in.csv"}


def test_a_column_score_writes_is_kept_aside_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data set's own labels (``sentiment``, ``lang``) stay, renamed; score adds its own."""
    source = tmp_path / "in.csv"
    source.write_text(
        "id,text,lang,sentiment,input_lang\n1,no signal kestrel for hours,de-CH,negative,x\n",
        encoding="utf-8",
    )
    assert score(source, tmp_path / "out.csv") == 0
    said = capsys.readouterr().err
    assert "its own column 'sentiment' is kept as 'input_sentiment'" in said
    assert "its own column 'lang' is kept as 'input_lang_2'" in said
    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0]) == [
        "id",
        "text",
        "input_lang_2",
        "input_sentiment",
        "input_lang",
        "lang",
        "negativity",
        "sentiment",
    ]
    assert (rows[0]["input_lang_2"], rows[0]["input_sentiment"]) == ("de-CH", "negative")
    assert (rows[0]["lang"], rows[0]["sentiment"]) == ("en", "negative")


def test_a_file_scored_before_is_scored_again_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(
            [
                ["id", "lang", "text", "negativity", "sentiment", "note"],
                ["1", "de", "kestrel is terrible, no signal for hours", "0.1", "positive", "a"],
            ]
        )
    assert score(source, source) == 0
    assert "scored before" in capsys.readouterr().err
    rows = read_csv(source)
    assert list(rows[0]) == ["id", "lang", "text", "negativity", "sentiment", "note"]
    assert (rows[0]["lang"], rows[0]["sentiment"], rows[0]["note"]) == ("en", "negative", "a")
    assert float(rows[0]["negativity"]) > 0.5
