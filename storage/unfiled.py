"""Mentions stored with a problem: not filed into incidents yet, or stored without a score.

Filing (the incident engine, then the reply-draft planner) runs after a batch's rows are saved,
in a savepoint of the same transaction. When it fails, only the filing is rolled back: the
mentions stay stored, and are kept here (``filing``) as they were scored, to be filed again
later (``bot.incidents.filing.refile``). A mention the pipeline failed on is stored unscored,
with the reason here (``scoring``), so it is never silently dropped, and scored again at the
next start (``bot.rescoring``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

from bot.model import (
    Author,
    Engagement,
    LanguageGuess,
    Mention,
    Negativity,
    ScoredMention,
    Sentiment,
)
from bot.unscored import unscored_reason
from storage.mentions import save_batch, timestamp
from storage.rows import build

logger = logging.getLogger(__name__)

FILING, SCORING = "filing", "scoring"
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a batch did: the mentions that were new, those of them not filed into
    incidents (kept to be filed later), and those that could not be stored at all."""

    fresh: list[ScoredMention]
    unfiled: frozenset[Key] = field(default_factory=frozenset)
    failed: frozenset[Key] = field(default_factory=frozenset)


def save_noted(
    db: sqlite_utils.Database,
    batch: Sequence[ScoredMention],
    positions: Mapping[str, str],
    same_link_sources: frozenset[str] = frozenset(),
) -> Stored:
    """``save_batch`` (``same_link_sources``: see there), noting why the new mentions stored
    unscored have no score."""
    with db.atomic():
        fresh = save_batch(db, batch, positions, same_link_sources)
        for scored in fresh:
            if (reason := unscored_reason(scored)) is not None:
                _note(db, scored, SCORING, reason, with_mention=False)
    return Stored(fresh)


def keep_unfiled(db: sqlite_utils.Database, scored: ScoredMention, error: str) -> None:
    """Keep a stored mention whose filing failed, to file it later."""
    _note(db, scored, FILING, error, with_mention=True)


def unfiled(db: sqlite_utils.Database, limit: int = 100) -> list[ScoredMention]:
    """Mentions waiting to be filed, those tried least first, then the oldest: one filing that
    keeps failing goes behind the others."""
    rows = db.execute(
        "SELECT source, native_id, scored, error FROM mention_issues WHERE stage = ? "
        "ORDER BY attempts, noted_at, rowid LIMIT ?",
        [FILING, limit],
    ).fetchall()
    kept = []
    for source, native_id, data, error in rows:
        try:
            kept.append(_scored(json.loads(data)))
        except UNREADABLE as why:
            _unreadable(db, (str(source), str(native_id)), str(error or ""), why)
    return kept


UNREADABLE = (ValueError, TypeError, KeyError, AttributeError)
"""What reading a kept mention this Vigie cannot read raises (bad JSON, a field it lacks …)."""
CANNOT_READ = "this Vigie cannot read the mention kept"
_said: set[tuple[Key, str]] = set()  # the unreadable mentions logged already, and why


def _unreadable(db: sqlite_utils.Database, key: Key, error: str, why: Exception) -> None:
    """A kept mention this Vigie cannot read: passed over, the others filed. It stays kept, as
    it was (a later version may read it), but counts as tried once more, so that those it can
    read go first: however many it cannot read, they never hold back the others."""
    said = f"{type(why).__name__}: {why}"[:200]
    if (key, said) not in _said:
        _said.add((key, said))
        logger.error("mention %r/%r kept unfiled cannot be read; passed over: %s", *key, said)
    if not error.startswith(CANNOT_READ):
        error = f"{CANNOT_READ} ({said})" + (f" | before: {error}" if error else "")
    still_unfiled(db, key, error)


def filed(db: sqlite_utils.Database, key: Key) -> None:
    """A kept mention was filed: it waits no more (in the filing's transaction)."""
    db.execute(
        "DELETE FROM mention_issues WHERE source = ? AND native_id = ? AND stage = ?",
        [*key, FILING],
    )


