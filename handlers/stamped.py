"""Chat delivery whose cards name the database that posts them (``install``): their buttons,
clicked after the database was started afresh, act on nothing (each platform's inbound side
refuses an install that is not its own). Stamped as they are sent, so cards queued before
buttons named a database get it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.delivery import Platform
from bot.incidents.model import Intent


class StampedPlatform:
    def __init__(self, platform: Platform, install: Callable[[], Awaitable[str]]) -> None:
        self.platform = platform
        self.install = install

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        if intent.card and not intent.card.get("install"):
            intent = replace(intent, card={**intent.card, "install": await self.install()})
        return await self.platform.deliver(intent, card_ref)

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return await self.platform.find(intent, card_ref)
