"""People's changes through ``IncidentControl`` (what buttons and commands call), on the storage
writer and a real SQLite file: an acknowledgement undone lets the escalation it was holding off
run, and merges refuse what cannot be merged, saying why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.incidents.control import IncidentControl
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from storage.incidents import audit_of, get_incident
from storage.writer import Writer
from tests.test_incident_engine import MIN, T0, policy


@dataclass
class Clock:
    at: datetime

    def now(self) -> datetime:
        return self.at


class Service:
    """The incident side of Vigie: a desk on the writer, and the control people act through."""

    def __init__(self, path: Path) -> None:
        self.writer = Writer(path / "vigie.db")
        self.desk = IncidentDesk(EngineSetup(policy(), {"acme": "Acme"}), event_time=True)
        self.clock = Clock(T0)
        self.control = IncidentControl(self.writer, self.desk, self.clock)
        self.count = 0

    async def storm(self, start: datetime, minutes: int, text: str = "flight cancelled") -> None:
        """Three negative mentions a minute, stored and filed as the intake does."""
        for minute in range(minutes):
            batch = [
                self._mention(start + minute * MIN + timedelta(seconds=20 * n), text)
                for n in range(3)
            ]
            now = batch[-1].mention.created_at
            await self.writer.run(lambda db, b=batch, t=now: self.desk.store(db, b, {}, t))
        self.clock.at = max(self.clock.at, start + minutes * MIN)

    async def tick(self, at: datetime) -> None:
        self.clock.at = at
        await self.writer.run(lambda db: self.desk.tick(db, at))

    async def actions(self, incident_id: int) -> list[tuple[str, str, str]]:
        entries = await self.writer.run(lambda db: audit_of(db, incident_id))
        return [(e.action, e.actor, e.detail) for e in entries]

    def _mention(self, when: datetime, text: str) -> ScoredMention:
        self.count += 1
        mention = Mention("test", f"m{self.count}", text, when, author=Author())
        negativity = Negativity(0.95, Sentiment.NEGATIVE, -0.8, ("cancelled: “cancelled”",))
        return ScoredMention(
            mention, ("acme",), ("acme",), LanguageGuess("en", 1.0), negativity, when
        )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    made = Service(tmp_path)
    yield made
    made.writer.close()


async def test_an_acknowledgement_undone_lets_the_escalation_run(service: Service) -> None:
    """An acknowledgement clicked by mistake holds off ``unless_acknowledged`` escalation; once
    undone, the escalation runs when its wait ends, as if nobody had acknowledged."""
    await service.storm(T0, 10)
    await service.tick(T0 + 12 * MIN)
    control = service.control
    assert (await control.acknowledge(1, "ann")).ok
    undone = await control.unacknowledge(1, "ann")
    assert undone.ok, undone.message
    assert undone.message == "#1 unacknowledged by ann"
    stored = await service.writer.run(lambda db: get_incident(db, 1))
    assert stored is not None
    assert (stored.status.value, stored.acknowledged_by, stored.acknowledged_at) == (
        "open",
        "",
        None,
    )
    await service.storm(T0 + 12 * MIN, 10)
    await service.tick(T0 + 60 * MIN)
    done = await service.actions(1)
    assert ("unacknowledged", "ann", "by ann") in done
    assert any(a == "escalated" and "to crisis" in d for a, _, d in done), done
    assert not any(a == "not escalated" for a, _, _ in done)


async def test_only_an_acknowledged_incident_can_be_unacknowledged(service: Service) -> None:
    await service.storm(T0, 10)
    await service.tick(T0 + 12 * MIN)
    refused = await service.control.unacknowledge(1, "ann")
    assert not refused.ok
    assert refused.message == "#1 is not acknowledged: there is nothing to undo"
    unknown = await service.control.unacknowledge(7, "ann")
    assert (unknown.ok, unknown.message) == (False, "incident #7 is not open (or no longer recent)")


async def test_merges_say_what_they_did_and_why_not(service: Service) -> None:
    await service.storm(T0, 10)
    await service.storm(T0 + 10 * MIN, 5, text="cancelled again #refundnow")
    await service.tick(T0 + 20 * MIN)
    control = service.control
    assert (await control.merge(1, 1, "ann")).message == "#1 cannot be merged into itself"
    merged = await control.merge(2, 1, "ann")
    assert (merged.ok, merged.message) == (True, "#2 merged into #1")
    again = await control.merge(2, 1, "bob")
    assert (again.ok, again.message) == (False, "#2 was merged into #1")
    stored = await service.writer.run(lambda db: get_incident(db, 2))
    assert stored is not None
    assert (stored.status.value, stored.merged_into) == ("merged", 1)
    assert ("merged", "ann", "into #1") in await service.actions(2)
    assert any(a == "absorbed" for a, _, _ in await service.actions(1))
