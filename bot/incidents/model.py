"""What an incident is, what it asks the chat platforms to do, and what it leaves in the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.config.incidents import IncidentPolicy


class Status(StrEnum):
    PENDING = "pending"  # grouping (group_wait) before the first notification
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    MERGED = "merged"

    @property
    def live(self) -> bool:
        return self in (Status.PENDING, Status.OPEN, Status.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class LevelChange:
    level: str
    at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class Chain:
    """Where an incident is in its current level's escalation steps."""

    level: int
    step: int = 0
    due: datetime | None = None  # a wait (or a hold) ends then; None: run now or finished
    started_at: datetime | None = None
    start_risk: int = 0
    start_negative: int = 0  # the hour's negative mentions when the level began
    held: str = ""  # why the chain is paused ("quiet hours", "snoozed"), "" when not
    unsnoozed_due: datetime | None = None  # when it would fall due had no snooze pushed it


def topic_label(topic: str) -> str:
    """A grouping key as people read it: 'storm', '#tag', 'link news.example/a', 'reply
    thread' (the key of a thread names a source and a post id nobody needs to see)."""
    if topic.startswith("url:"):
        return f"link {topic[4:]}"
    if topic.startswith("thread:"):
        return "reply thread"
    return topic


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    brand: str
    topic: str  # the grouping key within the brand: "storm", "#tag", "url:…", "thread:…"
    theme: str  # dominant complaint theme, for people and inhibition ("cancelled", "lost")
    status: Status
    level: int  # index into policy.levels
    policy: IncidentPolicy  # snapshot taken when it opened
    opened_at: datetime
    updated_at: datetime
    risk: int = 0
    peak_risk: int = 0
    peak_negative: int = 0  # the busiest hour's negative mentions: calm is well below it
    explanation: str = ""
    mention_count: int = 0
    last_mention_at: datetime | None = None
    levels: tuple[LevelChange, ...] = ()
    chain: Chain | None = None
    notified_at: datetime | None = None  # first notification; None while pending
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    ack_risk: int = 0  # risk when acknowledged (or last reminded): growth re-notifies the owner
    snoozed_until: datetime | None = None
    snoozed_by: str = ""
    calm_since: datetime | None = None
    last_card_at: datetime | None = None
    card_signature: str = ""  # what the last card showed; a change is worth an update
    last_reminder_at: datetime | None = None
    last_paged_at: datetime | None = None  # the last notify step that ran (reminders wait)
    resolved_at: datetime | None = None
    resolved_by: str = ""
    merged_into: int | None = None
    intents: int = 0  # intents issued so far: the next idempotency key's sequence number
    channels: tuple[tuple[str, str], ...] = ()  # (platform, channel) where its card was posted
    themes: dict[str, int] = field(default_factory=dict)
    trend: tuple[int, ...] = ()  # negative mentions per 5 minutes over the last hour
    examples: tuple[dict[str, Any], ...] = ()  # the farthest-reaching mentions (cards show them)
    joined: tuple[str, ...] = ()  # topics that joined it (replies to a post it holds)

    @property
    def level_name(self) -> str:
        return self.policy.levels[self.level].name

    @property
    def top_level(self) -> bool:
        return self.level == len(self.policy.levels) - 1


class IntentKind(StrEnum):
    OPEN = "open"  # post the incident's card in a channel
    UPDATE = "update"  # edit that card in place
    THREAD = "thread"  # a message in the card's thread
    RESOLVE = "resolve"  # edit the card to resolved, and say so in its thread
    NOTICE = "notice"  # a message about Vigie itself (a source in trouble), in no incident
    PUBLISH = "publish"  # an approved reply, to its source (platform "source:NAME")


@dataclass(frozen=True, slots=True)
class Intent:
    """One notification to deliver exactly once. ``key`` is its idempotency key."""

    key: str
    incident_id: int
    kind: IntentKind
    platform: str
    channel: str
    created_at: datetime
    text: str  # the one-line message (thread text, or the card's fallback text)
    card: dict[str, Any]  # platform-neutral card snapshot (see bot.incidents.cards)
    mention: str = ""
    part: str = ""  # "" for the card; else a message of its own in the card's thread
    # (OPEN posts it there, UPDATE edits it), such as a set of reply drafts


@dataclass(frozen=True, slots=True)
class AuditEntry:
    incident_id: int
    at: datetime
    actor: str  # "vigie" for the engine, else the person
    action: str  # opened, notified, escalated, acknowledged, held, inhibited, resolved…
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes what matches until ``expires_at``; an empty matcher field matches anything."""

    id: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    reason: str = ""
    brand: str = ""
    topic: str = ""
    author: str = ""
    source: str = ""

    def active(self, now: datetime) -> bool:
        return self.created_at <= now < self.expires_at

    def mutes_incident(self, incident: Incident, now: datetime) -> bool:
        if not self.active(now) or self.author or self.source:
            return False
        return (not self.brand or self.brand == incident.brand) and (
            not self.topic or self.topic.lower() == incident.topic.lower()
        )

    def mutes_mention(self, brand: str, author: str, source: str, now: datetime) -> bool:
        if not self.active(now) or not (self.author or self.source) or self.topic:
            return False
        return (
            (not self.brand or self.brand == brand)
            and (not self.author or self.author.lower().lstrip("@") == author.lower().lstrip("@"))
            and (not self.source or self.source == source)
        )