def still_unfiled(db: sqlite_utils.Database, key: Key, error: str) -> None:
    """Filing a kept mention failed again."""
    db.execute(
        "UPDATE mention_issues SET error = ?, attempts = attempts + 1 "
        "WHERE source = ? AND native_id = ? AND stage = ?",
        [error[:500], *key, FILING],
    )


def unscored_keys(db: sqlite_utils.Database) -> list[Key]:
    """The mentions stored without a score, those tried least first, then the oldest."""
    rows = db.execute(
        "SELECT source, native_id FROM mention_issues WHERE stage = ? "
        "ORDER BY attempts, noted_at, rowid",
        [SCORING],
    ).fetchall()
    return [(str(source), str(native_id)) for source, native_id in rows]


def rescored(db: sqlite_utils.Database, scored: ScoredMention | None, key: Key) -> bool:
    """A mention stored unscored was scored at last: its row takes the score, language and
    brands (``None``: it is about no brand after all, and stays neutral); it waits no more.
    False when the mention is no longer stored (retention forgot it meanwhile)."""
    still = False
    if scored is not None:
        language, negativity = scored.language, scored.negativity
        still = (
            db.execute(
                "UPDATE mentions SET language = ?, language_confidence = ?, negativity = ?, "
                "sentiment = ?, compound = ?, matched_terms = ? WHERE source = ? AND native_id = ?",
                [
                    language.code,
                    round(language.confidence, 4),
                    negativity.score,
                    negativity.sentiment.value,
                    negativity.compound,
                    orjson.dumps(scored.matched_terms).decode(),
                    *key,
                ],
            ).rowcount
            > 0
        )
    if still:
        assert scored is not None
        db.conn.executemany(
            "INSERT OR IGNORE INTO mention_brands (brand, source, native_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            [(brand, *key, timestamp(scored.mention.created_at)) for brand in scored.brands],
        )
    db.execute(
        "DELETE FROM mention_issues WHERE source = ? AND native_id = ? AND stage = ?",
        [*key, SCORING],
    )
    return still


def still_unscored(db: sqlite_utils.Database, key: Key, error: str) -> None:
    """Scoring a mention stored unscored failed again."""
    db.execute(
        "UPDATE mention_issues SET error = ?, attempts = attempts + 1 "
        "WHERE source = ? AND native_id = ? AND stage = ?",
        [error[:500], *key, SCORING],
    )


def count_unfiled(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT COUNT(*) FROM mention_issues WHERE stage = ?", [FILING]).fetchone()
    return int(row[0])


def _note(
    db: sqlite_utils.Database, scored: ScoredMention, stage: str, error: str, *, with_mention: bool
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO mention_issues (source, native_id, stage, error, attempts, "
        "noted_at, scored) VALUES (?, ?, ?, ?, 1, ?, ?)",
        [
            *scored.mention.key,
            stage,
            error[:500],
            timestamp(datetime.now(UTC)),
            json.dumps(_plain(scored), default=str) if with_mention else "",
        ],
    )


def _plain(scored: ScoredMention) -> dict[str, Any]:
    data = asdict(scored)
    data["mention"]["raw"] = dict(scored.mention.raw)
    return data


def _scored(data: dict[str, Any]) -> ScoredMention:
    mention = dict(data["mention"])
    mention["created_at"] = datetime.fromisoformat(mention["created_at"])
    mention["author"] = build(Author, mention["author"])
    mention["engagement"] = build(Engagement, mention["engagement"])
    negativity = dict(data["negativity"])
    negativity["sentiment"] = Sentiment(negativity["sentiment"])
    negativity["reasons"] = tuple(negativity["reasons"])
    return ScoredMention(
        build(Mention, mention),
        tuple(data["brands"]),
        tuple(data["matched_terms"]),
        build(LanguageGuess, data["language"]),
        build(Negativity, negativity),
        datetime.fromisoformat(data["received_at"]),
    )
