"""The file commands' inputs and outputs as a shell uses them: a pipe or a gzipped file in, a
folder named by mistake, ``--output /dev/stdout | head``, ``\\n`` line ends for ``awk``, and a
cascade without its original post named by its line."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_cli_errors import files_in, one_line, read_csv, score

ROOT = Path(__file__).resolve().parents[1]
CASCADE_HEADER = "cascade_id,relative_time_seconds,number_of_followers\n"


def volume_series(bins: int = 3000) -> str:
    """Five-minute bins, long enough that the output is many pipe buffers."""
    rows = []
    for n in range(bins):
        hours, minutes = divmod(5 * n, 60)
        days, hours = divmod(hours, 24)
        rows.append(f"2026-03-{10 + days:02d}T{hours:02d}:{minutes:02d}:00+00:00,{20 + n % 4}")
    return "timestamp,value\n" + "\n".join(rows) + "\n"


def cli(*arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


# -- predict-reach: a cascade without its original post -----------------------------------------


def test_a_cascade_without_its_original_post_is_named_by_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "c.csv"
    source.write_text(
        CASCADE_HEADER + "a,0,100\nb,5,5\na,10,3\nc,7,1\nd,0,9\ne,2,2\nf,1,1\ng,1,1\n",
        encoding="utf-8",
    )
    output = tmp_path / "o.csv"
    code = main(["predict-reach", str(source), "--observe", "3600", "--output", str(output)])
    assert code == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"{source}: line 3: cascade 'b' has no original post (no row at time 0)")
    assert "and 4 more lack one: 'c', 'e', 'f', …" in line
    assert files_in(tmp_path) == {"c.csv"}  # like any malformed file: no output


def test_an_original_post_after_its_reshares_is_found(tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_text(CASCADE_HEADER + "b,5,5\na,0,100\nb,0,40\n", encoding="utf-8")
    output = tmp_path / "o.csv"
    assert main(["predict-reach", str(source), "--observe", "60", "--output", str(output)]) == 0
    assert [row["cascade_id"] for row in read_csv(output)] == ["b", "a"]


# -- outputs: "\n" line ends, and a pipe closed early --------------------------------------------


def test_every_output_ends_its_lines_with_a_newline_alone(tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    texts.write_bytes(b'id,text\r\n1,"kestrel down\r\nagain, no refund"\r\n2,great service\r\n')
    assert score(texts, tmp_path / "scored.csv") == 0
    series = tmp_path / "series.csv"
    series.write_text(volume_series(50), encoding="utf-8")
    bursts = tmp_path / "bursts.csv"
    assert main(["detect-bursts", str(series), "--output", str(bursts)]) == 0
    cascades = tmp_path / "cascades.csv"
    cascades.write_text(CASCADE_HEADER + "a,0,100\na,5,5\n", encoding="utf-8")
    reach = tmp_path / "reach.csv"
    assert main(["predict-reach", str(cascades), "--observe", "60", "--output", str(reach)]) == 0
    for output in (tmp_path / "scored.csv", bursts, reach):
        data = output.read_bytes()
        assert data.endswith(b"\n")
        assert b"\r\n" not in data.replace(b"down\r\nagain", b""), output
    # `awk -F, '$4 == 1'`: the last field is the number alone
    assert all(line.split(",")[-1] in {"0", "1"} for line in bursts.read_text().splitlines()[1:])
    rows = read_csv(tmp_path / "scored.csv")  # the carriage return inside a field is kept
    assert [row["text"] for row in rows] == ["kestrel down\r\nagain, no refund", "great service"]


def test_a_carriage_return_in_a_field_is_quoted_with_newline_line_ends(tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    with texts.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["id", "text"], ["1", "old mac\rline"], ["2", "fine"]])
    assert score(texts, tmp_path / "out.csv") == 0
    assert [row["text"] for row in read_csv(tmp_path / "out.csv")] == ["old mac\rline", "fine"]


@pytest.mark.parametrize("command", ["detect-bursts", "score"])
def test_output_to_stdout_piped_into_a_reader_that_stops_early_is_not_an_error(
    tmp_path: Path, command: str
) -> None:
    """`python -m bot detect-bursts S.csv --output /dev/stdout | head -2` said "Broken pipe",
    exit 1, where `mentions --json | head` exits 0."""
    if command == "score":
        source = tmp_path / "texts.csv"
        source.write_text(
            "id,text\n" + "".join(f"{n},order {n} late again\n" for n in range(3000)),
            encoding="utf-8",
        )
        arguments = ["score", str(source), "--text-column", "text"]
    else:
        source = tmp_path / "series.csv"
        source.write_text(volume_series(), encoding="utf-8")
        arguments = ["detect-bursts", str(source)]
    with subprocess.Popen(
        [sys.executable, "-m", "bot", *arguments, "--output", "/dev/stdout"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(
            b"id,text," if command == "score" else b"timestamp,"
        )
        process.stdout.close()  # `head -1` has what it wanted
        _, stderr = process.communicate(timeout=120)
    assert b"Broken pipe" not in stderr, stderr
    assert b"Traceback" not in stderr, stderr
    assert process.returncode == 0


# -- inputs: a folder, a pipe, a gzipped file ----------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["score", "{dir}", "--text-column", "text", "--output", "{dir}/o.csv"],
        ["detect-bursts", "{dir}", "--output", "{dir}/o.csv"],
        ["predict-reach", "{dir}", "--observe", "60", "--output", "{dir}/o.csv"],
    ],
)
def test_a_folder_as_input_is_called_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([argument.format(dir=tmp_path) for argument in arguments])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: is a folder" in err
    assert "no such file" not in err


def test_every_file_command_reads_a_pipe(tmp_path: Path) -> None:
    """`<(zcat f.csv.gz)` or `/dev/stdin` were "no such file"; each command reads its input
    once, front to back, so a pipe does, gzipped or not."""
    series = volume_series(50).encode()
    plain = tmp_path / "series.csv"
    plain.write_bytes(series)
    assert main(["detect-bursts", str(plain), "--output", str(tmp_path / "file.out")]) == 0
    piped = cli("detect-bursts", "/dev/stdin", "--output", str(tmp_path / "pipe.out"), stdin=series)
    assert piped.returncode == 0, piped.stderr
    assert (tmp_path / "pipe.out").read_bytes() == (tmp_path / "file.out").read_bytes()

    cascades = gzip.compress((CASCADE_HEADER + "a,0,100\na,5,5\nb,0,9\n").encode())
    reach = tmp_path / "reach.csv"
    piped = cli(
        "predict-reach", "/dev/stdin", "--observe", "60", "--output", str(reach), stdin=cascades
    )
    assert piped.returncode == 0, piped.stderr
    assert [row["cascade_id"] for row in read_csv(reach)] == ["a", "b"]

    texts = b"id,text\n1,kestrel down again\n2,caf\xc3\xa9 ferm\xc3\xa9\n"
    scored = tmp_path / "scored.csv"
    piped = cli(
        "score", "/dev/stdin", "--text-column", "text", "--output", str(scored), stdin=texts
    )
    assert piped.returncode == 0, piped.stderr
    assert [row["text"] for row in read_csv(scored)] == ["kestrel down again", "café fermé"]


def test_a_latin1_pipe_is_named_by_its_line(tmp_path: Path) -> None:
    texts = b'id,text\n1,ok\n2,"two lines\ncaf\xe9"\n3,ok\n'
    output = tmp_path / "o.csv"
    piped = cli(
        "score", "/dev/stdin", "--text-column", "text", "--output", str(output), stdin=texts
    )
    assert piped.returncode == 1
    assert b"/dev/stdin: line 4: not UTF-8 text (byte 0xe9)" in piped.stderr
    assert not output.exists()


def test_score_reads_a_gzipped_file_as_the_other_commands_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "id,text\n" + "".join(f"{n},kestrel order {n} late and no refund\n" for n in range(1500))
    plain, packed = tmp_path / "x.csv", tmp_path / "x.csv.gz"
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode()))
    assert score(plain, tmp_path / "plain.out") == 0
    assert score(packed, tmp_path / "packed.out") == 0
    assert (tmp_path / "packed.out").read_bytes() == (tmp_path / "plain.out").read_bytes()
    assert "not UTF-8" not in capsys.readouterr().err
    (tmp_path / "cut.csv.gz").write_bytes(packed.read_bytes()[:200])
    assert score(tmp_path / "cut.csv.gz", tmp_path / "cut.out") == 1
    assert "cut.csv.gz: cannot read: Compressed file ended" in capsys.readouterr().err
    assert not (tmp_path / "cut.out").exists()


# -- '-' for standard input and output ----------------------------------------------------------


def in_folder(
    folder: Path, *arguments: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The command run from ``folder``, so that a file named ``-`` would be seen there."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("arguments", "stdin", "header"),
    [
        (
            ["detect-bursts", "-", "--bin", "5m"],
            b"timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:10,2\n",
            b"timestamp,value,surprise,burst\n2024-01-01 00:00,1,",
        ),
        (
            ["predict-reach", "-", "--observe", "60"],
            (CASCADE_HEADER + "a,0,100\na,5,5\n").encode(),
            b"cascade_id,observed,predicted_final,branching,explosive\na,1,",
        ),
        (
            ["score", "-", "--text-column", "text"],
            b"id,text\n1,kestrel down again\n",
            b"id,text,lang,negativity,sentiment\n1,kestrel down again,en,",
        ),
    ],
)
def test_a_dash_is_standard_input_and_output(
    tmp_path: Path, arguments: list[str], stdin: bytes, header: bytes
) -> None:
    """``--output -`` wrote a file named ``-``."""
    done = in_folder(tmp_path, *arguments, "--output", "-", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(header)
    assert b"Traceback" not in done.stderr
    assert not (tmp_path / "-").exists()


def test_a_failed_run_writes_nothing_to_standard_output(tmp_path: Path) -> None:
    series = b"timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,x\n"
    done = in_folder(tmp_path, "detect-bursts", "-", "--output", "-", stdin=series)
    assert done.returncode == 1
    assert done.stdout == b""
    assert one_line(done.stderr.decode()) == "-: line 3: value 'x' is not a number".replace(
        "-", "/dev/stdin", 1
    )


def test_detect_bursts_says_the_bin_width_it_used(tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    source.write_text("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 02:00,2\n", "utf-8")
    inferred = in_folder(tmp_path, "detect-bursts", str(source), "--output", "o.csv")
    assert b"bins of 2 hours (the greatest common divisor" in inferred.stderr
    given = in_folder(tmp_path, "detect-bursts", str(source), "--output", "o.csv", "--bin", "1h")
    assert b"bins of 1 hour (from --bin)" in given.stderr
    assert len(read_csv(tmp_path / "o.csv")) == 3
    wrong = in_folder(tmp_path, "detect-bursts", str(source), "--output", "o.csv", "--bin", "0")
    assert wrong.returncode == 2
    assert b"'0' is not a bin width" in wrong.stderr
