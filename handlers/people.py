"""People by name, for a chat platform whose messages would otherwise show opaque ids: Vigie
records who acted by platform id (permissions, audit) and shows the name the platform sent with
that person's last click, command or message.

A directory is loaded from storage once, learns from each sender, and writes a name only when it
is new or changed. Names are plain text here, cleaned and cut; the renderers escape them.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable
from functools import partial
from typing import Any

from bot.text import cut
from storage.people import load_names, save_name
from storage.writer import Writer

logger = logging.getLogger(__name__)

MAX_NAME = 100
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs"})  # control, format (bidi overrides), private use


def clean_name(name: Any) -> str:
    """A display name as one line of visible characters, at most MAX_NAME long ("" if none)."""
    text = "".join(
        c for c in str(name or "") if c.isspace() or unicodedata.category(c) not in _HIDDEN
    )
    return cut(" ".join(text.split()), MAX_NAME)


class NameDirectory:
    """Display names of one platform's people Vigie has heard from, by id (``key`` makes ids
    comparable: Teams' are case-insensitive)."""

    def __init__(
        self, writer: Writer, platform: str, key: Callable[[str], str] = lambda user: user
    ) -> None:
        self.writer = writer
        self.platform = platform
        self.key = key
        self._names: dict[str, str] = {}
        self._loaded = False
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the stored names, once; names learnt meanwhile are newer and win."""
        if self._loaded:
            return
        async with self._lock:
            if not self._loaded:
                stored = await self.writer.run(
                    partial(load_names, platform=self.platform), urgent=True
                )
                self._names = {**stored, **self._names}
                self._loaded = True

    async def remember(self, user: str, name: str) -> None:
        """Keep ``user``'s name; stored when new or changed. A name is a nicety: failing to
        read or store names never stops the click or command it came with."""
        user = self.key(user)
        if not user or not name:
            return
        try:
            await self.load()
            if self._names.get(user) == name:
                return
            self._names[user] = name
            await self.writer.run(
                partial(save_name, platform=self.platform, user=user, name=name), urgent=True
            )
        except Exception:
            logger.warning("%s: could not store the name of %s", self.platform, user, exc_info=True)

    def name(self, user: str) -> str:
        """The person's name, or ``user`` itself when unknown (plain text, not escaped)."""
        return self._names.get(self.key(user), user)

    def known(self, user: str) -> str | None:
        """The person's name, or None when unknown."""
        return self._names.get(self.key(user))

    @property
    def empty(self) -> bool:
        return not self._names
