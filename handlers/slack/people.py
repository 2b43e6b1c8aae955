"""Slack people by name, in new posts: a ``<@U…>`` shows the person's name, but in a message
Vigie posts (not edits) it also notifies them, so new posts name people in plain text. Vigie
learns that text from what Slack sends when someone acts (a click, a modal, ``/vigie``, an
``@Vigie`` message): no ``users:read`` scope, no look-up. Ids stay what is stored, audited and
checked; a name is only ever shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from handlers.people import NameDirectory, clean_name
from handlers.slack.render import inert
from storage.writer import Writer

logger = logging.getLogger(__name__)

PLATFORM = "slack"
NAME_FIELDS = ("name", "username", "user_name", "display_name", "real_name")
"""Where a payload may carry the person's name: their handle first, the one name every payload
has (interactivity's ``user`` has ``name`` and ``username``, a slash command ``user_name``,
events' ``user_profile`` ``name`` beside ``real_name``), so a person's name does not change
(and is not stored again) with each kind of request; the others only when it is missing."""
USER_ID = re.compile(r"\b[UW][A-Z0-9]{2,}\b")


def _first_name(fields: Mapping[str, Any]) -> str:
    for key in NAME_FIELDS:
        if name := clean_name(fields.get(key)):
            return name
    return ""


def sender_of(body: Mapping[str, Any]) -> tuple[str, str]:
    """Who sent a Bolt request body, and the name it gives them (("", "") when none): the
    ``user`` of an interactivity payload, a slash command's ``user_id``/``user_name``, or an
    event's ``user`` with its ``user_profile`` (never a bot's message)."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id") or ""), _first_name(user)
    if isinstance(body.get("user_id"), str):
        return body["user_id"], _first_name(body)
    event = body.get("event")
    if isinstance(event, Mapping) and isinstance(event.get("user"), str):
        profile = event.get("user_profile")
        if event.get("bot_id") or not isinstance(profile, Mapping):
            return "", ""
        return event["user"], _first_name(profile)
    return "", ""


class SlackDirectory(NameDirectory):
    """Display names of the Slack people Vigie has heard from, by user id."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(writer, PLATFORM)

    async def learn(self, user: str, name: str) -> None:
        """Remember ``user``'s name (see :meth:`NameDirectory.remember`)."""
        await self.remember(user, name)

    def named(self, escaped: str) -> str:
        """``escaped`` (mrkdwn, already escaped) with each known user id in it, as a whole
        word, replaced by the person's name made inert; unknown ids stay as they are."""
        if self.empty:
            return escaped
        return USER_ID.sub(
            lambda m: inert(known) if (known := self.known(m[0])) is not None else m[0], escaped
        )
