"""Teams people by name: Vigie records who acted by Entra object id (permissions, audit), and
shows the display name Teams sent with that person's last activity.

The directory is loaded from storage once, learns from every incoming activity's sender, and
writes a name only when it is new or changed. Names are plain text here, cleaned and cut; the
renderers escape them wherever they go into markdown.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from handlers.people import NameDirectory, clean_name
from storage.writer import Writer

logger = logging.getLogger(__name__)

PLATFORM = "teams"
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


class TeamsDirectory(NameDirectory):
    """Display names of the Teams people Vigie has heard from, by lower-cased id."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(writer, PLATFORM, key=str.lower)

    async def learn(self, activity: Any) -> None:
        """Remember the sender's display name; stored when new or changed."""
        await self.remember(
            user_of(activity), clean_name(getattr(activity.from_property, "name", None))
        )

    def named(self, text: str) -> str:
        """``text`` with every known id in it, as a whole word, replaced by its name."""
        if self.empty:
            return text
        return _ID.sub(lambda m: self.name(m[0]), text)
