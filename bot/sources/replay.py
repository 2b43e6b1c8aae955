"""Replaying a CSV or JSONL export, in event time, resumably.

``speed: 0`` replays as fast as the pipeline takes it; ``speed: 60`` plays an hour of event time per
minute. The position stored after each batch is the number of records read, so a restart skips
exactly what was stored. Malformed records are logged with their position and skipped; a file
whose columns are not the ones ``columns`` names fails the source before anything is read (every
record would be malformed, and the file would be recorded as read to the end), except an optional
field that a JSONL file's first records lack: exports often leave out empty keys, so that is a
warning.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import ReplaySourceSettings
from bot.intake import Envelope
from bot.model import Mention
from bot.records import REQUIRED_FIELDS, MalformedRecord, RecordMapper, expected_columns
from bot.sources.base import Inbox

logger = logging.getLogger(__name__)

CHUNK = 200  # records per envelope when replaying as fast as possible
REBASE_STEP_SECONDS = 300.0  # rebase_time shifts by whole five-minute bins
SAMPLE_RECORDS = 100  # a JSONL field absent from all the first records: misnamed?
csv.field_size_limit(1_000_000)
UNDECODABLE = "\udc00"
"""What bytes the file's encoding cannot read become: a lone surrogate, which no text decoded
strictly holds, so the record holding them is skipped as malformed rather than read garbled."""


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return UNDECODABLE, error.end


codecs.register_error("vigie.undecodable", _mark_undecodable)


class ReplayFileError(ValueError):
    """The file cannot be replayed as configured; the message says why, ``setting`` what to fix."""

    def __init__(self, message: str, setting: str = "path") -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class Position:
    records: int = 0
    offset_seconds: float | None = None  # the time shift of ``rebase_time``, kept across restarts

    def encode(self) -> str:
        return json.dumps({"records": self.records, "offset_seconds": self.offset_seconds})

    @classmethod
    def decode(cls, text: str | None) -> Position:
        """A stored position of another shape (the source was renamed or changed type) is
        logged and read as none: the file is replayed from its start (stored once)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            records, offset = int(data["records"]), data.get("offset_seconds")
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            logger.warning("replay: stored position %.100r unreadable; starting afresh", text)
            return cls()
        offset = float(offset) if isinstance(offset, int | float) else None
        return cls(max(0, records), offset)


