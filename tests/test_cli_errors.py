"""The command line when things are wrong: an output naming its input, malformed CSV files, a
database that is not Vigie's. Each says what in one line, with the documented exit code, and
never leaves a half-written file."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["id", "text"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([HEADER, *rows])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def score(source: Path, output: Path, column: str = "text") -> int:
    return main(["score", str(source), "--text-column", column, "--output", str(output)])


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


# far more than one read buffer: the input was once truncated after its first buffer was read
ROWS = [[str(n), f"Kestrel order {n} late again, still no refund"] for n in range(1, 3001)]


def test_score_into_its_own_input_rewrites_it_whole(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    assert score(source, source) == 0
    rows = read_csv(source)
    assert [row["id"] for row in rows] == [str(n) for n in range(1, 3001)]
    assert list(rows[0]) == ["id", "text", "lang", "negativity", "sentiment"]
    assert files_in(tmp_path) == {"in.csv"}  # no temporary file left


def test_score_through_a_symlink_to_its_input_keeps_the_link(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    assert score(source, link) == 0
    assert link.is_symlink()
    assert len(read_csv(source)) == 3000
    assert "sentiment" in read_csv(source)[0]


def test_a_row_with_an_extra_field_is_named_and_leaves_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine\n2,kestrel, down again\n3,fine\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    assert score(source, output) == 1
    line = one_line(capsys.readouterr().err)
    assert f"{source}: line 3: 3 fields where the header has 2" in line
    assert files_in(tmp_path) == {"in.csv"}


def test_a_failed_run_keeps_the_previous_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.csv"
    output.write_text("earlier results\n", encoding="utf-8")
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine\n2,a,b\n", encoding="utf-8")
    assert score(source, output) == 1
    assert output.read_text(encoding="utf-8") == "earlier results\n"
    assert files_in(tmp_path) == {"in.csv", "out.csv"}


def test_a_latin1_file_names_the_line_and_says_to_save_it_as_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "latin.csv"
    lines = ["id,text", *(f"{n},kestrel fine" for n in range(1, 2000)), "2000,caf\xe9 ferm\xe9"]
    source.write_bytes("\n".join(lines).encode("latin-1"))
    assert score(source, tmp_path / "out.csv") == 1
    line = one_line(capsys.readouterr().err)
    assert f"{source}: line 2001: not UTF-8 text" in line
    assert "save it as UTF-8" in line
    assert files_in(tmp_path) == {"latin.csv"}


def test_an_empty_file_says_it_is_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    assert score(source, tmp_path / "out.csv") == 1
    line = one_line(capsys.readouterr().err)
    assert f"{source}: the file is empty" in line
    assert "'text'" in line
    assert files_in(tmp_path) == {"empty.csv"}


def test_a_column_the_file_lacks_is_a_bad_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    assert score(source, tmp_path / "out.csv", column="body") == 2
    line = one_line(capsys.readouterr().err)
    assert "no column 'body' (--text-column); the columns are: 'id', 'text'" in line
    assert files_in(tmp_path) == {"in.csv"}


@pytest.mark.parametrize("command", ["score", "predict-reach", "detect-bursts"])
def test_an_output_in_no_folder_or_a_folder_is_a_bad_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    extra = {"score": ["--text-column", "text"], "predict-reach": ["--observe", "60"]}
    for output, says in ((tmp_path / "no" / "out.csv", "no folder"), (tmp_path, "is a folder")):
        with pytest.raises(SystemExit) as exited:
            main([command, str(source), *extra.get(command, []), "--output", str(output)])
        assert exited.value.code == 2
        assert says in capsys.readouterr().err


def test_detect_bursts_into_its_own_input_and_a_bad_series_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = tmp_path / "volume.csv"
    series.write_text("timestamp,value\n2026-03-10 00:00:00,3\n2026-03-10 00:05:00,4\n")
    assert main(["detect-bursts", str(series), "--output", str(series)]) == 0
    assert series.read_text().splitlines()[0] == "timestamp,value,surprise,burst"
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2026-03-10 00:00:00,x\n")
    assert main(["detect-bursts", str(bad), "--output", str(tmp_path / "out.csv")]) == 1
    assert "line 2" in one_line(capsys.readouterr().err)
    assert files_in(tmp_path) == {"volume.csv", "bad.csv"}


# -- a database that is not Vigie's ----------------------------------------------------------

READ_COMMANDS = [["mentions"], ["mentions", "--json"], ["incidents"], ["incident", "1"], ["audit"]]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (os.urandom(4096), "is not a Vigie database: file is not a database"),
        (b"", "is not a Vigie database: the file is empty"),
    ],
    ids=["random bytes", "empty file"],
)
@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_on_a_file_that_is_not_a_vigie_database(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    says: str,
    command: list[str],
) -> None:
    database = tmp_path / "garbage.db"
    database.write_bytes(content)
    config = write_config(tmp_path, [{"type": "webhook", "name": "w", "secret": "s" * 16}])
    config.write_text(config.read_text().replace("vigie.db", str(database)))
    assert main([*command, "-c", str(config)]) == 1
    out, err = capsys.readouterr()
    assert one_line(err) == f"{database} {says}"
    assert out == ""


def test_another_programs_database_is_not_taken_for_an_empty_vigie_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    database = tmp_path / "other.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    config = write_config(tmp_path, [{"type": "webhook", "name": "w", "secret": "s" * 16}])
    config.write_text(config.read_text().replace("vigie.db", str(database)))
    assert main(["incidents", "-c", str(config)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line == f"{database} is not a Vigie database: it has no Vigie tables"


def test_garbage_database_as_a_user_sees_it(tmp_path: Path) -> None:
    """VIGIE_DB=garbage.db python -m bot mentions: one line on stderr, exit 1."""
    database = tmp_path / "garbage.db"
    database.write_bytes(os.urandom(2048))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "mentions"],
        cwd=ROOT,
        env={**os.environ, "VIGIE_DB": str(database)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line == f"{database} is not a Vigie database: file is not a database"
