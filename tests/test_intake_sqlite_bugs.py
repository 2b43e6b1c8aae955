"""An sqlite3 error that is no fault of the database (ProgrammingError, InterfaceError: a bug)
raised while filing mentions never stalls the intake: those mentions are stored and kept to be
filed later, like any filing failure. A database fault (locked, disk I/O) is still retried."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup, IncidentEngine
from bot.incidents.filing import refile
from bot.intake import Envelope, Intake, Receipt
from bot.metrics import Metrics
from bot.model import Brand, Mention, ScoredMention
from bot.workers import InlineScorer
from storage.cursors import load_cursor
from storage.database import database_fault, open_database
from storage.mentions import find_mentions
from storage.unfiled import count_unfiled, unfiled
from storage.writer import Writer
from tests.test_incident_engine import policy

AT = datetime(2026, 3, 10, 9, tzinfo=UTC)
BRAND = Brand("Kestrel Mobile", "kestrel-mobile")


class Filing:
    """``IncidentEngine.ingest`` raising ``error`` for a batch holding a POISON mention (every
    time, or the first ``times`` times), and which mentions it filed."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, error: Exception, times: int | None = None
    ) -> None:
        self.error = error
        self.times = times
        self.filed: list[str] = []
        real = IncidentEngine.ingest

        def ingest(engine: IncidentEngine, journal: Any, batch: Sequence[ScoredMention], *a: Any):  # type: ignore[no-untyped-def]
            if any("POISON" in item.mention.text for item in batch) and self.times != 0:
                if self.times is not None:
                    self.times -= 1
                raise self.error
            real(engine, journal, batch, *a)
            self.filed += [item.mention.native_id for item in batch]

        monkeypatch.setattr(IncidentEngine, "ingest", ingest)


async def intake_run(tmp_path: Path) -> tuple[Receipt, list[str], str | None, list[str], int]:
    """A batch of three, the second POISON, through an intake storing with the incident desk
    (as the service wires it); its receipt, the mentions stored, the source's position, those
    kept unfiled and how many the intake kept unfiled itself."""
    writer = Writer(tmp_path / "vigie.db")
    desk = IncidentDesk(EngineSetup(policy(), {BRAND.slug: BRAND.name}), event_time=False)
    intake = Intake(
        InlineScorer([BRAND]),
        writer,
        Metrics(),
        capacity=100,
        batch_size=100,
        now=lambda: AT,
        store=lambda db, scored, positions: desk.store(db, scored, positions, AT),
    )
    mentions = tuple(
        Mention("feed", native_id, f"Kestrel Mobile down again {native_id}", AT)
        for native_id in ("a", "b-POISON", "c")
    )
    done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
    running = asyncio.create_task(intake.run())
    try:
        await intake.submit(Envelope("feed", mentions, "position-3", done))
        receipt = await asyncio.wait_for(done, 10)
        intake.close()
        await asyncio.wait_for(running, 10)
        stored = sorted(row["native_id"] for row in await writer.run(find_mentions))
        cursor = await writer.run(lambda db: load_cursor(db, "feed"))
        kept = [item.mention.native_id for item in await writer.run(unfiled)]
        return receipt, stored, cursor, kept, intake.kept_unfiled
    finally:
        running.cancel()
        writer.close()


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.ProgrammingError("Incorrect number of bindings supplied"),
        sqlite3.InterfaceError("Error binding parameter 1: type 'dict' is not supported"),
        sqlite3.IntegrityError("UNIQUE constraint failed: incidents.id"),
    ],
    ids=type,
)
async def test_a_bug_raising_an_sqlite_error_in_filing_keeps_the_mentions_unfiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: sqlite3.Error
) -> None:
    filing = Filing(monkeypatch, error)
    receipt, stored, cursor, kept, kept_here = await intake_run(tmp_path)

    assert stored == ["a", "b-POISON", "c"]
    assert sorted(filing.filed) == ["a", "c"]
    assert kept == ["b-POISON"]
    assert kept_here == 0  # the desk's filing kept it, as any filing failure (not the intake)
    assert cursor == "position-3"
    assert (receipt.stored, receipt.unfiled, receipt.failed, receipt.duplicates) == (3, 1, 0, 0)
    writer = Writer(tmp_path / "vigie.db")
    try:
        [(error_text,)] = await writer.run(
            lambda db: db.execute("SELECT error FROM mention_issues").fetchall()
        )
        assert error_text.startswith(type(error).__name__)
        assert await writer.run(count_unfiled) == 1
    finally:
        writer.close()


