"""Server-Sent Events, as Mastodon's streaming server writes them (no I/O).

``event: update`` then ``data: {...}`` then a blank line is one event; several ``data:`` lines
join with newlines; a line starting with ``:`` is a comment (``:)`` on connecting, ``:thump``
every 15 seconds) and only proves the connection alive. Lines end with LF or CRLF. Bytes arrive
in arbitrary chunks, so a line may be split across two reads. An event's data is bounded
(:data:`MAX_DATA`): a larger one is dropped, and the stream read on from the next blank line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_LINE = 4 * 1024 * 1024
"""A line longer than this is not a status: the stream is broken (and memory is bounded)."""
MAX_DATA = 1024 * 1024
"""Characters of one event's data: a status is a few KiB. A server sending ``data:`` lines
without the blank line that ends an event would otherwise fill memory; past this, the event is
dropped and the parser waits for the next blank line."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseError(ValueError):
    """The bytes are not an event stream."""


class SseParser:
    def __init__(self, max_line: int = MAX_LINE, max_data: int = MAX_DATA) -> None:
        self.max_line = max_line
        self.max_data = max_data
        self.dropped = 0
        """Events dropped for data over ``max_data``."""
        self._pending = b""
        self._event = ""
        self._data: list[str] = []
        self._size = 0  # characters in _data, with the newlines that will join them
        self._dropping = False  # the event is over max_data: its lines go until a blank one

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events ``chunk`` completes, in order."""
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self.max_line:
            raise SseError(f"a line longer than {self.max_line} bytes")
        events = []
        for raw in lines:
            event = self._line(raw.removesuffix(b"\r").decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._add_data(value)
        return None  # id and retry: Mastodon sends neither, and its streams cannot resume

    def _add_data(self, value: str) -> None:
        if self._dropping:
            return
        self._size += len(value) + 1
        if self._size <= self.max_data:
            self._data.append(value)
            return
        self.dropped += 1
        logger.warning(
            "event stream: an event with over %d characters of data dropped (%d so far); "
            "waiting for the next one",
            self.max_data,
            self.dropped,
        )
        self._data, self._dropping = [], True

    def _dispatch(self) -> SseEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data, self._size, self._dropping = "", [], 0, False
        return SseEvent(event, "\n".join(data)) if data else None
