"""Opening a CSV input as text, gzipped or not, told by its first bytes rather than its name."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

GZIP_MAGIC = b"\x1f\x8b"

READ_ERRORS = (OSError, EOFError, UnicodeDecodeError)
"""What reading a file opened by :func:`open_text` can raise for a broken or binary file
(``gzip.BadGzipFile`` is an OSError); callers turn them into a ValueError naming the file."""


@contextmanager
def open_text(source: Path) -> Iterator[TextIO]:
    """``source`` as UTF-8 text (a BOM skipped), decompressed when it starts as gzip does.

    A name is no guide: ``export.CSV.GZ``, or a gzipped file named ``.csv``, are common.
    """
    with source.open("rb") as raw:
        binary: io.BufferedReader | gzip.GzipFile = raw
        if raw.peek(2)[:2] == GZIP_MAGIC:
            binary = gzip.GzipFile(fileobj=raw, mode="rb")
        # closing the wrapper closes a GzipFile but not ``raw``, which the outer block closes
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
            yield text
