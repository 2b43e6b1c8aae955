"""Drafts follow the incident's cards: proposed for its farthest-reaching mentions when the card
is posted, a holding statement at the top level, every set posted wherever the card is."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.accounts import own_accounts
from bot.config.incidents import IncidentPolicy
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts.limits import limit_for, platform_of_url
from bot.drafts.model import DraftKind, DraftSet, DraftState, Target
from bot.drafts.planner import BrandVoice, DraftPlanner, Reach, TargetRules, refresh_messages
from bot.incidents.model import Intent, IntentKind
from storage.database import open_database
from storage.drafts import drafts_in, note_posted, posted_in, save_draft, save_set, sets_of
from storage.incidents import get_incident
from storage.retention import prune_batch
from tests.test_incident_engine import MIN, T0, Desk, policy


def planned_desk(
    tmp_path: Path, reach: Reach, chosen: IncidentPolicy | None = None, **settings: object
) -> Desk:
    desk = Desk(tmp_path, chosen or policy())
    planner = DraftPlanner(
        ReplySettings(**settings),  # type: ignore[arg-type]
        {"acme": BrandVoice("Acme", Playbook(), ("en", "fr"))},
        TargetRules({"test": reach}, platform_of_url),
    )
    desk.desk.after_step = planner.plan
    return desk


def part_intents(desk: Desk) -> list[dict[str, object]]:
    rows = desk.db.execute(
        "SELECT kind, channel, payload FROM outbox WHERE key LIKE 'drafts-%' ORDER BY id"
    ).fetchall()
    return [{"kind": k, "channel": c, **json.loads(p)} for k, c, p in rows]


def test_a_posted_card_gets_reply_drafts_for_its_top_mentions(tmp_path: Path) -> None:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True))
    for number in range(12):
        desk.post(T0 + number * MIN, 1, text=f"Acme cancelled my flight AB{100 + number}!",
                  handle=f"user{number}", followers=100 * number)  # fmt: skip
    desk.tick(T0 + 20 * MIN)
    sets = sets_of(desk.db, 1)
    authors = [s.target.author for s in sets]
    assert {"user11", "user10", "user9"} <= set(authors)  # what the card shows gets drafts
    assert len(authors) == len(set(authors)) <= 10
    for drafts in sets:
        assert drafts.target.platform == "mastodon"
        assert drafts.target.can_publish
        variants = drafts_in(desk.db, drafts.id)
        assert len(variants) >= 2
        assert len({d.text for d in variants}) == len(variants)
        limit = limit_for("mastodon", 500)
        assert all(limit.length(d.text) <= 500 and d.language == "en" for d in variants)
        assert all(d.text.startswith(f"@{drafts.target.author}") for d in variants)
    posts = [i for i in part_intents(desk) if i["kind"] == "open"]
    assert sorted(p["part"] for p in posts) == sorted(s.part for s in sets)
    assert all(p["channel"] == "#team" for p in posts)
    # later card updates do not draft or post the same mentions again
    desk.post(T0 + 21 * MIN, 3, text="Acme cancelled again")
    desk.tick(T0 + 40 * MIN)
    again = [
        i
        for i in part_intents(desk)
        if i["kind"] == "open" and i["channel"] == "#team" and i["card"]["kind"] == "reply"  # type: ignore[index]
    ]
    assert len(again) == len(posts)


def test_the_top_level_adds_a_statement_everywhere_and_replies_stay_with_the_team(
    tmp_path: Path,
) -> None:
    """Replies go where the card was first posted; the escalation's channel gets the card and
    the holding statement, not every reply again."""
    desk = planned_desk(tmp_path, Reach("", None, False))  # a replay: the URL decides
    desk.storm(T0, 30, per_minute=4)
    desk.tick(T0 + 80 * MIN)
    statements = [s for s in sets_of(desk.db, 1) if s.kind.value == "statement"]
    assert len(statements) == 1
    [statement] = drafts_in(desk.db, statements[0].id)
    assert statement.variant == "statement"
    assert statement.text
    for drafts in sets_of(desk.db, 1):
        where = {channel for _, channel in posted_in(desk.db, drafts.id)}
        assert where == ({"#team", "#lead"} if drafts.kind.value == "statement" else {"#team"})
        assert not drafts.target.can_publish


def test_an_incident_opening_at_the_top_level_drafts_replies_for_the_care_team(
    tmp_path: Path,
) -> None:
    """Its card goes to the crisis channel first; replies still go to the team that answers
    customers (the lowest level's target), not to the crisis channel."""
    levels = [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "crisis", "min_risk": 21, "steps": [{"notify": "lead"}, {"notify": "team"}]},
    ]
    desk = planned_desk(tmp_path, Reach("", None, False), policy(levels=levels))
    desk.storm(T0, 10, per_minute=4)
    desk.tick(T0 + 20 * MIN)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert [channel for _, channel in incident.channels][:2] == ["#lead", "#team"]
    replies = [s for s in sets_of(desk.db, 1) if s.kind.value == "reply"]
    assert replies
    for drafts in replies:
        assert {channel for _, channel in posted_in(desk.db, drafts.id)} == {"#team"}


