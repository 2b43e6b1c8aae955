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

from bot.chat_commands import MAX_ANSWER, MRKDWN, ChatCommands
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
    assert following == "incidents all --before 3 --until 2026-03-10T10:00:00Z"
    clock.at += timedelta(minutes=5)
    await incidents_saved(writer, incident(13, clock.at))
    second = await chat.answer(following, "U1")
    assert [line.split()[0] for line in second.splitlines()[1:]] == ["*#2*", "*#1*"]
    # a hint written before pages went by id still reads the same page
    older = await chat.answer("incidents all --until 2026-03-10T10:00:00Z page 2", "U1")
    assert [line.split()[0] for line in older.splitlines()[1:]] == ["*#2*", "*#1*"]


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
    assert "(5 earlier entries not shown: `python -m bot incident 1` shows them all)" in answer
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


async def test_an_open_incident_resolved_between_pages_skips_no_other(writer: Writer) -> None:
    clock = FixedClock(T0 + timedelta(hours=1))
    chat = commands(writer, clock)
    opened = [incident(n, T0 + timedelta(minutes=n)) for n in range(1, 21)]
    await incidents_saved(writer, *opened)
    first = await chat.answer("incidents", "U1")
    assert hint(first) == "incidents open --before 11 --until 2026-03-10T10:00:00Z"
    await incidents_saved(writer, replace(opened[14], status=Status.RESOLVED, resolved_at=clock.at))
    second = await chat.answer(hint(first), "U1")
    assert second.splitlines()[0] == (
        "Incidents (open) before #11 opened until 2026-03-10 10:00:00, times in UTC "
        "(1 to 10 of 10):"
    )
    assert [line.split()[0] for line in second.splitlines()[1:]] == [
        f"*#{n}*" for n in range(10, 0, -1)
    ]
    assert "Next:" not in second
    refused = await chat.answer("incidents --before x", "U1")
    assert refused.startswith("`--before ID`: ID is an incident number")


async def test_a_list_past_500_says_so_from_its_first_page(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=20)))
    await mentions_posted(writer, range(1, 1001))
    first = await chat.answer("mentions", "U1")
    assert first.splitlines()[0].endswith("(1 to 10 of 500+):")
    note = (
        "(only the newest 500 are listed; narrow it with a brand, --negative, a later --since "
        "or an earlier --until)"
    )
    assert first.splitlines()[-2] == note
    last = await chat.answer("mentions page 50", "U1")
    assert last.splitlines()[0].endswith("(491 to 500 of 500+):")
    assert last.splitlines()[-1] == note
    narrowed = await chat.answer("mentions kestrel --negative page 50", "U1")
    assert narrowed.splitlines()[-1] == (
        "(only the newest 500 are listed; narrow it with a later --since or an earlier --until)"
    )


async def test_incidents_past_500_are_all_listed_without_a_note(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(days=30)))
    await incidents_saved(writer, *(incident(n, T0 + timedelta(minutes=n)) for n in range(1, 601)))
    answer = await chat.answer("incidents all page 60", "U1")
    assert answer.splitlines()[0].endswith("(591 to 600 of 600):")
    assert answer.splitlines()[-1] == (
        "*#1* Kestrel Mobile storm: open, watch, peak risk 0, 0 mentions, watch 10 Mar 09:01"
    )
    assert "only the newest" not in answer


async def test_stats_count_the_themes_of_incidents_merged_into_those_counted(
    writer: Writer,
) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=3)))
    await incidents_saved(
        writer,
        incident(1, T0, themes={"not_working": 3}),
        incident(2, T0, status=Status.MERGED, merged_into=1, themes={"money": 9}),
        incident(3, T0, status=Status.MERGED, merged_into=2, themes={"lost": 1}),  # a chain
        incident(4, T0, status=Status.RESOLVED, resolved_at=T0, themes={"rude": 5}),
        incident(5, T0, status=Status.MERGED, merged_into=4, themes={"rude": 5}),
    )
    answer = await chat.answer("stats --since 1h", "U1")
    assert "1 incidents open at some time in the period" in answer
    assert "top themes of those incidents: money (9), not working (3), lost (1)" in answer


async def test_a_merged_incident_says_into_which(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(hours=3)))
    await incidents_saved(
        writer, incident(1, T0), incident(2, T0, status=Status.MERGED, merged_into=1)
    )
    answer = await chat.answer("incident 2", "U1")
    assert answer.splitlines()[0].startswith("*#2 Kestrel Mobile storm*: merged into #1, ")


