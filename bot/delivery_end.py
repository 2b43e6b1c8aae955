"""Recording that an outbox item went out (or never will), with what waited on it.

Domain state that waits on a delivery (a published reply's draft) moves on in the transaction
that records the item's end, in a savepoint: if moving it on fails, the end is recorded all the
same (a delivered item recorded as unsent would be sent again), and what was left waiting is
settled again later (``Ending.resettle``: at start, and a while after such a failure).
"""

from __future__ import annotations

import logging
from typing import Protocol

import sqlite_utils

from storage.outbox import Ended, OutboxItem, mark_failed, mark_sent, note_after_delivery

logger = logging.getLogger(__name__)


class Settler(Protocol):
    """Domain state that waits on deliveries (a published reply's draft)."""

    def settle(
        self, db: sqlite_utils.Database, item: OutboxItem, ref: str, error: str | None
    ) -> None:
        """Called in the transaction that records an item's end, with the platform's ref and
        the error (None when it was delivered): what waits on it moves on here, so it can
        never disagree with the outbox."""
        ...

    def unsettled(self, db: sqlite_utils.Database) -> list[Ended]:
        """The items whose end is recorded but what waited on them has not moved on (its
        settling failed): settled again by ``Ending.resettle``."""
        ...


class Ending:
    def __init__(self, settler: Settler | None) -> None:
        self.settler = settler
        self.failed = 0  # deliveries recorded, but what waited on them did not move on
        self.error: str | None = None  # the last such failure

    def record(
        self, db: sqlite_utils.Database, item: OutboxItem, ref: str, error: str | None
    ) -> None:
        """Record that an item went out (or never will), with what waited on it."""
        with db.atomic():
            if error is None:
                mark_sent(db, item, ref)
            else:
                mark_failed(db, item.id, error, item.attempts)
            ended = Ended(item, ref, error)
            if self.settler is not None and not self._settled(db, self.settler, ended):
                self.failed += 1

    def resettle(self, db: sqlite_utils.Database) -> int:
        """Settle again what a failed settling left waiting; return how many moved on. Each in
        its own transaction; what fails again is counted and said (``failed``, ``error``)
        anew: the count is of items still waiting, however often this runs."""
        if self.settler is None:
            return 0
        moved = failed = 0
        for ended in self.settler.unsettled(db):
            with db.atomic():
                if self._settled(db, self.settler, ended):
                    moved += 1
                else:
                    failed += 1
        self.failed = failed
        if not failed:
            self.error = None
        if moved:
            logger.info("%d deliveries' follow-up moved on at last", moved)
        return moved

    def _settled(self, db: sqlite_utils.Database, settler: Settler, ended: Ended) -> bool:
        """Settle ``ended`` in a savepoint; False (logged and noted on the item) if it failed.
        A database error that undid the whole transaction is raised: nothing is recorded."""
        item = ended.item
        try:
            with db.atomic():
                settler.settle(db, item, ended.ref, ended.error)
        except Exception as failure:
            if not db.conn.in_transaction:
                raise
            said = f"{type(failure).__name__}: {failure}"
            logger.error(
                "outbox %s: recorded as %s, but what waited on it failed to move on: %s",
                item.intent.key,
                "sent" if ended.error is None else "failed",
                said,
                exc_info=failure,
            )
            note_after_delivery(db, item.id, said)
            self.error = f"{item.intent.key}: {said}"[:300]
            return False
        return True
