"""The outbox: notifications decided but not yet delivered, and where delivered cards live.

Intents are written by the incident engine in the same transaction as the change that caused
them; the deliverer moves each through ``pending → sending → sent`` (or ``failed`` after its
last attempt, ``superseded`` when a newer edit of the same card makes it pointless).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.incidents.model import Intent, IntentKind
from storage.mentions import timestamp

logger = logging.getLogger(__name__)

LIVE_STATES = ("pending", "sending")
AFTER_DELIVERY = "after delivery: "
"""Before what went wrong once an item's end was recorded, in its ``last_error`` (after the
delivery's own error, for a failed item)."""
MAY_BE_OUT = "it may have been published"
"""Said by a failure whose attempt may have reached the platform (a publication's thread message
then says to check the post before retrying: ``bot.drafts.publishing.failure_text``)."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    intent: Intent
    state: str
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True, slots=True)
class Ended:
    """An item whose end is recorded: the platform's ref, and its error if it failed."""

    item: OutboxItem
    ref: str
    error: str | None


def enqueue(db: sqlite_utils.Database, intent: Intent) -> None:
    payload = {"text": intent.text, "card": intent.card, "mention": intent.mention}
    if intent.part:
        payload["part"] = intent.part
    db.execute(
        "INSERT OR IGNORE INTO outbox (key, incident_id, kind, platform, channel, created_at, "
        "payload, state, attempts, next_attempt_at, last_error, sent_at, ref) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, '', NULL, NULL)",
        [
            intent.key,
            intent.incident_id,
            intent.kind.value,
            intent.platform,
            intent.channel,
            timestamp(intent.created_at),
            json.dumps(payload, ensure_ascii=False, sort_keys=True),
        ],
    )


def _item(row: tuple[Any, ...]) -> OutboxItem:
    (item_id, key, incident_id, kind, platform, channel, created_at, payload, state, attempts,
     next_attempt_at) = row  # fmt: skip
    data = json.loads(payload)
    intent = Intent(
        key=key,
        incident_id=incident_id,
        kind=IntentKind(kind),
        platform=platform,
        channel=channel,
        created_at=datetime.fromisoformat(created_at),
        text=data["text"],
        card=data["card"],
        mention=data.get("mention", ""),
        part=data.get("part", ""),
    )
    return OutboxItem(item_id, intent, state, attempts, float(next_attempt_at or 0))


UNREADABLE = (ValueError, TypeError, KeyError, AttributeError)
"""What reading a row this Vigie cannot read raises (a kind it does not know, bad JSON …)."""
CANNOT_READ = "this Vigie cannot read this item"
_said: set[tuple[str, str]] = set()  # (key, why) of the unreadable items logged already


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:200]


def _say_unreadable(row: tuple[Any, ...], error: Exception, done: str) -> None:
    """Log an item this Vigie cannot read, once per item and reason."""
    said = (str(row[1]), _why(error))
    if said not in _said:
        _said.add(said)
        logger.error(
            "outbox item %s (key %r) cannot be read, %s: %s", row[0], row[1], done, said[1]
        )


def _set_aside(db: sqlite_utils.Database, row: tuple[Any, ...], error: Exception) -> bool:
    """An undelivered item this Vigie cannot read (an intent kind it does not know, a payload
    that is not JSON): marked failed, so it holds back neither its channel nor the others,
    its row kept as it was (its payload; the error it had, after the reason). True when it was
    marked (what waits on it, a publication's draft, is then settled: ``ended_items``)."""
    item_id, state = row[0], row[8]
    why = f"{CANNOT_READ} ({_why(error)}); not delivered by it"
    if state == "sending":  # an earlier start was delivering it
        why += f", though an earlier attempt may have gone out: {MAY_BE_OUT}"
    try:
        old = db.execute("SELECT last_error FROM outbox WHERE id = ?", [item_id]).fetchone()
        before = str(old[0] or "") if old else ""
        said = f"{why} | before: {before}" if before else why
        db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?",
            [said[:500], item_id],
        )
    except sqlite3.Error as failure:  # the next round tries again; the others go on meanwhile
        _say_unreadable(row, error, f"skipped (marking it failed failed: {failure})")
        return False
    _say_unreadable(row, error, "marked failed")
    return True


