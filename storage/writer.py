"""The one thread that writes to SQLite, fed by a queue (the pattern of datasette's database.py).

Async code hands it a function of the database and awaits the result; functions run one at a time,
in submission order, each usually inside ``db.atomic()``. Small, latency-sensitive work (delivery
bookkeeping, a person's click) is ``urgent``: it runs before bulk work already waiting (a batch
of mentions), so a storm being stored does not delay the cards about it.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from storage.database import StorageError, lock_for_writing, open_database, unlock

T = TypeVar("T")
_URGENT, _NORMAL, _LAST = 0, 1, 2


class Writer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._tasks: queue.PriorityQueue[tuple[int, int, Any, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        # one writer per database, across processes; opened here so a bad path fails at start-up
        self._lock_fd = lock_for_writing(path)
        try:
            self._db = open_database(path)
        except BaseException:
            unlock(self._lock_fd)
            raise
        self._thread = threading.Thread(target=self._loop, name="vigie-sqlite-writer", daemon=True)
        self._thread.start()
        self._readers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-sqlite-reader")
        self._reader_db: sqlite_utils.Database | None = None

    async def read(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``work(db)`` on the reader thread, on a read-only connection of its own: a long
        query (a year of a brand's stats) does not hold up the writes queued meanwhile. It sees
        what was committed when it began (WAL)."""
        loop = asyncio.get_running_loop()
        try:
            if self._closed:
                raise RuntimeError
            future = loop.run_in_executor(self._readers, self._read, work)
        except RuntimeError:  # closed (the executor refuses new work once shut down)
            raise StorageError(f"{self.path}: the database is closed") from None
        return await future

    def _read(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        if self._reader_db is None:
            self._reader_db = open_database(self.path, read_only=True)
        return work(self._reader_db)

    async def run(self, work: Callable[[sqlite_utils.Database], T], *, urgent: bool = False) -> T:
        """Run ``work(db)`` on the writer thread and return its result; ``urgent`` work goes
        ahead of the bulk work waiting."""
        return await asyncio.wrap_future(self._submit(work, _URGENT if urgent else _NORMAL))

    def close(self) -> None:
        """Finish the queued work, then close the database."""
        with self._lock:
            self._closed = True
        self._readers.shutdown(wait=True)
        if self._reader_db is not None:
            self._reader_db.close()
            self._reader_db = None
        if self._thread.is_alive():
            self._tasks.put((_LAST, next(self._order), None, None))
            self._thread.join()

    def _submit(self, work: Callable[[sqlite_utils.Database], T], priority: int) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise StorageError(f"{self.path}: the database is closed")
            self._tasks.put((priority, next(self._order), work, future))
        return future

    def _loop(self) -> None:
        try:
            while (task := self._tasks.get())[0] != _LAST:
                _, _, work, future = task
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(work(self._db))
                except BaseException as error:  # handed to the awaiting caller
                    future.set_exception(error)
        finally:
            self._db.close()
            unlock(self._lock_fd)
