"""``python -m bot score``: add language, negativity and sentiment columns to a CSV file.

The output is written whole or not at all (:mod:`bot.output_file`), so it may name the input, and
a file that turns out to be malformed half-way leaves nothing behind.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bot.language import LanguageDetector
from bot.negativity import NegativityScorer
from bot.output_file import replacing

ADDED_COLUMNS = ("lang", "negativity", "sentiment")
CHUNK = 1000
ENCODING = "utf-8-sig"  # Excel's "CSV UTF-8" starts with a byte order mark


class ScoreFileError(ValueError):
    """The input cannot be scored; the message names the file (and the line) and why."""


class ScoreArgumentError(ScoreFileError):
    """The command names something the file does not have (``--text-column``)."""


def score_file(
    source: Path,
    target: Path,
    text_column: str,
    languages: Sequence[str],
    console: Console,
) -> int:
    """Score every row of ``source`` into ``target``; returns the number of rows."""
    scorer = NegativityScorer()
    detector = LanguageDetector(scorer.languages)
    csv.field_size_limit(1_000_000)
    if not source.is_file():
        raise ScoreFileError(f"{source}: no such file")
    with (
        _progress(console) as progress,
        # the progress bar follows the bytes read, so it needs no first pass to count rows
        progress.open(
            source, "r", encoding=ENCODING, newline="", description=f"scoring {source.name}"
        ) as infile,
        replacing(target) as scratch,
        scratch.open("w", encoding="utf-8", newline="") as outfile,
    ):
        reader = _Rows(source, infile)
        fields = reader.header(text_column)
        writer = csv.DictWriter(
            outfile, fieldnames=fields + [c for c in ADDED_COLUMNS if c not in fields]
        )
        writer.writeheader()
        rows = 0
        # languages a chunk at a time: fastText is twice as fast when its tables stay in
        # the CPU cache, rather than alternating with the scorer (bench/eval_scoring.py)
        while chunk := list(itertools.islice(reader, CHUNK)):
            texts = [row.get(text_column) or "" for row in chunk]
            guesses = detector.detect_many(texts, languages)
            for row, text, language in zip(chunk, texts, guesses, strict=True):
                negativity = scorer.score(text, language)
                row.update(
                    lang=language.code,
                    negativity=f"{negativity.score:.4f}",
                    sentiment=negativity.sentiment.value,
                )
                writer.writerow(row)
            rows += len(chunk)
    return rows


class _Rows:
    """The input's rows as dicts; whatever is wrong with the file, one error naming the line."""

    def __init__(self, source: Path, file: TextIO) -> None:
        self.source = source
        self.reader = csv.DictReader(file)

    def header(self, text_column: str) -> list[str]:
        with self._reading():
            fields = list(self.reader.fieldnames or [])
        if not fields:
            raise ScoreFileError(
                f"{self.source}: the file is empty; expected a header row naming the columns, "
                f"{text_column!r} among them"
            )
        if text_column not in fields:
            raise ScoreArgumentError(
                f"{self.source}: no column {text_column!r} (--text-column); "
                f"the columns are: {', '.join(map(repr, fields))}"
            )
        return fields

    def __iter__(self) -> Iterator[dict[str, str]]:
        width = len(self.reader.fieldnames or [])
        while True:
            with self._reading():
                row = next(self.reader, None)
            if row is None:
                return
            extra = row.pop(None, None)
            if extra is not None:
                raise ScoreFileError(
                    f"{self.source}: line {self.reader.line_num}: {width + len(extra)} fields "
                    f"where the header has {width} (a comma in a field that is not quoted?)"
                )
            yield row

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """What the csv module and the decoder raise, as one error naming the line."""
        try:
            yield
        except UnicodeDecodeError as error:
            raise ScoreFileError(
                f"{self.source}: line {_first_undecodable_line(self.source)}: not UTF-8 text "
                f"(byte 0x{error.object[error.start]:02x}); save it as UTF-8 "
                "(in a spreadsheet: Save as, CSV UTF-8)"
            ) from None
        except csv.Error as error:
            raise ScoreFileError(f"{self.source}: line {self.reader.line_num}: {error}") from None


def _first_undecodable_line(source: Path) -> int:
    """The first line that is not UTF-8 (the decoder reads ahead, so its position is not the
    line's; a line break never falls inside a UTF-8 character, so lines decode alone)."""
    with source.open("rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a log or a pipe gets the one closing line only
    )
