"""Writing a command's output file whole or not at all.

``score``, ``predict-reach`` and ``detect-bursts`` write into a temporary file beside the output
and rename it over the output at the end: a run that fails leaves no half-written file (and an
older output intact), and ``--output`` naming the input (``score IN.csv --output IN.csv``) reads
the whole input before the input is replaced.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A new empty file beside ``target`` to write; it becomes ``target`` when the block ends
    without error, and is removed otherwise. A symbolic link is followed: the file it points to
    is replaced, the link stays."""
    final = target.resolve()
    scratch = _create_beside(final)
    try:
        yield scratch
        if final.exists():
            shutil.copymode(final, scratch)  # rewriting a file in place keeps its permissions
        _sync(scratch)
        os.replace(scratch, final)
    except BaseException:
        with suppress(OSError):
            scratch.unlink()
        raise


def _create_beside(final: Path) -> Path:
    """A new file in ``final``'s folder (so the rename is atomic), with the permissions a new
    file gets there (umask), hidden from ``ls``."""
    while True:
        candidate = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as error:  # named after the output, not the temporary file
            raise OSError(error.errno, f"cannot write: {error.strerror}", str(final)) from None
        return candidate


def _sync(path: Path) -> None:
    """The content is on disk before the rename makes it the output (after a power cut, the old
    file or the new one, never an empty one)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
