"""A replay whose ``columns`` name a column the file does not have: check-config says so with
the line to fix, and the source fails before reading anything (no warning per row, no position
stored), so a rerun after the fix reads the whole file. An optional field that a JSONL file's
first records all lack is only warned about: exports leave out empty keys."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from bot.app import build, serve
from bot.cli import main
from bot.clock import SystemClock
from bot.config import load_config
from bot.config.schema import ReplaySourceSettings
from bot.sources.replay import SAMPLE_RECORDS, ReplayFileError, ReplaySource, column_problem
from tests.conftest import RecordingInbox, mention_record, write_config, write_jsonl

EXPORT = [
    ["tweet_id", "text", "when"],
    ["1", "@kestrelmobile no signal since 9am, awful", "2026-03-10T09:00:00Z"],
    ["2", "Kestrel Mobile outage again, furious", "2026-03-10T09:05:00Z"],
]


def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(EXPORT)
    return path


def replay(path: Path, columns: dict[str, str]) -> dict[str, object]:
    return {"type": "replay", "name": "tweets", "path": path.name, "columns": columns}


TYPO = {"id": "tweet_id", "text": "tweet_text", "created_at": "when"}
FIXED = {"id": "tweet_id", "text": "text", "created_at": "when"}


def test_check_config_names_the_missing_column_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [replay(export(tmp_path), TYPO)])
    assert main(["check-config", "-c", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("not ok")
    line = next(
        n for n, text in enumerate(config.read_text().splitlines(), 1) if "tweet_text" in text
    )
    assert f"line {line}: sources.tweets.columns.text: export.csv has no column 'tweet_text'" in err
    assert "'tweet_id', 'text', 'when'" in err


def test_check_config_names_a_required_column_the_file_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [replay(export(tmp_path), {"text": "text"})])
    assert main(["check-config", "-c", str(config)]) == 2
    assert "sources.tweets.path: export.csv has no column 'id'" in capsys.readouterr().err


def test_check_config_passes_a_file_with_the_mapped_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [replay(export(tmp_path), FIXED)])
    assert main(["check-config", "-c", str(config)]) == 0
    assert capsys.readouterr().out.startswith("ok")


def test_the_missing_file_error_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [{"type": "replay", "name": "demo", "path": "nope.jsonl"}])
    assert main(["check-config", "-c", str(config)]) == 2
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "nope" in text)
    assert f"line {line}: sources.demo.path: no file" in capsys.readouterr().err


def stored(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


async def run(config: Path) -> bool:
    service = build(load_config(config), Console(file=io.StringIO()))
    ok = await serve(service, exit_when_idle=True, stop=asyncio.Event())
    state = service.health()["sources"]["tweets"]
    assert ok == (state["state"] == "finished"), state
    return ok


async def test_run_fails_the_source_without_recording_progress_and_a_fix_reads_it_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, [replay(export(tmp_path), TYPO)], http={"enabled": False})
    assert not await run(config)
    database = tmp_path / "vigie.db"
    assert stored(database, "SELECT * FROM cursors") == []
    assert stored(database, "SELECT COUNT(*) FROM mentions") == [(0,)]
    assert "skipped malformed record" not in caplog.text  # one error, not one per row
    assert "replay tweets: export.csv has no column 'tweet_text' (for text)" in caplog.text
    config.write_text(config.read_text().replace("tweet_text", "text"))
    assert await run(config)
    assert stored(database, "SELECT COUNT(*) FROM mentions") == [(2,)]


def jsonl_settings(path: Path, columns: dict[str, str]) -> ReplaySourceSettings:
    return ReplaySourceSettings.model_validate(
        {"type": "replay", "name": "tweets", "path": str(path), "columns": columns}
    )


async def test_jsonl_a_mapped_field_missing_from_every_first_record_fails_the_source(
    tmp_path: Path,
) -> None:
    data = write_jsonl(tmp_path / "m.jsonl", [mention_record(n) for n in range(1, 5)])
    settings = jsonl_settings(data, {"text": "body"})
    assert column_problem(settings) == (
        "m.jsonl has no column 'body' (for text); its first records have "
        "'id', 'text', 'created_at', 'author', 'followers'"
    )
    inbox = RecordingInbox()
    with pytest.raises(ReplayFileError, match="no column 'body'"):
        await ReplaySource(settings, SystemClock()).run(inbox, None)
    assert inbox.envelopes == []  # nothing read, no position


async def test_jsonl_an_optional_field_no_first_record_has_is_a_warning_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Exports often leave out empty keys: a file where no first record has a reply is
    replayed, with one warning per such field naming the setting to check."""
    data = write_jsonl(tmp_path / "m.jsonl", [mention_record(n) for n in range(1, 5)])
    settings = jsonl_settings(data, {"parent_id": "in_reply_to", "url": "url"})
    assert column_problem(settings) is None
    inbox = RecordingInbox()
    await ReplaySource(settings, SystemClock()).run(inbox, None)
    assert [m.native_id for m in inbox.mentions] == ["m-1", "m-2", "m-3", "m-4"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "replay tweets: no record among the first 100 has 'url'; check columns.url",
        "replay tweets: no record among the first 100 has 'in_reply_to'; check columns.parent_id",
    ]


