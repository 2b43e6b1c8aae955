"""A failure of our own code after a mention is accepted costs no mention.

Filing into incidents (the engine, the drafts planner) failing keeps the mentions and the
sources' positions, answers the webhook truthfully, degrades /healthz and files them later,
once; the pipeline failing on a mention stores it unscored, with the reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.app
import bot.health
import bot.incidents.filing
import bot.negativity
from bot.incidents.engine import IncidentEngine
from bot.incidents.filing import refile
from bot.model import (
    Author,
    Brand,
    LanguageGuess,
    Mention,
    Negativity,
    ScoredMention,
    Sentiment,
)
from bot.rescoring import Rescored, rescore
from bot.retention import forget_once
from bot.unscored import unscored
from bot.workers import InlineScorer
from storage.cursors import load_cursor
from storage.database import open_database
from storage.incidents import get_incident
from storage.unfiled import _plain, _scored
from storage.writer import Writer
from tests.conftest import (
    WEBHOOK_SECRET,
    mention_record,
    running_service,
    stored_mentions,
    wait_for,
    write_config,
    write_jsonl,
)
from tests.test_incident_engine import MIN, T0, Desk, policy
from tests.test_webhook import post, signed

SEC = timedelta(seconds=1)
DAY = timedelta(days=1)


class BrokenFiling:
    """``IncidentEngine.ingest`` raising (a bug) while ``broken``, and which mentions it filed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, poison: str = "") -> None:
        self.broken = True
        self.poison = poison  # when set, only a batch holding a mention with this text fails
        self.filed: Counter[tuple[str, str]] = Counter()
        real = IncidentEngine.ingest

        def ingest(engine: IncidentEngine, journal: Any, batch: Sequence[ScoredMention], *a: Any):  # type: ignore[no-untyped-def]
            if self.broken and (
                not self.poison or any(self.poison in s.mention.text for s in batch)
            ):
                raise KeyError("a bug in filing")
            real(engine, journal, batch, *a)
            self.filed.update(scored.mention.key for scored in batch)

        monkeypatch.setattr(IncidentEngine, "ingest", ingest)


async def health(port: int | None) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


def issues(config: Path) -> list[tuple[str, str, str]]:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return [
            (str(row[0]), str(row[1]), str(row[2]))
            for row in db.execute("SELECT native_id, stage, error FROM mention_issues ORDER BY 1")
        ]
    finally:
        db.close()


