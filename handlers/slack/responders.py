"""Who may act on a brand's incidents in Slack: user ids and user groups from app.yaml."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.platform import error_code

logger = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0
STALE_GROUP_SECONDS = 3600.0
"""While Slack cannot say who is in a user group (slow, rate-limited, failing), the members as
last read still count for this long; past it, nobody is taken for a member on old word (someone
removed from the group an hour ago must not keep acting because Slack is busy)."""
SOON_SECONDS = 1.5
"""How long ``may_act_soon`` waits for Slack: a modal's submission must be answered within 3 s
of Slack sending it, and a click's ``trigger_id`` opens a modal only within 3 s."""
NO_GROUP = frozenset({"no_such_subteam"})
"""Slack's answers that say for sure the group has nobody (any other failure: cannot tell)."""


class CannotTell(Exception):
    """Slack could not say whether someone is in a responders user group (see ``may_act``)."""


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
        self._reading: dict[str, asyncio.Task[frozenset[str] | None]] = {}
        self._said_scope = False

    @property
    def open_to_all(self) -> bool:
        return self.open_when_empty and not any(self.responders.values())

    async def may_act(self, user: str, brand: str) -> bool | None:
        """True or False; None when Slack cannot say who is in a group that could admit
        ``user`` (failing, rate-limited, unreachable, a missing scope) and its members were
        not read in the last STALE_GROUP_SECONDS."""
        if self.open_to_all:
            return True
        principals = [*self.responders.get(brand, []), *self.responders.get("*", [])]
        if user in principals:
            return True
        unknown = False
        for group in (p for p in principals if p.startswith("S")):
            members = await self._members(group)
            if members is None:
                unknown = True
            elif user in members:
                return True
        return None if unknown else False

    async def may_act_or_raise(self, user: str, brand: str) -> bool:
        """``may_act``, raising ``CannotTell`` for its None (for callers wanting a bool)."""
        may = await self.may_act(user, brand)
        if may is None:
            raise CannotTell(f"Slack could not say whether {user} may act for {brand}")
        return may

    async def may_act_soon(
        self, user: str, brand: str, seconds: float = SOON_SECONDS
    ) -> bool | None:
        """``may_act`` within ``seconds``: when Slack is slower to say who is in the user groups
        (a 429 makes the client wait its Retry-After), the groups' members as last read say
        yes, or None: cannot tell yet. The look-up goes on meanwhile and is kept for the next
        click."""
        try:
            return await asyncio.wait_for(self.may_act(user, brand), seconds)
        except TimeoutError:
            principals = [*self.responders.get(brand, []), *self.responders.get("*", [])]
            known = (self._recent(group) or frozenset() for group in principals)
            return True if any(user in members for members in known) else None

    def _recent(self, group: str) -> frozenset[str] | None:
        """The group's members as last read; None when never read or read over
        STALE_GROUP_SECONDS ago."""
        cached = self._groups.get(group)
        if cached is None or self.clock() - cached[0] >= STALE_GROUP_SECONDS:
            return None
        return cached[1]

    async def _members(self, group: str) -> frozenset[str] | None:
        cached = self._groups.get(group)
        if cached is not None and self.clock() - cached[0] < GROUP_TTL_SECONDS:
            return cached[1]
        reading = self._reading.get(group)
        if reading is None:  # one look-up per group at a time, shared by whoever waits for it
            reading = asyncio.create_task(self._read(group), name=f"slack-usergroup-{group}")
            self._reading[group] = reading
            reading.add_done_callback(self._read_done)
        return await asyncio.shield(reading)  # a caller giving up leaves it to finish

    def _read_done(self, reading: asyncio.Task[frozenset[str] | None]) -> None:
        self._reading = {g: t for g, t in self._reading.items() if t is not reading}
        if not reading.cancelled() and reading.exception() is not None:  # nobody waited for it
            logger.debug("slack: a user group look-up failed: %r", reading.exception())

    async def _read(self, group: str) -> frozenset[str] | None:
        """The group's members from Slack; when Slack cannot say, as last read (None: not
        recently)."""
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as error:
            code = error_code(error)
            if code in NO_GROUP:
                logger.warning("Slack user group %s: %s (nobody counts as in it)", group, code)
                return frozenset()
            self._cannot_read(group, code or str(error.response.status_code))
            return self._recent(group)
        except (aiohttp.ClientError, TimeoutError) as error:
            self._cannot_read(group, f"Slack unreachable: {error!r}")
            return self._recent(group)
        users: list[str] = response.get("users", [])
        members = frozenset(str(user) for user in users)
        self._groups[group] = (self.clock(), members)
        return members

    def _cannot_read(self, group: str, why: str) -> None:
        if why == "missing_scope":  # no use retrying: said once, as what to do
            if not self._said_scope:
                self._said_scope = True
                logger.error(
                    "cannot read Slack user group %s: the Slack app lacks the usergroups:read "
                    "scope; add it and reinstall the app (until then, members of user groups "
                    "are not recognised)",
                    group,
                )
            return
        logger.warning("cannot read Slack user group %s: %s", group, why)
