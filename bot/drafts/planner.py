"""Proposing drafts as incidents are posted: for each of an incident's farthest-reaching
mentions a set of reply variants, and once it reaches the top level a holding statement in
each of the brand's languages its mentions use.
A post counted in several incidents (a brand's storm and a topic) gets one set per brand: none
where another incident's set for it is still live (open, approved or failed).

The planner runs in the transaction of the engine step whose card intents it reads, so drafts
and their messages are stored and queued together with the card they belong under. A set's
message goes into the card's thread: replies in the channel of the team that answers customers
(the lowest level's first notify target; an escalation's channel would repeat every one of
them), a holding statement in every channel the card is in (the escalated team's call too).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from bot.accounts import is_own
from bot.config.incidents import NotifyStep
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts.cards import drafts_card, drafts_title
from bot.drafts.compose import DraftError, DraftText, compose_replies, compose_statement
from bot.drafts.limits import Limit, limit_for
from bot.drafts.model import Decision, Draft, DraftKind, DraftSet, DraftState, Target
from bot.drafts.themes import THEME_OF_COMPLAINT
from bot.incidents.model import Intent, IntentKind
from storage import drafts as store
from storage.incidents import get_incident
from storage.outbox import enqueue

logger = logging.getLogger(__name__)

LIVE = ("pending", "open", "acknowledged")
EXCERPT = 280
STATEMENT_SHARE = 0.2  # a language of fewer of an incident's mentions gets no statement


@dataclass(frozen=True, slots=True)
class Reach:
    """Where a source's mentions live and whether Vigie can answer them there."""

    platform: str  # "" when the post's URL decides (replayed or forwarded posts)
    limit: int | None = None  # the instance's own limit, when it has one (Mastodon)
    can_publish: bool = False


class TargetRules:
    """Which platform (and length limit) a mention is answered on, by the source that heard it."""

    def __init__(self, reaches: Mapping[str, Reach], platform_of_url: Callable[[str], str]):
        self.reaches = dict(reaches)
        self.platform_of_url = platform_of_url

    def target(self, source: str, native_id: str, url: str, author: str, text: str) -> Target:
        reach = self.reaches.get(source, Reach(""))
        platform = reach.platform or self.platform_of_url(url)
        limit = limit_for(platform, reach.limit)
        excerpt = " ".join(text.split())
        if len(excerpt) > EXCERPT:
            excerpt = excerpt[: EXCERPT - 1].rsplit(" ", 1)[0] + "…"
        return Target(
            platform=platform,
            limit=limit.maximum,
            unit=limit.unit,
            source=source,
            native_id=native_id,
            url=url,
            author=author,
            excerpt=excerpt,
            can_publish=reach.can_publish,
        )


@dataclass(frozen=True, slots=True)
class BrandVoice:
    name: str
    playbook: Playbook
    languages: tuple[str, ...]
    accounts: frozenset[str] = frozenset()  # the brand's own, from bot.accounts.own_accounts

    def own(self, author: str) -> bool:
        """A post by the brand itself: never answered."""
        return is_own(author, self.accounts)


