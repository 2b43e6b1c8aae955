"""Microsoft Teams end to end: the real botbuilder CloudAdapter inside Vigie on /api/messages,
against a fake Bot Connector on 127.0.0.1 (auth disabled for the flows), a real Mastodon source
against its fake, real SQLite. Install → reference stored → incident → card in a new thread →
updated in place → Acknowledge answered with the refreshed card → a draft approved → the reply
published once. Then the auth cases, offline, with locally signed tokens."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import handlers.teams.runtime
from bot.app import Service
from handlers.teams.render import CONTENT_TYPE, check_card
from storage.conversations import load_reference
from storage.database import open_database
from tests.conftest import SHARED_DATA, running_service, wait_for, write_config
from tests.fake_connector import (
    APP_ID,
    CHANNEL,
    TENANT,
    USER,
    FakeConnector,
    bot_added_activity,
    installation_activity,
    invoke_activity,
    message_activity,
    post_activity,
)
from tests.fake_mastodon import FakeMastodon
from tests.teams_auth import OpenIdServer, StaticCredentialsFactory, bad_tokens, bearer, sign

RESPONDER = USER["aadObjectId"]
STRANGER = {
    "id": "29:stranger",
    "name": "Eve",
    "aadObjectId": "0badc0de-0000-4000-8000-00000000e7e0",
}
TOKEN = "masto-token"
SCHEMA = SHARED_DATA / "schemas" / "adaptive-card-1.5.json"
POLICY: dict[str, Any] = {
    "group_wait": "1m",
    "targets": {"team": {"platform": "teams", "channel": CHANNEL}},
    "levels": [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "team"}]},
    ],
}


def api(service: Service) -> str:
    return f"http://127.0.0.1:{service.http_port}/api/messages"


@asynccontextmanager
async def vigie_in_teams(
    tmp_path: Path,
    responders: Sequence[str] = (RESPONDER,),
    policy: dict[str, Any] | None = None,
    approvers: Sequence[str] = (RESPONDER,),
    **replies: Any,
) -> AsyncIterator[tuple[Service, FakeConnector, FakeMastodon, Path]]:
    """Vigie with Teams and a Mastodon source; ``approvers``: Kestrel Mobile's; ``replies``:
    settings of the replies section."""
    schema = SCHEMA if SCHEMA.exists() else None  # the fake refuses any card not valid against it
    async with FakeConnector(schema_path=schema) as teams, FakeMastodon(token=TOKEN) as masto:
        source = masto.source(TOKEN)
        config = write_config(
            tmp_path,
            [source],
            clock="event",
            incidents=policy or POLICY,
            platforms={
                "teams": {
                    "app_id": "",
                    "responders": {"*": list(responders)},
                    "approvers": {"kestrel-mobile": list(approvers)},
                }
            },
            delivery={"pace_seconds": 0, "max_backoff_seconds": 2},
            **({"replies": replies} if replies else {}),
        )
        async with running_service(config) as service:
            await masto.wait_for_streams(1)
            yield service, teams, masto, config


def storm(masto: FakeMastodon) -> None:
    """Negative posts over the last 40 minutes, streamed now (event time follows them)."""
    for n in range(16):
        status = masto.post(
            f"Kestrel Mobile down again, no signal since this morning #{n}",
            tags=("kestreldown",),
            acct=f"user{n}",
            followers=1000 if n == 5 else 10 + n,
            ago=timedelta(minutes=40 - 2 * n),
        )
        masto.publish("update", status)


def valid(card: dict[str, Any]) -> None:
    if SCHEMA.exists():
        check_card(card, SCHEMA)


def root_card(teams: FakeConnector) -> tuple[str, dict[str, Any]]:
    """The first card posted in the channel (a new thread's first message): id and content."""
    create = next(c for c in teams.calls_to("create") if c.status < 300)
    activity_id = str(create.answer["activityId"])
    activity = teams.activity(activity_id)
    assert activity is not None
    return activity_id, activity["attachments"][0]["content"]


def drafts_activity(teams: FakeConnector) -> dict[str, Any] | None:
    for activity in teams.activities(CHANNEL):
        text = json.dumps(activity.get("attachments") or [])
        if "vigie.draft.approve" in text and "user5" in text:
            return activity
    return None


async def posted_drafts(
    service: Service, teams: FakeConnector, masto: FakeMastodon
) -> dict[str, Any]:
    """Vigie installed in the team, a storm streamed: the drafts message it posts."""
    await post_activity(api(service), installation_activity(teams.url))
    storm(masto)
    await wait_for(lambda: drafts_activity(teams) is not None, timeout=30)
    drafts = drafts_activity(teams)
    assert drafts is not None
    return drafts


def nodes(card: Any) -> Iterator[dict[str, Any]]:
    """Every object of a card, depth first."""
    if isinstance(card, dict):
        yield card
        for value in card.values():
            yield from nodes(value)
    elif isinstance(card, list):
        for value in card:
            yield from nodes(value)


def action_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    """The data of the first Action.Execute with ``verb`` anywhere in ``card``."""
    found = [
        n["data"]
        for n in nodes(card)
        if n.get("type") == "Action.Execute" and n.get("verb") == verb
    ]
    assert found, f"no {verb} button"
    return found[0]


async def test_the_whole_lifecycle_in_a_teams_channel(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        status, _ = await post_activity(api(service), installation_activity(teams.url))
        assert status in (200, 201)
        db = open_database(config.parent / "vigie.db", read_only=True)
        try:
            reference = load_reference(db, "teams", CHANNEL)
        finally:
            db.close()
        assert reference is not None
        assert reference["serviceUrl"] == teams.url

        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, card = root_card(teams)
        valid(card)
        create = teams.calls_to("create")[0]
        assert create.body["channelData"]["channel"]["id"] == CHANNEL
        assert create.body["isGroup"] is True
        await wait_for(lambda: len(teams.versions(root)) >= 2, timeout=20)  # updated in place
        for version in teams.versions(root):
            valid(version["attachments"][0]["content"])

        # Acknowledge: answered in the invoke's response with the refreshed card
        data = action_data(card, "vigie.ack")
        status, answer = await post_activity(
            api(service), invoke_activity(teams.url, "vigie.ack", data, card_activity_id=root)
        )
        assert status == 200
        assert answer["statusCode"] == 200
        assert answer["type"] == CONTENT_TYPE
        assert "acknowledged by" in json.dumps(answer["value"]).lower()
        valid(answer["value"])

        # a stranger's click changes nothing and says why
        status, refused = await post_activity(
            api(service),
            invoke_activity(
                teams.url, "vigie.resolve", data, card_activity_id=root, sender=STRANGER
            ),
        )
        assert status == 200
        assert refused["type"] == "application/vnd.microsoft.activity.message"
        assert "responders" in refused["value"]

        # the drafts for the farthest-reaching post, in the card's thread; approve one
        await wait_for(lambda: drafts_activity(teams) is not None, timeout=20)
        drafts = drafts_activity(teams)
        assert drafts is not None
        drafts_card = drafts["attachments"][0]["content"]
        valid(drafts_card)
        approve = action_data(drafts_card, "vigie.draft.approve")
        status, refused = await post_activity(
            api(service),
            invoke_activity(
                teams.url,
                "vigie.draft.approve",
                approve,
                card_activity_id=drafts["id"],
                sender=STRANGER,
            ),
        )
        assert "approvers" in refused["value"]
        assert not masto.posted
        # Edit: the text box's new text is saved, and the card comes back with it
        edited = "@user5 So sorry about the outage. Engineers are restoring the signal now."
        box = f"text-{approve['draft']}"
        status, answer = await post_activity(
            api(service),
            invoke_activity(
                teams.url,
                "vigie.draft.edit",
                {**action_data(drafts_card, "vigie.draft.edit"), box: edited},
                card_activity_id=drafts["id"],
            ),
        )
        assert status == 200
        assert answer["type"] == CONTENT_TYPE
        assert edited in json.dumps(answer["value"], ensure_ascii=False)
        valid(answer["value"])
        approve = {**action_data(answer["value"], "vigie.draft.approve"), box: edited}
        assert approve["version"] == 2
        answers = []
        for _ in range(2):  # a double click publishes once
            status, answer = await post_activity(
                api(service),
                invoke_activity(
                    teams.url, "vigie.draft.approve", approve, card_activity_id=drafts["id"]
                ),
            )
            assert status == 200
            answers.append(answer)
        assert answers[0]["type"] == CONTENT_TYPE
        # the second click's card was out of date: the card as it is now, saying why
        assert answers[1]["type"] == CONTENT_TYPE
        assert "Already approved by Megan Bowen" in json.dumps(answers[1]["value"])
        assert "vigie.draft.approve" not in json.dumps(answers[1]["value"])
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        target = next(s for s in masto.statuses.values() if s["account"]["acct"] == "user5")
        assert masto.posted[0]["in_reply_to_id"] == target["id"]
        assert "restoring the signal" in masto.posted[0]["content"]
        await wait_for(
            lambda: "published" in json.dumps(teams.activity(drafts["id"])).lower(), timeout=10
        )
        decided = json.dumps(teams.activity(drafts["id"])["attachments"], ensure_ascii=False)
        assert "Approved by Megan Bowen" in decided  # by Teams display name: the id is audited
        assert RESPONDER not in decided

        # bot commands, answered in the conversation
        await post_activity(api(service), message_activity(teams.url, "incidents all"))
        await wait_for(
            lambda: any("#1" in str(a.get("text")) for a in teams.activities(CHANNEL)), timeout=10
        )
        answer = next(a["text"] for a in teams.activities(CHANNEL) if "#1" in str(a.get("text")))
        assert "**#1**" in answer  # Teams markdown: ** is bold, a single * would be italics
        await post_activity(api(service), message_activity(teams.url, "help"))
        await wait_for(
            lambda: any("**@Vigie watch**" in str(a.get("text")) for a in teams.activities(CHANNEL))
        )
        helped = next(
            a["text"] for a in teams.activities(CHANNEL) if "**@Vigie watch**" in str(a.get("text"))
        )
        assert "**@Vigie incidents** [open|all]" in helped
        assert "/vigie" not in helped
    assert len(masto.posted) == 1  # the service has stopped: no second publication on its way
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        published = db.execute("SELECT COUNT(*) FROM decisions WHERE action = 'published'")
        assert published.fetchone()[0] == 1
    finally:
        db.close()


def input_value(card: dict[str, Any], input_id: str) -> str:
    """What the input ``input_id`` of ``card`` holds when the card is shown."""
    found = [
        str(n.get("value", ""))
        for n in nodes(card)
        if n.get("id") == input_id and str(n.get("type", "")).startswith("Input.")
    ]
    assert found, f"no input {input_id}"
    return found[0]


async def test_approve_with_a_changed_text_box_is_refused_until_saved(tmp_path: Path) -> None:
    """Approve publishes the saved draft: when the person changed the text box and clicked
    Approve without Save edit, publishing the old text would surprise them; the new one is
    unsaved."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        drafts = await posted_drafts(service, teams, masto)
        card = drafts["attachments"][0]["content"]
        approve = action_data(card, "vigie.draft.approve")
        box = f"text-{approve['draft']}"
        saved = input_value(card, box)
        assert saved

        async def click(text: str) -> Any:
            data = {**approve, box: text}
            activity = invoke_activity(
                teams.url, "vigie.draft.approve", data, card_activity_id=drafts["id"]
            )
            status, answer = await post_activity(api(service), activity)
            assert status == 200
            return answer

        changed = await click(saved + " We will refund everyone.")
        assert changed["type"] == "application/vnd.microsoft.activity.message"
        assert "text box was changed" in changed["value"]
        assert "save it with Save edit first" in changed["value"]
        kept = await click(f"  {saved}\n")  # the same text, give or take the edges
        assert kept["type"] == CONTENT_TYPE
        await wait_for(lambda: len(masto.posted) == 1, timeout=10)
        assert "refund" not in masto.posted[0]["content"]
    assert len(masto.posted) == 1
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        approvals = db.execute(
            "SELECT text FROM decisions WHERE draft_id = ? AND action = 'approved'",
            [approve["draft"]],
        ).fetchall()
    finally:
        db.close()
    assert [row[0] for row in approvals] == [saved]


async def test_a_429_from_the_connector_delays_but_loses_nothing(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        await post_activity(api(service), bot_added_activity(teams.url))
        teams.fail(r"^/v3/conversations$", 429, times=2, retry_after=1)
        storm(masto)
        await teams.wait_for("create", timeout=30)
        statuses = [c.status for c in teams.calls if c.route == "create"]
        assert statuses[:2] == [429, 429]
        assert statuses.count(201) + statuses.count(200) == 1  # posted once, after waiting


async def test_connector_errors_and_timeouts_are_retried_and_lose_nothing(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        await post_activity(api(service), installation_activity(teams.url))
        teams.fail(r"^/v3/conversations$", 500, times=1)
        teams.fail(r"^/v3/conversations$", 502, times=1)
        teams.fail(r"/activities/", 412, times=2, method="PUT")
        teams.fail(r"/activities/", 504, times=1, method="POST")
        storm(masto)
        await teams.wait_for("create", timeout=30)
        root, _ = root_card(teams)
        await wait_for(lambda: len(teams.versions(root)) >= 2, timeout=30)

        def undelivered() -> list[tuple[str, str]]:
            db = open_database(config.parent / "vigie.db", read_only=True)
            try:
                return [
                    (str(k), str(s))
                    for k, s in db.execute(
                        "SELECT key, state FROM outbox WHERE platform = 'teams' "
                        "AND state NOT IN ('sent', 'superseded')"
                    )
                ]
            finally:
                db.close()

        await wait_for(lambda: not undelivered(), timeout=60)
        statuses = [c.status for c in teams.calls]
        assert {500, 502, 412} <= set(statuses)
        assert len([c for c in teams.calls_to("create") if c.status < 300]) == 1  # one thread


async def test_a_channel_vigie_was_never_added_to_is_reported_then_served(
    tmp_path: Path,
) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        storm(masto)

        def waiting() -> str:
            db = open_database(config.parent / "vigie.db", read_only=True)
            try:
                row = db.execute(
                    "SELECT last_error FROM outbox WHERE platform = 'teams' AND last_error != ''"
                ).fetchone()
            finally:
                db.close()
            return str(row[0]) if row else ""

        await wait_for(lambda: bool(waiting()), timeout=30)
        assert "add the Vigie app to the channel's team" in waiting()
        assert not teams.calls_to("create")
        # adding the app to the team makes the waiting card go out now, not minutes later
        await post_activity(api(service), installation_activity(teams.url))
        await teams.wait_for("create", timeout=10)


async def test_only_a_responder_binds_a_configured_channel_name(tmp_path: Path) -> None:
    """``@Vigie watch NAME here`` would redirect a target's cards: only responders may, only for
    a name a Teams target uses, never for a channel id (that would hijack a known channel)."""
    policy = {**POLICY, "targets": {"team": {"platform": "teams", "channel": "social"}}}
    elsewhere = "19:aaaabbbbccccddddeeeeffff00001111@thread.tacv2"
    async with vigie_in_teams(tmp_path, policy=policy) as (service, teams, masto, config):

        async def say(text: str, sender: dict[str, Any] = USER, channel: str = CHANNEL) -> str:
            before = len(teams.activities(channel))
            activity = message_activity(teams.url, text, sender=sender, channel=channel)
            await post_activity(api(service), activity)
            await wait_for(lambda: len(teams.activities(channel)) > before)
            return str(teams.activities(channel)[-1]["text"])

        def bound(name: str) -> str | None:
            db = open_database(config.parent / "vigie.db", read_only=True)
            try:
                reference = load_reference(db, "teams", name)
            finally:
                db.close()
            return None if reference is None else str(reference["conversation"]["id"])

        assert "Only responders" in await say("watch social here", sender=STRANGER)
        assert bound("social") is None
        assert "is a channel id" in await say(f"watch {CHANNEL} here", channel=elsewhere)
        assert bound(CHANNEL) is not None
        assert elsewhere not in str(bound(CHANNEL))
        assert "Teams channel names there: social" in await say("watch socail here")
        assert bound("socail") is None
        assert "now 'social'" in await say("watch social here")
        assert CHANNEL in str(bound("social"))

        storm(masto)
        create = (await teams.wait_for("create", timeout=30))[0]
        assert CHANNEL in json.dumps(create.body)


async def test_activities_from_another_tenant_are_refused(tmp_path: Path) -> None:
    async with FakeConnector() as teams:
        config = write_config(
            tmp_path,
            [{"type": "webhook", "name": "in", "secret": "s" * 32}],
            platforms={"teams": {"app_id": "", "tenant_id": TENANT.upper()}},
        )
        async with running_service(config) as service:
            foreign = bot_added_activity(teams.url, channel="19:other@thread.tacv2")
            foreign["channelData"]["tenant"]["id"] = "0badc0de-0000-4000-8000-000000000001"
            status, answer = await post_activity(api(service), foreign)
            assert status == 403
            assert "another tenant" in answer["error"]
            no_tenant = bot_added_activity(teams.url, channel="19:other@thread.tacv2")
            del no_tenant["channelData"]["tenant"], no_tenant["conversation"]["tenantId"]
            assert (await post_activity(api(service), no_tenant))[0] == 403
            status, _ = await post_activity(api(service), bot_added_activity(teams.url))
            assert status in (200, 201)
        db = open_database(config.parent / "vigie.db", read_only=True)
        try:
            assert load_reference(db, "teams", "19:other@thread.tacv2") is None
            assert load_reference(db, "teams", CHANNEL) is not None
        finally:
            db.close()


@pytest.fixture(scope="module")
def openid() -> Any:
    with OpenIdServer() as server:
        yield server


async def test_tokens_are_checked_and_every_bad_one_is_401(
    tmp_path: Path, openid: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Vigie's own token (fetched for every turn) from a static factory: no Microsoft Entra here
    monkeypatch.setattr(
        handlers.teams.runtime,
        "ConfigurationServiceClientCredentialFactory",
        lambda config: StaticCredentialsFactory(APP_ID),
    )
    async with FakeConnector() as teams:
        config = write_config(
            tmp_path,
            [{"type": "webhook", "name": "in", "secret": "s" * 32}],
            platforms={
                "teams": {
                    "app_id": APP_ID,
                    "app_password": "app-password",
                    "openid_metadata_url": openid.metadata_url,
                }
            },
        )
        async with running_service(config) as service:
            activity = bot_added_activity(teams.url)
            good = sign(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
            status, _ = await post_activity(api(service), activity, bearer(good))
            assert status in (200, 201)
            for name, token in bad_tokens(openid, app_id=APP_ID, service_url=teams.url).items():
                status, _ = await post_activity(api(service), activity, bearer(token))
                assert status == 401, name
            status, _ = await post_activity(api(service), activity)  # no token at all
            assert status == 401
