"""Replaying files: column mappings, malformed rows, resuming, pacing in event time."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.app import build, serve
from bot.clock import SystemClock
from bot.config import load_config
from bot.config.schema import ReplaySourceSettings
from bot.sources.replay import ReplaySource
from storage.database import open_database
from storage.mentions import find_mentions
from tests.conftest import RecordingInbox, mention_record, write_config, write_jsonl


async def replay(config_path: Path) -> bool:
    service = build(load_config(config_path), Console(file=io.StringIO()))
    return await serve(service, exit_when_idle=True, stop=asyncio.Event())


def stored_ids(config_path: Path) -> list[str]:
    db = open_database(config_path.parent / "vigie.db", read_only=True)
    try:
        return sorted(row["native_id"] for row in find_mentions(db))
    finally:
        db.close()


def replay_source(path: Path, **settings: object) -> dict[str, object]:
    return {"type": "replay", "name": "file", "path": str(path), **settings}


async def test_jsonl_malformed_lines_are_logged_with_position_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "mentions.jsonl"
    write_jsonl(data, [mention_record(1), mention_record(2)])
    with data.open("a", encoding="utf-8") as file:
        file.write('{"id": "broken", "text": \n')
        file.write('{"id": "no-text"}\n')
        file.write('{"id": "m-5", "text": "kestrel down", "created_at": "yesterday"}\n')
    write_jsonl(tmp_path / "tail.jsonl", [mention_record(6)])
    with data.open("a", encoding="utf-8") as file:
        file.write((tmp_path / "tail.jsonl").read_text())
    config = write_config(tmp_path, [replay_source(data)], http={"enabled": False})
    with caplog.at_level(logging.WARNING):
        assert await replay(config)
    assert stored_ids(config) == ["m-1", "m-2", "m-6"]
    warnings = "\n".join(record.getMessage() for record in caplog.records)
    assert "line 3: skipped malformed record: invalid JSON" in warnings
    assert "line 4: skipped malformed record: 'text' is missing" in warnings
    assert "line 5: skipped malformed record: 'created_at'" in warnings


async def test_csv_export_replays_with_a_column_mapping(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    with data.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["tweet_id", "body", "when", "who", "rts"])
        writer.writerow(
            [
                "1",
                "@kestrelmobile no signal\nsince 9am &amp; no answer",
                "2015-02-16 23:36:05 -0800",
                "ana",
                "3",
            ]
        )
        writer.writerow(
            ["2", "an american kestrel over the field", "2015-02-16 23:40:00 -0800", "bo", "0"]
        )
        writer.writerow(
            ["3", "Kestrel support was great today", "2015-02-16 23:45:00 -0800", "cy", ""]
        )
    columns = {
        "id": "tweet_id",
        "text": "body",
        "created_at": "when",
        "author": "who",
        "reposts": "rts",
    }
    config = write_config(tmp_path, [replay_source(data, columns=columns)], http={"enabled": False})
    assert await replay(config)
    db = open_database(tmp_path / "vigie.db", read_only=True)
    rows = {row["native_id"]: row for row in find_mentions(db)}
    db.close()
    assert set(rows) == {"1", "3"}  # the bird is excluded
    first = rows["1"]
    assert first["text"] == "@kestrelmobile no signal\nsince 9am & no answer"
    assert first["created_at"] == "2015-02-17T07:36:05.000+00:00"
    assert (first["author_handle"], first["reposts"]) == ("ana", 3)
    assert first["sentiment"] == "negative"
    assert rows["3"]["sentiment"] == "positive"


async def test_a_second_run_resumes_after_what_was_stored(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "m.jsonl", [mention_record(n) for n in range(1, 4)])
    config = write_config(tmp_path, [replay_source(data)], http={"enabled": False})
    assert await replay(config)
    with data.open("a", encoding="utf-8") as file:
        file.write(write_jsonl(tmp_path / "more.jsonl", [mention_record(4)]).read_text())
    service = build(load_config(config), Console(file=io.StringIO()))
    assert await serve(service, exit_when_idle=True, stop=asyncio.Event())
    assert service.metrics.received.labels("file")._value.get() == 1  # only the new row
    assert stored_ids(config) == ["m-1", "m-2", "m-3", "m-4"]


async def test_a_missing_file_fails_the_source_and_the_run(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, [replay_source(tmp_path / "absent.jsonl")], http={"enabled": False}
    )
    service = build(load_config(config), Console(file=io.StringIO()))
    assert not await serve(service, exit_when_idle=True, stop=asyncio.Event())
    assert service.health()["sources"]["file"]["state"] == "failed"
    assert "no such file" in service.health()["sources"]["file"]["error"]


Recorder = RecordingInbox


async def test_speed_plays_event_time_faster_than_real_time(tmp_path: Path) -> None:
    minutes = [0, 1, 3, 3, 10]
    data = write_jsonl(
        tmp_path / "m.jsonl",
        [
            mention_record(n, created_at=f"2026-03-10T09:{minute:02d}:00Z")
            for n, minute in enumerate(minutes)
        ],
    )
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings = ReplaySourceSettings.model_validate(replay_source(data, speed=60))
    source = ReplaySource(settings, SystemClock(), sleep=fake_sleep)
    inbox = Recorder()
    await source.run(inbox, None)
    # one minute of event time is one second of wall time; the fake sleep takes no time
    assert [round(s, 1) for s in sleeps] == [0.0, 1.0, 3.0, 3.0, 10.0]
    assert [len(e.mentions) for e in inbox.envelopes] == [1, 1, 1, 1, 1, 0]
    assert inbox.envelopes[-1].position is not None


async def test_rebase_time_ends_the_story_now_and_survives_a_restart(tmp_path: Path) -> None:
    records = [mention_record(n, created_at=f"2015-02-16T10:0{n}:00Z") for n in range(1, 4)]
    data = write_jsonl(tmp_path / "m.jsonl", records)
    settings = ReplaySourceSettings.model_validate(replay_source(data, rebase_time=True))
    inbox = Recorder()
    await ReplaySource(settings, SystemClock()).run(inbox, None)
    times = [m.created_at for e in inbox.envelopes for m in e.mentions]
    assert 0 <= (datetime.now(UTC) - times[-1]).total_seconds() < 300 + 5
    assert (times[1] - times[0]).total_seconds() == 60
    shift = (times[0] - datetime(2015, 2, 16, 10, 1, tzinfo=UTC)).total_seconds()
    assert shift % 300 == 0  # whole five-minute bins: every run bins the story the same way
    position = inbox.envelopes[-1].position
    again = Recorder()
    await ReplaySource(settings, SystemClock()).run(again, position)
    assert [m for e in again.envelopes for m in e.mentions] == []


@pytest.mark.slow
async def test_the_shared_airline_file_replays_with_the_documented_mapping(
    tmp_path: Path, airline_tweets: Path
) -> None:
    columns = {
        "id": "tweet_id",
        "text": "text",
        "created_at": "tweet_created",
        "author": "name",
        "reposts": "retweet_count",
    }
    brands = [
        {
            "name": "United",
            "keywords": ["united airlines", "united"],
            "handles": ["@united"],
            "hashtags": ["#unitedairlines"],
            "exclude": ["manchester united"],
            "languages": ["en", "fr"],
        }
    ]
    source = {
        "type": "replay",
        "name": "airline",
        "path": str(airline_tweets),
        "format": "csv",
        "speed": 0,
        "columns": columns,
    }
    config = write_config(tmp_path, [source], brands=brands, http={"enabled": False})
    service = build(load_config(config), Console(file=io.StringIO()))
    assert await serve(service, exit_when_idle=True, stop=asyncio.Event())
    with airline_tweets.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    united = [row for row in rows if row["airline"] == "United"]
    stored = service.metrics.stored._value.get()
    assert service.metrics.received.labels("airline")._value.get() == len(rows)
    # every tweet at @united is matched; other airlines' tweets match only if they name United
    assert len(united) <= stored < len(united) * 1.1
