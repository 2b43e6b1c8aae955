"""Teams: who may act and where, what the bot's answers may contain, and whose failure a
token problem is (real botbuilder against the fake Bot Connector and OpenID server)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import MicrosoftAppCredentials  # type: ignore[import-untyped]

from bot.app import Service
from bot.chat_commands import ChatCommands
from handlers.teams.credentials import KeptCredentials
from handlers.teams.inbound import NO_ENTRA_ID, teams_route, teams_style
from handlers.teams.render import CONTENT_TYPE
from handlers.teams.runtime import NO_APP_ID
from storage.conversations import load_reference
from storage.database import open_database
from storage.people import load_names
from tests.conftest import BRANDS, running_service, wait_for, write_config
from tests.fake_connector import (
    APP_ID,
    CHANNEL,
    TENANT,
    USER,
    FakeConnector,
    invoke_activity,
    message_activity,
    post_activity,
    thread_id,
)
from tests.teams_auth import (
    OpenIdServer,
    StaticCredentialsFactory,
    auth_config,
    bad_tokens,
    bearer,
    jwk,
    sign,
)
from tests.test_teams import (
    POLICY,
    action_data,
    api,
    posted_drafts,
    vigie_in_teams,
)
from tests.test_teams_inbound import Echo, serving

ELSEWHERE = "19:aaaabbbbccccddddeeeeffff00001111@thread.tacv2"
BOB = {"id": "29:bob", "name": "Bob Other", "aadObjectId": "0badc0de-0000-4000-8000-0000000000b0"}
GUEST = {"id": "29:guest-anonymous", "name": "Meeting Guest"}  # no aadObjectId
TWO_BRANDS = [*BRANDS, {"name": "Other Co", "keywords": ["otherco"], "languages": ["en"]}]


def stored(config: Path, query: str) -> list[Any]:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return list(db.execute(query).fetchall())
    finally:
        db.close()


def kept(config: Path, name: str) -> dict[str, Any] | None:
    """The conversation reference kept under a channel key, or None."""
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return load_reference(db, "teams", name)
    finally:
        db.close()


def bound(config: Path, name: str) -> str | None:
    """The conversation a channel key posts in, or None."""
    reference = kept(config, name)
    return None if reference is None else str(reference["conversation"]["id"])


def teams_config(tmp_path: Path, **teams: Any) -> Path:
    return write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": "s" * 32}],
        brands=TWO_BRANDS,
        incidents={
            **POLICY,
            "targets": {
                "team": {"platform": "teams", "channel": "social"},
                "press": {"platform": "teams", "channel": "press"},
            },
            "levels": [{"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]}],
        },
        platforms={"teams": {"app_id": "", **teams}},
    )


@asynccontextmanager
async def teams_service(
    tmp_path: Path, **teams: Any
) -> AsyncIterator[tuple[Service, FakeConnector, Path]]:
    async with FakeConnector() as connector:
        config = teams_config(tmp_path, **teams)
        async with running_service(config) as service:
            yield service, connector, config


def saying(
    service: Service, teams: FakeConnector
) -> Callable[..., Any]:  # async (text, sender, channel) -> answer
    async def say(text: str, sender: dict[str, Any] = USER, channel: str = CHANNEL) -> str:
        where = thread_id(channel)
        before = len(teams.activities(where))
        await post_activity(
            api(service), message_activity(teams.url, text, sender=sender, channel=channel)
        )
        await wait_for(lambda: len(teams.activities(where)) > before)
        return str(teams.activities(where)[-1]["text"])

    return say


# --- 1. only Teams, and only a person Teams vouches for, acts -----------------------------------


@pytest.mark.parametrize("channel", ["directline", "webchat", "emulator"])
async def test_an_activity_from_another_bot_framework_channel_is_refused(
    tmp_path: Path, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On Direct Line / Web Chat the client picks ``from.id``: it could name a responder."""
    caplog.set_level(logging.INFO, logger="handlers.teams")
    responder = USER["aadObjectId"]
    with OpenIdServer() as openid:
        endorsed = ("msteams", "directline", "webchat", "emulator")
        openid.keys = [jwk(openid.key, openid.kid, endorsed)]
        async with FakeConnector() as teams:
            config = teams_config(
                tmp_path,
                app_id=APP_ID,
                app_password="app-password",
                tenant_id=TENANT,
                openid_metadata_url=openid.metadata_url,
                responders={"*": [responder]},
            )
            async with running_service(config) as service:
                spoofed = {"id": responder, "name": "Megan Bowen (spoofed)"}
                activity = message_activity(
                    teams.url, "silence brand:kestrel-mobile 7d", sender=spoofed
                )
                activity.update(channelId=channel, conversation={"id": "dl-conversation-1"})
                token = sign(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
                status, _ = await post_activity(api(service), activity, bearer(token))
    assert status == 403
    assert stored(config, "SELECT * FROM silences") == []
    assert not teams.calls
    assert any(
        r.levelno == logging.INFO and channel in r.getMessage() and "refused" in r.getMessage()
        for r in caplog.records
    )


async def test_from_id_is_never_a_permission(tmp_path: Path) -> None:
    """Someone without an Entra id (an anonymous meeting guest) reads, but cannot act, even
    when their ``from.id`` is a responder's object id, or when everyone may act."""
    responder = USER["aadObjectId"]
    as_responder = {"id": responder, "name": "Not Megan"}
    async with teams_service(tmp_path, responders={"*": [responder]}) as (service, teams, config):
        say = saying(service, teams)
        assert await say("silence brand:kestrel-mobile 2h", as_responder) == NO_ENTRA_ID
        assert await say("watch social here", as_responder) == NO_ENTRA_ID
        assert "Incidents (open)" in await say("incidents", as_responder)  # reading is fine
        click = invoke_activity(
            teams.url, "vigie.ack", {"incident": 1}, card_activity_id="1", sender=GUEST
        )
        status, answer = await post_activity(api(service), click)
    assert (status, answer["value"]) == (200, NO_ENTRA_ID)
    assert stored(config, "SELECT * FROM silences") == []
    assert bound(config, "social") is None
    names = load_names(open_database(config.parent / "vigie.db", read_only=True), "teams")
    assert names[GUEST["id"]] == "Meeting Guest"  # still shown by name


async def test_a_guest_cannot_act_where_everyone_may(tmp_path: Path) -> None:
    async with teams_service(tmp_path) as (service, teams, config):  # no responders: everyone
        say = saying(service, teams)
        assert await say("silence brand:kestrel-mobile 2h", GUEST) == NO_ENTRA_ID
        assert "silenced brand" in await say("silence brand:kestrel-mobile 2h", BOB)
    assert len(stored(config, "SELECT * FROM silences")) == 1


# --- 2. a target's channel name moves only for a responder of every brand ----------------------


async def test_only_a_responder_of_every_brand_moves_a_bound_channel_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.teams")
    responders = {"*": [USER["aadObjectId"]], "other-co": [BOB["aadObjectId"]]}
    async with teams_service(tmp_path, responders=responders) as (service, teams, config):
        say = saying(service, teams)
        await say("help")  # Megan's name is learnt
        assert "now 'social'" in await say("watch social here")
        refused = await say("watch social here", BOB, ELSEWHERE)
        assert "only a responder of every brand" in refused
        assert "Megan Bowen" in refused  # who can
        assert CHANNEL in str(bound(config, "social"))
        # a name not bound yet: any responder; the same channel again: nothing to move
        assert "now 'press'" in await say("watch press here", BOB, ELSEWHERE)
        assert "now 'press'" in await say("watch press here", BOB, ELSEWHERE)
        assert not [r for r in caplog.records if "moved" in r.getMessage()]
        assert "now 'press'" in await say("watch press here")  # Megan: every brand
        assert CHANNEL in str(bound(config, "press"))
    [moved] = [r for r in caplog.records if "moved" in r.getMessage()]
    assert moved.levelno == logging.WARNING
    assert ELSEWHERE in moved.getMessage()
    assert CHANNEL in moved.getMessage()
    assert USER["aadObjectId"] in moved.getMessage()


# --- 3. what people typed stays inert in the bot's answers -------------------------------------

_TICKS = re.compile(r"(?<!\\)`+")  # a backtick string (a backslashed one is text)
_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?!\\)")


