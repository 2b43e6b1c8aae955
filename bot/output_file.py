"""Writing a command's output file whole or not at all.

``score``, ``predict-reach`` and ``detect-bursts`` write into a temporary file beside the output
and rename it over the output at the end: a run that fails leaves no half-written file (and an
older output intact), and ``--output`` naming the input (``score IN.csv --output IN.csv``) reads
the whole input before the input is replaced.

Three outputs are not replaced by a rename. A terminal, a pipe or a FIFO (``--output
/dev/stdout``) is written as the command goes. A file whose folder Vigie cannot write, that has
other hard links, or whose owner a new file would not keep is rewritten in place at the end, from
a temporary file elsewhere: it keeps its owner and links, but that rewrite is not atomic (a crash
during it leaves a partial file; a run that fails before it still leaves the file as it was).

``--output -`` (:data:`STDOUT`) is standard output, written whole at the end from a temporary
file, so that a run that fails writes nothing there either. Reopening ``/dev/stdout`` instead
would truncate a file standard output is redirected to, even one opened to append (``>>``).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_DENIED = (errno.EACCES, errno.EPERM)

STDOUT = Path("-")
"""``--output -``: standard output. This object itself, not any path named ``-`` (``./-`` is a
file)."""


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A new empty file to write; it becomes ``target`` when the block ends without error, and
    is removed otherwise. A symbolic link is followed: the file it points to is replaced, the
    link stays. A ``target`` that is not a regular file (a terminal, a pipe, a FIFO) is given
    as is, to write directly; see the module's docstring for the files rewritten in place, and
    for :data:`STDOUT`."""
    if target is STDOUT:
        with _to_stdout() as whole:
            yield whole
        return
    try:
        status: os.stat_result | None = target.stat()
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise OSError(error.errno, f"cannot write: {error.strerror}", str(target)) from None
    if status is not None and not stat.S_ISREG(status.st_mode):
        yield target  # /dev/stdout resolves to "pipe:[…]", a name that opens nothing
        return
    final = target.resolve()
    scratch = _scratch_beside(final, status)
    if scratch is None:
        with _rewriting(final) as elsewhere:
            yield elsewhere
        return
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


def _scratch_beside(final: Path, status: os.stat_result | None) -> Path | None:
    """A temporary file beside ``final`` that can replace it keeping its owner, or None when
    ``final`` must be rewritten in place (an unwritable folder, hard links, an owner that a new
    file cannot be given)."""
    if status is not None and status.st_nlink > 1:
        return None
    try:
        scratch = _create_beside(final)
    except OSError as error:
        if status is not None and error.errno in _DENIED:
            return None
        raise OSError(error.errno, f"cannot write: {error.strerror}", str(final)) from None
    if status is None:
        return scratch
    mine = scratch.stat()
    if (mine.st_uid, mine.st_gid) != (status.st_uid, status.st_gid):
        try:
            os.chown(scratch, status.st_uid, status.st_gid)
        except OSError:
            scratch.unlink()
            return None
    return scratch


def _create_beside(final: Path) -> Path:
    """A new file in ``final``'s folder (so the rename is atomic), with the permissions a new
    file gets there (umask), hidden from ``ls``."""
    while True:
        candidate = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


@contextmanager
def _to_stdout() -> Iterator[Path]:
    """A temporary file, copied to standard output (its file descriptor, not reopened) when the
    block ends without error."""
    handle, name = tempfile.mkstemp(prefix=".vigie-output.", suffix=".tmp")
    os.close(handle)
    scratch = Path(name)
    try:
        yield scratch
        sys.stdout.flush()
        with scratch.open("rb") as source, open(sys.stdout.fileno(), "wb", closefd=False) as sink:
            shutil.copyfileobj(source, sink)
    finally:
        with suppress(OSError):
            scratch.unlink()


@contextmanager
def _rewriting(final: Path) -> Iterator[Path]:
    """A temporary file in the system's temporary folder, copied into ``final`` (same file,
    same owner, same links) when the block ends without error. The copy waits for the end so
    that an output naming the input is read whole first."""
    try:  # opened now, without truncating it, to fail before the work rather than after
        out = os.open(final, os.O_WRONLY)
    except OSError as error:
        raise OSError(error.errno, f"cannot write: {error.strerror}", str(final)) from None
    handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp")
    os.close(handle)
    scratch = Path(name)
    try:
        yield scratch
        os.ftruncate(out, 0)
        with scratch.open("rb") as source, open(out, "wb", closefd=False) as sink:
            shutil.copyfileobj(source, sink)
        os.fsync(out)
    finally:
        os.close(out)
        with suppress(OSError):
            scratch.unlink()


def _sync(path: Path) -> None:
    """The content is on disk before the rename makes it the output (after a power cut, the old
    file or the new one, never an empty one)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