_COLUMNS = (
    "id, key, incident_id, kind, platform, channel, created_at, payload, state, attempts, "
    "next_attempt_at"
)


def live_items(
    db: sqlite_utils.Database, per_channel: int = 100, set_aside: list[str] | None = None
) -> list[OutboxItem]:
    """Undelivered items, oldest first: at most ``per_channel`` of each channel, so a channel
    that cannot be reached (its backlog waiting) never hides another channel's items. The
    kinds of the rows set aside (unreadable, marked failed) are added to ``set_aside``."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM ("
        f"SELECT {_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY platform, channel ORDER BY id) AS n "
        "FROM outbox WHERE state IN ('pending', 'sending')"
        ") WHERE n <= ? ORDER BY id",
        [per_channel],
    ).fetchall()
    items = []
    for row in rows:
        try:
            items.append(_item(row))
        except UNREADABLE as error:
            if _set_aside(db, row, error) and set_aside is not None:
                set_aside.append(str(row[3]))
    return items


def live_count(db: sqlite_utils.Database) -> int:
    """How many items are undelivered."""
    row = db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")
    return int(row.fetchone()[0])


def mark_sending(db: sqlite_utils.Database, item_id: int) -> None:
    """Before calling the platform: after a crash, a 'sending' item may have gone out."""
    db.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?", [item_id]
    )


def mark_sent(db: sqlite_utils.Database, item: OutboxItem, ref: str) -> None:
    with db.atomic():
        db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, ref = ?, last_error = '' WHERE id = ?",
            [timestamp(datetime.now(UTC)), ref, item.id],
        )
        intent = item.intent
        if intent.kind is IntentKind.OPEN and ref and intent.part:
            db.execute(
                "INSERT OR REPLACE INTO message_parts (incident_id, platform, channel, part, ref) "
                "VALUES (?, ?, ?, ?, ?)",
                [intent.incident_id, intent.platform, intent.channel, intent.part, ref],
            )
        elif intent.kind is IntentKind.OPEN and ref:
            db.execute(
                "INSERT OR REPLACE INTO alerts (incident_id, platform, channel, ref, posted_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    intent.incident_id,
                    intent.platform,
                    intent.channel,
                    ref,
                    timestamp(datetime.now(UTC)),
                ],
            )
        elif intent.kind is IntentKind.UPDATE and ref and not intent.part:
            # a card someone deleted is posted again by its edit (Slack): edits and threads go
            # to the new one from now on, after a restart too
            db.execute(
                "UPDATE alerts SET ref = ? WHERE incident_id = ? AND platform = ? AND channel = ? "
                "AND ref != ?",
                [ref, intent.incident_id, intent.platform, intent.channel, ref],
            )


def mark_retry(
    db: sqlite_utils.Database,
    item_id: int,
    error: str,
    at: float,
    attempts: int,
    *,
    state: str | None = None,
) -> None:
    """Try again at ``at``, after ``attempts`` attempts, in ``state`` (None: as it is). An item
    left 'sending' (a timeout or a 5xx may have delivered it) makes the next attempt ask the
    platform first; one the platform certainly did not take (a 429) goes back to 'pending'."""
    if state not in (None, *LIVE_STATES):
        raise ValueError(f"not a live state: {state!r}")
    db.execute(
        "UPDATE outbox SET last_error = ?, next_attempt_at = ?, attempts = MAX(attempts, ?), "
        "state = COALESCE(?, state) WHERE id = ?",
        [error[:500], at, attempts, state, item_id],
    )


def mark_failed(db: sqlite_utils.Database, item_id: int, error: str, attempts: int = 0) -> None:
    db.execute(
        "UPDATE outbox SET state = 'failed', last_error = ?, attempts = MAX(attempts, ?) "
        "WHERE id = ?",
        [error[:500], attempts, item_id],
    )


def note_after_delivery(db: sqlite_utils.Database, item_id: int, error: str) -> None:
    """Say what went wrong once an item's end was recorded (what waited on it failed to move
    on), after the delivery's own error if it failed, which is kept (it is the failure's
    reason), without changing its state."""
    row = db.execute("SELECT last_error FROM outbox WHERE id = ?", [item_id]).fetchone()
    own = delivery_error(str(row[0] or "")) if row else ""
    said = f"{own[:300]} | {AFTER_DELIVERY}{error}" if own else f"{AFTER_DELIVERY}{error}"
    db.execute("UPDATE outbox SET last_error = ? WHERE id = ?", [said[:500], item_id])


def delivery_error(last_error: str) -> str:
    """The delivery's own error in an item's ``last_error``, without what was noted after."""
    own, _, _ = last_error.partition(AFTER_DELIVERY)
    return own.removesuffix(" | ")


def ended_items(
    db: sqlite_utils.Database,
    kind: IntentKind,
    keys: Sequence[str],
    rebuilt: Mapping[str, Intent] | None = None,
) -> list[Ended]:
    """The items of ``kind`` among ``keys`` whose end is recorded (sent or failed), oldest first,
    each with the platform's ref and, if it failed, its delivery's own error. A row this Vigie
    cannot read has the intent ``rebuilt`` gives for its key (what waits on it knows what it
    was), or is passed over."""
    rows = db.execute(
        f"SELECT {_COLUMNS}, ref, last_error FROM outbox "
        "WHERE kind = ? AND key IN (SELECT value FROM json_each(?)) "
        "AND state IN ('sent', 'failed') ORDER BY id",
        [kind.value, json.dumps(list(keys))],
    ).fetchall()
    ended = []
    for row in rows:
        try:
            item = _item(row[:-2])
        except UNREADABLE as why:  # already ended: nothing to mark
            if (intent := (rebuilt or {}).get(str(row[1]))) is None:
                _say_unreadable(row, why, "passed over")
                continue
            item = OutboxItem(row[0], intent, str(row[8]), int(row[9] or 0), 0.0)
        failed = item.state == "failed"
        error = (delivery_error(str(row[-1] or "")) or "it failed") if failed else None
        ended.append(Ended(item, str(row[-2] or ""), error))
    return ended


def mark_superseded(db: sqlite_utils.Database, item_id: int) -> None:
    db.execute("UPDATE outbox SET state = 'superseded' WHERE id = ?", [item_id])


def due_now(db: sqlite_utils.Database, platform: str) -> int:
    """Make a platform's waiting items due at once (what they waited for has arrived)."""
    cursor = db.execute(
        "UPDATE outbox SET next_attempt_at = 0 WHERE platform = ? AND state IN ('pending', "
        "'sending') AND next_attempt_at > 0",
        [platform],
    )
    return max(0, cursor.rowcount)