class DraftPlanner:
    def __init__(
        self,
        settings: ReplySettings,
        voices: Mapping[str, BrandVoice],
        rules: TargetRules,
        on_new_set: Callable[[int], object] = lambda set_id: None,
    ) -> None:
        self.settings = settings
        self.voices = dict(voices)
        self.rules = rules
        self.on_new_set = on_new_set  # e.g. ask a language model for more variants, later

    def plan(self, db: sqlite_utils.Database, intents: Sequence[Intent]) -> None:
        """Propose drafts for the incidents these card intents show, and post every set of
        theirs where their cards are."""
        if not self.settings.enabled or not intents:
            return
        now = max(intent.created_at for intent in intents)
        channels: dict[int, set[tuple[str, str]]] = {}
        brands: dict[int, str] = {}
        for intent in intents:  # every card of the step, in order: the drafts do not depend
            # on how mentions were batched into steps
            if intent.part or intent.kind not in (IntentKind.OPEN, IntentKind.UPDATE):
                continue
            if intent.card.get("status") not in LIVE or intent.card.get("brand") is None:
                continue
            incident_id = intent.incident_id
            if incident_id not in brands:
                brands[incident_id] = _brand_of(db, incident_id)
            voice = self.voices.get(brands[incident_id])
            if voice is None:
                continue
            self._propose(db, incident_id, brands[incident_id], voice, intent.card, now)
            channels.setdefault(incident_id, set()).add((intent.platform, intent.channel))
        for incident_id, where in channels.items():
            voice = self.voices[brands[incident_id]]
            self._post(db, incident_id, voice, sorted(where), now)

    def _propose(
        self,
        db: sqlite_utils.Database,
        incident_id: int,
        brand: str,
        voice: BrandVoice,
        card: dict[str, Any],
        now: datetime,
    ) -> None:
        sets = store.sets_of(db, incident_id)
        have = {(s.target.source, s.target.native_id) for s in sets if s.kind is DraftKind.REPLY}
        room = self.settings.max_mentions - len(have)
        for example in card.get("examples", []):
            source, native_id = example["key"]
            row = db.execute(
                "SELECT text, language, author_handle, url, sentiment FROM mentions "
                "WHERE source = ? AND native_id = ?",
                [source, native_id],
            ).fetchone()
            if row is None:
                continue
            text, language, author, url, sentiment = row
            if (source, native_id) in have or room <= 0 or voice.own(author or ""):
                continue
            if _in_play(db, brand, source, native_id, now):
                continue
            room -= 1
            target = self.rules.target(source, native_id, url or "", author or "", text)
            limit = limit_for(target.platform, target.limit)
            theme = THEME_OF_COMPLAINT.get(str(card.get("theme") or ""))
            texts = compose_replies(
                voice.playbook,
                voice.name,
                text=text,
                author=author or "",
                language=language or voice.languages[0],
                limit=limit,
                negative=sentiment not in ("neutral", "positive"),  # unknown: as before
                hint=theme if theme and theme != "general" else None,
            )
            self._save(db, incident_id, brand, DraftKind.REPLY, target, texts, now)
        if card.get("top_level") and not any(s.kind is DraftKind.STATEMENT for s in sets):
            self._statements(db, incident_id, brand, voice, card, now)

    def _statements(
        self,
        db: sqlite_utils.Database,
        incident_id: int,
        brand: str,
        voice: BrandVoice,
        card: dict[str, Any],
        now: datetime,
    ) -> None:
        """A holding statement in each of the brand's languages its mentions use (see
        :func:`statement_languages`), each its own set: approving one withdraws no other.
        Chosen once, when the incident first reaches the top level."""
        limits = _reply_limits(db, incident_id)
        theme = THEME_OF_COMPLAINT.get(str(card.get("theme") or ""), "general")
        texts: dict[str, DraftText] = {}
        for language in statement_languages(_languages_of(db, incident_id), voice.languages):
            try:
                text = compose_statement(
                    voice.playbook, voice.name, language=language, theme=theme, limit=limits
                )
            except DraftError as error:
                logger.warning("incident #%d: no holding statement: %s", incident_id, error)
                continue
            texts.setdefault(text.language, text)  # a fallback to a language already drafted
        for language, text in texts.items():
            # the only statement keeps the key a statement always had; several are told apart
            # (and headed) by their language
            key = language if len(texts) > 1 else ""
            limit = _tightest(limits, text.text)
            also = tuple((other.platform, other.maximum) for other in limits if other != limit)
            target = Target(
                platform=limit.platform,
                limit=limit.maximum,
                unit=limit.unit,
                native_id=key,
                also=also,  # an edit must fit them all, as the statement does
            )
            self._save(db, incident_id, brand, DraftKind.STATEMENT, target, [text], now)

    def _save(
        self,
        db: sqlite_utils.Database,
        incident_id: int,
        brand: str,
        kind: DraftKind,
        target: Target,
        texts: Iterable[DraftText],
        now: datetime,
    ) -> None:
        texts = [t for t in texts if t.text]
        if not texts:
            return
        drafts = DraftSet(store.next_id(db, "draft_sets"), incident_id, brand, kind, target, now)
        store.save_set(db, drafts)
        expires = now + timedelta(hours=self.settings.expire_after_hours)
        first = store.next_id(db, "drafts")
        for offset, composed in enumerate(texts):
            draft = Draft(
                id=first + offset,
                set_id=drafts.id,
                incident_id=incident_id,
                brand=brand,
                variant=composed.variant,
                language=composed.language,
                theme=composed.theme,
                text=composed.text,
                state=DraftState.PROPOSED,
                created_at=now,
                expires_at=expires,
                notes=composed.notes,
            )
            store.save_draft(db, draft)
            store.record(
                db,
                Decision(
                    now, "vigie", "proposed", incident_id, draft.id, draft.text, draft.variant
                ),
            )
        self.on_new_set(drafts.id)

    def _post(
        self,
        db: sqlite_utils.Database,
        incident_id: int,
        voice: BrandVoice,
        channels: Sequence[tuple[str, str]],
        now: datetime,
    ) -> None:
        first = _care_channel(db, incident_id)
        for drafts in store.sets_of(db, incident_id):
            where = channels
            if drafts.kind is DraftKind.REPLY and first is not None:
                where = [c for c in channels if c == first]
            new = [c for c in where if store.note_posted(db, drafts.id, *c)]
            if new:
                variants = store.drafts_in(db, drafts.id)
                card = drafts_card(drafts, variants, voice.name, store.install_id(db))
                for platform, channel in new:
                    enqueue(db, set_intent(db, drafts, card, platform, channel, now, post=True))


