"""Paged chat answers over a fixed window of time.

A list is read again for each page, so each page must read the same list: the first page fixes
its window (``--since`` and ``--until``, to the second, as the service clock had it) and the
"Next" hint carries both as times, never as durations; mentions heard meanwhile fall after
``--until`` and move nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

PAGE = 10
MAX_ROWS = 500  # a query never reads more (the storage writer serves everyone)


def moment(when: datetime) -> str:
    """A time as the hint writes it (and ``--since``/``--until`` read it): ISO 8601, UTC."""
    return f"{when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True, slots=True)
class Window:
    """Posts (or incidents) from ``since`` (None: from the start) to ``until``, both included."""

    since: datetime | None
    until: datetime

    @property
    def words(self) -> list[str]:
        """The window as command words that read back the same window."""
        since = ["--since", moment(self.since)] if self.since else []
        return [*since, "--until", moment(self.until)]

    def label(self) -> str:
        until = f"until {self.until:%Y-%m-%d %H:%M:%S} UTC"
        return f"since {self.since:%Y-%m-%d %H:%M} {until}" if self.since else until


@dataclass(frozen=True)
class Page:
    """Page ``number`` of ``lines``. ``cut``: how to narrow the list when it stopped at
    ``MAX_ROWS`` with more to read (its total is then unknown: "500+"); empty when whole."""

    lines: list[str]
    number: int
    cut: str = ""

    def render(self, title: str, command: str, following: str = "") -> str:
        """The page; ``command`` is the line that shows the list again (the window fixed),
        to which the hint adds ``page N``, unless ``following`` is the next page's line."""
        total = len(self.lines)
        if total == 0:
            return f"{title}: none."
        count = f"{total}+" if self.cut else str(total)
        note = f"\n(only the newest {total} are listed; {self.cut})" if self.cut else ""
        start = (self.number - 1) * PAGE
        shown = self.lines[start : start + PAGE]
        if not shown:
            return f"{title}: page {self.number} is past the end ({count} in all).{note}"
        head = f"{title} ({start + 1} to {start + len(shown)} of {count}):"
        following = following or f"{command} page {self.number + 1}"
        more = f"\nNext: `{following}`" if start + PAGE < total else ""
        return "\n".join([head, *shown]) + note + more