def outside_code(markdown: str) -> str:
    """``markdown`` less its code spans, as CommonMark finds them: a backtick string opens one
    that the next string of the same length closes; with none, it is text."""
    runs, kept, start, index = list(_TICKS.finditer(markdown)), [], 0, 0
    while index < len(runs):
        opening = runs[index]
        closing = next(
            (j for j in range(index + 1, len(runs)) if len(runs[j][0]) == len(opening[0])), None
        )
        if closing is None:
            index += 1
            continue
        kept.append(markdown[start : opening.start()])
        start, index = runs[closing].end(), closing + 1
    return "".join(kept) + markdown[start:]


def live_link(markdown: str) -> bool:
    """Whether ``markdown`` has a link outside its code spans."""
    return bool(_LINK.search(outside_code(markdown)))


class Names:
    def named(self, text: str) -> str:
        return text

    def name(self, user: str) -> str:
        return user


@pytest.mark.parametrize(
    "typed",
    [
        '"x` [Sign in again](https://evil.example/login) `y"',
        'incidents "a` [Sign in](https://evil.example) `b"',
        "mentions --evil`[x](https://evil.example)`",
        "mentions --evil`[x](https://evil.example)",
        'mentions "``[x](https://e.example)``"',  # longer backtick strings
    ],
)
async def test_a_typed_backtick_frees_no_link_in_an_answer(typed: str) -> None:
    commands = ChatCommands(
        writer=None,  # type: ignore[arg-type]  # never read: each line is refused first
        control=None,  # type: ignore[arg-type]
        brands={"kestrel-mobile": "Kestrel Mobile"},
        may_act=None,  # type: ignore[arg-type]
        clock=None,  # type: ignore[arg-type]
        command="@Vigie",
    )
    answer = await commands.answer(typed, "u", teams_style(Names()))  # type: ignore[arg-type]
    assert "evil.example" in answer or "e.example" in answer  # quoted, so the test means it
    assert not live_link(answer), answer


