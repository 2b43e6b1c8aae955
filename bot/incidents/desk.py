"""The incident desk: the engine bound to storage, one transaction per step.

Stored mentions and the engine's decisions about them (incidents, audit, outbox) commit
together; if that transaction fails, the engine is reloaded from what storage holds, so memory
never runs ahead of the database. Filing stored mentions is a savepoint of its own: a bug in it
never costs the mentions (``bot.incidents.filing``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import sqlite_utils

from bot.incidents.engine import EngineSetup, IncidentEngine
from bot.incidents.filing import file_or_keep
from bot.incidents.model import Intent
from bot.model import ScoredMention
from storage.database import database_fault
from storage.incidents import SqliteJournal, load_engine_state
from storage.unfiled import Stored, save_noted

T = TypeVar("T")

logger = logging.getLogger(__name__)


class IncidentDesk:
    def __init__(self, setup: EngineSetup, *, event_time: bool) -> None:
        self.engine = IncidentEngine(setup)
        self.event_time = event_time
        self.on_intents: Callable[[], object] = lambda: None
        # what follows the cards of each step, in its transaction (reply drafts)
        self.after_step: Callable[[sqlite_utils.Database, list[Intent]], None] | None = None
        # live: when the clock last leapt forward, once (``SystemClock.leapt_from``)
        self.leaps: Callable[[], datetime | None] = lambda: None
        self._loaded = False
        self.unfiled = 0  # stored mentions waiting to be filed (as of the last step that knew)
        self.filing_error: str | None = None  # why the last filing failed, while any wait
        # when (time.monotonic()) filing a batch of new mentions last failed for all of them;
        # None once new mentions file: filing is broken, not just one mention it cannot file
        self.fresh_failed_at: float | None = None

    def load(self, db: sqlite_utils.Database) -> None:
        keep = self.engine.keeps_resolved()
        self.engine.restore(load_engine_state(db, keep, fallback=self.engine.policy))
        if not self.event_time:  # live: what happened while the service was down is unknown
            self.engine.started()
        self._loaded = True

    def store(
        self,
        db: sqlite_utils.Database,
        batch: Sequence[ScoredMention],
        positions: Mapping[str, str],
        now: datetime,
        same_link_sources: frozenset[str] = frozenset(),
    ) -> Stored:
        """Store a batch and file its new mentions into incidents, in one transaction. Filing
        runs in a savepoint: when it fails (a bug, not the database) only the filing is rolled
        back; the mentions and positions commit, and those not filed wait to be filed again
        (``bot.incidents.filing``). A database error undoes it all (the intake retries).
        ``same_link_sources``: see ``storage.mentions.save_batch``."""
        with self.transaction(db):
            stored = save_noted(db, batch, positions, same_link_sources)
            unfiled = file_or_keep(self, db, stored.fresh, now)
        return replace(stored, unfiled=unfiled)

    @contextmanager
    def transaction(self, db: sqlite_utils.Database) -> Iterator[None]:
        """One transaction holding steps (``file``) and what goes with them: if it fails, even
        after the steps, the engine is reloaded from storage before the next step, its memory
        holding what was rolled back."""
        if not self._loaded:
            self.load(db)
        try:
            with db.atomic():
                yield
        except BaseException:
            self._loaded = False
            raise
        self._committed(db)

    def file(
        self, db: sqlite_utils.Database, batch: Sequence[ScoredMention], now: datetime
    ) -> Exception | None:
        """File stored mentions (in a savepoint inside a transaction). An error that is not the
        database's is returned, not raised: the filing is rolled back, the engine reloaded.
        Only the savepoint's errors are the filing's: what follows it cannot fail it. SQLite
        errors that are bugs (a wrong binding: ``database_fault``) are the filing's too:
        raised, the caller would retry them for ever."""
        try:
            self._atomic(
                db, lambda journal: self.engine.ingest(journal, batch, now, self.event_time)
            )
        except sqlite3.Error as error:
            if database_fault(error):
                raise
            return error
        except Exception as error:
            return error
        return None

    def tick(self, db: sqlite_utils.Database, now: datetime) -> None:
        """Let time pass (live mode): bins close, waits end, reminders fall due."""
        self._atomic(db, lambda journal: self.engine.advance(journal, now))

    def note_spread(
        self,
        db: sqlite_utils.Database,
        predicted: dict[tuple[str, str], float],
        votes: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self._atomic(db, lambda journal: self.engine.note_spread(journal, predicted, votes))

    def act(self, db: sqlite_utils.Database, action: Callable[[SqliteJournal], T]) -> T:
        """Run a person's action (bot.incidents.actions) in one transaction."""
        return self._atomic(db, action)

    def _atomic(self, db: sqlite_utils.Database, work: Callable[[SqliteJournal], T]) -> T:
        if not self._loaded:
            self.load(db)
        if not self.event_time and (since := self.leaps()) is not None:
            self.engine.leapt(since)  # the machine slept: that time is not calm
        journal = SqliteJournal(db)
        before = db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        try:
            with db.atomic():
                result = work(journal)
                journal.flush()
                if self.after_step is not None and journal.enqueued:
                    self.after_step(db, journal.enqueued)
        except BaseException:
            self._loaded = False  # reload from storage before the next step
            raise
        self._committed(db)
        after = db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        if after != before:
            self._wake_deliverer()
        return result

    def _committed(self, db: sqlite_utils.Database) -> None:
        """A transaction committed (a savepoint released inside one did not); what the engine
        holds is stored unless a step inside it was rolled back (the engine reloads then)."""
        if self._loaded and not db.conn.in_transaction:
            self.engine.committed()

    def _wake_deliverer(self) -> None:
        """The step is done (committed, or its savepoint released): a failure to say so is no
        failure of the step, which must not be done again. The deliverer looks anyway."""
        try:
            self.on_intents()
        except Exception:
            logger.exception("new notifications are stored; waking the deliverer failed")
