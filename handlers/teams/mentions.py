"""An escalation's on-call mention in Teams: a real @mention that notifies, when it can be one.

Teams notifies a person only through a mention entity (``<at>Name</at>`` in the text and the
person's id in ``entities``); an ``@name`` typed in text notifies nobody. A target's or step's
``mention`` is therefore written ``Name <id>`` for Teams, the id being the person's Entra
object id, their user principal name (``ana@contoso.com``) or their Teams id (``29:…``). Anything
else stays plain text, as before.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import ChannelAccount, Mention  # type: ignore[import-untyped]

from bot.config.incidents import TEAMS_ID, TEAMS_MENTION


@dataclass(frozen=True, slots=True)
class TeamsMention:
    name: str
    id: str

    @property
    def markup(self) -> str:
        """Where the mention stands in the message text, and the entity's ``text`` (Teams finds
        the one in the other, so they are the same string). The name is escaped: a display name
        is the user's to choose, and a ``<`` or ``&`` in it would break the message's markup."""
        return f"<at>{html.escape(self.name, quote=False)}</at>"

    def entity(self) -> Any:
        """The entity that makes Teams notify the person."""
        return Mention(
            mentioned=ChannelAccount(id=self.id, name=self.name), text=self.markup, type="mention"
        )


def teams_mention(text: str, name_of: Callable[[str], str] | None = None) -> TeamsMention | None:
    """``Name <id>`` as a mention, or a bare id whose display name ``name_of`` knows (whoever
    acknowledged an incident is recorded by id); None for anything else (shown as plain text)."""
    found = TEAMS_MENTION.match(text or "")
    if found is None:
        bare = (text or "").strip()
        name = name_of(bare) if name_of is not None and TEAMS_ID.match(bare) else bare
        name = " ".join(name.split())
        return TeamsMention(name, bare) if name and name != bare else None
    if not TEAMS_ID.match(found["id"]):
        return None
    name = " ".join(found["name"].split())
    return TeamsMention(name, found["id"]) if name else None
