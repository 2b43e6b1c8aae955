"""The brand's own posts (``brands[].handles``) are never complaints: an apology reads negative,
but `mentions --negative`, the chat command `stats` (Slack and Teams) and its top authors leave
them out, as the incident engine does. Decided from the configured handles when read, so a
database stored before a handle was configured reads right too."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.accounts import own_accounts
from bot.cli import main
from storage.database import open_database
from storage.mentions import find_mentions
from storage.stats import brand_stats
from tests.conftest import mention_record, running_service, wait_for, write_config, write_jsonl
from tests.fake_connector import CHANNEL, FakeConnector, message_activity, post_activity
from tests.slack_fake import FakeSlack, post_signed, slash_command_body

OWN = {"kestrel-mobile": own_accounts(["@kestrelmobile"])}
APOLOGY = "Kestrel Mobile outage: no signal in Lyon since 9am. We're so sorry, awful morning."


def story() -> list[dict[str, Any]]:
    """Three apologies by the brand, three complaints by two people, one happy customer."""
    records = [
        mention_record(1, "Kestrel Mobile down again, no signal all day, furious", author="ana"),
        mention_record(2, APOLOGY, author="kestrelmobile"),
        mention_record(3, "@kestrelmobile still no signal, cancelled my plan", author="ana"),
        mention_record(4, f"{APOLOGY} Update soon.", author="KestrelMobile"),
        mention_record(5, "Kestrel app keeps crashing, terrible", author="bo"),
        mention_record(6, f"{APOLOGY} Next update at noon.", author="@kestrelmobile"),
        mention_record(7, "thanks @kestrelmobile, the new plan is great", author="cy"),
    ]
    for number, record in enumerate(records, start=1):
        record["created_at"] = f"2026-03-10T09:{number * 5:02d}:00Z"
    return records


def replayed(tmp_path: Path, **sections: Any) -> Path:
    data = write_jsonl(tmp_path / "story.jsonl", story())
    source = {"type": "replay", "name": "story", "path": str(data)}
    return write_config(tmp_path, [source], **({"http": {"enabled": False}} | sections))


def all_stored(tmp_path: Path) -> bool:
    """Whether the story's mentions are all stored: a replay is "finished" once it has handed
    them over, which may be before the intake has stored the last batch (a loaded machine)."""
    database = tmp_path / "vigie.db"
    if not database.exists():
        return False
    try:
        db = open_database(database, read_only=True)
    except Exception:  # being created
        return False
    try:
        return int(db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]) == len(story())
    except sqlite3.Error:  # its tables not made yet
        return False
    finally:
        db.close()


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    config = replayed(tmp_path)
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    database = tmp_path / "vigie.db"
    db = open_database(database, read_only=True)
    try:
        rows = find_mentions(db, negative=True)  # no own accounts given: as stored
    finally:
        db.close()
    own = [row["native_id"] for row in rows if row["author_handle"].lower() == "kestrelmobile"]
    assert own == ["m-6", "m-4", "m-2"]  # the apologies do read negative
    return config


def test_mentions_negative_leaves_out_the_brands_own_posts(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    for brand in ([], ["--brand", "kestrel-mobile"]):
        assert main(["mentions", "-c", str(stored), "--negative", "--json", *brand]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [row["native_id"] for row in rows] == ["m-5", "m-3", "m-1"]
    assert main(["mentions", "-c", str(stored), "--json"]) == 0  # they are still mentions
    assert len(capsys.readouterr().out.splitlines()) == 7
    assert main(["mentions", "-c", str(stored), "--negative", "--limit", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["native_id"] for row in rows] == ["m-5", "m-3"]  # the limit counts complaints


def test_stats_count_no_own_post_as_negative_nor_the_brand_as_a_complainer(
    stored: Path,
) -> None:
    db = open_database(stored.parent / "vigie.db", read_only=True)
    try:
        since = datetime(2026, 3, 1, tzinfo=UTC)
        before = brand_stats(db, "kestrel-mobile", since)
        after = brand_stats(db, "kestrel-mobile", since, own=OWN)
    finally:
        db.close()
    assert before.negative == 6
    assert ("kestrelmobile", 2) in before.top_authors  # what /vigie stats used to say
    assert (after.mentions, after.negative) == (7, 3)
    assert after.top_authors == [("ana", 2), ("bo", 1)]


def test_a_post_by_one_brands_account_still_counts_against_another_brand(tmp_path: Path) -> None:
    """Own is per brand: a post by @kestrelmobile about another brand is the other brand's
    mention like anyone's."""
    brands = [
        {"name": "Kestrel Mobile", "keywords": ["kestrel"], "handles": ["@kestrelmobile"]},
        {"name": "Osprey Telecom", "keywords": ["osprey"], "handles": ["@osprey"]},
    ]
    records = [
        mention_record(1, "Osprey outage again, awful, no signal", author="kestrelmobile"),
        mention_record(2, "Kestrel outage again, awful, no signal", author="kestrelmobile"),
    ]
    data = write_jsonl(tmp_path / "m.jsonl", records)
    config = write_config(
        tmp_path,
        [{"type": "replay", "name": "story", "path": str(data)}],
        brands=brands,
        http={"enabled": False},
    )
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    own = {"kestrel-mobile": own_accounts(["@kestrelmobile"]), "osprey-telecom": frozenset()}
    db = open_database(tmp_path / "vigie.db", read_only=True)
    try:
        negative = [row["native_id"] for row in find_mentions(db, negative=True, own=own)]
        osprey = brand_stats(db, "osprey-telecom", datetime(2026, 3, 1, tzinfo=UTC), own=own)
        kestrel = brand_stats(db, "kestrel-mobile", datetime(2026, 3, 1, tzinfo=UTC), own=own)
    finally:
        db.close()
    assert negative == ["m-1"]
    assert (osprey.negative, kestrel.negative) == (1, 0)


SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TARGETS = {"social": {"platform": "slack", "channel": "C1"}}
LEVELS = [{"name": "watch", "min_risk": 99, "steps": [{"notify": "social"}]}]


async def test_slack_stats_and_negative_mentions_leave_the_brand_out(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        slack_settings = {"bot_token": "xoxb-test", "signing_secret": SECRET}
        config = replayed(
            tmp_path,
            http={"port": 0},
            platforms={"slack": {**slack_settings, "api_url": slack.api_url}},
            incidents={"targets": TARGETS, "levels": LEVELS},
        )
        async with running_service(config) as service:
            await wait_for(lambda: all_stored(tmp_path), timeout=30)
            url = f"http://127.0.0.1:{service.http_port}/slack/events"
            answers = []
            for number, text in enumerate(["stats --since 30d", "mentions --negative --since 30d"]):
                body = slash_command_body(
                    "/vigie", text, "U1", "C1", slack.response_url(str(number))
                )
                assert (await post_signed(url, body, SECRET))[0] == 200
                await wait_for(lambda n=number + 1: len(slack.responses) >= n)
                answers.append(slack.responses[number]["text"])
    stats, negative = answers
    assert "7 mentions, 3 negative (43%)" in stats
    assert "top authors: @ana (2), @bo (1)" in stats
    assert "kestrelmobile" not in stats.lower()
    assert "(1 to 3 of 3)" in negative
    assert "sorry" not in negative


async def test_teams_stats_leave_the_brand_out(tmp_path: Path) -> None:
    async with FakeConnector() as teams:
        config = replayed(
            tmp_path,
            http={"port": 0},
            platforms={"teams": {"app_id": ""}},
            incidents={
                "targets": {"social": {"platform": "teams", "channel": CHANNEL}},
                "levels": LEVELS,
            },
        )
        async with running_service(config) as service:
            await wait_for(lambda: all_stored(tmp_path), timeout=30)
            activity = message_activity(teams.url, "stats --since 30d")
            await post_activity(f"http://127.0.0.1:{service.http_port}/api/messages", activity)
            await wait_for(lambda: bool(teams.activities(CHANNEL)), timeout=10)
            answer = str(teams.activities(CHANNEL)[-1]["text"])
    assert "7 mentions, 3 negative" in answer
    assert "kestrelmobile" not in answer.lower()
