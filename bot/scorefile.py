"""``python -m bot score``: add language, negativity and sentiment columns to a CSV file.

Each text is scored as the service scores a mention's: HTML entities unescaped (``&amp;`` is
``&``, as :mod:`bot.records` reads every source) and made readable (:mod:`bot.sanitize`: line
breaks of any convention ``\n``, control characters gone); the output keeps the cell as it was.
An empty text gets ``lang`` ``und`` (undetermined), and is neutral.

The output is written whole or not at all (:mod:`bot.output_file`), so it may name the input, and
a file that turns out to be malformed half-way leaves nothing behind. The input is read once, so
it may be gzipped (told by its first bytes) or a pipe.
"""

from __future__ import annotations

import csv
import html
import itertools
import re
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bot.language import UNDETERMINED, LanguageDetector
from bot.model import LanguageGuess
from bot.negativity import NegativityScorer
from bot.output_file import replacing
from bot.sanitize import clean_text, readable
from bot.spread.text_input import CsvOutput, open_text

ADDED_COLUMNS = ("lang", "negativity", "sentiment")
CHUNK = 1000
FIELD_LIMIT = 1_000_000  # characters in one cell
# bytes that are not UTF-8, as the surrogateescape decoder gives them: found in the rows read,
# so that the line is known without reading the file again (a pipe cannot be)
_UNDECODABLE = re.compile("[\udc80-\udcff]")


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
    unscored = [code for code in languages if code not in scorer.languages]
    if unscored:
        console.print(
            f"--languages {','.join(languages)}: no scorer for {', '.join(unscored)} (only "
            f"{', '.join(scorer.languages)}): a text detected as "
            f"{'it' if len(unscored) == 1 else 'one of them'} gets that lang, negativity 0 and "
            "sentiment neutral",
            highlight=False,
        )
    csv.field_size_limit(FIELD_LIMIT)
    if source.is_dir():
        raise ScoreFileError(f"{source}: is a folder; name the file to score")
    if not source.exists():
        raise ScoreFileError(f"{source}: no such file")

    def track(raw: BinaryIO) -> BinaryIO:
        # the progress bar follows the bytes read (gzipped ones), so it needs no first pass
        return progress.wrap_file(raw, total=_size(source), description=f"scoring {source.name}")

    with (
        _progress(console) as progress,
        open_text(source, errors="surrogateescape", track=track) as infile,
        replacing(target) as scratch,
        scratch.open("w", encoding="utf-8", newline="") as outfile,
    ):
        reader = _Rows(source, infile)
        fields = reader.header(text_column)
        if all(column in fields for column in ADDED_COLUMNS):
            console.print(
                f"{escape(str(source))}: scored before; its lang, negativity and sentiment "
                "are replaced",
                highlight=False,
            )
        else:
            fields = _kept_aside(source, fields, console)
        columns = fields + [c for c in ADDED_COLUMNS if c not in fields]
        added = [columns.index(c) for c in ADDED_COLUMNS]
        text_at = fields.index(text_column)
        writer = CsvOutput(outfile)
        writer.writerow(columns)
        rows = 0
        # languages a chunk at a time: fastText is twice as fast when its tables stay in
        # the CPU cache, rather than alternating with the scorer (bench/eval_scoring.py)
        while chunk := list(itertools.islice(reader, CHUNK)):
            texts = [as_the_service_reads(row[text_at]) for row in chunk]
            guesses = _languages(detector, texts, languages)
            for row, text, language in zip(chunk, texts, guesses, strict=True):
                negativity = scorer.score(text, language)
                out = row + [""] * (len(columns) - len(row))
                for at, value in zip(
                    added,
                    (language.code, f"{negativity.score:.4f}", negativity.sentiment.value),
                    strict=True,
                ):
                    out[at] = value
                writer.writerow(out)
            rows += len(chunk)
    return rows


def as_the_service_reads(text: str) -> str:
    """``text`` as the service scores a mention's: entities unescaped (``bot.records``), then
    valid Unicode with readable line breaks and no control characters (``bot.sanitize``)."""
    return readable(clean_text(html.unescape(text)))


_EMPTY = LanguageGuess(UNDETERMINED, 0.0, supported=False)


def _languages(
    detector: LanguageDetector, texts: list[str], languages: Sequence[str]
) -> list[LanguageGuess]:
    """The language of each text; ``und`` for an empty one (blank), which has no language."""
    guesses = iter(detector.detect_many([text for text in texts if text.strip()], languages))
    return [next(guesses) if text.strip() else _EMPTY for text in texts]


