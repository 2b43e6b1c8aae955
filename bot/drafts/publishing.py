"""Publishing approved replies through the outbox, and what happens when the source answers.

An approval queues a ``publish`` intent for platform ``source:NAME``. The deliverer hands it to
:class:`SourcePublisher`, which loads the mention and calls the source's ``publish_reply``; the
intent carries an idempotency key and the approval time, so a retried or duplicated attempt
never posts twice. :class:`DraftSettler` then records the outcome on the draft, in the same
transaction as the outbox marks the item done, and queues the edit of the drafts message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlite_utils

from bot.delivery import DeliveryError
from bot.drafts import rules
from bot.drafts.model import Draft, DraftState, Target
from bot.drafts.planner import refresh_messages
from bot.incidents.model import Intent, IntentKind
from bot.sources.base import Replier
from bot.sources.polite import SourceError
from storage import drafts as store
from storage.mentions import load_mention
from storage.outbox import OutboxItem
from storage.writer import Writer

logger = logging.getLogger(__name__)

PREFIX = "source:"


def publish_intent(draft: Draft, target: Target, at: datetime) -> Intent:
    return Intent(
        key=f"publish-{draft.id}-{draft.publish_attempts}",
        incident_id=draft.incident_id,
        kind=IntentKind.PUBLISH,
        platform=PREFIX + target.source,
        channel=target.native_id,
        created_at=at,
        text=draft.text,
        card={
            "type": "publish",
            "draft": draft.id,
            "set": draft.set_id,
            "source": target.source,
            "native_id": target.native_id,
            "approved_at": (draft.decided_at or at).isoformat(),
            "key": f"vigie-draft-{draft.id}",  # one per draft: every attempt posts at most once
        },
    )


class SourcePublisher:
    """The deliverer's platform for one source that can reply."""

    def __init__(self, source: Replier, writer: Writer) -> None:
        self.source = source
        self.writer = writer

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        card = intent.card
        mention = await self.writer.run(
            lambda db: load_mention(db, card["source"], card["native_id"])
        )
        if mention is None:
            raise DeliveryError(
                f"mention {card['source']}/{card['native_id']} is not stored", retryable=False
            )
        try:
            return await self.source.publish_reply(
                mention,
                intent.text,
                key=card["key"],
                at=datetime.fromisoformat(card["approved_at"]),
            )
        except SourceError as error:
            raise DeliveryError(
                str(error), retryable=error.retryable, retry_after=error.wait
            ) from error

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None  # publishing again is safe: the key makes the source return the first reply


class DraftSettler:
    """Moves a draft on when its publication is done: published with its URL, or failed."""

    def __init__(self, brand_names: Mapping[str, str], now: Callable[[], datetime]) -> None:
        self.brand_names = dict(brand_names)
        self.now = now

    def __call__(
        self, db: sqlite_utils.Database, item: OutboxItem, ref: str, error: str | None
    ) -> None:
        intent = item.intent
        if intent.kind is not IntentKind.PUBLISH:
            return
        draft = store.get_draft(db, int(intent.card["draft"]))
        drafts = store.get_set(db, int(intent.card["set"]))
        if draft is None or drafts is None or draft.state is not DraftState.PUBLISHING:
            logger.warning("publication %s settled for a draft not publishing", intent.key)
            return
        at = self.now()
        if error is None:
            outcome = rules.published(draft, url=ref, at=at)
        else:
            outcome = rules.publish_failed(draft, error=_plain_error(error), at=at)
        for changed in outcome.changed:
            store.save_draft(db, changed)
        for decision in outcome.decisions:
            store.record(db, decision)
        refresh_messages(db, drafts, self.brand_names.get(drafts.brand, drafts.brand), at)


def _plain_error(error: str) -> str:
    return " ".join(error.split())[:300]
