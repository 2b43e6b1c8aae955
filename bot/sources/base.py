"""What every source is: something that runs, hears mentions and hands them to the inbox."""

from __future__ import annotations

from typing import Protocol

from bot.intake import Envelope


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
