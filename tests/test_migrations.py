"""Migrations on databases written by older versions, with the data they may really hold."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from bot.drafts.model import Draft, DraftState, Target
from storage import drafts as store
from storage.database import open_database
from storage.migrations import MIGRATIONS, current_version

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TEAMS = "19:abc@thread.tacv2"  # a Teams channel id
M31 = Target("mastodon", 500, "characters", "test", "m31", author="ana@m.example")


def at_version(path: Path, version: int) -> sqlite_utils.Database:
    """A database as a Vigie with the first ``version`` migrations left it."""
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, migration in enumerate(MIGRATIONS[:version], start=1):
        with db.atomic():
            migration(db)
            db.table("schema_version").insert({"version": number, "applied_at": "then"})
    return db


def old_set(db: sqlite_utils.Database, set_id: int, incident_id: int, data: str) -> None:
    """A draft set as schema 7 stored it: the brand only inside ``data``."""
    db.execute(
        "INSERT INTO draft_sets (id, incident_id, kind, source, native_id, data) "
        "VALUES (?, ?, 'reply', 'test', 'm31', ?)",
        [set_id, incident_id, data],
    )


def set_data(brand: str) -> str:
    return json.dumps({"brand": brand, "created_at": T0.isoformat(), "target": asdict(M31)})


def draft(draft_id: int, set_id: int, incident_id: int, state: DraftState) -> Draft:
    return Draft(
        id=draft_id,
        set_id=set_id,
        incident_id=incident_id,
        brand="acme",
        variant="apologetic",
        language="en",
        theme="cancellation",
        text="@ana Sorry!",
        state=state,
        created_at=T0,
        expires_at=T0 + timedelta(hours=24),
    )


def test_one_post_drafted_under_two_incidents_survives_the_move_to_schema_8(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vigie.db"
    old = at_version(path, 7)
    with old.conn:
        old_set(old, 4, 1, set_data("acme"))  # the storm's set for m31…
        old_set(old, 6, 2, set_data("acme"))  # …and the topic's: the duplicate to live with
        old_set(old, 7, 5, set_data("globex"))  # another brand answers for itself
        old.execute(
            "INSERT INTO draft_sets (id, incident_id, kind, source, native_id, data) "
            "VALUES (8, 3, 'statement', '', '', 'not json')"
        )
        store.save_draft(old, draft(10, 4, 1, DraftState.PUBLISHING))
        store.save_draft(old, draft(14, 6, 2, DraftState.PROPOSED))
    old.close()

    migrated = open_database(path)
    assert current_version(migrated) == len(MIGRATIONS) >= 8
    brands = migrated.execute("SELECT id, brand FROM draft_sets ORDER BY id").fetchall()
    assert brands == [(4, "acme"), (6, "acme"), (7, "globex"), (8, "")]  # every row kept
    assert [d.id for d in store.post_drafts(migrated, "acme", "test", "m31")] == [10, 14]
    assert store.post_drafts(migrated, "globex", "test", "m31") == []
    indexes = {tuple(index.columns) for index in migrated.table("draft_sets").indexes}
    assert ("brand", "source", "native_id") in indexes
    assert ("incident_id", "kind", "source", "native_id") in indexes
    stored = store.get_set(migrated, 6)
    assert stored is not None
    assert (stored.brand, stored.target) == ("acme", M31)


def outbox_key(db: sqlite_utils.Database, key: str) -> None:
    db.execute(
        "INSERT INTO outbox (key, incident_id, kind, platform, channel, created_at, payload, "
        "state, attempts, next_attempt_at) VALUES (?, 1, 'update', 'slack', '', ?, '{}', "
        "'sent', 1, 0)",
        [key, T0.isoformat()],
    )


def test_schema_9_numbers_each_drafts_message_after_the_keys_it_already_used(
    tmp_path: Path,
) -> None:
    """Keys were numbered by counting the message's outbox items; from schema 9 retention
    deletes old items, so each message keeps a counter, which starts after its stored keys."""
    path = tmp_path / "vigie.db"
    old = at_version(path, 8)
    with old.conn:
        posts = [
            (4, "slack", "#team"),
            (4, "slack", "#team-2"),
            (6, "teams", TEAMS),
            (8, "slack", "#x"),
        ]
        for set_id, platform, channel in posts:
            store.note_posted(old, set_id, platform, channel)
        for key in (
            "drafts-4-slack:#team-1",
            "drafts-4-slack:#team-2",
            "drafts-4-slack:#team-3",
            "drafts-4-slack:#team-2-1",  # the message in #team-2, not the second in #team
            "drafts-4-failed-10-1-slack:#team",  # a failed publication's notice
            f"drafts-6-teams:{TEAMS}-1",
            "drafts-40-slack:#team-7",  # another set's
        ):
            outbox_key(old, key)
    old.close()

    migrated = open_database(path)
    assert store.next_intent(migrated, 4, "slack", "#team") == 4
    assert store.next_intent(migrated, 4, "slack", "#team-2") == 2
    assert store.next_intent(migrated, 6, "teams", TEAMS) == 2
    assert store.next_intent(migrated, 8, "slack", "#x") == 1
    assert store.next_intent(migrated, 4, "slack", "#team") == 5
    indexes = {
        (table, tuple(index.columns))
        for table in ("mention_brands", "draft_sets", "outbox")
        for index in migrated.table(table).indexes
    }
    assert {
        ("mention_brands", ("source", "native_id")),
        ("draft_sets", ("source", "native_id")),
        ("outbox", ("state", "created_at")),
    } <= indexes


def _first_v9(db: sqlite_utils.Database) -> None:
    """Version 9 as it first shipped (7033048): three indexes, no draft_posts.intents."""
    for table, columns in (
        ("mentions", ["received_at"]),
        ("incident_mentions", ["source", "native_id"]),
        ("observations", ["at"]),
    ):
        db.table(table).create_index(columns, if_not_exists=True)


def test_a_database_migrated_by_the_first_version_9_is_repaired(tmp_path: Path) -> None:
    """Version 9 was extended after it shipped: a database migrated by the first one had no
    draft_posts.intents (every drafts message then failed) nor three of its indexes."""
    path = tmp_path / "vigie.db"
    old = at_version(path, 8)
    with old.atomic():
        _first_v9(old)
        old.table("schema_version").insert({"version": 9, "applied_at": "then"})
    for number, migration in enumerate(MIGRATIONS[9:11], start=10):
        with old.atomic():
            migration(old)
            old.table("schema_version").insert({"version": number, "applied_at": "then"})
    assert "intents" not in old.table("draft_posts").columns_dict
    old.close()

    migrated = open_database(path)
    assert current_version(migrated) == len(MIGRATIONS)
    assert "intents" in migrated.table("draft_posts").columns_dict
    indexed = {tuple(index.columns) for index in migrated.table("outbox").indexes}
    assert ("state", "created_at") in indexed


def test_mentions_stored_before_links_were_kept_are_found_by_their_link(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    old = at_version(path, 4)  # canonical_url added, empty for the mentions already there
    with old.conn:
        old.execute(
            "INSERT INTO mentions (source, native_id, url, text, created_at, canonical_url) "
            "VALUES ('rss', 'a1', 'https://News.example/story?utm_source=x', 'Kestrel', ?, '')",
            [T0.isoformat()],
        )
    old.close()

    migrated = open_database(path)
    [(link,)] = migrated.execute("SELECT canonical_url FROM mentions").fetchall()
    assert link
    assert "utm_source" not in link


def test_a_holding_statement_stored_without_its_other_platforms_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    old = at_version(path, 11)
    statement = {"platform": "x", "limit": 280, "unit": "weighted characters"}
    bluesky = {**asdict(M31), "platform": "bluesky", "limit": 300, "unit": "graphemes"}
    later = T0 + timedelta(hours=1)
    with old.conn:
        for set_id, kind, target, at in (
            (1, "statement", statement, T0),
            (2, "reply", bluesky, T0),
            (3, "reply", {**asdict(M31), "platform": "X", "limit": 280}, T0),
            (4, "reply", {**asdict(M31), "platform": "mastodon", "limit": 120}, later),
        ):
            old.execute(
                "INSERT INTO draft_sets (id, incident_id, kind, source, native_id, data, brand) "
                "VALUES (?, 1, ?, 'test', ?, ?, 'acme')",
                [
                    set_id,
                    kind,
                    f"m{set_id}",
                    json.dumps({"brand": "acme", "created_at": at.isoformat(), "target": target}),
                ],
            )
    old.close()

    migrated = open_database(path)
    loaded = store.get_set(migrated, 1)
    assert loaded is not None
    # the replies it was fitted to: not its own platform again, nor a reply drafted after it
    assert loaded.target.also == (("bluesky", 300),)


def test_a_field_written_by_a_newer_vigie_is_left_out_not_fatal() -> None:
    """A rollback to an older build of the same schema: stored rows may carry fields it does
    not know (a target's, a chain's); they are left out with a warning."""
    from storage.rows import build

    target = build(Target, {**asdict(M31), "shiny_new_field": 1})
    assert target == M31
