"""Where the incident engine's decisions go: the journal (storage, one transaction per call into
the engine) and the small helpers that turn a decision into an intent and an audit record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.incidents.cards import card_of, signature, title_of
from bot.incidents.model import AuditEntry, Incident, Intent, IntentKind, Silence

MentionRef = tuple[str, str]
ENGINE = "vigie"


class Journal(Protocol):
    """Storage as the engine sees it; every call of one engine operation shares a transaction."""

    def next_incident_id(self) -> int: ...
    def save_incident(self, incident: Incident) -> None: ...
    def audit(self, entry: AuditEntry) -> None: ...
    def enqueue(self, intent: Intent) -> None: ...
    def attach(self, incident_id: int, refs: Sequence[MentionRef]) -> None: ...
    def incident_holding(self, ref: MentionRef, among: Sequence[int]) -> int | None: ...
    def held_counts(self, refs: Sequence[MentionRef], among: Sequence[int]) -> dict[int, int]: ...
    def move_mentions(self, source_id: int, target_id: int) -> int: ...
    def note_overflow(self, key: tuple[str, str], at: datetime, ref: MentionRef) -> None: ...
    def attach_overflow(self, incident_id: int, key: tuple[str, str], since: datetime) -> None: ...
    def drop_overflow(self, key: tuple[str, str]) -> None: ...
    def save_groups(self, states: Sequence[dict[str, Any]], dropped: Sequence[str]) -> None: ...
    def save_clock(self, now: datetime) -> None: ...
    def save_silence(self, silence: Silence) -> None: ...
    def next_silence_id(self) -> int: ...


class Effects:
    """Intents and audit records of one engine operation, written through the journal."""

    def __init__(self, journal: Journal, brand_names: dict[str, str]) -> None:
        self.journal = journal
        self.brand_names = brand_names

    def audit(
        self, incident: Incident, at: datetime, action: str, detail: str = "", actor: str = ENGINE
    ) -> None:
        self.journal.audit(AuditEntry(incident.id, at, actor, action, detail))

    def emit(
        self,
        incident: Incident,
        kind: IntentKind,
        channel: tuple[str, str],
        at: datetime,
        text: str = "",
        mention: str = "",
    ) -> Incident:
        """Queue one notification; returns the incident with its intent counter moved on."""
        incident = replace(incident, intents=incident.intents + 1)
        name = self.brand_names.get(incident.brand, incident.brand)
        platform, target = channel
        self.journal.enqueue(
            Intent(
                key=f"incident-{incident.id}-{incident.intents}",
                incident_id=incident.id,
                kind=kind,
                platform=platform,
                channel=target,
                created_at=at,
                text=text or title_of(incident, name),
                card=card_of(incident, name),
                mention=mention,
            )
        )
        return incident

    def update_cards(self, incident: Incident, at: datetime, text: str = "") -> Incident:
        """Edit the card in every channel it was posted in, and say why in each thread."""
        for channel in incident.channels:
            incident = self.emit(incident, IntentKind.UPDATE, channel, at)
            if text:
                incident = self.emit(incident, IntentKind.THREAD, channel, at, text)
        return replace(incident, last_card_at=at, card_signature=signature(incident))
