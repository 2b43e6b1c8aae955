"""Opening a CSV input as text, gzipped or not, told by its first bytes rather than its name;
and writing a CSV output with ``\\n`` line ends.

An input is read once, front to back, so it may be a pipe (``<(zcat …)``, ``/dev/stdin``).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

GZIP_MAGIC = b"\x1f\x8b"

READ_ERRORS = (OSError, EOFError, UnicodeDecodeError)
"""What reading a file opened by :func:`open_text` can raise for a broken or binary file
(``gzip.BadGzipFile`` is an OSError); callers turn them into a ValueError naming the file."""


@contextmanager
def open_text(
    source: Path,
    errors: str = "strict",
    track: Callable[[BinaryIO], BinaryIO] | None = None,
) -> Iterator[TextIO]:
    """``source`` as UTF-8 text (a BOM skipped), decompressed when it starts as gzip does.

    A name is no guide: ``export.CSV.GZ``, or a gzipped file named ``.csv``, are common.
    ``errors`` is the decoder's (``surrogateescape`` to find undecodable bytes in the rows
    read); ``track`` wraps the file's own bytes, before decompression (a progress bar).
    """
    with source.open("rb") as raw:
        gzipped = raw.peek(2)[:2] == GZIP_MAGIC  # peek: a pipe cannot seek back
        tracked: BinaryIO = track(raw) if track else raw
        binary: BinaryIO | gzip.GzipFile = tracked
        if gzipped:
            binary = gzip.GzipFile(fileobj=tracked, mode="rb")
        # closing the wrapper closes a GzipFile but not ``raw``, which the outer block closes
        with io.TextIOWrapper(binary, encoding="utf-8-sig", errors=errors, newline="") as text:
            yield text


class CsvOutput:
    """``csv.writer`` with ``\\n`` line ends (``awk -F,`` reads the last field without a
    ``\\r``). A row with a carriage return inside a field is written with every field quoted:
    with ``\\n`` line ends the csv module would leave that field bare, and a reader would end
    the row there."""

    def __init__(self, handle: TextIO) -> None:
        self._plain = csv.writer(handle, lineterminator="\n")
        self._quoted = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[object]) -> None:
        cells = list(row)
        carriage = any(isinstance(cell, str) and "\r" in cell for cell in cells)
        (self._quoted if carriage else self._plain).writerow(cells)
