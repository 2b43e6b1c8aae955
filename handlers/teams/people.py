"""Teams people by name: Vigie records who acted by Entra object id (permissions, audit), and
shows the display name Teams sent with that person's last activity.

The directory is loaded from storage once, learns from every incoming activity's sender, and
writes a name only when it is new or changed. Names are plain text here, cleaned and cut; the
renderers escape them wherever they go into markdown.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from functools import partial
from typing import Any

from handlers.teams.render import cut
from storage.people import load_names, save_name
from storage.writer import Writer

logger = logging.getLogger(__name__)

PLATFORM = "teams"
MAX_NAME = 100
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs"})  # control, format (bidi overrides), private use
# an id as it appears in text: word characters and dashes (GUIDs), colons inside ("29:1x…")
_ID = re.compile(r"(?<![\w/.@:-])[\w-]+(?::[\w-]+)*(?![\w/@-])")


def user_of(activity: Any) -> str:
    """Who sent ``activity``, to name them: the Entra object id, else the channel's id for
    them, lower-cased. Never a permission: see :func:`entra_id_of`."""
    sender = activity.from_property
    return str(getattr(sender, "aad_object_id", None) or getattr(sender, "id", "") or "").lower()


def entra_id_of(activity: Any) -> str:
    """The sender's Microsoft Entra object id, lower-cased, or "" (an anonymous meeting guest):
    what permissions check and the audit records. Never ``from.id``, which outside Teams the
    client chooses; but for the Bot Framework Emulator, served only when Vigie has no app id
    (nothing is authenticated then), whose users have no Entra id."""
    sender = activity.from_property
    found = getattr(sender, "aad_object_id", None)
    if not found and getattr(activity, "channel_id", "") == "emulator":
        found = getattr(sender, "id", None)
    return str(found or "").lower()


def clean_name(name: Any) -> str:
    """A display name as one line of visible characters, at most MAX_NAME long ("" if none)."""
    text = "".join(
        c for c in str(name or "") if c.isspace() or unicodedata.category(c) not in _HIDDEN
    )
    return cut(" ".join(text.split()), MAX_NAME)


class TeamsDirectory:
    """Display names of the Teams people Vigie has heard from, by lower-cased id."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._names: dict[str, str] = {}
        self._loaded = False
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the stored names, once; names learnt meanwhile are newer and win."""
        if self._loaded:
            return
        async with self._lock:
            if not self._loaded:
                stored = await self.writer.run(partial(load_names, platform=PLATFORM), urgent=True)
                self._names = {**stored, **self._names}
                self._loaded = True

    async def learn(self, activity: Any) -> None:
        """Remember the sender's display name; stored when new or changed."""
        await self.load()
        user = user_of(activity)
        name = clean_name(getattr(activity.from_property, "name", None))
        if not user or not name or self._names.get(user) == name:
            return
        self._names[user] = name
        try:
            await self.writer.run(
                partial(save_name, platform=PLATFORM, user=user, name=name), urgent=True
            )
        except Exception:  # a name is a nicety: the activity is still handled
            logger.warning("teams: could not store the name of %s", user, exc_info=True)

    def name(self, user: str) -> str:
        """The person's display name, or ``user`` itself when unknown (plain text)."""
        return self._names.get(user.lower(), user)

    def named(self, text: str) -> str:
        """``text`` with every known id in it, as a whole word, replaced by its name."""
        if not self._names:
            return text
        return _ID.sub(lambda m: self._names.get(m[0].lower(), m[0]), text)