def test_the_brands_own_posts_get_no_drafts(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    voice = BrandVoice("Acme", Playbook(), ("en",), own_accounts(["@AcmeCare"]))
    planner = DraftPlanner(ReplySettings(), {"acme": voice}, TargetRules({}, platform_of_url))
    desk.desk.after_step = planner.plan
    desk.post(T0, 1, text="Acme flights cancelled today", handle="acmecare", followers=50_000)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle=f"u{number}",
                  followers=number)  # fmt: skip
    desk.tick(T0 + 20 * MIN)
    shown = {
        example["author"]
        for (payload,) in desk.db.execute("SELECT payload FROM outbox WHERE key LIKE 'incident-%'")
        for example in json.loads(payload)["card"].get("examples", [])
    }
    assert shown
    assert "acmecare" not in shown  # the brand's own post is no complaint…
    authors = {s.target.author for s in sets_of(desk.db, 1)}
    assert authors
    assert "acmecare" not in authors  # …and nobody is asked to answer it


def test_drafts_stop_at_the_incidents_maximum(tmp_path: Path) -> None:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), max_mentions=2)
    for number in range(12):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", followers=100 * number)
    desk.tick(T0 + 20 * MIN)
    assert len(sets_of(desk.db, 1)) == 2


def test_drafts_can_be_turned_off(tmp_path: Path) -> None:
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), enabled=False)
    desk.storm(T0, 10)
    desk.tick(T0 + 20 * MIN)
    assert sets_of(desk.db, 1) == []
    assert part_intents(desk) == []


def storm_and_topic(tmp_path: Path, **settings: object) -> Desk:
    """A brand's storm and, inside it, a #acmefail topic: the topic's first posts are counted in
    both incidents, and the farthest-reaching of them are on both cards."""
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True), **settings)
    for minute in range(25):
        at = T0 + minute * MIN
        desk.post(at, 2, text="Acme cancelled my flight", handle=f"u{minute}", followers=minute)
        desk.post(at, 1, text="Acme cancelled my flight #acmefail", handle=f"big{minute}",
                  followers=10_000 + minute)  # fmt: skip
        desk.tick(at + MIN / 2)
    return desk


def card_keys(desk: Desk, incident_id: int) -> set[tuple[str, str]]:
    rows = desk.db.execute(
        "SELECT payload FROM outbox WHERE incident_id = ? AND key LIKE 'incident-%'",
        [incident_id],
    ).fetchall()
    return {
        (example["key"][0], example["key"][1])
        for (payload,) in rows
        for example in json.loads(payload)["card"].get("examples", [])
    }


def test_a_post_on_two_incidents_cards_gets_one_set_of_drafts(tmp_path: Path) -> None:
    desk = storm_and_topic(tmp_path, max_mentions=3)
    topics = desk.db.execute("SELECT topic FROM incidents ORDER BY id").fetchall()
    assert sorted(topic for (topic,) in topics) == ["#acmefail", "storm"]  # (topics open first)
    posts = [
        (s.target.source, s.target.native_id)
        for incident in (1, 2)
        for s in sets_of(desk.db, incident)
        if s.kind.value == "reply"
    ]
    assert len(posts) == len(set(posts))  # one set per post, whichever incidents count it
    shared = card_keys(desk, 1) & card_keys(desk, 2) & set(posts)
    assert shared  # the case at hand: a drafted post shown on both cards
    assert len(posts) == 6  # each incident still drafts for three posts of its own


