"""People's decisions on drafts, as chat platforms call them: async, one transaction each.

A decision reloads the draft, applies the rules (bot.drafts.rules), stores the drafts that
changed with their decision-log rows, queues the edit of the set's message everywhere it was
posted and, for an approval, the publication itself: all in one transaction, so a click is
never half done and a double click finds the draft already decided. An approval sees every
draft for the same post, in any incident, so a post never gets two replies; told which
sources can publish at this start (``publishes``), it is refused when the draft's cannot; the
two-person rule applies at the level of the draft's incident or of any it was merged into. An
edit into another language than the draft's is kept, and said; an edit is checked as it is
saved (stripped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import sqlite_utils

from bot.clock import Clock
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts import rules
from bot.drafts.cards import PLATFORM_NAMES
from bot.drafts.compose import banned_phrases, check, detect_with, other_language
from bot.drafts.limits import limit_for
from bot.drafts.model import Draft, DraftKind, DraftSet
from bot.drafts.planner import refresh_messages
from bot.drafts.publishing import publish_intent
from bot.drafts.rules import Name, Outcome
from bot.language import LanguageDetector
from storage import drafts as store
from storage.incidents import merge_group
from storage.outbox import enqueue
from storage.writer import Writer

TextCheck = Callable[[DraftSet, Draft, str], Sequence[str]]
Publishes = Callable[[str], bool]
"""Whether a source (by name) can publish at this start: its publisher is wired."""


def _plain(user: str) -> str:
    return user


def text_check(playbooks: Mapping[str, Playbook]) -> TextCheck:
    """The check of an edited or approved text: the platform's limit (measured as published,
    the author's handle included), the banned phrases, no placeholder left."""

    def checked(drafts: DraftSet, draft: Draft, text: str) -> list[str]:
        playbook = playbooks.get(drafts.brand)
        target = drafts.target
        limits = [(target.platform, target.limit), *target.also]  # a statement's: every one
        problems = [
            problem
            for platform, maximum in limits
            for problem in check(
                text,
                limit=limit_for(platform, maximum),
                language=draft.language,
                banned=banned_phrases(playbook) if playbook is not None else (),
                author=target.author,
            )
        ]
        return list(dict.fromkeys(problems))

    return checked


def merge_levels(db: sqlite_utils.Database, incident_id: int) -> list[str]:
    """The levels of incident ``incident_id`` and of every incident merged with it, whichever
    way: into the one its chain of merges ends in, or into it (a crisis merged into the watch
    incident holding the drafts). A merged incident keeps its own level while its drafts stay
    open: they are part of where it went."""
    return [incident.level_name for incident in merge_group(db, incident_id)]


def same_post(db: sqlite_utils.Database, drafts: DraftSet) -> list[Draft]:
    """The drafts that answer what ``drafts`` answers: for a reply, every draft of the brand
    for that post in any incident; for a holding statement, its own set's."""
    target = drafts.target
    if drafts.kind is DraftKind.STATEMENT:
        return store.drafts_in(db, drafts.id)
    return store.post_drafts(db, drafts.brand, target.source, target.native_id)


ELSEWHERE = (
    "That button was posted by an earlier Vigie database (it has been started afresh since): "
    "its draft is not this one's. Nothing was changed."
)