async def test_a_filing_bug_keeps_the_mentions_and_files_them_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's e1: the webhook said 200 'duplicates: 2' for mentions stored nowhere, the
    replay's cursor went past all five, /healthz said ok. The engine here also fails on an
    empty batch (a position alone), which used to stop the service."""
    filing = BrokenFiling(monkeypatch)
    replay = write_jsonl(tmp_path / "replay.jsonl", [mention_record(i) for i in range(10, 15)])
    config = write_config(
        tmp_path,
        [
            {"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET},
            {"type": "replay", "name": "file", "path": str(replay), "speed": 0},
        ],
    )
    async with running_service(config) as service:
        body = json.dumps([mention_record(1), mention_record(2)]).encode()
        status, answer = await post(service.http_port, body, signed(body))
        assert (status, answer["stored"], answer["unfiled"]) == (200, 2, 2)
        assert answer["duplicates"] == 0
        code, report = await health(service.http_port)
        assert (code, report["status"]) == (503, "degraded")
        assert report["mentions"]["unfiled"] >= 2
        assert "KeyError" in report["mentions"]["filing_error"]
        again = await post(service.http_port, body, signed(body))  # a real duplicate now
        assert again[1]["duplicates"] == 2
        assert again[1]["stored"] == 0
    assert len(stored_mentions(config)) == 7
    db = open_database(tmp_path / "vigie.db", read_only=True)
    assert load_cursor(db, "file") is not None  # the replay goes on after what it stored
    db.close()
    assert [stage for _, stage, _ in issues(config)] == ["filing"] * 7
    assert not filing.filed

    filing.broken = False  # the bug fixed: the next start files them, once
    async with running_service(config) as service:
        code, report = await health(service.http_port)
        assert (code, report["mentions"]["unfiled"]) == (200, 0)
    async with running_service(config):
        pass
    assert issues(config) == []
    assert set(filing.filed) == {(m["source"], m["native_id"]) for m in stored_mentions(config)}
    assert set(filing.filed.values()) == {1}  # each filed once


async def test_one_mention_the_engine_cannot_file_holds_back_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filing = BrokenFiling(monkeypatch, poison="POISON")
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    records = [
        mention_record(1),
        mention_record(2, "Kestrel Mobile POISON outage"),
        mention_record(3),
    ]
    async with running_service(config) as service:
        body = json.dumps(records).encode()
        status, answer = await post(service.http_port, body, signed(body))
    assert (status, answer["stored"], answer["unfiled"], answer["duplicates"]) == (200, 3, 1, 0)
    assert sorted(key[1] for key in filing.filed) == ["m-1", "m-3"]
    [(native_id, stage, error)] = issues(config)
    assert (native_id, stage) == ("m-2", "filing")
    assert "KeyError" in error


async def test_a_mention_the_pipeline_fails_on_is_stored_unscored_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's e1c: it was not stored, and the webhook answered as if it named no brand."""
    real = bot.negativity.NegativityScorer.score

    def score(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        if "POISON" in text:
            raise ValueError("scorer bug")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(bot.negativity.NegativityScorer, "score", score)
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    async with running_service(config) as service:
        body = json.dumps([mention_record(1), mention_record(2, "Kestrel Mobile POISON outage")])
        status, answer = await post(service.http_port, body.encode(), signed(body.encode()))
        report = (await health(service.http_port))[1]
    assert status == 200
    assert (answer["matched"], answer["unscored"], answer["stored"]) == (1, 1, 2)
    assert answer["duplicates"] == 0
    assert report["mentions"]["unscored"] == 1
    assert report["status"] == "ok"
    rows = {row["native_id"]: row for row in stored_mentions(config)}
    assert rows["m-2"]["sentiment"] == "neutral"
    [(native_id, stage, error)] = issues(config)
    assert (native_id, stage) == ("m-2", "scoring")
    assert "scorer bug" in error


async def test_mentions_stored_unscored_are_scored_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scorer's bug fixed (a new version started): the mention takes its score and brand;
    one the pipeline still fails on stays unscored, its attempt counted."""
    real = bot.negativity.NegativityScorer.score
    poison = ["POISON", "VENOM"]

    def score(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        if any(word in text for word in poison):
            raise ValueError("scorer bug")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(bot.negativity.NegativityScorer, "score", score)
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    records = [
        mention_record(1, "Kestrel Mobile POISON outage, no signal for hours, awful"),
        mention_record(2, "Kestrel Mobile VENOM outage"),
    ]
    async with running_service(config) as service:
        body = json.dumps(records).encode()
        status, answer = await post(service.http_port, body, signed(body))
    assert (status, answer["unscored"], answer["stored"]) == (200, 2, 2)
    assert [row["brands"] for row in stored_mentions(config)] == [[], []]

    poison.remove("POISON")  # the fix
    async with running_service(config):
        await wait_for(lambda: len(issues(config)) == 1)
    rows = {row["native_id"]: row for row in stored_mentions(config)}
    assert rows["m-1"]["sentiment"] == "negative"
    assert rows["m-1"]["negativity"] > 0.5
    assert rows["m-1"]["brands"] == ["kestrel-mobile"]
    assert rows["m-1"]["language"] == "en"
    assert (rows["m-2"]["sentiment"], rows["m-2"]["brands"]) == ("neutral", [])
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        [(native_id, attempts)] = db.execute(
            "SELECT native_id, attempts FROM mention_issues WHERE stage = 'scoring'"
        ).fetchall()
    finally:
        db.close()
    assert (native_id, attempts) == ("m-2", 2)


def test_refiling_gives_the_incidents_an_unbroken_run_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm whose filing failed throughout, filed after the fix: the same incident, its
    mentions counted once, however often refiling runs."""
    (tmp_path / "clean").mkdir()
    clean = Desk(tmp_path / "clean", policy())
    clean.storm(T0, 10)
    clean.tick(T0 + 30 * MIN)
    expected = get_incident(clean.db, 1)
    assert expected is not None
    assert expected.mention_count == 30

    filing = BrokenFiling(monkeypatch)
    (tmp_path / "broken").mkdir()
    broken = Desk(tmp_path / "broken", policy())
    broken.storm(T0, 10)
    assert get_incident(broken.db, 1) is None
    assert broken.desk.unfiled == 30
    filing.broken = False
    later = broken.restarted()
    last = T0 + 9 * MIN + timedelta(seconds=20)
    for _ in range(2):
        assert refile(later.desk, later.db, last) == 0
    later.tick(T0 + 30 * MIN)
    got = get_incident(later.db, 1)
    assert got is not None
    assert (got.mention_count, got.level_name) == (expected.mention_count, expected.level_name)
    assert set(filing.filed.values()) == {1}


def test_a_mention_kept_unfiled_is_kept_whole() -> None:
    """What is kept is what is filed later: the scored mention, whole."""

    mention = Mention(
        "s",
        "1",
        "text",
        datetime(2026, 3, 10, 9, tzinfo=T0.tzinfo),
        "https://x",
        Author("a", "A", 3),
        raw={"deep": [1, {"x": None}]},
    )
    scored = ScoredMention(
        mention,
        ("b",),
        ("t",),
        LanguageGuess("en", 0.9),
        Negativity(0.8, Sentiment.NEGATIVE, -0.5, ("why",)),
        T0,
    )
    assert _scored(json.loads(json.dumps(_plain(scored), default=str))) == scored


def test_a_refiling_whose_transaction_fails_files_the_mention_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's f1: forgetting a refiled mention failed (the disk), the transaction rolled
    back, but the engine kept it in memory and the next refile counted it again (31 of 30)."""
    filing = BrokenFiling(monkeypatch)
    broken = Desk(tmp_path, policy())
    broken.storm(T0, 10)
    filing.broken = False
    later = broken.restarted()
    real, calls = bot.incidents.filing.filed, Counter[str]()

    def filed(db: Any, key: tuple[str, str]) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise sqlite3.OperationalError("disk I/O error")
        real(db, key)

    monkeypatch.setattr(bot.incidents.filing, "filed", filed)
    last = T0 + 9 * MIN
    with pytest.raises(sqlite3.OperationalError):
        refile(later.desk, later.db, last)
    assert refile(later.desk, later.db, last) == 0
    later.tick(T0 + 30 * MIN)
    got = get_incident(later.db, 1)
    assert got is not None
    assert got.mention_count == 30
    [(rows,)] = later.db.execute("SELECT COUNT(*) FROM incident_mentions").fetchall()
    assert rows == 30


def test_a_failure_to_wake_the_deliverer_is_no_filing_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's f2: ``on_intents`` raising after the savepoint was released counted as a
    failed filing: the batch was filed again mention by mention (33 of 30)."""
    filing = BrokenFiling(monkeypatch)
    filing.broken = False
    desk = Desk(tmp_path, policy())
    woken = Counter[str]()

    def on_intents() -> None:
        woken["n"] += 1
        if woken["n"] == 1:
            raise RuntimeError("Event loop is closed")

    desk.desk.on_intents = on_intents
    desk.storm(T0, 10)
    assert woken["n"] == 1
    assert desk.desk.unfiled == 0
    desk.tick(T0 + 30 * MIN)
    got = get_incident(desk.db, 1)
    assert got is not None
    assert got.mention_count == 30
    assert set(filing.filed.values()) == {1}


def test_mentions_the_engine_can_never_file_hold_back_no_other_refiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's f4: refiling took the same oldest rows each round; more of them than a
    round takes, all failing for good, hid every mention kept after them."""
    filing = BrokenFiling(monkeypatch, poison="POISON")
    desk = Desk(tmp_path, policy())
    desk.post(T0, 3, text="flight cancelled POISON")  # the engine can never file these
    filing.poison = ""  # a moment when all filing fails
    desk.post(T0 + MIN, 2)
    filing.poison = "POISON"
    assert desk.desk.unfiled == 5
    for _ in range(3):
        refile(desk.desk, desk.db, T0 + 2 * MIN, limit=2)
    assert sorted(key[1] for key in filing.filed) == ["m4", "m5"]
    waiting = desk.db.execute("SELECT native_id FROM mention_issues ORDER BY native_id")
    assert [row[0] for row in waiting] == ["m1", "m2", "m3"]


async def test_one_mention_the_engine_can_never_file_leaves_healthz_200(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's f5: it kept /healthz at 503 for good, through restarts, so a load balancer
    would have pulled the instance and stopped all intake. Degraded only while new mentions
    cannot be filed at all (for a few minutes after); reported all along."""
    BrokenFiling(monkeypatch, poison="POISON")
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    async with running_service(config) as service:
        body = json.dumps([mention_record(1, "Kestrel Mobile POISON outage")]).encode()
        assert (await post(service.http_port, body, signed(body)))[1]["unfiled"] == 1
        code, report = await health(service.http_port)
        assert (code, report["status"]) == (503, "degraded")  # no new mention files: maybe all
        body = json.dumps([mention_record(i) for i in range(2, 5)]).encode()
        assert (await post(service.http_port, body, signed(body)))[1]["unfiled"] == 0
        code, report = await health(service.http_port)
        assert (code, report["status"], report["mentions"]["unfiled"]) == (200, "ok", 1)
        assert "KeyError" in report["mentions"]["filing_error"]
        body = json.dumps([mention_record(5, "Kestrel Mobile POISON again")]).encode()
        await post(service.http_port, body, signed(body))
        assert (await health(service.http_port))[0] == 503
        monkeypatch.setattr(bot.health, "FILING_FAILING_SECONDS", 0.0)  # minutes later
        assert (await health(service.http_port))[0] == 200
    monkeypatch.setattr(bot.health, "FILING_FAILING_SECONDS", 300.0)
    async with running_service(config) as service:  # refiled at start, failing again
        code, report = await health(service.http_port)
        assert (code, report["status"], report["mentions"]["unfiled"]) == (200, "ok", 2)
        assert "KeyError" in report["mentions"]["filing_error"]


async def test_a_storm_stored_unscored_is_filed_once_scored(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    texts = ["Acme cancelled my flight again, awful", "Acme lost my bag, still waiting"]
    batch = [
        unscored(Mention("test", f"u{n}", texts[n % 2], T0 + n * 20 * SEC), "bug", T0)
        for n in range(30)
    ]
    desk.desk.store(desk.db, batch, {}, T0 + 10 * MIN)
    desk.tick(T0 + 10 * MIN)
    assert get_incident(desk.db, 1) is None
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        scorer = InlineScorer([Brand("Acme", "acme", keywords=("acme",))])
        assert await rescore(scorer, writer, desk.desk, T0 + 10 * MIN) == Rescored(30, 0)
        await writer.run(lambda db: desk.desk.tick(db, T0 + 30 * MIN))
        incident = await writer.run(lambda db: get_incident(db, 1))
        again = await rescore(scorer, writer, desk.desk, T0 + 30 * MIN)
    finally:
        writer.close()
    assert incident is not None
    assert incident.mention_count == 30
    assert again == Rescored(0, 0)


async def test_a_mention_forgotten_while_it_is_rescored_is_let_go(tmp_path: Path) -> None:
    """Retention starts with the service too: it may forget an old unscored mention while the
    scorer works on it (the batch failed on the foreign key of the mention's brands)."""

    class Racing(InlineScorer):
        async def score(self, mentions: Sequence[Mention], now: datetime) -> Any:
            await forget_once(writer, T0 + timedelta(days=30))
            return await super().score(mentions, now)

    desk = Desk(tmp_path, policy())
    batch = [
        unscored(Mention("test", "u1", "Acme cancelled my flight, awful", T0), "bug", T0),
        unscored(Mention("test", "u2", "Acme lost my bag", T0 + 45 * DAY), "bug", T0 + 45 * DAY),
    ]
    desk.desk.store(desk.db, batch, {}, T0 + MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    try:
        scorer = Racing([Brand("Acme", "acme", keywords=("acme",))])
        assert await rescore(scorer, writer, desk.desk, T0 + 46 * DAY) == Rescored(2, 0)
        left = await writer.run(
            lambda db: db.execute("SELECT native_id FROM mentions ORDER BY 1").fetchall()
        )
        issues_left = await writer.run(
            lambda db: db.execute("SELECT COUNT(*) FROM mention_issues").fetchone()[0]
        )
    finally:
        writer.close()
    assert [row[0] for row in left] == ["u2"]
    assert issues_left == 0


def test_a_mention_filed_late_does_not_move_the_incident_back_in_time(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    desk.storm(T0, 10)
    desk.tick(T0 + 10 * MIN)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    latest = incident.last_mention_at
    assert latest is not None
    desk.post(T0 + MIN, now=T0 + 11 * MIN)  # an older post, heard (or refiled) only now
    later = get_incident(desk.db, 1)
    assert later is not None
    assert later.mention_count == incident.mention_count + 1
    assert later.last_mention_at == latest
