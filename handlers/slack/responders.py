"""Who may act on a brand's incidents in Slack: user ids and user groups from app.yaml."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.platform import error_code

logger = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0


class SlackResponders:
    """``may_act(user, brand)``: listed for that brand or for every brand (``*``), directly or
    through a user group. With nobody configured at all, everyone who sees a card may act (a
    warning says so at start-up) unless ``open_when_empty`` is False (approving replies)."""

    def __init__(
        self,
        responders: dict[str, list[str]],
        client: AsyncWebClient,
        clock: Callable[[], float] = time.monotonic,
        *,
        open_when_empty: bool = True,
    ) -> None:
        self.responders = responders
        self.open_when_empty = open_when_empty
        self.client = client
        self.clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def open_to_all(self) -> bool:
        return self.open_when_empty and not any(self.responders.values())

    async def may_act(self, user: str, brand: str) -> bool:
        if self.open_to_all:
            return True
        principals = [*self.responders.get(brand, []), *self.responders.get("*", [])]
        if user in principals:
            return True
        for group in (p for p in principals if p.startswith("S")):
            if user in await self._members(group):
                return True
        return False

    async def _members(self, group: str) -> frozenset[str]:
        cached = self._groups.get(group)
        if cached is not None and self.clock() - cached[0] < GROUP_TTL_SECONDS:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as error:
            logger.warning(
                "cannot read Slack user group %s: %s",
                group,
                error_code(error) or error.response.status_code,
            )
            return cached[1] if cached else frozenset()
        users: list[str] = response.get("users", [])
        members = frozenset(str(user) for user in users)
        self._groups[group] = (self.clock(), members)
        return members