def set_intent(
    db: sqlite_utils.Database,
    drafts: DraftSet,
    card: dict[str, Any],
    platform: str,
    channel: str,
    at: datetime,
    *,
    post: bool,
) -> Intent:
    """The message of a set of drafts: posted in the card's thread, or edited in place."""
    number = store.next_intent(db, drafts.id, platform, channel)
    return Intent(
        key=f"{drafts.part}-{platform}:{channel}-{number}",
        incident_id=drafts.incident_id,
        kind=IntentKind.OPEN if post else IntentKind.UPDATE,
        platform=platform,
        channel=channel,
        created_at=at,
        text=drafts_title(card),
        card=card,
        part=drafts.part,
    )


def refresh_messages(
    db: sqlite_utils.Database, drafts: DraftSet, brand_name: str, at: datetime
) -> None:
    """Edit the set's message wherever it was posted (after a decision or a publication)."""
    card = drafts_card(drafts, store.drafts_in(db, drafts.id), brand_name, store.install_id(db))
    for platform, channel in store.posted_in(db, drafts.id):
        enqueue(db, set_intent(db, drafts, card, platform, channel, at, post=False))


def _in_play(
    db: sqlite_utils.Database, brand: str, source: str, native_id: str, at: datetime
) -> bool:
    """Whether the brand's drafts for this post, in any incident, are still live."""
    return any(draft.live(at) for draft in store.post_drafts(db, brand, source, native_id))


def _care_channel(db: sqlite_utils.Database, incident_id: int) -> tuple[str, str] | None:
    """Where replies are drafted: the channel of the lowest level's first notify target (the
    team that answers customers) when the card is there, else where it was first posted (an
    incident that opened straight at a higher level may not have reached it yet)."""
    incident = get_incident(db, incident_id)
    if incident is None or not incident.channels:
        return None
    for level in incident.policy.levels:
        for step in level.steps:
            if isinstance(step, NotifyStep):
                target = incident.policy.targets[step.notify]
                care = (target.platform, target.channel)
                return care if care in incident.channels else incident.channels[0]
    return incident.channels[0]


def _brand_of(db: sqlite_utils.Database, incident_id: int) -> str:
    row = db.execute("SELECT brand FROM incidents WHERE id = ?", [incident_id]).fetchone()
    return "" if row is None else str(row[0])


def statement_languages(counts: Mapping[str, int], brand_languages: Sequence[str]) -> list[str]:
    """The brand's languages that at least :data:`STATEMENT_SHARE` of the mentions with a
    known language use, the most common first; the brand's first language when none does."""
    known = sum(n for code, n in counts.items() if code not in ("", "und"))
    floor = max(1.0, STATEMENT_SHARE * known)
    used = [code for code in brand_languages if counts.get(code, 0) >= floor]
    return sorted(used, key=lambda code: -counts[code]) or list(brand_languages[:1])


def _languages_of(db: sqlite_utils.Database, incident_id: int) -> dict[str, int]:
    """How many of the incident's mentions are in each language (base codes: en-GB is en)."""
    rows = db.execute(
        "SELECT m.language FROM incident_mentions im JOIN mentions m "
        "ON m.source = im.source AND m.native_id = im.native_id WHERE im.incident_id = ?",
        [incident_id],
    ).fetchall()
    return dict(Counter(_base(str(language or "")) for (language,) in rows))


def _base(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-")[0]


def _reply_limits(db: sqlite_utils.Database, incident_id: int) -> list[Limit]:
    """A statement is posted from the brand's accounts by hand, so it must fit every platform
    the incident's replies go to (each counted its own way, a Mastodon instance's own maximum
    included) to be pasted anywhere the incident is discussed; X's when there are none yet."""
    sets = store.sets_of(db, incident_id)
    limits = {
        limit_for(s.target.platform, s.target.limit) for s in sets if s.kind is DraftKind.REPLY
    }
    return sorted(limits, key=lambda limit: (limit.maximum, limit.platform)) or [limit_for("x")]


def _tightest(limits: Sequence[Limit], text: str) -> Limit:
    """The limit ``text`` comes closest to: the one its set shows and an edit is counted on."""
    return max(limits, key=lambda limit: limit.length(text) / limit.maximum)
