"""The file platform: every notification as one JSON line, for audits, pipes and tests.

Each line carries the intent's idempotency key, so ``find`` can tell after a crash whether a
delivery that was under way made it to the file: delivery to a file is exactly once. Only a
regular file is read back: a pipe or a terminal (``/dev/stdout``, a named pipe) is written to
only, never read or sought (that would block for good), so there a delivery under way at a
crash may be written twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import stat
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from bot.incidents.model import Intent

T = TypeVar("T")


class _OwnThread:
    """Runs calls one at a time on a daemon thread of its own: a write blocked for good (a pipe
    whose reader stopped reading) holds this platform only, never the event loop's shared
    threads (DNS look-ups, the Teams token, closing the database), however often it is timed
    out and tried again, and never the process's exit (the default executor's threads are
    joined at exit)."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]]
        self._calls = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        future: Future[T] = Future()
        self._calls.put((call, args, future))
        return await asyncio.wrap_future(future)

    def _loop(self) -> None:
        while True:
            call, args, future = self._calls.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call(*args))
                except BaseException as error:  # handed to the awaiting caller
                    future.set_exception(error)


class FilePlatform:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, str] | None = None
        self._lock = threading.Lock()  # deliveries of several channels run in threads at once
        self._thread = _OwnThread("vigie-file-output")

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        return await self._thread.run(self._append, intent, card_ref)

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        if self._keys is not None and not self._regular():
            return self._keys.get(intent.key)  # a stream is never read back: memory is all
        return await self._thread.run(self._find, intent.key)

    def _find(self, key: str) -> str | None:
        with self._lock:
            return self._known().get(key)

    def _known(self) -> dict[str, str]:
        """Keys already in the file (read once, under the lock)."""
        if self._keys is None:
            keys: dict[str, str] = {}
            if self._regular():
                with self.path.open("rb") as file:
                    for line in file:
                        try:
                            record = json.loads(line)
                        except ValueError:
                            continue  # a line cut by a crash (even mid-character): not delivered
                        if isinstance(record, dict) and "key" in record:
                            keys[str(record["key"])] = str(record.get("ref", ""))
            self._keys = keys
        return self._keys

    def _append(self, intent: Intent, card_ref: str | None) -> str:
        ref = card_ref if card_ref and intent.kind.value != "open" else intent.key
        record = {
            "key": intent.key,
            "ref": ref,
            "incident": intent.incident_id,
            "kind": intent.kind.value,
            "channel": intent.channel,
            "at": intent.created_at.isoformat(),
            "text": intent.text,
            "mention": intent.mention,
            "card": intent.card,
        }
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
        with self._lock:
            known = self._known()
            if intent.key in known:  # an attempt that timed out while its write was blocked
                return known[intent.key]  # wrote it when the write went through: not twice
            if self.path.exists() and not self._regular():
                self._write_to_stream(line)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a+b") as file:
                    if file.seek(0, os.SEEK_END) > 0:
                        file.seek(-1, os.SEEK_END)
                        if file.read(1) != b"\n":
                            file.write(b"\n")  # end a line a crash cut short
                    file.write(line)
                    file.flush()
                    os.fsync(file.fileno())
            known[intent.key] = ref
        return ref

    def _regular(self) -> bool:
        """Whether the path is a regular file (missing: not one yet)."""
        try:
            return stat.S_ISREG(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return False

    def _write_to_stream(self, line: bytes) -> None:
        """Append to a pipe, a terminal or a device: opened without waiting (a named pipe
        nobody reads fails at once, ``ENXIO``, and is retried), then written in full."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        try:
            os.set_blocking(fd, True)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
