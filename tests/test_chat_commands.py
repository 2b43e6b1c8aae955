"""The chat command on a real SQLite file, without a platform: pages that stay put while
mentions and incidents keep arriving, `stats` counting the incidents open during the period,
and timelines that say what they leave out and in which time zone they are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chat_commands import ChatCommands
from bot.config.incidents import IncidentPolicy
from bot.incidents.model import AuditEntry, Incident, LevelChange, Status
from storage.incidents import SqliteJournal
from storage.mentions import save_batch
from storage.writer import Writer
from tests.test_storage import T0, scored

BRANDS = {"kestrel": "Kestrel Mobile"}


@dataclass
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


async def _anyone(user: str, brand: str) -> bool:
    return True


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


def commands(writer: Writer, clock: FixedClock) -> ChatCommands:
    return ChatCommands(writer, None, BRANDS, _anyone, clock)  # type: ignore[arg-type]


async def mentions_posted(writer: Writer, minutes: range) -> None:
    batch = [scored(n) for n in minutes]  # m-N, posted N minutes after T0
    await writer.run(lambda db: save_batch(db, batch))


def incident(number: int, opened: datetime, **changes: Any) -> Incident:
    policy = IncidentPolicy()
    opening = LevelChange(policy.levels[0].name, opened, "opened")
    made = Incident(
        number, "kestrel", "storm", "not_working", Status.OPEN, 0, policy, opened, opened,
        levels=(opening,), themes={"not_working": 3},
    )  # fmt: skip
    return replace(made, **changes)


async def incidents_saved(writer: Writer, *incidents: Incident) -> None:
    def save(db: Any) -> None:
        for made in incidents:
            SqliteJournal(db).save_incident(made)

    await writer.run(save)


def hint(answer: str) -> str:
    last = answer.splitlines()[-1]
    assert last.startswith("Next: `/vigie "), answer
    return last.split("`")[1].removeprefix("/vigie ")


async def test_the_next_page_continues_page_one_while_mentions_keep_coming(
    writer: Writer,
) -> None:
    clock = FixedClock(T0 + timedelta(minutes=30))
    chat = commands(writer, clock)
    await mentions_posted(writer, range(1, 26))
    first = await chat.answer("mentions --since 30m", "U1")
    assert first.splitlines()[0] == (
        "Mentions since 2026-03-10 09:00 until 2026-03-10 09:30:00 UTC (1 to 10 of 25):"
    )
    following = hint(first)
    assert following == (
        "mentions --since 2026-03-10T09:00:00Z --until 2026-03-10T09:30:00Z page 2"
    )
    # a crisis: ten minutes later, ten more mentions (the old window would drop m-1 … m-9)
    clock.at += timedelta(minutes=10)
    await mentions_posted(writer, range(31, 41))
    second = await chat.answer(following, "U1")
    assert second.splitlines()[0].endswith("(11 to 20 of 25):")
    assert [line.split()[4] for line in second.splitlines()[1:11]] == [
        f"@user{n}:" for n in range(15, 5, -1)
    ]
    third = await chat.answer(hint(second), "U1")
    assert third.splitlines()[0].endswith("(21 to 25 of 25):")


async def test_an_until_of_its_own_and_a_window_backwards_are_read(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=2)))
    await mentions_posted(writer, range(1, 26))
    answer = await chat.answer("mentions --since 10m --until 2026-03-10T09:20:00Z", "U1")
    assert answer.splitlines()[0].endswith("(1 to 10 of 11):")  # 09:10 to 09:20, both in
    backwards = await chat.answer("mentions --since 2026-03-11 --until 2026-03-10", "U1")
    assert "`--since` is after `--until`" in backwards


async def test_the_next_page_of_incidents_ignores_incidents_opened_since(writer: Writer) -> None:
    clock = FixedClock(T0 + timedelta(hours=1))
    chat = commands(writer, clock)
    await incidents_saved(writer, *(incident(n, T0 + timedelta(minutes=n)) for n in range(1, 13)))
    first = await chat.answer("incidents all", "U1")
    assert first.splitlines()[0] == (
        "Incidents (all) opened until 2026-03-10 10:00:00, times in UTC (1 to 10 of 12):"
    )
    following = hint(first)
    assert following == "incidents all --until 2026-03-10T10:00:00Z page 2"
    clock.at += timedelta(minutes=5)
    await incidents_saved(writer, incident(13, clock.at))
    second = await chat.answer(following, "U1")
    assert [line.split()[0] for line in second.splitlines()[1:]] == ["*#2*", "*#1*"]


async def test_stats_count_the_incidents_open_during_the_period(writer: Writer) -> None:
    clock = FixedClock(T0 + timedelta(days=3))
    chat = commands(writer, clock)
    resolved = T0 + timedelta(days=1)
    await incidents_saved(
        writer,
        incident(1, T0),  # opened three days ago, still open at crisis level
        incident(2, T0, status=Status.RESOLVED, resolved_at=resolved, themes={"money": 9}),
        incident(3, T0 + timedelta(days=3) - timedelta(minutes=30), themes={"lost": 1}),
    )
    answer = await chat.answer("stats --since 1h", "U1")
    assert "2 incidents open at some time in the period" in answer
    assert "top themes of those incidents: not working (3), lost (1)" in answer
    older = await chat.answer("stats --since 3d", "U1")
    assert "3 incidents open at some time in the period" in older


async def test_a_long_timeline_says_what_it_leaves_out_and_its_time_zone(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=2)))
    await incidents_saved(writer, incident(1, T0))

    def log(db: Any) -> None:
        journal = SqliteJournal(db)
        for minute in range(35):
            journal.audit(AuditEntry(1, T0 + timedelta(minutes=minute), "vigie", f"step{minute}"))

    await writer.run(log)
    answer = await chat.answer("incident 1", "U1")
    assert "Timeline, times in UTC:" in answer
    assert "(5 earlier entries not shown)" in answer
    assert "step4" not in answer.replace("step34", "")
    assert "step5" in answer
    listed = await chat.answer("incidents", "U1")
    assert "times in UTC" in listed.splitlines()[0]


async def test_an_incident_names_its_risk_now_as_the_command_line_does(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=2)))
    why = "39: 8 negative mentions in 1 h; <!channel> says so"
    await incidents_saved(writer, incident(1, T0, explanation=why))
    answer = await chat.answer("incident 1", "U1")
    assert (
        answer.splitlines()[1]
        == "risk now 39: 8 negative mentions in 1 h; &lt;!channel&gt; says so"
    )


async def test_durations_read_in_any_case(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(minutes=30)))
    await mentions_posted(writer, range(1, 26))
    upper = await chat.answer("mentions --since 10M", "U1")
    assert upper == await chat.answer("mentions --since 10m", "U1")
    assert upper.splitlines()[0].endswith("(1 to 6 of 6):")
    stats = await chat.answer("STATS --SINCE 7D", "U1")
    assert "since 2026-03" in stats
    assert "See `" not in stats


async def test_stats_refuses_a_page_it_does_not_have(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=1)))
    answer = await chat.answer("stats Page 2", "U1")
    assert (
        answer.splitlines()[0]
        == "Cannot read that: `stats` answers in one message: it has no `Page N`"
    )
    assert "mentions" not in answer.splitlines()[0]