async def test_a_long_timeline_keeps_its_newest_entries_within_the_answer(writer: Writer) -> None:
    chat = commands(writer, FixedClock(T0 + timedelta(days=2)))
    await incidents_saved(writer, incident(1, T0))

    def log(db: Any) -> None:
        journal = SqliteJournal(db)
        for hour in range(1, 34):
            why = f"Reminder: nobody has acknowledged this crisis incident; risk now 6{hour % 10}"
            journal.audit(AuditEntry(1, T0 + timedelta(hours=hour), "vigie", "reminded", why))
        journal.audit(AuditEntry(1, T0 + timedelta(hours=35), "U0ANN", "acknowledged", "by ann"))

    await writer.run(log)
    answer = await chat.answer("incident 1", "U1")
    assert len(answer) <= MAX_ANSWER
    assert answer.endswith("U0ANN: acknowledged by ann")  # the newest, not cut away
    assert "(4 earlier entries not shown: `python -m bot incident 1` shows them all)" in answer
    small = replace(MRKDWN, limit=1500)
    shorter = await chat.answer("incident 1", "U1", small)
    assert len(shorter) <= 1500
    assert shorter.endswith("U0ANN: acknowledged by ann")
    assert "earlier entries not shown: `python -m bot incident 1`" in shorter


async def test_stats_of_many_brands_names_those_it_has_no_room_for(writer: Writer) -> None:
    names = [f"Airline number {n:02}" for n in range(30)]
    brands = {f"air-{n:02}": name for n, name in enumerate(names)}
    chat = ChatCommands(writer, None, brands, _anyone, FixedClock(T0 + timedelta(hours=2)))  # type: ignore[arg-type]
    answer = await chat.answer("stats", "U1")
    assert len(answer) <= MAX_ANSWER
    shown = [name for name in names if f"*{name}* since" in answer]
    assert shown == names[: len(shown)]
    assert 10 < len(shown) < 30
    assert answer.splitlines()[-1] == (
        f"({30 - len(shown)} more brands, one at a time with `/vigie stats BRAND`: "
        + ", ".join(names[len(shown) :])
        + ")"
    )
    few = await chat.answer("stats air-29", "U1")
    assert few.startswith("*Airline number 29* since")
    assert "more brands" not in few


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("McDonald\u2019s", "McDonald's"),  # a phone's curly apostrophe
        ("mcdonalds", None),
        ("societe generale", "Société Générale"),
        ("SOCIÉTÉ  GÉNÉRALE", "Société Générale"),
        ("\uff53\uff4f\uff43\uff49\uff45\uff54\uff45-generale", "Société Générale"),  # NFKC
    ],
)
async def test_brand_names_typed_on_a_phone_are_found(
    writer: Writer, typed: str, found: str | None
) -> None:
    brands = {**BRANDS, "mcdonald-s": "McDonald's", "societe-generale": "Société Générale"}
    chat = ChatCommands(writer, None, brands, _anyone, FixedClock(T0))  # type: ignore[arg-type]
    answer = await chat.answer(f'stats "{typed}"', "U1")
    if found is None:
        assert answer.startswith("no brand ")
    else:
        assert answer.startswith(f"*{found}* since "), answer


async def test_a_slug_names_its_brand_though_another_brand_has_it_as_its_name(
    writer: Writer,
) -> None:
    brands = {"apple": "Apple Inc", "apple-music": "Apple"}
    chat = ChatCommands(writer, None, brands, _anyone, FixedClock(T0))  # type: ignore[arg-type]
    assert (await chat.answer("stats apple", "U1")).startswith("*Apple Inc* since")
    assert (await chat.answer('stats "Apple Inc"', "U1")).startswith("*Apple Inc* since")
    assert (await chat.answer("stats apple-music", "U1")).startswith("*Apple* since")


async def test_a_folded_name_of_two_brands_is_refused_naming_both(writer: Writer) -> None:
    brands = {"cafe-a": "Café", "cafe-b": "Cafe", "kestrel": "Kestrel Mobile"}
    chat = ChatCommands(writer, None, brands, _anyone, FixedClock(T0))  # type: ignore[arg-type]
    assert (await chat.answer("stats Cafe", "U1")).startswith("*Cafe* since")  # exactly its name
    assert (await chat.answer("stats CAFÉ", "U1")).startswith("*Café* since")
    refused = await chat.answer("mentions cafè", "U1")
    assert refused.splitlines()[0] == (
        "'cafè' could be several brands: Café (cafe-a), Cafe (cafe-b); say which"
    )