class _Rows:
    """The input's rows, each as long as the header; whatever is wrong with the file, one error
    naming the line the row starts on."""

    def __init__(self, source: Path, file: TextIO) -> None:
        self.source = source
        # strict: a stray or unclosed quotation mark is an error, not a field that swallows
        # the rest of the line (or of the file)
        self.reader = csv.reader(file, strict=True)
        self.width = 0

    def header(self, text_column: str) -> list[str]:
        with self._reading(1):
            fields = next(self.reader, [])
        _check_utf8(self.source, fields, 1)
        if not fields:
            raise ScoreFileError(
                f"{self.source}: the file is empty; expected a header row naming the columns, "
                f"{text_column!r} among them"
            )
        _check_header(self.source, fields, text_column)
        self.width = len(fields)
        return fields

    def __iter__(self) -> Iterator[list[str]]:
        while True:
            line = self.reader.line_num + 1  # where the next row starts
            with self._reading(line):
                row = next(self.reader, None)
            if row is None:
                return
            if not row:  # a blank line: a row with an empty text when the header has one column
                if self.width != 1:
                    continue
                row = [""]
            _check_utf8(self.source, row, line)
            if len(row) != self.width:
                hint = _TOO_MANY if len(row) > self.width else _TOO_FEW
                raise ScoreFileError(
                    f"{self.source}: line {line}: {len(row)} field{'s' * (len(row) > 1)} "
                    f"where the header has {self.width} ({hint})"
                )
            yield row

    @contextmanager
    def _reading(self, line: int) -> Iterator[None]:
        """What the csv module and the reading raise, as one error naming the line."""
        try:
            yield
        except (OSError, EOFError) as error:  # a broken gzip stream, a read error
            raise ScoreFileError(f"{self.source}: cannot read: {error}") from None
        except csv.Error as error:
            why = _CSV_ERRORS.get(str(error), str(error))
            if self.reader.line_num > line and str(error).startswith("field larger"):
                why += f" (it runs on to line {self.reader.line_num}: a quotation mark not closed?)"
            raise ScoreFileError(f"{self.source}: line {line}: {why}") from None


_TOO_MANY = "a comma in a field that is not quoted?"
_TOO_FEW = "a field missing, or a line break in a field that is not quoted?"
_CSV_ERRORS = {
    "unexpected end of data": (
        "a quotation mark opened in this row is never closed (the rest of the file would be "
        "read as one field)"
    ),
    "',' expected after '\"'": (
        "text after a field's closing quotation mark (inside a quoted field, write a "
        'quotation mark as "")'
    ),
    f"field larger than field limit ({FIELD_LIMIT})": (
        f"a field longer than {FIELD_LIMIT:,} characters"
    ),
}


def _kept_aside(source: Path, fields: list[str], console: Console) -> list[str]:
    """The header with the file's own ``lang``, ``negativity`` or ``sentiment`` (a data set's
    gold labels, say) renamed ``input_lang``…, so that score adds its own beside them and
    overwrites nothing; a line says so. (A file with all three is one score wrote: those are
    replaced.)"""
    renamed = list(fields)
    for column in ADDED_COLUMNS:
        if column not in fields:
            continue
        aside, n = f"input_{column}", 2
        while aside in renamed:
            aside, n = f"input_{column}_{n}", n + 1
        renamed[fields.index(column)] = aside
        console.print(
            f"{escape(str(source))}: its own column {column!r} is kept as {aside!r}; "
            f"{column!r} is score's",
            highlight=False,
        )
    return renamed


def _check_header(source: Path, fields: list[str], text_column: str) -> None:
    """Refuse a header whose columns could not all be copied."""
    twice = sorted({name for name in fields if fields.count(name) > 1})
    if twice:
        raise ScoreFileError(
            f"{source}: line 1: column{'s' * (len(twice) > 1)} named more than once: "
            f"{', '.join(map(repr, twice))}; give each column its own name"
        )
    if text_column not in fields:
        raise ScoreArgumentError(
            f"{source}: no column {text_column!r} (--text-column); "
            f"the columns are: {', '.join(map(repr, fields))}"
        )
    if text_column in ADDED_COLUMNS:
        raise ScoreArgumentError(
            f"{source}: --text-column {text_column!r} is a column score writes; "
            "rename it in the file"
        )


def _check_utf8(source: Path, row: list[str], line: int) -> None:
    """Refuse a row holding bytes that are not UTF-8, naming the line they are on (a row
    starts on ``line``; a quoted field may run on to the next ones)."""
    for at, field in enumerate(row):
        if found := _UNDECODABLE.search(field):
            before = ",".join(row[:at]).count("\n") + field[: found.start()].count("\n")
            raise ScoreFileError(
                f"{source}: line {line + before}: not UTF-8 text "
                f"(byte 0x{ord(found.group()) - 0xDC00:02x}); save it as UTF-8 "
                "(in a spreadsheet: Save as, CSV UTF-8)"
            )


def _size(source: Path) -> int:
    """The bytes to read, for the progress bar (0, unknown, for a pipe)."""
    status = source.stat()
    return status.st_size if stat.S_ISREG(status.st_mode) else 0


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
