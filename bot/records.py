"""Turning a flat record (a CSV row, a JSONL line, a webhook item) into a :class:`Mention`.

One mapping for every tabular input, so a real export replays as is: ``columns`` names, for each
mention field, the record's key that holds it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from bot.model import Author, Engagement, Mention
from bot.sanitize import MAX_COUNT

MENTION_FIELDS = (
    "id",
    "text",
    "created_at",
    "url",
    "author",
    "author_name",
    "followers",
    "language",
    "reposts",
    "likes",
    "replies",
    "quotes",
    "parent_id",
)
REQUIRED_FIELDS = ("id", "text")
MAX_TEXT = 40_000


class MalformedRecord(ValueError):
    """A record that cannot become a mention; the message says which field and why."""


_MILLISECONDS_FROM = 1e11  # as seconds, the year 5138: such a number is milliseconds
_EARLIEST = 946_684_800  # 2000-01-01 in Unix seconds: before it, a number is not a post's time


def parse_time(value: Any) -> datetime:
    """ISO 8601 (``2015-02-16 23:36:05 -0800`` too) or Unix seconds or milliseconds.

    Naive times are taken as UTC. A string of digits is a Unix time even when it happens to
    read as a compact ISO 8601 date too ("1710061200000" is not the year 1710), unless it is
    too small to be one (see :func:`_unix_time`): ``20240310`` is then the 10th of March 2024.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedRecord(f"{value!r} is not a time")
    if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
        return _iso_time(value)
    try:
        return _unix_time(value)
    except MalformedRecord:
        if isinstance(value, str):
            with suppress(MalformedRecord):
                return _iso_time(value)
        raise


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _iso_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the last instant Python has
        raise MalformedRecord(f"{text!r} is out of range") from None
    except ValueError:
        raise MalformedRecord(
            f"{text!r} is not an ISO 8601 time or Unix seconds or milliseconds"
        ) from None


def _unix_time(value: int | float | str) -> datetime:
    """Unix seconds, or milliseconds when as seconds it would be past the year 5138."""
    try:
        seconds = float(value)
        if abs(seconds) >= _MILLISECONDS_FROM:
            seconds /= 1000
        moment = datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedRecord(
            f"{value!r} is not an ISO 8601 time or Unix seconds or milliseconds"
        ) from None
    if seconds < _EARLIEST:  # "2024" or 12 would be read as 1970
        raise MalformedRecord(
            f"{value!r} is not a time: as Unix seconds it is before 2000 (write ISO 8601, "
            "2024-03-10T09:00:00Z)"
        )
    return moment


def parse_count(value: Any) -> int:
    """A non-negative count; empty means 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise MalformedRecord(f"{value!r} is not a count")
    try:
        number = int(value) if not isinstance(value, str) else int(float(value.strip()))
    except (TypeError, ValueError, OverflowError):
        raise MalformedRecord(f"{value!r} is not a count") from None
    if number < 0:
        raise MalformedRecord(f"{value!r} is negative")
    if number > MAX_COUNT:
        raise MalformedRecord(f"{value!r} is larger than any count")
    return number


def parse_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise MalformedRecord("expected text, got a JSON object or list")
    return str(value).strip()


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "created_at": parse_time,
    "followers": parse_count,
    "reposts": parse_count,
    "likes": parse_count,
    "replies": parse_count,
    "quotes": parse_count,
}


def expected_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """Mention field -> the column every record of a file should have: the fields ``columns``
    renames (a name there is a promise about the file) and the required ones."""
    return {
        field: columns.get(field, field)
        for field in MENTION_FIELDS
        if field in columns or field in REQUIRED_FIELDS
    }


class RecordMapper:
    """Maps records of one source to mentions, with ``columns`` renaming fields."""

    def __init__(
        self, source: str, columns: Mapping[str, str], now: Callable[[], datetime]
    ) -> None:
        self.source = source
        self.columns = {field: columns.get(field, field) for field in MENTION_FIELDS}
        self.now = now

    def mention(self, record: Mapping[str, Any]) -> Mention:
        if not isinstance(record, Mapping):
            raise MalformedRecord(f"expected an object, got {type(record).__name__}")
        values = {field: self._field(record, field) for field in MENTION_FIELDS}
        for field in REQUIRED_FIELDS:
            if not values[field]:
                raise MalformedRecord(f"{self.columns[field]!r} is missing or empty")
        text = html.unescape(values["text"])
        if len(text) > MAX_TEXT:
            raise MalformedRecord(f"text is longer than {MAX_TEXT} characters")
        return Mention(
            source=self.source,
            native_id=values["id"],
            text=text,
            created_at=values["created_at"] or self.now(),
            url=values["url"],
            author=Author(values["author"].lstrip("@"), values["author_name"], values["followers"]),
            engagement=Engagement(
                values["reposts"], values["likes"], values["replies"], values["quotes"]
            ),
            language=values["language"].lower(),
            parent_id=values["parent_id"],
            raw=dict(record),
        )

    def _field(self, record: Mapping[str, Any], field: str) -> Any:
        column = self.columns[field]
        value = record.get(column)
        parser = _PARSERS.get(field)
        if parser is None:
            return parse_text(value)
        if value is None or value == "":
            return None if field == "created_at" else 0
        try:
            return parser(value)
        except MalformedRecord as error:
            raise MalformedRecord(f"{column!r}: {error}") from None