def test_a_post_whose_drafts_are_all_closed_can_be_drafted_in_another_incident(
    tmp_path: Path,
) -> None:
    desk = storm_and_topic(tmp_path, max_mentions=3)
    first = sets_of(desk.db, 1)[0]
    post = [{"key": [first.target.source, first.target.native_id]}]
    planner = DraftPlanner(
        ReplySettings(),
        {"acme": BrandVoice("Acme", Playbook(), ("en", "fr"))},
        TargetRules({"test": Reach("mastodon", 500, True)}, platform_of_url),
    )
    card = {"status": "open", "brand": "acme", "examples": post}
    step = [Intent("x-1", 2, IntentKind.UPDATE, "slack", "#team", T0 + 30 * MIN, "", card)]

    def sets_for_post() -> list[int]:
        return [s.incident_id for s in sets_of(desk.db, 2) if s.target == first.target]

    planner.plan(desk.db, step)
    assert sets_for_post() == []  # still open under incident 1
    for draft in drafts_in(desk.db, first.id):
        save_draft(desk.db, replace(draft, state=DraftState.REJECTED, decided_by="UANN"))
    planner.plan(desk.db, step)
    assert sets_for_post() == [2]


def test_each_edit_of_a_drafts_message_is_queued_after_old_ones_are_forgotten(
    tmp_path: Path,
) -> None:
    """Retention deletes delivered outbox items. A message's next key must neither come back to
    one still stored (the edit was dropped as a duplicate, and every later one: the card froze)
    nor to one already used (a platform that finds a key it knows takes the edit as done)."""
    db = open_database(tmp_path / "vigie.db")
    db.execute(
        "INSERT INTO incidents (id, brand, status, data) VALUES (1, 'acme', 'resolved', '{}')"
    )
    target = Target("mastodon", 500, "characters", "test", "m1", author="ana@m.example")
    drafts = DraftSet(7, 1, "acme", DraftKind.REPLY, target, T0)
    save_set(db, drafts)
    note_posted(db, drafts.id, "slack", "#team")
    keys: list[str] = []

    def edit(at: datetime) -> None:
        refresh_messages(db, drafts, "Acme", at)
        queued = db.execute("SELECT key FROM outbox WHERE state = 'pending'").fetchall()
        assert len(queued) == 1, f"edit {len(keys) + 1} was not queued"
        keys.append(queued[0][0])
        db.execute("UPDATE outbox SET state = 'sent' WHERE state = 'pending'")  # delivered

    for _ in range(3):
        edit(T0 - timedelta(days=400))
    edit(T0 - timedelta(days=2))
    assert prune_batch(db, T0 - timedelta(days=365)).outbox == 3
    for _ in range(4):
        edit(T0)
    assert prune_batch(db, T0 + timedelta(days=400)).outbox == 5  # every item forgotten
    edit(T0 + timedelta(days=401))
    assert len(set(keys)) == len(keys) == 9
    assert keys[-1] == "drafts-7-slack:#team-9"


def test_a_neutral_mention_gets_no_apology_and_a_vague_complaint_the_incidents_theme(
    tmp_path: Path,
) -> None:
    """The mention's stored sentiment reaches the drafts: a neutral question on the card of a
    cancellation storm is not apologised to, a complaint that says too little is answered
    about the cancellations, and one with a theme of its own keeps it."""
    desk = planned_desk(tmp_path, Reach("mastodon", 500, True))
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle=f"u{number}",
                  followers=number)  # fmt: skip
    desk.post(T0, 1, text="What time does Acme open tomorrow?", handle="asker", followers=9000)
    desk.post(T0, 1, text="Acme, 3 hours now. Three.", handle="vague", followers=8000)
    desk.post(T0, 1, text="Acme charged me twice for it", handle="payer", followers=7000)
    desk.db.execute("UPDATE mentions SET sentiment = 'neutral' WHERE text LIKE 'What time%'")
    desk.tick(T0 + 20 * MIN)
    drafted = {
        s.target.author: [(d.variant, d.theme) for d in drafts_in(desk.db, s.id)]
        for s in sets_of(desk.db, 1)
    }
    assert drafted["asker"] == [("informative", "general"), ("dm", "general")]
    assert {theme for _, theme in drafted["vague"]} == {"cancellation"}
    assert {theme for _, theme in drafted["payer"]} == {"refund"}
