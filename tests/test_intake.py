"""The intake: scored mentions are stored in order; one that cannot be stored stops nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from bot.intake import Envelope, Intake
from bot.metrics import Metrics
from bot.model import Brand, Mention, ScoredMention
from bot.workers import InlineScorer
from storage.cursors import load_cursor
from storage.mentions import find_mentions, save_batch
from storage.unfiled import Stored
from storage.writer import Writer

AT = datetime(2026, 3, 10, 9, tzinfo=UTC)


def picky_store(
    db: sqlite_utils.Database, scored: list[ScoredMention], positions: dict[str, str]
) -> Stored:
    """save_batch, failing (as no database error would) on the mention whose id is 'bad'."""
    if any(item.mention.native_id == "bad" for item in scored):
        raise ValueError("this mention cannot be stored")
    return Stored(save_batch(db, scored, positions))


async def test_one_mention_that_cannot_be_stored_is_skipped_and_the_rest_kept(
    tmp_path: Path,
) -> None:
    writer = Writer(tmp_path / "vigie.db")
    intake = Intake(
        InlineScorer([Brand("Kestrel Mobile", "kestrel-mobile")]),
        writer,
        Metrics(),
        capacity=100,
        batch_size=100,
        now=lambda: AT,
        store=picky_store,
    )
    mentions = tuple(
        Mention("feed", native_id, f"Kestrel Mobile down again {native_id}", AT)
        for native_id in ("a", "bad", "c")
    )
    done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    running = asyncio.create_task(intake.run())
    await intake.submit(Envelope("feed", mentions, "position-3", done))  # type: ignore[arg-type]
    receipt = await asyncio.wait_for(done, 10)
    intake.close()
    await asyncio.wait_for(running, 10)
    stored = await writer.run(find_mentions)
    cursor = await writer.run(lambda db: load_cursor(db, "feed"))
    writer.close()
    assert sorted(row["native_id"] for row in stored) == ["a", "c"]
    assert receipt.stored == 2  # type: ignore[attr-defined]
    assert receipt.failed == 1  # type: ignore[attr-defined]
    assert receipt.duplicates == 0  # type: ignore[attr-defined]  # not stored is no duplicate
    assert cursor == "position-3"  # the source goes on after the batch
