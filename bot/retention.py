"""Forgetting old mentions in the background (``storage.keep_days``; see ``storage.retention``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial

from bot.clock import Clock
from storage.retention import BATCH, EXAMINED_ALL, Pruned, prune_batch
from storage.writer import Writer

logger = logging.getLogger(__name__)

EVERY_SECONDS = 6 * 3600.0


async def forget_old(
    writer: Writer, clock: Clock, keep: timedelta, every: float = EVERY_SECONDS
) -> None:
    """Every ``every`` seconds (and at once), delete what is older than ``keep`` on the
    service's clock, one batch per writer turn so mentions arriving meanwhile are not held up."""
    while True:
        try:
            pruned = await forget_once(writer, clock.now() - keep)
        except Exception:
            logger.exception("forgetting old mentions failed; trying again later")
        else:
            if pruned.total:
                logger.info(
                    "forgot %d mentions, %d engagement readings and %d delivered notifications "
                    "older than %d days (storage.keep_days)",
                    pruned.mentions,
                    pruned.observations,
                    pruned.outbox,
                    keep.days,
                )
        await asyncio.sleep(every)


async def forget_once(writer: Writer, before: datetime) -> Pruned:
    """Delete everything older than ``before`` that may go, batch after batch."""
    total, after = Pruned(), None
    while True:
        pruned = await writer.run(partial(prune_batch, before=before, limit=BATCH, after=after))
        total += pruned
        if not pruned.more:
            return total
        after = pruned.mentions_after or EXAMINED_ALL
