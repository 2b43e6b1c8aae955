"""More variants from a language model, when one is configured: asked in the background for each
new set of reply drafts, checked like any draft (length, language, banned phrases) and by the
model's own rules (``bot.drafts.screening``), then added to the set and its message. The product
works the same without it; a slow or failing model only means fewer variants."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlite_utils

from bot.clock import Clock
from bot.config.playbook import ReplyGeneratorSettings
from bot.drafts.compose import DraftText, detect_with
from bot.drafts.generator import LanguageModelGenerator
from bot.drafts.limits import limit_for
from bot.drafts.model import Decision, Draft, DraftKind, DraftState
from bot.drafts.planner import BrandVoice, refresh_messages
from bot.language import LanguageDetector
from bot.negativity import SUPPORTED_LANGUAGES
from bot.sources.polite import client_session
from storage import drafts as store
from storage.mentions import load_mention
from storage.writer import Writer

logger = logging.getLogger(__name__)


class DraftEnricher:
    def __init__(
        self,
        writer: Writer,
        settings: ReplyGeneratorSettings,
        voices: Mapping[str, BrandVoice],
        wake: Callable[[], object] = lambda: None,
        *,
        clock: Clock,
    ) -> None:
        self.writer = writer
        self.settings = settings
        self.voices = dict(voices)
        self.wake = wake
        self.clock = clock  # when variants are added: their "proposed" rows' time
        self.loop: asyncio.AbstractEventLoop | None = None
        self._detector: LanguageDetector | None = None
        self._tasks: set[asyncio.Task[int]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def wanted(self, set_id: int) -> None:
        """A new set of drafts was stored (called on the storage writer's thread)."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._start, set_id)

    def _start(self, set_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self.enrich(set_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def enrich(self, set_id: int) -> int:
        """Ask for variants of one set's reply; the number added."""
        try:
            return await self._enrich(set_id)
        except Exception:
            logger.exception("generated drafts for set %d failed; the set keeps its own", set_id)
            return 0

    async def _enrich(self, set_id: int) -> int:
        found = await self.writer.run(lambda db: _subject(db, set_id))
        if found is None:
            return 0
        brand, text, author, first = found
        voice = self.voices.get(brand)
        if voice is None:
            return 0
        drafts = await self.writer.run(lambda db: store.get_set(db, set_id))
        if drafts is None:
            return 0
        limit = limit_for(drafts.target.platform, drafts.target.limit)
        async with client_session() as session:
            generator = LanguageModelGenerator(
                session, self.settings, detect_language=self._detect(voice.languages)
            )
            texts = await generator.variants(
                brand_name=voice.name,
                playbook=voice.playbook,
                text=text,
                author=author,
                language=first.language,
                theme=first.theme,
                limit=limit,
                own=voice.accounts,
            )
        if not texts:
            return 0
        added = await self.writer.run(
            lambda db: _add(db, set_id, texts, voice.name, self.clock.now())
        )
        if added:
            self.wake()
        return added

    def _detect(self, languages: tuple[str, ...]) -> Callable[[str], str]:
        """The language check for one brand's drafts: one detector (its model loads once) that
        knows the languages Vigie scores, as the pipeline's does, whichever brand asked first;
        the brand's own languages are its preference."""
        if self._detector is None:
            self._detector = LanguageDetector(SUPPORTED_LANGUAGES)
        return detect_with(self._detector, languages)


def _subject(db: sqlite_utils.Database, set_id: int) -> tuple[str, str, str, Draft] | None:
    """What the model answers: the brand, the mention's whole text, its author, a draft of ours
    (for the language and theme)."""
    drafts = store.get_set(db, set_id)
    if drafts is None or drafts.kind is not DraftKind.REPLY:
        return None
    mention = load_mention(db, drafts.target.source, drafts.target.native_id)
    variants = store.drafts_in(db, set_id)
    if mention is None or not variants:
        return None
    return drafts.brand, mention.text, mention.author.handle, variants[0]


def _add(
    db: sqlite_utils.Database,
    set_id: int,
    texts: list[DraftText],
    brand_name: str,
    at: datetime,
) -> int:
    """Add the generated variants, unless a person already decided on this set. They expire
    with the set's own drafts; their "proposed" rows and the message's edit are dated ``at``,
    when they were added (the log lists rows as written: in time order)."""
    with db.atomic():
        drafts = store.get_set(db, set_id)
        variants = store.drafts_in(db, set_id)
        if drafts is None or not variants or any(not d.state.open for d in variants):
            return 0
        first = variants[0]
        now = max(at, first.created_at)  # never before the set they join
        next_id = store.next_id(db, "drafts")
        for offset, composed in enumerate(texts):
            draft = Draft(
                id=next_id + offset,
                set_id=set_id,
                incident_id=drafts.incident_id,
                brand=drafts.brand,
                variant=composed.variant,
                language=composed.language,
                theme=composed.theme,
                text=composed.text,
                state=DraftState.PROPOSED,
                created_at=first.created_at,
                expires_at=first.expires_at,
                notes=composed.notes,
            )
            store.save_draft(db, draft)
            store.record(
                db,
                Decision(
                    now,
                    "vigie",
                    "proposed",
                    draft.incident_id,
                    draft.id,
                    draft.text,
                    f"{draft.variant} (language model)",
                ),
            )
        refresh_messages(db, drafts, brand_name, now)
        return len(texts)