async def test_a_database_fault_in_filing_is_retried_and_nothing_is_kept_unfiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filing = Filing(monkeypatch, sqlite3.OperationalError("database is locked"), times=2)
    receipt, stored, cursor, kept, kept_here = await intake_run(tmp_path)

    assert stored == ["a", "b-POISON", "c"]
    assert sorted(filing.filed) == ["a", "b-POISON", "c"]  # filed once the fault cleared
    assert kept == []
    assert kept_here == 0
    assert cursor == "position-3"
    assert (receipt.stored, receipt.unfiled, receipt.failed) == (3, 0, 0)


def test_which_sqlite_errors_are_the_database_s_fault() -> None:
    assert database_fault(sqlite3.OperationalError("disk I/O error"))
    assert database_fault(sqlite3.OperationalError("database or disk is full"))
    assert database_fault(sqlite3.DatabaseError("database disk image is malformed"))
    assert not database_fault(sqlite3.ProgrammingError("Cannot operate on a closed cursor"))
    assert not database_fault(sqlite3.InterfaceError("bad parameter"))
    assert not database_fault(sqlite3.IntegrityError("constraint failed"))
    assert not database_fault(sqlite3.DataError("string or blob too big"))


async def test_refiling_a_mention_whose_filing_raises_an_sqlite_bug_goes_on_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refiling: the same bug is the mention's failure (tried once more, behind the others),
    not a database fault raised out of the round (which would take that mention first again
    at every round, and no other)."""
    Filing(monkeypatch, sqlite3.ProgrammingError("Incorrect number of bindings supplied"))
    await intake_run(tmp_path)
    db = open_database(tmp_path / "vigie.db")
    desk = IncidentDesk(EngineSetup(policy(), {BRAND.slug: BRAND.name}), event_time=False)
    assert refile(desk, db, AT) == 1
    [(attempts, error_text)] = db.execute("SELECT attempts, error FROM mention_issues").fetchall()
    assert attempts >= 2
    assert "ProgrammingError" in error_text


async def test_a_database_fault_while_storing_one_by_one_stores_and_counts_each_once(
    tmp_path: Path,
) -> None:
    """A batch falls back to one by one for a mention that cannot be stored, and the database
    is locked once meanwhile: the lock is waited out where it happened. Retrying the whole batch
    instead counted the mentions already stored as duplicates (the sender's receipt, the
    console and the metrics lost them) and the bad mention as failed twice."""
    from storage.mentions import save_batch
    from storage.unfiled import Stored

    locked = [True]

    def store(db: Any, scored: list[ScoredMention], positions: dict[str, str]) -> Stored:
        ids = [item.mention.native_id for item in scored]
        if "bad" in ids:
            raise ValueError("this mention cannot be stored")
        if ids == ["c"] and locked[0]:
            locked[0] = False
            raise sqlite3.OperationalError("database is locked")
        return Stored(save_batch(db, scored, positions))

    writer = Writer(tmp_path / "vigie.db")
    metrics = Metrics()
    shown: list[str] = []
    intake = Intake(
        InlineScorer([BRAND]),
        writer,
        metrics,
        capacity=100,
        batch_size=100,
        now=lambda: AT,
        store=store,
        sinks=[lambda fresh: shown.extend(item.mention.native_id for item in fresh)],
    )
    mentions = tuple(
        Mention("feed", i, f"Kestrel Mobile down again {i}", AT) for i in ["a", "bad", "c"]
    )
    done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
    run = asyncio.create_task(intake.run())
    try:
        await intake.submit(Envelope("feed", mentions, "p3", done))
        receipt = await asyncio.wait_for(done, 30)
    finally:
        intake.close()
        await asyncio.wait_for(run, 30)
    stored = sorted(row["native_id"] for row in await writer.run(find_mentions))
    writer.close()
    assert stored == ["a", "c"]
    assert (receipt.stored, receipt.duplicates, receipt.failed) == (2, 0, 1)
    assert sorted(shown) == ["a", "c"]
    assert metrics.registry.get_sample_value("vigie_mentions_stored_total") == 2
    assert metrics.registry.get_sample_value("vigie_mentions_duplicate_total") == 0
    assert intake.failed == 1
