"""Publishing approved replies through the outbox, and what happens when the source answers.

An approval queues a ``publish`` intent for platform ``source:NAME``. The deliverer hands it to
:class:`SourcePublisher`, which loads the mention and calls the source's ``publish_reply``; the
intent carries an idempotency key (:func:`publication_key`: the draft and its text version) and
the approval time, so a retried or duplicated attempt never posts twice, while an edited text is
a new publication. :class:`DraftSettler` then records the outcome on the draft, in the same
transaction as the outbox marks the item done, and queues the edit of the drafts message; a
failure is also said in a new message of the card's thread, naming the approver: an edit
notifies nobody, and the customer has no reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlite_utils

from bot.delivery import MAY_BE_OUT, DeliveryError
from bot.drafts import rules
from bot.drafts.cards import PLATFORM_NAMES
from bot.drafts.model import Draft, DraftSet, DraftState, Target
from bot.drafts.planner import refresh_messages
from bot.incidents.cards import card_of
from bot.incidents.model import Intent, IntentKind
from bot.sources.base import Replier
from bot.sources.polite import SourceError
from storage import drafts as store
from storage.incidents import get_incident
from storage.mentions import load_mention
from storage.outbox import Ended, OutboxItem, ended_items, enqueue
from storage.writer import Writer

logger = logging.getLogger(__name__)

PREFIX = "source:"


def publication_key(draft: Draft, install: str = "") -> str:
    """What the source knows one publication by: the draft and its text version, so a retry of
    the same text is the same publication and an edited text a new one; ``install`` (this
    database's id) keeps two installations' (or a fresh database's) drafts apart."""
    origin = f"vigie-{install}" if install else "vigie"
    return f"{origin}-draft-{draft.id}-v{draft.version}"


def publish_key(draft: Draft) -> str:
    """The outbox key of a draft's current publication attempt (a Retry queues a new one)."""
    return f"publish-{draft.id}-{draft.publish_attempts}"


def publish_intent(draft: Draft, target: Target, at: datetime, install: str = "") -> Intent:
    return Intent(
        key=publish_key(draft),
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
            # set once per text version: an edit resets it, a retry keeps it
            "approved_at": (draft.decided_at or at).isoformat(),
            "key": publication_key(draft, install),
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
            raise DeliveryError(  # a 429: the source did nothing
                str(error),
                retryable=error.retryable,
                retry_after=error.wait,
                unsent=error.status == 429,
            ) from error

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None  # publishing again is safe: the key makes the source return the first reply


class DraftSettler:
    """Moves a draft on when its publication is done: published with its URL, or failed."""

    def __init__(self, brand_names: Mapping[str, str], now: Callable[[], datetime]) -> None:
        self.brand_names = dict(brand_names)
        self.now = now

    def settle(
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
        brand_name = self.brand_names.get(drafts.brand, drafts.brand)
        refresh_messages(db, drafts, brand_name, at)
        if error is not None:
            say_failed(db, drafts, outcome.changed[0], brand_name, at)

    def unsettled(self, db: sqlite_utils.Database) -> list[Ended]:
        """Publications that ended (sent or failed) while their draft still says "publishing":
        moving the draft on failed. Only a draft's current attempt counts (a Retry queues a new
        one, and the earlier, failed one means nothing for it any more)."""
        publishing = store.publishing(db)
        keys = [publish_key(draft) for draft in publishing]
        return ended_items(db, IntentKind.PUBLISH, keys, _intents(db, publishing, self.now()))


def _intents(db: sqlite_utils.Database, drafts: list[Draft], at: datetime) -> dict[str, Intent]:
    """The publications of ``drafts`` as queued (for an outbox row this Vigie cannot read)."""
    intents = {}
    for draft in drafts:
        if (drafts_set := store.get_set(db, draft.set_id)) is not None:
            intents[publish_key(draft)] = publish_intent(draft, drafts_set.target, at)
    return intents


def say_failed(
    db: sqlite_utils.Database, drafts: DraftSet, draft: Draft, brand_name: str, at: datetime
) -> None:
    """Post that a publication failed in the card's thread wherever its drafts are, naming the
    approver: the drafts message only changes in place, which notifies nobody. One message per
    attempt and channel (its key says which), however often this runs."""
    incident = get_incident(db, drafts.incident_id)
    if incident is None:
        return
    card = card_of(incident, brand_name)
    text = failure_text(drafts, draft)
    for platform, channel in store.posted_in(db, drafts.id):
        key = f"{drafts.part}-failed-{draft.id}-{draft.publish_attempts}-{platform}:{channel}"
        notice = Intent(
            key=key,
            incident_id=drafts.incident_id,
            kind=IntentKind.THREAD,
            platform=platform,
            channel=channel,
            created_at=at,
            text=text,
            card=card,
            mention=draft.decided_by,
        )
        enqueue(db, notice)


def failure_text(drafts: DraftSet, draft: Draft) -> str:
    """The thread message of a failed publication (after the approver's mention)."""
    target = drafts.target
    whom = f"@{target.author}" if target.author else "the post"
    where = PLATFORM_NAMES.get(target.platform, target.platform)
    then = (
        "Check the post first: if the reply is not there, use Retry"
        if MAY_BE_OUT in draft.reason
        else "The customer has no answer yet: use Retry"
    )
    return (
        f"The reply you approved to {whom} on {where} (draft {draft.id}) was not published: "
        f"{draft.reason.rstrip('. ')}. {then}, or Edit the text, on the drafts message, or post "
        "it by hand."
    )


def _plain_error(error: str) -> str:
    return " ".join(error.split())[:300]