class ReplaySource:
    finite = True

    def __init__(
        self,
        settings: ReplaySourceSettings,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_malformed: Callable[[str], None] = lambda source: None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.on_malformed = on_malformed
        self.mapper = RecordMapper(settings.name, settings.columns, clock.now)

    async def run(self, inbox: Inbox, position: str | None) -> None:
        start = Position.decode(position)
        if not self.settings.path.exists():
            raise FileNotFoundError(f"replay {self.name}: no such file {self.settings.path}")
        missing, found = missing_columns(self.settings)
        if missing:
            problem = describe_missing(self.settings, missing, found)
            raise ReplayFileError(f"replay {self.name}: {problem}; nothing was read")
        for field, column in unseen_columns(self.settings, found).items():
            logger.warning(
                "replay %s: no record among the first %d has %r; check columns.%s",
                self.name,
                SAMPLE_RECORDS,
                column,
                field,
            )
        if start.records:
            logger.info("replay %s: resuming after record %d", self.name, start.records)
        pace = _Pace(self.settings.speed)
        offset = start.offset_seconds
        if self.settings.rebase_time and offset is None:
            offset = self._offset_to_now()
        chunk: list[Mention] = []
        count = start.records
        progress = _Progress(self.name, start.records)
        for count, mention in self._records(start.records):
            progress.tick(count)
            if mention is None:
                continue
            if offset is not None:
                mention = _shifted(mention, offset)
            chunk.append(mention)
            if self.settings.speed > 0:
                await self.sleep(pace.delay_before(mention.created_at))
            if self.settings.speed > 0 or len(chunk) >= CHUNK:
                await inbox.submit(self._envelope(chunk, count, offset))
                chunk = []
        await inbox.submit(self._envelope(chunk, count, offset))
        if start.records and count == start.records:
            logger.info(
                "replay %s: already consumed (%d records); delete the database to replay it again",
                self.name,
                count,
            )
        else:
            logger.info("replay %s: finished after %d records", self.name, count)

    def _offset_to_now(self) -> float:
        """The shift that makes the file's last event happen in the last five minutes
        (``rebase_time``): a whole number of five-minute bins, so every run of a demo bins
        its events the same way and tells the same story."""
        times = [m.created_at for _, m in self._records(0, quiet=True) if m is not None]
        if not times:
            return 0.0
        shift = (self.clock.now() - max(times)).total_seconds()
        return shift - shift % REBASE_STEP_SECONDS

    def _envelope(self, chunk: list[Mention], count: int, offset: float | None) -> Envelope:
        return Envelope(self.name, tuple(chunk), Position(count, offset).encode())

    def _records(self, skip: int, quiet: bool = False) -> Iterator[tuple[int, Mention | None]]:
        """(records read so far, mention or None when malformed), after the first ``skip``."""
        encoding = self.settings.encoding
        with self.settings.path.open(
            encoding=encoding, errors="vigie.undecodable", newline=""
        ) as file:
            if self.settings.file_format == "csv":
                rows = _csv_rows(file, encoding)
            else:
                rows = _jsonl_rows(file, encoding)
            for number, (where, row) in enumerate(rows, start=1):
                if number <= skip:
                    continue
                try:
                    if isinstance(row, MalformedRecord):
                        raise row
                    yield number, self.mapper.mention(row)
                except MalformedRecord as error:
                    if quiet:
                        continue
                    logger.warning(
                        "replay %s: %s: skipped malformed record: %s", self.name, where, error
                    )
                    self.on_malformed(self.name)
                    yield number, None


def missing_columns(settings: ReplaySourceSettings) -> tuple[dict[str, str], list[str]]:
    """The columns the records should have (:func:`bot.records.expected_columns`) that the file
    lacks, as field -> column, and the columns it has. A CSV file is judged by its header, a
    JSONL file by its first ``SAMPLE_RECORDS`` records, and only for the required fields (an
    export often leaves out an empty key: see :func:`unseen_columns`); a file with neither
    lacks nothing yet. Raises ReplayFileError when the file cannot be read."""
    found = _columns_of(settings)
    absent = _absent(settings, found)
    if settings.file_format != "csv":
        absent = {field: column for field, column in absent.items() if field in REQUIRED_FIELDS}
    return absent, found


def unseen_columns(settings: ReplaySourceSettings, found: list[str]) -> dict[str, str]:
    """The optional fields ``columns`` maps that no record among a JSONL file's first ones has,
    as field -> column: worth a warning (a misnamed column?), not a failure."""
    if settings.file_format == "csv":
        return {}
    absent = _absent(settings, found)
    return {field: column for field, column in absent.items() if field not in REQUIRED_FIELDS}


def _absent(settings: ReplaySourceSettings, found: list[str]) -> dict[str, str]:
    expected = expected_columns(settings.columns)
    return {field: column for field, column in expected.items() if found and column not in found}


def _columns_of(settings: ReplaySourceSettings) -> list[str]:
    path, encoding = settings.path, settings.encoding
    try:
        with path.open(encoding=encoding, newline="") as file:
            found = _csv_header(file) if settings.file_format == "csv" else _jsonl_keys(file)
    except (UnicodeDecodeError, LookupError) as error:
        raise ReplayFileError(
            f"{path}: cannot read it as {encoding}: {error}", "encoding"
        ) from None
    except csv.Error as error:
        raise ReplayFileError(f"{path}: its header is not a CSV row: {error}") from None
    except OSError as error:
        raise ReplayFileError(f"{path}: cannot read it: {error.strerror}") from None
    return found


def describe_missing(
    settings: ReplaySourceSettings, missing: dict[str, str], found: list[str]
) -> str:
    """One line: which columns the file lacks, and which it has."""
    named = ", ".join(
        f"{column!r} (for {field})" if column != field else repr(column)
        for field, column in missing.items()
    )
    has = ", ".join(map(repr, found[:30])) + (", …" if len(found) > 30 else "")
    seen = "its header has" if settings.file_format == "csv" else "its first records have"
    return f"{settings.path.name} has no column {named}; {seen} {has}"


def column_problem(settings: ReplaySourceSettings) -> str | None:
    """Why the file's records cannot give the fields ``columns`` maps, or None."""
    missing, found = missing_columns(settings)
    return describe_missing(settings, missing, found) if missing else None


def _csv_header(file: Any) -> list[str]:
    return [name for name in next(csv.reader(file), []) if name]


def _jsonl_keys(file: Any) -> list[str]:
    keys: dict[str, None] = {}
    for line in itertools.islice((line for line in file if line.strip()), SAMPLE_RECORDS):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue  # malformed: logged and skipped when replayed
        if isinstance(record, dict):
            keys.update(dict.fromkeys(map(str, record)))
    return list(keys)


def _csv_rows(file: Any, encoding: str) -> Iterator[tuple[str, dict[str, Any] | MalformedRecord]]:
    """(where the row starts, the row or why it is malformed). A row the csv module refuses
    is one malformed row: the reader starts afresh on the next line."""
    reader = csv.DictReader(file)
    line = 1
    while True:
        where = f"line {line + 1}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over csv.field_size_limit, a NUL byte
            yield where, MalformedRecord(f"not a CSV row: {error}")
            continue
        finally:
            line = reader.line_num
        if None in row:
            yield where, MalformedRecord("more fields than the header has")
        elif any(UNDECODABLE in text for text in (*row, *row.values()) if isinstance(text, str)):
            yield where, MalformedRecord(f"bytes that are not {encoding}")
        else:
            yield where, row


def _jsonl_rows(file: Any, encoding: str) -> Iterator[tuple[str, dict[str, Any] | MalformedRecord]]:
    for line_number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        where = f"line {line_number}"
        if UNDECODABLE in line:
            yield where, MalformedRecord(f"bytes that are not {encoding}")
            continue
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as error:
            yield where, MalformedRecord(f"invalid JSON: {error.msg} at column {error.colno}")
        except (ValueError, RecursionError) as error:  # 5,000-digit numbers, deep nesting
            yield where, MalformedRecord(f"JSON this service does not read: {error}"[:300])


def _shifted(mention: Mention, offset_seconds: float) -> Mention:
    return replace(mention, created_at=mention.created_at + timedelta(seconds=offset_seconds))


class _Progress:
    """Says every so often how far a long replay has got."""

    EVERY_SECONDS = 10.0

    def __init__(self, name: str, start: int) -> None:
        self.name = name
        self.start = start
        self.started = self.last = time.monotonic()

    def tick(self, count: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.EVERY_SECONDS:
            self.last = now
            rate = (count - self.start) / (now - self.started)
            logger.info("replay %s: %d records read (%.0f/s)", self.name, count, rate)


class _Pace:
    """Maps event time to wall time at ``speed`` times real time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._anchor: tuple[datetime, float] | None = None

    def delay_before(self, event: datetime) -> float:
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (event, now)
            return 0.0
        first_event, first_wall = self._anchor
        due = first_wall + (event - first_event).total_seconds() / self.speed
        return max(0.0, due - now)