class DraftControl:
    def __init__(
        self,
        writer: Writer,
        clock: Clock,
        settings: ReplySettings,
        brand_names: Mapping[str, str],
        check_text: TextCheck,
        wake: Callable[[], object] = lambda: None,
        publishes: Publishes | None = None,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.writer = writer
        self.clock = clock
        self._install: str | None = None
        self.settings = settings
        self.brand_names = dict(brand_names)
        self.check_text = check_text
        self.wake = wake
        self.publishes = publishes  # None: a source that could publish when drafted still can
        self._detector = detector  # made on the first edit when not given

    async def install(self) -> str:
        """The database's own id, which draft buttons carry (``storage.drafts.install_id``)."""
        if self._install is None:
            self._install = await self.writer.run(store.install_id)
        return self._install

    async def from_elsewhere(self, install: str | None) -> bool:
        """Whether a button carrying ``install`` was posted for another database (one since
        started afresh, or another installation): its draft numbers mean other drafts here.
        Buttons posted before they carried it (None) cannot tell, and are taken as ours."""
        return bool(install) and install != await self.install()

    async def find(self, draft_id: int) -> tuple[Draft, DraftSet] | None:
        def read(db: sqlite_utils.Database) -> tuple[Draft, DraftSet] | None:
            draft = store.get_draft(db, draft_id)
            drafts = store.get_set(db, draft.set_id) if draft else None
            return (draft, drafts) if draft and drafts else None

        return await self.writer.run(read, urgent=True)  # a click waits on it

    async def problems(self, draft_id: int, text: str) -> list[str]:
        """What is wrong with ``text`` as the new text of a draft (empty: nothing), measured
        as it would be saved (``rules.saved_text``)."""
        found = await self.find(draft_id)
        if found is None:
            return [f"draft {draft_id} no longer exists"]
        draft, drafts = found
        return list(self.check_text(drafts, draft, rules.saved_text(text)))

    async def approve(
        self, draft_id: int, version: int | None, user: str, name: Name = _plain
    ) -> Outcome:
        def decide(db: sqlite_utils.Database, draft: Draft, drafts: DraftSet) -> Outcome:
            levels = merge_levels(db, draft.incident_id)
            return rules.approve(
                draft,
                same_post(db, drafts),
                user=user,
                at=self.clock.now(),
                version=version,
                two_person=any(level in self.settings.two_person_levels for level in levels),
                can_publish=drafts.target.can_publish,
                problems=self.check_text(drafts, draft, draft.text),
                cannot_publish=self.cannot_publish(drafts),
                name=name,
            )

        return await self._decide(draft_id, decide)

    def cannot_publish(self, drafts: DraftSet) -> str:
        """Why the source that should publish ``drafts``' reply cannot at this start (its
        credentials are missing, or it was renamed); "" when it can, or is not meant to."""
        target = drafts.target
        if not target.can_publish or self.publishes is None or self.publishes(target.source):
            return ""
        brand = self.brand_names.get(drafts.brand, drafts.brand)
        where = PLATFORM_NAMES.get(target.platform, target.platform)
        return (
            f"{brand}'s {where} source “{target.source}” cannot publish now (it is not set up "
            "to at this start: credentials missing, or the source renamed). Copy the text and "
            "post it by hand, or try again once it can."
        )

    async def edit(
        self, draft_id: int, version: int | None, user: str, text: str, name: Name = _plain
    ) -> Outcome:
        text = rules.saved_text(text)  # checked as it is saved

        def decide(db: sqlite_utils.Database, draft: Draft, drafts: DraftSet) -> Outcome:
            problems = self.check_text(drafts, draft, text)
            if problems:  # a form's check (the text is not saved), not a decision refused
                return Outcome(False, "Not saved: the text " + "; ".join(problems) + ".")
            return rules.edit(
                draft,
                user=user,
                at=self.clock.now(),
                version=version,
                text=text,
                reads_as=self.reads_as(text, draft.language),
                name=name,
            )

        return await self._decide(draft_id, decide)

    def reads_as(self, text: str, language: str) -> str:
        """The language ``text`` reads as when it is not ``language``; "" when it is, or when
        it is too short to tell (a close call goes to ``language``)."""
        if self._detector is None:
            self._detector = LanguageDetector()
        return other_language(text, language, detect_with(self._detector, (language,)))

    async def reject(
        self, draft_id: int, version: int | None, user: str, reason: str, name: Name = _plain
    ) -> Outcome:
        def decide(db: sqlite_utils.Database, draft: Draft, drafts: DraftSet) -> Outcome:
            return rules.reject(
                draft, user=user, at=self.clock.now(), version=version, reason=reason, name=name
            )

        return await self._decide(draft_id, decide)

    async def retry(self, draft_id: int, user: str, name: Name = _plain) -> Outcome:
        def decide(db: sqlite_utils.Database, draft: Draft, drafts: DraftSet) -> Outcome:
            return rules.retry(
                draft,
                same_post(db, drafts),
                user=user,
                at=self.clock.now(),
                problems=self.check_text(drafts, draft, draft.text),
                cannot_publish=self.cannot_publish(drafts),
                name=name,
            )

        return await self._decide(draft_id, decide)

    async def refused(
        self, draft_id: int, user: str, action: str, why: str, text: str = ""
    ) -> None:
        """Keep in the decision log that someone tried a decision they may not make, with
        ``text``: the text they saw or typed, or their reason ("" when not known)."""

        def work(db: sqlite_utils.Database) -> None:
            draft = store.get_draft(db, draft_id)
            if draft is not None:
                refusal = rules.refused(draft, action, why, user, self.clock.now(), text)
                for decision in refusal.decisions:
                    store.record(db, decision)

        await self.writer.run(work)

    async def _decide(
        self,
        draft_id: int,
        decide: Callable[[sqlite_utils.Database, Draft, DraftSet], Outcome],
    ) -> Outcome:
        def work(db: sqlite_utils.Database) -> Outcome:
            with db.atomic():
                draft = store.get_draft(db, draft_id)
                drafts = store.get_set(db, draft.set_id) if draft else None
                if draft is None or drafts is None:
                    return Outcome(False, f"Draft {draft_id} no longer exists.")
                outcome = decide(db, draft, drafts)
                apply(db, outcome, drafts, self.brand_names.get(drafts.brand, drafts.brand))
                return outcome

        outcome = await self.writer.run(work, urgent=True)
        if outcome.changed:
            self.wake()
        return outcome


def apply(db: sqlite_utils.Database, outcome: Outcome, drafts: DraftSet, brand_name: str) -> None:
    """Store what a decision changed and its log (a refusal's too), queue its publication and
    the edit of every set message it touched (other incidents' sets for the same post too)."""
    for decision in outcome.decisions:
        store.record(db, decision)
    if not outcome.changed:
        return
    changed = list(outcome.changed)
    if outcome.publish is not None:
        publish = replace(outcome.publish, publish_attempts=outcome.publish.publish_attempts + 1)
        changed = [publish if d.id == publish.id else d for d in changed]
        install = store.install_id(db)
        enqueue(db, publish_intent(publish, drafts.target, _now(outcome), install))
    for draft in changed:
        store.save_draft(db, draft)
    for set_id in sorted({draft.set_id for draft in changed}):
        touched = drafts if set_id == drafts.id else store.get_set(db, set_id)
        if touched is not None:
            refresh_messages(db, touched, brand_name, _now(outcome))


def _now(outcome: Outcome) -> datetime:
    return max(decision.at for decision in outcome.decisions)