def card_ref(
    db: sqlite_utils.Database, incident_id: int, platform: str, channel: str
) -> str | None:
    """The platform's id of the incident's card in a channel, once it was posted."""
    row = db.execute(
        "SELECT ref FROM alerts WHERE incident_id = ? AND platform = ? AND channel = ?",
        [incident_id, platform, channel],
    ).fetchone()
    return None if row is None else str(row[0])


def part_ref(
    db: sqlite_utils.Database, incident_id: int, platform: str, channel: str, part: str
) -> str | None:
    """The platform's id of a message of the card's thread (``Intent.part``), once posted."""
    row = db.execute(
        "SELECT ref FROM message_parts "
        "WHERE incident_id = ? AND platform = ? AND channel = ? AND part = ?",
        [incident_id, platform, channel, part],
    ).fetchone()
    return None if row is None else str(row[0])


def ref_for(db: sqlite_utils.Database, intent: Intent) -> str | None:
    """What a delivery of ``intent`` builds on: the card (to edit it, or to post in its thread),
    or the thread message it edits; nothing for a new card or a published reply."""
    if intent.kind in (IntentKind.PUBLISH, IntentKind.NOTICE):
        return None
    if intent.part and intent.kind is not IntentKind.OPEN:
        return part_ref(db, intent.incident_id, intent.platform, intent.channel, intent.part)
    if intent.kind is IntentKind.OPEN and not intent.part:
        return None
    return card_ref(db, intent.incident_id, intent.platform, intent.channel)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {
        state: int(count)
        for state, count in db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
    }
