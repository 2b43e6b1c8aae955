"""People's actions on incidents, as chat platforms call them: async, one transaction each.

Slack buttons, Teams cards and slash commands all come here with a platform user id; the action
runs on the storage writer (so it sees and changes exactly what is stored), and the deliverer is
woken for the card updates it queued.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import sqlite_utils

from bot.clock import Clock
from bot.incidents import actions
from bot.incidents.actions import ActionResult
from bot.incidents.desk import IncidentDesk
from bot.incidents.effects import Journal
from bot.incidents.engine import IncidentEngine
from storage.incidents import get_incident
from storage.writer import Writer


class IncidentControl:
    def __init__(self, writer: Writer, desk: IncidentDesk, clock: Clock) -> None:
        self.writer = writer
        self.desk = desk
        self.clock = clock

    async def brand_of(self, incident_id: int) -> str | None:
        incident = await self.writer.run(
            partial(get_incident, incident_id=incident_id), urgent=True
        )
        return incident.brand if incident else None

    async def acknowledge(self, incident_id: int, user: str) -> ActionResult:
        return await self._act(lambda e, j, at: actions.acknowledge(e, j, incident_id, user, at))

    async def unacknowledge(self, incident_id: int, user: str) -> ActionResult:
        """Undo an acknowledgement (one clicked by mistake): reminders and escalations that
        wait for one apply again."""
        return await self._act(lambda e, j, at: actions.unacknowledge(e, j, incident_id, user, at))

    async def snooze(self, incident_id: int, user: str, minutes: int) -> ActionResult:
        return await self._act(
            lambda e, j, at: actions.snooze(
                e, j, incident_id, user, at, at + timedelta(minutes=minutes)
            )
        )

    async def resolve(self, incident_id: int, user: str) -> ActionResult:
        return await self._act(lambda e, j, at: actions.resolve(e, j, incident_id, user, at))

    async def reopen(self, incident_id: int, user: str) -> ActionResult:
        return await self._act(lambda e, j, at: actions.reopen(e, j, incident_id, user, at))

    async def merge(self, source_id: int, target_id: int, user: str) -> ActionResult:
        """Merge ``source_id`` into ``target_id`` (both live, one brand): its topic's mentions
        go to the target from now on."""
        return await self._act(lambda e, j, at: actions.merge(e, j, source_id, target_id, user, at))

    async def silence_topic(self, incident_id: int, user: str, hours: int) -> ActionResult:
        """Silence what this incident is about (its brand and topic) for ``hours``."""
        incident = await self.writer.run(
            partial(get_incident, incident_id=incident_id), urgent=True
        )
        if incident is None:
            return ActionResult(False, f"no incident #{incident_id}")
        duration = timedelta(hours=hours)
        return await self._act(
            lambda e, j, at: actions.silence(
                e,
                j,
                user,
                at,
                at + duration,
                brand=incident.brand,
                topic=incident.topic,
                reason=f"from incident #{incident_id}",
                incident_id=incident_id,
            )
        )

    async def silence(
        self,
        user: str,
        duration: timedelta,
        *,
        brand: str = "",
        topic: str = "",
        author: str = "",
        source: str = "",
        reason: str = "",
    ) -> ActionResult:
        """Silence what matches for ``duration`` (audited on the live incident of ``brand`` and
        ``topic``, if any)."""
        return await self._act(
            lambda e, j, at: actions.silence(
                e,
                j,
                user,
                at,
                at + duration,
                brand=brand,
                topic=topic,
                author=author,
                source=source,
                reason=reason,
            )
        )

    async def _act(
        self, action: Callable[[IncidentEngine, Journal, datetime], ActionResult]
    ) -> ActionResult:
        at = self.clock.now()
        engine = self.desk.engine

        def work(db: sqlite_utils.Database) -> ActionResult:
            return self.desk.act(db, lambda journal: action(engine, journal, at))

        return await self.writer.run(work, urgent=True)
