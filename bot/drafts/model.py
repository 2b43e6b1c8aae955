"""What a reply draft is, what people decide about it, and what the decision log keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DraftState(StrEnum):
    PROPOSED = "proposed"  # waiting for a decision (edited drafts too)
    PUBLISHING = "publishing"  # approved; the reply is in the outbox
    PUBLISHED = "published"  # the source has it; ``published_url`` says where
    APPROVED = "approved"  # approved where Vigie cannot publish: a person posts it by hand
    FAILED = "failed"  # approved, but the source refused it; a person may retry
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # another variant for the same post was approved

    @property
    def open(self) -> bool:
        return self is DraftState.PROPOSED

    @property
    def answers(self) -> bool:
        """Approved as the post's reply: being published, published, or handed to a person."""
        return self in (DraftState.PUBLISHING, DraftState.PUBLISHED, DraftState.APPROVED)


class DraftKind(StrEnum):
    REPLY = "reply"  # an answer under one mention
    STATEMENT = "statement"  # a public holding statement for a crisis


@dataclass(frozen=True, slots=True)
class Target:
    """What a set of drafts answers: one mention (a reply) or the incident (a statement)."""

    platform: str  # mastodon, bluesky, reddit, x, hackernews, web: decides the length limit
    limit: int
    unit: str  # characters, graphemes, weighted characters
    source: str = ""  # the source that heard the mention; "" for a statement
    native_id: str = ""
    url: str = ""
    author: str = ""
    excerpt: str = ""  # what the mention said, as the card quotes it
    can_publish: bool = False  # the source can post the reply itself
    also: tuple[tuple[str, int], ...] = ()  # a statement fits these too: (platform, limit)


@dataclass(frozen=True, slots=True)
class DraftSet:
    """The drafts for one target: one chat message with a section per variant."""

    id: int
    incident_id: int
    brand: str
    kind: DraftKind
    target: Target
    created_at: datetime

    @property
    def part(self) -> str:
        """The name of its message in an incident's thread (the outbox's ``part``)."""
        return f"drafts-{self.id}"


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    set_id: int
    incident_id: int
    brand: str
    variant: str  # apologetic, informative, dm, thanks, statement, generated…
    language: str
    theme: str
    text: str
    state: DraftState
    created_at: datetime
    expires_at: datetime
    version: int = 1  # each edit adds one; a button names the version its clicker saw
    notes: tuple[str, ...] = ()
    edited_by: str = ""
    edited_at: datetime | None = None
    decided_by: str = ""
    decided_at: datetime | None = None
    reason: str = ""  # why it was rejected, or why publishing failed
    published_url: str = ""
    published_at: datetime | None = None
    publish_attempts: int = 0

    def live(self, now: datetime) -> bool:
        """Still in play for its post: open or failed (to retry) and unexpired, or approved.
        A failed one left past its expiry no longer stops new drafts for the post (approving
        one of them makes Retry refuse: a post gets one reply)."""
        if self.state.open or self.state is DraftState.FAILED:
            return now < self.expires_at
        return self.state.answers


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of the decision log: who did what to which draft, and the exact text."""

    at: datetime
    actor: str  # a platform user id, or "vigie"
    action: str  # proposed, edited, approved, rejected, expired, published, publish_failed…
    incident_id: int
    draft_id: int | None
    text: str = ""
    detail: str = ""
