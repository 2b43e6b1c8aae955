"""The command line as a user types it: run, mentions, score, check-config."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_config
from tests.conftest import mention_record, write_config, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def replayed_config(tmp_path: Path) -> Path:
    records = [
        mention_record(
            1,
            "Kestrel Mobile is the worst, no signal all day, furious",
            created_at="2026-03-10T08:00:00Z",
        ),
        mention_record(
            2, "thanks @kestrelmobile, the new plan is great", created_at="2026-03-10T09:00:00Z"
        ),
        mention_record(
            3, "Kestrel app keeps crashing, terrible", created_at="2026-03-10T10:00:00Z"
        ),
        mention_record(4, "an american kestrel over the field", created_at="2026-03-10T10:30:00Z"),
    ]
    data = write_jsonl(tmp_path / "m.jsonl", records)
    source = {"type": "replay", "name": "file", "path": str(data)}
    config = write_config(tmp_path, [source], http={"enabled": False})
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    return config


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_run_exits_zero_when_the_replay_is_consumed_and_prints_negatives(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "m.jsonl", [mention_record(1, "Kestrel Mobile, awful outage")])
    source = {"type": "replay", "name": "file", "path": "m.jsonl"}
    config = write_config(tmp_path, [source], console={"show": "negative"})
    assert data.exists()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--exit-when-idle"],
        cwd=ROOT,
        env={**os.environ, "VIGIE_CONFIG": str(config), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Kestrel Mobile, awful outage" in result.stdout
    assert "NEG" in result.stdout
    assert "finished after 1 records" in result.stderr


def test_run_with_a_bad_config_exits_2_and_says_why(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, [{"type": "replay", "name": "x", "path": "m.jsonl", "speed": -1}]
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "-c", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "sources[0].speed" in result.stderr
    assert "line " in result.stderr


def test_mentions_without_since_lists_everything_newest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = replayed_config(tmp_path)
    capsys.readouterr()
    assert main(["mentions", "-c", str(config), "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [row["native_id"] for row in rows] == ["m-3", "m-2", "m-1"]
    assert rows[0]["brands"] == ["kestrel-mobile"]
    assert "raw" not in rows[0]


def test_mentions_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = replayed_config(tmp_path)
    capsys.readouterr()
    assert main(["mentions", "-c", str(config), "--json", "--negative"]) == 0
    assert {r["native_id"] for r in json_lines(capsys.readouterr().out)} == {"m-1", "m-3"}
    assert main(["mentions", "-c", str(config), "--json", "--limit", "1"]) == 0
    assert [r["native_id"] for r in json_lines(capsys.readouterr().out)] == ["m-3"]
    assert main(["mentions", "-c", str(config), "--json", "--brand", "Kestrel Mobile"]) == 0
    assert len(json_lines(capsys.readouterr().out)) == 3
    assert main(["mentions", "-c", str(config), "--json", "--brand", "kestrel-mobile"]) == 0
    assert len(json_lines(capsys.readouterr().out)) == 3
    since = ["--since", "2026-03-10T08:30:00Z"]
    assert main(["mentions", "-c", str(config), "--json", *since]) == 0
    assert len(json_lines(capsys.readouterr().out)) == 2
    assert main(["mentions", "-c", str(config), "--json", "--since", "24h"]) == 0
    shown = capsys.readouterr()
    assert json_lines(shown.out) == []  # replayed 2026-03-10, long ago: --since is wall clock
    assert "no mentions since" in shown.err
    assert "the newest stored was posted 2026-03-10 10:00 UTC: try --since 2026-03-10" in shown.err


def test_mentions_table_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = replayed_config(tmp_path)
    capsys.readouterr()
    assert main(["mentions", "-c", str(config)]) == 0
    assert "3 mention(s)" in capsys.readouterr().out
    assert main(["mentions", "-c", str(config), "--since", "last tuesday"]) == 2
    assert "neither a duration (30m, 24h, 7d) nor an ISO 8601 time" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["mentions", "-c", str(config), "--limit", "0"])
    assert exited.value.code == 2
    assert main(["mentions", "-c", str(config), "--brand", "Kestral"]) == 2  # a typo is not 0 rows
    assert "no brand 'Kestral'" in (err := capsys.readouterr().err)
    assert "Kestrel Mobile (kestrel-mobile)" in err
    assert main(["mentions", "-c", str(config), "--brand", "Kestrel Mobile"]) == 0
    with pytest.raises(SystemExit) as exited:
        main(["incident", "abc", "-c", str(config)])
    assert exited.value.code == 2
    assert "'abc' is not an incident number (12 or #12)" in capsys.readouterr().err


def test_check_config_names_a_replay_file_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [{"type": "replay", "name": "demo", "path": "nope.jsonl"}])
    assert main(["check-config", "-c", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("not ok")
    assert "sources.demo.path: no file" in err
    assert "nope.jsonl" in err


def test_mentions_before_any_run_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [{"type": "replay", "name": "f", "path": "m.jsonl"}])
    assert main(["mentions", "-c", str(config)]) == 1
    assert "no database yet" in capsys.readouterr().err


def test_score_adds_language_negativity_and_sentiment(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "body"])
        writer.writerow(["1", "My flight was cancelled and the staff were rude. Horrible."])
        writer.writerow(["2", "Merci pour votre aide, service excellent !"])
        writer.writerow(["3", "multi\nline, great and happy"])
    target = tmp_path / "out.csv"
    assert main(["score", str(source), "--text-column", "body", "--output", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    assert list(rows[0]) == ["id", "body", "lang", "negativity", "sentiment"]
    assert (rows[0]["lang"], rows[0]["sentiment"]) == ("en", "negative")
    assert float(rows[0]["negativity"]) > 0.3
    assert (rows[1]["lang"], rows[1]["sentiment"]) == ("fr", "positive")
    assert float(rows[1]["negativity"]) < 0.3
    assert rows[2]["body"] == "multi\nline, great and happy"


def test_score_names_the_missing_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,hello\n", encoding="utf-8")
    code = main(["score", str(source), "--text-column", "text", "--output", str(tmp_path / "o")])
    assert code == 2  # a bad argument, as the README says
    assert "no column 'text' (--text-column); the columns are: 'id', 'body'" in (
        capsys.readouterr().err
    )


def test_the_shipped_app_yaml_is_valid_and_replays_the_demo(tmp_path: Path) -> None:
    shipped = load_config(ROOT / "app.yaml", environ={})
    demo = shipped.sources[0]
    assert demo.type == "replay"
    assert demo.path.exists()
    settings = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    settings["storage"] = {"path": str(tmp_path / "demo.db")}
    settings["http"] = {"enabled": False}
    settings["sources"][0].update(path=str(demo.path), speed=0)
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    with (ROOT / "demo" / "mentions.jsonl").open(encoding="utf-8") as file:
        demo_rows = [json.loads(line) for line in file]
    stored = len(json_lines(_mentions_json(config)))
    # the made-up operator is heard; most posts about the bird or the lodge are not
    assert 0.9 * len(demo_rows) <= stored < len(demo_rows)


def _mentions_json(config: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "mentions", "-c", str(config), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_predict_reach_writes_one_row_per_cascade(tmp_path: Path) -> None:
    source = tmp_path / "cascades.csv"
    rows = ["cascade_id,relative_time_seconds,number_of_followers"]
    rows += ["a,0,5000", *(f"a,{60 * n},{100 + n}" for n in range(1, 40)), "a,7200,100"]
    rows += ["b,0,80", "b,600,10", "b,5000,10"]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    assert main(["predict-reach", str(source), "--observe", "3600", "--output", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as file:
        result = {row["cascade_id"]: row for row in csv.DictReader(file)}
    assert list(result) == ["a", "b"]
    assert result["a"]["observed"] == "39"  # the reshare at 7,200 s is after the observation
    assert float(result["a"]["predicted_final"]) >= 39
    assert result["b"]["observed"] == "1"
    assert float(result["b"]["predicted_final"]) < float(result["a"]["predicted_final"])


def test_predict_reach_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cascades.csv"
    source.write_text(
        "cascade_id,relative_time_seconds,number_of_followers\na,0,10\na,x,3\n", encoding="utf-8"
    )
    code = main(["predict-reach", str(source), "--observe", "60", "--output", str(tmp_path / "o")])
    assert code == 1
    assert "line 3" in capsys.readouterr().err


def test_detect_bursts_flags_a_surge(tmp_path: Path) -> None:
    source = tmp_path / "volume.csv"
    lines = ["timestamp,value"]
    for minute in range(0, 5 * 24 * 60, 5):  # five quiet days of 5-minute bins, then a surge
        hour, rest = divmod(minute, 60)
        value = 400 if minute == 5 * 24 * 60 - 60 else 20 + (minute // 5) % 4
        day, hour = divmod(hour, 24)
        lines.append(f"2026-03-{10 + day:02d} {hour:02d}:{rest:02d}:00,{value}")
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    assert main(["detect-bursts", str(source), "--output", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["timestamp", "value", "surprise", "burst"]
    assert len(rows) == len(lines) - 1
    # the first hours of a busy series are a burst against the quiet cold-start prior
    flagged = [row["timestamp"] for row in rows[288:] if row["burst"] == "1"]
    assert "2026-03-14 23:00:00" in flagged
    assert len(flagged) < 30


def test_score_a_file_long_enough_to_show_progress(tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    with source.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "text"])
        for number in range(1500):
            writer.writerow([number, f"order {number} arrived late, still no refund"])
    target = tmp_path / "out.csv"
    assert main(["score", str(source), "--text-column", "text", "--output", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1500
    assert {row["sentiment"] for row in rows} == {"negative"}


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["score", "{tmp}/nope.csv", "--text-column", "t", "--output", "o.csv"], "no such file"),
        (
            ["score", "{csv}", "--text-column", "t", "--output", "o.csv", "--languages", "english"],
            "english: give ISO 639-1 codes",
        ),
        (
            ["predict-reach", "{csv}", "--observe", "0", "--output", "o.csv"],
            "'0' is not a positive number of seconds",
        ),
        (["detect-bursts", "{tmp}/nope.csv", "--output", "o.csv"], "no such file"),
        # once an OverflowError traceback from SQLite
        (["incident", "99999999999999999999"], "is not an incident number (12 or #12)"),
        (["audit", "--incident", "99999999999999999999"], "is not an incident number"),
        (["incident", "1_0"], "'1_0' is not an incident number"),
        (["mentions", "--limit", "99999999999999999999"], "give a number from 1 to 1,000,000"),
    ],
)
def test_bad_arguments_exit_2_and_say_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("t\nhello\n", encoding="utf-8")
    filled = [a.format(tmp=tmp_path, csv=csv_file) for a in arguments]
    with pytest.raises(SystemExit) as exited:
        main(filled)
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def storm_config(tmp_path: Path) -> Path:
    records = [
        mention_record(
            n,
            f"Kestrel Mobile down again, no signal, cancelled my plan #{n}",
            created_at=f"2026-03-10T09:{n // 3:02d}:{n % 3 * 20:02d}Z",
        )
        for n in range(1, 41)
    ]
    data = write_jsonl(tmp_path / "storm.jsonl", records)
    source = {"type": "replay", "name": "file", "path": str(data)}
    config = write_config(tmp_path, [source], http={"enabled": False})
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    return config


def test_incidents_lists_the_storm_with_its_level_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = storm_config(tmp_path)
    capsys.readouterr()
    assert main(["incidents", "-c", str(config), "--status", "all", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert len(rows) == 1
    incident = rows[0]
    assert incident["brand"] == "kestrel-mobile"
    assert incident["topic"] == "storm"
    assert incident["mentions"] >= 3
    assert incident["levels"][0]["level"] in ("watch", "alert", "crisis")
    assert incident["levels"][0]["at"].startswith("2026-03-10T09:")
    assert main(["incident", "-c", str(config), "#1"]) == 0
    shown = capsys.readouterr().out
    assert "opened" in shown
    assert "notified" in shown
    assert "risk now " in shown  # the number before the explanation is named
    assert main(["incident", "-c", str(config), "99"]) == 1
    assert "no incident #99" in capsys.readouterr().err
    assert main(["audit", "-c", str(config), "--incident", "99"]) == 1  # as `incident 99`
    assert "no incident #99" in capsys.readouterr().err
    assert main(["audit", "-c", str(config), "--incident", "1"]) == 0


def test_incidents_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [{"type": "replay", "name": "f", "path": "m.jsonl"}])
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    assert main(["incidents", "-c", str(config)]) == 1
    assert "no database yet" in capsys.readouterr().err


def _interrupted_run(
    tmp_path: Path,
    texts: list[str],
    ready: Callable[[int], bool],
    signum: signal.Signals = signal.SIGINT,
    speed: int = 1,
) -> str:
    """Run the service with two scoring workers in its own process group (as a terminal gives
    it), press Ctrl-C (or send ``signum`` to the group) once ``ready(pid)``; its stderr, after
    checking it exited 0."""
    records = [mention_record(n, text) for n, text in enumerate(texts)]
    data = write_jsonl(tmp_path / "m.jsonl", records)
    source = {"type": "replay", "name": "file", "path": str(data), "speed": speed}
    config = write_config(tmp_path, [source], pipeline={"workers": 2}, http={"enabled": False})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "-c", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not ready(process.pid):
            time.sleep(0.01)
        assert ready(process.pid), "never ready to be interrupted"
        os.killpg(process.pid, signum)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
            raise AssertionError(f"no exit 60 s after the signal; stderr:\n{stderr}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 0, stderr
    return stderr


def test_ctrl_c_stops_a_run_with_workers_and_prints_no_traceback(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group, scoring workers included."""
    database = tmp_path / "vigie.db"
    texts = ["Kestrel Mobile down again, awful"] * 2000
    stderr = _interrupted_run(tmp_path, texts, lambda _: _has_mentions(database))
    assert "Traceback" not in stderr, stderr


