"""A source that asks an API every so often (search, listings, feeds) and resumes from a cursor.

Subclasses say how to ask (``poll``); this loop handles the rest: the cursor stored with each
batch (a restart resumes where the stored mentions end), backoff with jitter on failure,
``Retry-After`` honoured, trouble reported once rather than in a loop (a poll that worked may
still report the part of it that did not: :meth:`PollingSource.trouble`), and recovery too.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.intake import Envelope
from bot.model import Mention
from bot.sources.base import Inbox
from bot.sources.polite import Backoff, SourceError, client_session, pause

logger = logging.getLogger(__name__)

Cursor = dict[str, Any]
Report = Callable[[str, str | None], None]  # (source name, trouble or None when fine again)


def no_report(name: str, trouble: str | None) -> None:
    """Default: trouble is only logged."""


def load_cursor(name: str, position: str | None) -> Cursor:
    """The stored position as a cursor. One of another shape (not JSON, not an object: the
    source was renamed, or changed type) is logged and read as none: a first run, not a crash
    at every restart."""
    if not position:
        return {}
    try:
        cursor = json.loads(position)
    except ValueError:
        cursor = None
    if not isinstance(cursor, dict):
        logger.warning(
            "source %s: stored position %.100r unreadable; starting as a first run", name, position
        )
        return {}
    return cursor


class PollingSource(ABC):
    finite = False

    def __init__(
        self, name: str, every: float, *, max_backoff: float = 300.0, report: Report = no_report
    ) -> None:
        self.name = name
        self.every = every
        self.backoff = Backoff(cap=max_backoff)
        self.report = report
        self._trouble: str | None = None

    @abstractmethod
    async def poll(
        self, session: aiohttp.ClientSession, cursor: Cursor
    ) -> tuple[list[Mention], Cursor]:
        """New mentions since ``cursor`` (oldest first), and the cursor after them."""

    def session(self) -> aiohttp.ClientSession:
        return client_session()

    async def run(self, inbox: Inbox, position: str | None) -> None:
        cursor = load_cursor(self.name, position)
        async with self.session() as session:
            while True:
                try:
                    mentions, cursor_after = await self.poll(session, cursor)
                except SourceError as error:
                    await pause(self._failed(error))
                    continue
                self._fine()
                if mentions or cursor_after != cursor:
                    position_after = json.dumps(cursor_after, sort_keys=True)
                    await inbox.submit(Envelope(self.name, tuple(mentions), position_after))
                cursor = cursor_after
                await pause(self.every)

    def _failed(self, error: SourceError) -> float:
        delay = self.backoff.next_delay(error.wait)
        if not error.retryable:
            delay = max(delay, self.backoff.cap)  # a refusal will not mend itself soon
        message = str(error)
        if message != self._trouble:
            logger.warning("source %s: %s; trying again in %.0fs", self.name, message, delay)
            self.report(self.name, message)
        self._trouble = message
        return delay

    def trouble(self) -> str | None:
        """What still fails after a poll that worked (a part of it); None: nothing."""
        return None

    def _fine(self) -> None:
        self.backoff.reset()
        trouble = self.trouble()
        if trouble != self._trouble:
            if trouble is None:
                logger.info("source %s: working again", self.name)
            self.report(self.name, trouble)
            self._trouble = trouble