def test_check_config_passes_a_jsonl_file_without_an_optional_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_jsonl(tmp_path / "m.jsonl", [mention_record(n) for n in range(1, 5)])
    source = {"type": "replay", "name": "t", "path": "m.jsonl", "columns": {"parent_id": "re"}}
    config = write_config(tmp_path, [source])
    assert main(["check-config", "-c", str(config)]) == 0, capsys.readouterr().err


def test_csv_a_mapped_optional_column_the_header_lacks_still_fails(tmp_path: Path) -> None:
    """A header names its columns: one it lacks is misnamed, optional or not."""
    settings = jsonl_settings(export(tmp_path), {**FIXED, "parent_id": "reply_to"})
    assert column_problem(settings) == (
        "export.csv has no column 'reply_to' (for parent_id); its header has "
        "'tweet_id', 'text', 'when'"
    )


def test_jsonl_a_field_some_records_lack_is_not_a_misnamed_column(tmp_path: Path) -> None:
    records = [{"id": f"m-{n}", "message": "kestrel down"} for n in range(SAMPLE_RECORDS - 1)]
    records.append(mention_record(SAMPLE_RECORDS))  # has "text"
    data = write_jsonl(tmp_path / "m.jsonl", records)
    assert column_problem(jsonl_settings(data, {})) is None


def test_jsonl_judged_on_the_first_records_only(tmp_path: Path) -> None:
    records = [{"id": f"m-{n}", "message": "kestrel down"} for n in range(SAMPLE_RECORDS)]
    records.append(mention_record(SAMPLE_RECORDS + 1))  # "text" only after the sample
    data = write_jsonl(tmp_path / "m.jsonl", records)
    assert "no column 'text'" in str(column_problem(jsonl_settings(data, {})))


def test_jsonl_malformed_and_blank_lines_do_not_count(tmp_path: Path) -> None:
    data = tmp_path / "m.jsonl"
    data.write_text("\n{broken\n[1, 2]\n" + json.dumps(mention_record(1)) + "\n")
    assert column_problem(jsonl_settings(data, {})) is None


def test_an_empty_file_has_nothing_to_judge(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.jsonl"):
        (tmp_path / name).write_bytes(b"")
        assert column_problem(jsonl_settings(tmp_path / name, {"text": "body"})) is None


def test_a_file_not_in_its_encoding_is_named_in_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("tweet_id,text,caf\xe9\n1,kestrel down,x\n".encode("latin-1"))
    config = write_config(tmp_path, [replay(path, FIXED)])
    assert main(["check-config", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "sources.tweets.encoding:" in err
    assert "cannot read it as utf-8-sig" in err
