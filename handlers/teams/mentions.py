"""Mentions in Teams: an escalation's on-call mention, a real @mention that notifies when it can
be one; and, the other way, Vigie's own mention taken out of a command typed to it
(:func:`command_text`).

Teams notifies a person only through a mention entity (``<at>Name</at>`` in the text and the
person's id in ``entities``); an ``@name`` typed in text notifies nobody. A target's or step's
``mention`` is therefore written ``Name <id>`` for Teams, the id being the person's Entra
object id, their user principal name (``ana@contoso.com``) or their Teams id (``29:…``). Anything
else stays plain text, as before.
"""

from __future__ import annotations

import html
import re
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


_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def command_text(activity: Any) -> str:
    """What someone typed to Vigie, on one line: the message text without Vigie's own
    @mention, each mention entity of the bot removing its own ``<at>…</at>`` text once
    (botbuilder's ``remove_recipient_mention`` removes the bot's name everywhere, so
    ``topic:#Vigie`` lost its word), and HTML entities decoded (Teams writes ``&nbsp;``,
    ``&amp;``… into the text of a message with formatting). Only whole entities, with their
    ``;``, are decoded: a typed ``&copy`` stays as it is."""
    text = str(getattr(activity, "text", None) or "")
    me = str(getattr(getattr(activity, "recipient", None), "id", None) or "")
    for entity in getattr(activity, "entities", None) or ():
        mention = _fields(entity)
        mentioned = mention.get("mentioned")
        if str(mention.get("type") or "").lower() != "mention" or not isinstance(mentioned, dict):
            continue
        if not me or str(mentioned.get("id") or "") != me:
            continue
        markup = str(mention.get("text") or f"<at>{mentioned.get('name') or ''}</at>")
        text = text.replace(markup, " ", 1)
    return " ".join(_ENTITY.sub(lambda m: html.unescape(m[0]), text).split())


def _fields(entity: Any) -> dict[str, Any]:
    """An entity's fields, whether botbuilder's ``Entity`` (extra fields aside) or a dict."""
    if isinstance(entity, dict):
        return entity
    extra = getattr(entity, "additional_properties", None) or {}
    return {**extra, "type": getattr(entity, "type", None)}