async def test_a_link_typed_in_an_unknown_command_is_not_posted_as_vigie(tmp_path: Path) -> None:
    async with teams_service(tmp_path) as (service, teams, _):
        say = saying(service, teams)
        answer = await say('"x` [Sign in again](https://evil.example/login) `y"')
    assert answer.startswith("Unknown command")
    assert "Sign in again" in answer
    assert not live_link(answer), answer


# --- 4. Vigie's own token failing is Vigie's failure, not a forged request ---------------------


class UnreachableEntraFactory(StaticCredentialsFactory):
    """botbuilder's own credentials, with Microsoft Entra out of reach (nothing listens)."""

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> MicrosoftAppCredentials:
        credentials = MicrosoftAppCredentials(app_id, "app-password", oauth_scope=oauth_scope)
        # an ADFS-style authority: MSAL asks it directly (no instance discovery elsewhere)
        credentials.oauth_endpoint = "https://127.0.0.1:9/adfs"
        return credentials


@pytest.mark.parametrize("kept", [False, True])
async def test_unreachable_entra_is_a_500_logged_as_vigie_s_own_token(
    caplog: pytest.LogCaptureFixture, kept: bool
) -> None:
    """The action ran; only the answer could not go: not a request to refuse as forged (with
    botbuilder's own credentials factory, and with Vigie's, which fetches off the loop)."""
    caplog.set_level(logging.INFO, logger="handlers.teams")
    factory: Any = UnreachableEntraFactory(APP_ID)
    with OpenIdServer() as openid:
        async with FakeConnector() as teams:
            auth = ConfigurationBotFrameworkAuthentication(
                auth_config(APP_ID, openid.metadata_url),
                credentials_factory=KeptCredentials(factory) if kept else factory,
            )
            async with serving(teams_route(CloudAdapter(auth), Echo())) as url:
                token = sign(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
                activity = message_activity(teams.url, "help")
                status, _ = await post_activity(url, activity, bearer(token))
                logged = list(caplog.records)
                caplog.clear()
                bad = bad_tokens(openid, app_id=APP_ID, service_url=teams.url)
                refused = {
                    why: (await post_activity(url, activity, bearer(bad_token)))[0]
                    for why, bad_token in bad.items()
                }
    assert status == 500
    [error] = [r.getMessage() for r in logged if r.levelno == logging.ERROR]
    assert "own token" in error
    assert "ConnectionError" in error
    assert not [r for r in logged if "request refused" in r.getMessage()]
    assert refused == dict.fromkeys(bad, 401)  # the request's own token: refused, as before


# --- 5. a click on an out-of-date drafts card -------------------------------------------------


async def test_approve_on_an_older_version_says_who_edited_and_refreshes_the_card(
    tmp_path: Path,
) -> None:
    async with vigie_in_teams(tmp_path) as (service, teams, masto, _):
        drafts = await posted_drafts(service, teams, masto)
        card = drafts["attachments"][0]["content"]
        approve = action_data(card, "vigie.draft.approve")
        box = f"text-{approve['draft']}"
        seen = next(
            str(node.get("value"))
            for node in _nodes(card)
            if node.get("id") == box and node.get("type") == "Input.Text"
        )

        async def click(verb: str, data: dict[str, Any], sender: dict[str, Any] = USER) -> Any:
            activity = invoke_activity(
                teams.url, verb, data, card_activity_id=drafts["id"], sender=sender
            )
            status, answer = await post_activity(api(service), activity)
            assert status == 200
            return answer

        edit = action_data(card, "vigie.draft.edit")
        saved = await click("vigie.draft.edit", {**edit, box: seen + " We are on it."})
        assert saved["type"] == CONTENT_TYPE
        # the same person's old card: version 1, its text box untouched
        answer = await click("vigie.draft.approve", {**approve, box: seen})
    assert answer["type"] == CONTENT_TYPE, answer  # the refreshed card, its buttons current
    assert "edited this draft after you opened it" in json.dumps(answer)
    assert "text box was changed" not in json.dumps(answer)
    assert f'"version": {approve["version"] + 1}' in json.dumps(answer["value"])
    assert not masto.posted


async def test_a_card_of_a_database_started_afresh_acts_on_nothing(tmp_path: Path) -> None:
    """Draft numbers start again at 1 in a new database: an old card's Approve must not approve
    (and publish) this database's draft of the same number."""
    async with vigie_in_teams(tmp_path) as (service, teams, masto, config):
        drafts = await posted_drafts(service, teams, masto)
        approve = action_data(drafts["attachments"][0]["content"], "vigie.draft.approve")
        assert approve["install"]
        other = "0" * len(approve["install"])
        activity = invoke_activity(
            teams.url,
            "vigie.draft.approve",
            {**approve, "install": other},
            card_activity_id=drafts["id"],
            sender=USER,
        )
        status, answer = await post_activity(api(service), activity)
    assert status == 200
    assert "earlier Vigie database" in json.dumps(answer)
    assert not masto.posted
    assert "approved" not in [row[0] for row in stored(config, "SELECT action FROM decisions")]


def _nodes(card: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(card, dict):
        found.append(card)
        for value in card.values():
            found += _nodes(value)
    elif isinstance(card, list):
        for value in card:
            found += _nodes(value)
    return found


# --- 6. no app id: no authentication, said loudly at start ------------------------------------


@pytest.mark.parametrize(("app_id", "warned"), [("", True), (APP_ID, False)])
async def test_an_empty_app_id_is_an_error_in_the_log_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, app_id: str, warned: bool
) -> None:
    caplog.set_level(logging.WARNING)
    extra = {"app_password": "app-password", "tenant_id": TENANT} if app_id else {}
    async with teams_service(tmp_path, app_id=app_id, **extra):
        pass
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert (NO_APP_ID in errors) is warned
    assert NO_APP_ID.startswith("platforms.teams.app_id is empty: Teams requests are not")


@pytest.mark.parametrize(("channel", "status"), [("emulator", 201), ("directline", 403)])
async def test_without_an_app_id_the_bot_framework_emulator_is_served(
    tmp_path: Path, channel: str, status: int
) -> None:
    """Nothing is authenticated without an app id (said at start): the local Emulator's channel
    is served then, no other."""
    async with teams_service(tmp_path, app_id="") as (service, teams, _config):
        activity = message_activity(teams.url, "help")
        activity.update(channelId=channel)
        answered, _ = await post_activity(api(service), activity)
    assert answered == status


async def test_the_emulator_user_may_act_when_nothing_is_authenticated(tmp_path: Path) -> None:
    """The Emulator's users have no Entra id: served only without an app id, they are known by
    their ``from.id`` there, as responders are listed."""
    emulator_user = {"id": "e0e0e0e0-0000-4000-8000-00000000e001", "name": "Emulator User"}
    responders = {"*": [emulator_user["id"]]}
    async with teams_service(tmp_path, app_id="", responders=responders) as (
        service,
        teams,
        config,
    ):
        activity = message_activity(
            teams.url, "silence brand:kestrel-mobile 2h", sender=emulator_user
        )
        activity.update(channelId="emulator")
        status, _ = await post_activity(api(service), activity)
        assert status == 201
        await wait_for(lambda: bool(stored(config, "SELECT * FROM silences")))
        # the same id from Teams itself has no Entra id: it reads, does not act
        said = await saying(service, teams)("silence brand:other-co 2h", emulator_user)
        assert said == NO_ENTRA_ID
    assert len(stored(config, "SELECT * FROM silences")) == 1


async def test_watching_the_same_channel_again_refreshes_what_is_kept(tmp_path: Path) -> None:
    """The reference kept under a name is refreshed only by watching again (a new serviceUrl)."""
    async with teams_service(tmp_path, responders={"*": [USER["aadObjectId"]]}) as (
        service,
        teams,
        config,
    ):
        say = saying(service, teams)
        assert "now 'social'" in await say("watch social here")
        moved = message_activity(teams.url + "/", "watch social here")
        await post_activity(api(service), moved)
        await wait_for(lambda: (kept(config, "social") or {}).get("serviceUrl") == teams.url + "/")
