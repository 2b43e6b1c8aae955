"""Slack people by name, in new posts: a ``<@U…>`` shows the person's name, but in a message
Vigie posts (not edits) it also notifies them, so new posts name people in plain text. Vigie
learns that text from what Slack sends when someone acts (a click, a modal, ``/vigie``, an
``@Vigie`` message): no ``users:read`` scope, no look-up. Ids stay what is stored, audited and
checked; a name is only ever shown.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Mapping
from functools import partial
from typing import Any

from handlers.slack.render import cut, inert
from storage.people import load_names, save_name
from storage.writer import Writer

logger = logging.getLogger(__name__)

PLATFORM = "slack"
MAX_NAME = 100
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs"})  # control, format (bidi overrides), private use
NAME_FIELDS = ("real_name", "display_name", "name", "username", "user_name")
"""Where a payload may carry the person's name, the most readable first: events' ``user_profile``
has ``real_name`` and ``display_name``; interactivity's ``user`` has only ``name`` and
``username`` (their handle); a slash command ``user_name``."""
USER_ID = re.compile(r"\b[UW][A-Z0-9]{2,}\b")


def clean_name(name: Any) -> str:
    """A display name as one line of visible characters, at most MAX_NAME long ("" if none)."""
    text = "".join(
        c for c in str(name or "") if c.isspace() or unicodedata.category(c) not in _HIDDEN
    )
    return cut(" ".join(text.split()), MAX_NAME)


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


class SlackDirectory:
    """Display names of the Slack people Vigie has heard from, by user id."""

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

    async def learn(self, user: str, name: str) -> None:
        """Remember ``user``'s name; stored when new or changed. A name is a nicety: failing
        to read or store names never stops the click or command it came with."""
        if not user or not name:
            return
        try:
            await self.load()
            if self._names.get(user) == name:
                return
            self._names[user] = name
            await self.writer.run(
                partial(save_name, platform=PLATFORM, user=user, name=name), urgent=True
            )
        except Exception:
            logger.warning("slack: could not store the name of %s", user, exc_info=True)

    def name(self, user: str) -> str:
        """The person's name, or ``user`` itself when unknown (plain text, not escaped)."""
        return self._names.get(user, user)

    def named(self, escaped: str) -> str:
        """``escaped`` (mrkdwn, already escaped) with each known user id in it, as a whole
        word, replaced by the person's name made inert; unknown ids stay as they are."""
        if not self._names:
            return escaped
        return USER_ID.sub(
            lambda m: inert(self._names[m[0]]) if m[0] in self._names else m[0], escaped
        )
