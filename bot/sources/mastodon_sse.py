"""Server-Sent Events, as Mastodon's streaming server writes them (no I/O).

``event: update`` then ``data: {...}`` then a blank line is one event; several ``data:`` lines
join with newlines; a line starting with ``:`` is a comment (``:)`` on connecting, ``:thump``
every 15 seconds) and only proves the connection alive. Lines end with LF or CRLF. Bytes arrive
in arbitrary chunks, so a line may be split across two reads.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 4 * 1024 * 1024
"""A line longer than this is not a status: the stream is broken (and memory is bounded)."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseError(ValueError):
    """The bytes are not an event stream."""


class SseParser:
    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""
        self._event = ""
        self._data: list[str] = []

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
            self._data.append(value)
        return None  # id and retry: Mastodon sends neither, and its streams cannot resume

    def _dispatch(self) -> SseEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        return SseEvent(event, "\n".join(data)) if data else None
