"""Mentions stored unscored are scored again when the service starts.

The pipeline failing on a mention is a bug of ours (``bot.unscored``); its fix comes with a new
version, so each start reads the mentions stored unscored back (as their source gave them) and
scores them once more, those tried least first. A mention scored now takes its score, language
and brands in its stored row and is filed into incidents as a fresh one would be, in the same
transaction; one the pipeline still fails on stays unscored, its attempt counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import sqlite_utils

from bot.incidents.desk import IncidentDesk
from bot.incidents.filing import file_or_keep
from bot.model import Mention, ScoredMention
from bot.workers import Failure, Outcome, Scorer
from storage.mentions import load_mention
from storage.unfiled import Key, rescored, still_unscored, unscored_keys
from storage.writer import Writer

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True, slots=True)
class Rescored:
    scored: int = 0  # now scored (and filed, or kept to be filed)
    failing: int = 0  # the pipeline still fails on them


async def rescore(
    scorer: Scorer, writer: Writer, desk: IncidentDesk, now: datetime, batch: int = BATCH
) -> Rescored:
    """Score the mentions stored unscored once more, ``batch`` at a time."""
    keys = await writer.run(unscored_keys)
    scored = failing = 0
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        mentions = await writer.run(partial(_load, keys=chunk))
        outcomes = await scorer.score(mentions, now) if mentions else []
        await writer.run(partial(_keep, desk, mentions=mentions, outcomes=outcomes, now=now))
        failing += sum(isinstance(outcome, Failure) for outcome in outcomes)
        scored += sum(not isinstance(outcome, Failure) for outcome in outcomes)
    if keys:
        logger.info(
            "%d mentions stored unscored were scored again: %d scored, %d still failing",
            len(keys),
            scored,
            failing,
        )
    return Rescored(scored, failing)


def _load(db: sqlite_utils.Database, keys: Sequence[Key]) -> list[Mention]:
    """The mentions as stored (one forgotten meanwhile by retention is left out)."""
    return [mention for key in keys if (mention := load_mention(db, *key)) is not None]


def _keep(
    desk: IncidentDesk,
    db: sqlite_utils.Database,
    mentions: Sequence[Mention],
    outcomes: Sequence[Outcome],
    now: datetime,
) -> None:
    fresh: list[ScoredMention] = []
    with desk.transaction(db):
        for mention, outcome in zip(mentions, outcomes, strict=True):
            if isinstance(outcome, Failure):
                logger.error("pipeline failed again on %r/%r: %s", *mention.key, outcome.error)
                still_unscored(db, mention.key, outcome.error)
                continue
            if rescored(db, outcome, mention.key) and outcome is not None:
                fresh.append(outcome)
        file_or_keep(desk, db, fresh, now)