def test_ctrl_c_while_the_scoring_workers_start_prints_no_traceback(tmp_path: Path) -> None:
    """A Ctrl-C as soon as the workers exist, while they are still importing: they never see
    it (the parent stops them), so no KeyboardInterrupt traceback and no false "a pipeline
    worker process died"."""
    stderr = _interrupted_run(
        tmp_path, ["Kestrel Mobile down"], lambda pid: len(_children(pid)) >= 2
    )
    assert "Traceback" not in stderr, stderr
    assert "worker process died" not in stderr, stderr


def test_sigterm_to_the_whole_group_stops_a_run_with_workers_cleanly(tmp_path: Path) -> None:
    """systemd (KillMode=control-group), `timeout` and kill -TERM -PGID signal the workers too:
    the stopping service does not take that for workers dying, nor start them again."""
    database = tmp_path / "vigie.db"
    texts = ["Kestrel Mobile down again, awful"] * 2000
    stderr = _interrupted_run(
        tmp_path, texts, lambda _: _has_mentions(database), signal.SIGTERM, speed=0
    )
    assert "worker process died" not in stderr, stderr
    assert "Traceback" not in stderr, stderr


def test_the_summary_at_exit_leaves_out_incidents_closed_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A months-old database does not print every incident it ever held at each stop."""
    config = storm_config(tmp_path)
    assert "Incident #1 Kestrel Mobile" in capsys.readouterr().out  # opened during that run
    with sqlite3.connect(tmp_path / "vigie.db") as conn:
        conn.execute("UPDATE incidents SET status = 'resolved' WHERE id = 1")
    conn.close()
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    assert "Incident #1" not in capsys.readouterr().out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                found += [int(child) for child in listing.read().split()]
    return found


def _has_mentions(database: Path) -> bool:
    if not database.exists():
        return False
    with contextlib.suppress(sqlite3.Error), sqlite3.connect(database) as conn:
        return bool(conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
    return False


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`python -m bot mentions --json | head -1`: no BrokenPipeError traceback."""
    config = replayed_config(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "mentions", "-c", str(config), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        process.stdout.close()  # the reader is gone before the first line
        _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 0
