"""What every source is: something that runs, hears mentions and hands them to the inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.intake import Envelope
from bot.model import Engagement, Mention
from bot.sources.polite import SourceError

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far past our clock an item may be dated and still be believed (a service's clock may be a
little ahead). Later than that, the date is wrong: the item is dated now."""


def not_in_future(mention: Mention, now: datetime) -> Mention:
    """``mention`` dated ``now`` when it claims a time past ``now`` + MAX_CLOCK_SKEW: one rule
    for every source (a wrong date would put it ahead of everything, and move cursors on)."""
    if mention.created_at <= now + MAX_CLOCK_SKEW:
        return mention
    return replace(mention, created_at=now)


class Inbox(Protocol):
    async def submit(self, envelope: Envelope) -> None:
        """Queue, waiting for room."""
        ...

    def offer(self, envelope: Envelope) -> bool:
        """Queue if there is room now."""
        ...


class Source(Protocol):
    name: str
    finite: bool
    """A finite source (a file) ends by itself; ``--exit-when-idle`` waits for those."""

    async def run(self, inbox: Inbox, position: str | None) -> None:
        """Hear mentions until done or cancelled, resuming after ``position`` (None: start)."""
        ...


@runtime_checkable
class EngagementReader(Protocol):
    """A source that can re-read how far its posts travel (for mentions in open incidents)."""

    async def engagement(self, mentions: Sequence[Mention]) -> dict[str, Engagement]:
        """Current counts by native id; posts it cannot see (deleted) are left out. A request
        failing after some counts were read raises :class:`EngagementCut` with them."""
        ...


class EngagementCut(SourceError):
    """A round of engagement readings broken off by a failed request (a rate limit, an
    outage): the counts read before it still count. ``reached``: how many of the mentions
    asked about came before the failing request (gone posts included), where the next round
    should start past."""

    def __init__(self, error: SourceError, counts: dict[str, Engagement], reached: int) -> None:
        super().__init__(
            str(error), retryable=error.retryable, wait=error.wait, status=error.status
        )
        self.counts = counts
        self.reached = reached


def cut_short(error: SourceError, counts: dict[str, Engagement], reached: int) -> SourceError:
    """What to raise when a request of an engagement round fails after ``reached`` of the
    mentions asked about: the counts read so far with it, when there are some."""
    return EngagementCut(error, counts, reached) if counts else error


@runtime_checkable
class Replier(Protocol):
    """A source that can post an approved reply under a mention it heard."""

    @property
    def can_reply(self) -> bool:
        """Whether it is set up to post (an account and its credentials)."""
        ...

    async def publish_reply(self, mention: Mention, text: str, *, key: str, at: datetime) -> str:
        """Post ``text`` under ``mention``; the reply's URL. Raises ``SourceError``.

        ``key`` and ``at`` (when it was approved) are the same on every attempt, so a retry after
        a lost answer finds the reply already there instead of posting it twice.
        """
        ...
