"""Links that ``urllib`` refuses (a footnote right after a link, a stray bracket) never cost a
mention: it is stored and filed into its incident like any other, without a link."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.config.incidents import IncidentPolicy
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from bot.incidents.groups import canonical_links, topic_keys
from bot.intake import Envelope, Intake, Receipt
from bot.metrics import Metrics
from bot.model import Brand, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from bot.urls import canonical_url
from bot.workers import InlineScorer
from storage.unfiled import Stored
from storage.writer import Writer

T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
ODD = (
    "https://acme.com[1",  # "awful https://acme.com[1] ...": the link regex stops at "]" only
    "https://acme.com]x",
    "http://[::1",
    "https://[not-an-address/path",
)


@pytest.mark.parametrize("url", ODD)
def test_a_link_urlsplit_refuses_has_no_canonical_spelling(url: str) -> None:
    assert canonical_url(url) == ""
    assert canonical_url(url, fragment=False) == ""


def test_the_links_around_an_odd_one_are_still_read() -> None:
    text = "awful https://acme.com[1] see https://www.status.acme.com/incident/7/ and http://[::1"
    assert canonical_links(text) == ["status.acme.com/incident/7"]
    assert canonical_url("https://[2001:db8::1]:8443/a/") == "[2001:db8::1]:8443/a"  # real IPv6


def test_a_mention_with_an_odd_link_gets_its_other_topics() -> None:
    mention = Mention("feed", "1", "awful https://acme.com[1] again #acmedown", T0)
    negativity = Negativity(0.9, Sentiment.NEGATIVE, -0.7, ())
    scored = ScoredMention(mention, ("acme",), ("acme",), LanguageGuess("en", 1.0), negativity, T0)
    assert topic_keys(scored, frozenset()) == ["#acmedown"]


POLICY = IncidentPolicy.model_validate(
    {
        "group_wait": "2m",
        "group_interval": "10m",
        "targets": {"team": {"channel": "#team"}},
        "levels": [{"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]}],
    }
)


def complaint(number: int, at: datetime) -> Mention:
    """Negative mentions of Acme; every other one has an odd link in its text, every third
    one as its own URL."""
    odd = ODD[number % len(ODD)]
    text = f"Acme lost my bag again, awful service, still no refund #{number}"
    if number % 2:
        text = f"Acme lost my bag again, awful {odd}] still no refund, never again #{number}"
    url = f"{odd}" if number % 3 == 0 else f"https://social.example/post/{number}"
    return Mention("hook", f"m{number}", text, at, url=url)


async def test_mentions_with_odd_links_are_stored_and_filed(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "vigie.db")
    desk = IncidentDesk(EngineSetup(policy=POLICY, brand_names={"acme": "Acme"}), event_time=True)

    def store(
        db: sqlite_utils.Database, scored: Sequence[ScoredMention], positions: dict[str, str]
    ) -> Stored:
        now = max((item.mention.created_at for item in scored), default=T0)  # event time
        return desk.store(db, scored, positions, now)

    intake = Intake(
        InlineScorer([Brand("Acme", "acme")]),
        writer,
        Metrics(),
        capacity=1000,
        batch_size=10,
        now=lambda: T0,
        store=store,
    )
    running = asyncio.create_task(intake.run())
    receipts: list[Receipt] = []
    try:
        for minute in range(20):  # a storm: three complaints a minute for 20 minutes
            at = T0 + timedelta(minutes=minute)
            mentions = tuple(
                complaint(minute * 3 + n, at + timedelta(seconds=10 * n)) for n in range(3)
            )
            done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
            await intake.submit(Envelope("hook", mentions, f"minute-{minute}", done))
            receipts.append(await asyncio.wait_for(done, 30))
        intake.close()
        await asyncio.wait_for(running, 30)
        await writer.run(lambda db: desk.tick(db, T0 + timedelta(minutes=20)))

        stored = await writer.run(
            lambda db: {row[0] for row in db.execute("SELECT native_id FROM mentions")}
        )
        filed = await writer.run(
            lambda db: {row[0] for row in db.execute("SELECT native_id FROM incident_mentions")}
        )
    finally:
        if not running.done():
            running.cancel()
        writer.close()

    everyone = {f"m{n}" for n in range(60)}
    assert sum(receipt.stored for receipt in receipts) == 60
    assert stored == everyone  # none "cannot be stored; skipped"
    odd_ones = {f"m{n}" for n in range(60) if n % 2 or n % 3 == 0}
    assert odd_ones <= filed  # they count in the incident like the others
