"""Filing stored mentions into incidents without ever costing the mentions.

A batch's rows and sources' positions are saved first; filing them (the engine, then the
reply-draft planner) runs in a savepoint. If it fails (a bug: the database's errors are the
caller's to retry), the batch is filed mention by mention, so one mention the engine cannot file
holds back no other, and those that still fail are kept in ``mention_issues``. ``refile`` files
them later (at start, then now and then), each in the transaction that forgets it: never twice.
Those tried least go first, so mentions the engine can never file hold back no other either.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from bot.model import ScoredMention
from storage.unfiled import Key, count_unfiled, filed, keep_unfiled, still_unfiled, unfiled

if TYPE_CHECKING:
    from bot.incidents.desk import IncidentDesk

logger = logging.getLogger(__name__)


def _said(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def file_or_keep(
    desk: IncidentDesk, db: sqlite_utils.Database, fresh: Sequence[ScoredMention], now: datetime
) -> frozenset[Key]:
    """File ``fresh``; return the keys of those kept unfiled (inside the caller's transaction)."""
    error = desk.file(db, fresh, now)
    if error is None:
        if fresh:
            desk.fresh_failed_at = None
        return frozenset()
    logger.error(
        "filing %d stored mentions into incidents failed%s",
        len(fresh),
        "; filing them one by one" if len(fresh) > 1 else "",
        exc_info=error,
    )
    failed: dict[Key, Exception] = {}
    if len(fresh) == 1:
        failed[fresh[0].mention.key] = error
    elif fresh:
        for scored in fresh:
            if (one := desk.file(db, [scored], now)) is not None:
                failed[scored.mention.key] = one
    for scored in fresh:
        if (why := failed.get(scored.mention.key)) is not None:
            logger.error(
                "mention %r/%r not filed; kept to file later: %s", *scored.mention.key, why
            )
            keep_unfiled(db, scored, _said(why))
    if failed:
        desk.filing_error = _said(error)
        desk.unfiled = count_unfiled(db)
    if fresh:
        desk.fresh_failed_at = time.monotonic() if len(failed) == len(fresh) else None
    return frozenset(failed)


def refile(desk: IncidentDesk, db: sqlite_utils.Database, now: datetime, limit: int = 100) -> int:
    """File up to ``limit`` of the mentions kept unfiled, those tried least first, then the
    oldest, each in one transaction with forgetting it; return how many still wait.

    A mention that fails again goes behind those tried fewer times, so the next round takes
    others: however many the engine can never file, every mention gets its turn."""
    for scored in unfiled(db, limit):
        key = scored.mention.key
        with desk.transaction(db):  # fails after filing (the database): the engine reloads
            error = desk.file(db, [scored], now)
            if error is None:
                filed(db, key)
            else:
                still_unfiled(db, key, _said(error))
        if error is None:
            desk.fresh_failed_at = None  # filing works again
        else:
            desk.filing_error = _said(error)
    desk.unfiled = count_unfiled(db)
    if not desk.unfiled:
        desk.filing_error = None
    return desk.unfiled
