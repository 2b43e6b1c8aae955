"""The Teams test doubles against the real botbuilder 4.17: its ConnectorClient sends, replies
to, updates and creates threads on the fake Bot Connector, and its JWT validation accepts a
token signed for the local OpenID server and refuses each bad one, offline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from aiohttp import web
from botbuilder.core import (  # type: ignore[import-untyped]
    ActivityHandler,
    InvokeResponse,
    TurnContext,
)
from botbuilder.core.teams import TeamsActivityHandler  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (  # type: ignore[import-untyped]
    Activity,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    ConversationParameters,
)
from botframework.connector.aio import ConnectorClient  # type: ignore[import-untyped]
from botframework.connector.auth.jwt_token_extractor import (  # type: ignore[import-untyped]
    JwtTokenExtractor,
)
from botframework.connector.models import ErrorResponseException  # type: ignore[import-untyped]

from handlers.teams import signing_keys
from handlers.teams.actions import TeamsAction, Verb, parse_invoke
from handlers.teams.render import (
    CONTENT_TYPE,
    MAX_MESSAGE_BYTES,
    card_attachment,
    incident_adaptive_card,
)
from tests.conftest import SHARED_DATA
from tests.fake_connector import (
    APP_ID,
    BOT,
    CHANNEL,
    TEAM,
    FakeConnector,
    bot_added_activity,
    installation_activity,
    invoke_activity,
    message_activity,
    post_activity,
    thread_id,
)
from tests.loopback import serve_loopback
from tests.teams_auth import (
    STATIC_TOKEN,
    OpenIdServer,
    StaticCredentials,
    StaticCredentialsFactory,
    auth_config,
    bad_tokens,
    bearer,
    jwk,
    new_key,
    sign,
)


def card(text: str) -> dict[str, Any]:
    body = [{"type": "TextBlock", "text": text, "wrap": True}]
    return {"type": "AdaptiveCard", "version": "1.5", "body": body}


def message(text: str, **fields: Any) -> Activity:
    attachment = {"contentType": CONTENT_TYPE, "content": card(text)}
    return Activity(type="message", text=text, attachments=[attachment], **fields)


@pytest.fixture
async def teams() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(token=STATIC_TOKEN) as fake:
        yield fake


@pytest.fixture
async def client(teams: FakeConnector) -> AsyncIterator[Any]:
    connector = ConnectorClient(StaticCredentials(APP_ID), base_url=teams.url)
    async with connector:
        yield connector


async def test_a_thread_gets_its_card_replies_and_updates(
    teams: FakeConnector, client: Any
) -> None:
    parameters = ConversationParameters(
        is_group=True,
        bot=ChannelAccount(**BOT),
        channel_data={"channel": {"id": CHANNEL}},
        activity=message("first alert"),
        tenant_id="tenant",
    )
    created = await client.conversations.create_conversation(parameters)
    thread = created.id
    assert thread == f"{CHANNEL};messageid={created.activity_id}"

    reply = await client.conversations.reply_to_activity(
        thread, created.activity_id, message("escalated", reply_to_id=created.activity_id)
    )
    sent = await client.conversations.send_to_conversation(thread, message("another"))
    await client.conversations.update_activity(
        thread, created.activity_id, message("acknowledged", id=created.activity_id)
    )

    assert [a["text"] for a in teams.activities(thread)] == ["acknowledged", "escalated", "another"]
    assert [a["id"] for a in teams.activities(CHANNEL)] == [created.activity_id, reply.id, sent.id]
    versions = teams.versions(created.activity_id)
    assert [v["attachments"][0]["content"]["body"][0]["text"] for v in versions] == [
        "first alert",
        "acknowledged",
    ]
    assert teams.thread_of(reply.id) == thread
    assert {c.route for c in teams.calls} == {"create", "reply", "send", "update"}
    assert all(c.status < 300 and c.authorization == bearer(STATIC_TOKEN) for c in teams.calls)
    assert teams.calls_to("reply")[0].conversation == thread  # the path's %3B decoded


async def test_a_post_to_a_channel_starts_a_thread_and_replies_join_it(
    teams: FakeConnector, client: Any
) -> None:
    root = await client.conversations.send_to_conversation(CHANNEL, message("root"))
    reply = await client.conversations.reply_to_activity(CHANNEL, root.id, message("in thread"))
    assert teams.thread_of(reply.id) == teams.thread_of(root.id) == thread_id(CHANNEL, root.id)


async def test_scripted_failures_reach_the_caller_unless_msrest_retries_them(
    teams: FakeConnector, client: Any
) -> None:
    """msrest's urllib3 ``Retry`` retries PUT, GET and DELETE (never POST) on 408 and 5xx but
    501/505, and on 413/429/503 that carry Retry-After (sleeping that long, in a worker
    thread); never on 412. Sending and replying get every failure. An update failing four
    times in a row raises msrest's ClientRequestError (RetryError) after 0 + 1.6 + 3.2 s, not
    ErrorResponseException (checked by hand; too slow for the suite)."""
    thread = thread_id()
    teams.fail(r"/activities$", 429, retry_after=1)
    teams.fail(r"/activities$", 504)
    teams.fail(r"/activities/", 502, method="PUT")
    with pytest.raises(ErrorResponseException) as throttled:
        await client.conversations.send_to_conversation(thread, message("too fast"))
    assert throttled.value.response.status_code == 429
    assert throttled.value.response.headers["Retry-After"] == "1"
    with pytest.raises(ErrorResponseException) as timeout:
        await client.conversations.send_to_conversation(thread, message("slow"))
    assert timeout.value.response.status_code == 504
    sent = await client.conversations.send_to_conversation(thread, message("later"))

    await client.conversations.update_activity(thread, sent.id, message("v2", id=sent.id))
    teams.fail(r"/activities/", 412, method="PUT")
    with pytest.raises(ErrorResponseException) as precondition:
        await client.conversations.update_activity(thread, sent.id, message("v3", id=sent.id))
    assert precondition.value.response.status_code == 412
    teams.fail(r"/activities/", 429, retry_after=0, method="PUT")
    await client.conversations.update_activity(thread, sent.id, message("v4", id=sent.id))
    assert [(c.method, c.status) for c in teams.calls] == [
        ("POST", 429),
        ("POST", 504),
        ("POST", 201),
        ("PUT", 502),
        ("PUT", 200),  # msrest's own retry
        ("PUT", 412),
        ("PUT", 429),  # with Retry-After: urllib3 sleeps that long, then retries
        ("PUT", 200),
    ]
    assert [v["text"] for v in teams.versions(sent.id)] == ["later", "v2", "v4"]


@pytest.mark.parametrize(
    ("activity", "status"),
    [
        (Activity(type="message"), 400),  # neither text nor attachments
        (Activity(type="message", attachments=[{"content": {}}]), 400),  # no contentType
        (Activity(type="message", attachments=[{"contentType": CONTENT_TYPE}]), 400),
        (Activity(type="mesage", text="typo"), 400),
        (message("x" * 40_000), 413),
    ],
)
async def test_what_teams_would_refuse_is_refused(
    teams: FakeConnector, client: Any, activity: Activity, status: int
) -> None:
    with pytest.raises(ErrorResponseException) as refused:
        await client.conversations.send_to_conversation(thread_id(), activity)
    assert refused.value.response.status_code == status
    assert teams.calls[-1].answer["error"]["code"]
    assert teams.activities(CHANNEL) == []


async def test_the_wrong_bearer_token_and_an_unknown_activity_are_refused(
    teams: FakeConnector,
) -> None:
    async with ConnectorClient(StaticCredentials(APP_ID, "stolen"), base_url=teams.url) as thief:
        with pytest.raises(ErrorResponseException) as denied:
            await thief.conversations.send_to_conversation(thread_id(), message("hi"))
    assert denied.value.response.status_code == 401
    async with ConnectorClient(StaticCredentials(APP_ID), base_url=teams.url) as client:
        with pytest.raises(ErrorResponseException) as missing:
            await client.conversations.update_activity(thread_id(), "42", message("x", id="42"))
    assert missing.value.response.status_code == 404


async def test_with_the_schema_the_fake_refuses_invalid_cards_and_takes_huge_rendered_ones(
    client: Any, teams: FakeConnector
) -> None:
    schema = SHARED_DATA / "schemas" / "adaptive-card-1.5.json"
    if not schema.exists():
        pytest.skip(f"shared data not present: {schema}")
    teams.schema_path = schema
    typo = message("typo")
    typo.attachments[0]["content"]["body"][0]["type"] = "TextBlok"
    with pytest.raises(ErrorResponseException) as refused:
        await client.conversations.send_to_conversation(thread_id(), typo)
    assert "invalid Adaptive Card" in teams.calls[-1].answer["error"]["message"]
    assert refused.value.response.status_code == 400

    huge = CARD | {
        "brand": "B" * 400,
        "explanation": "99: " + "word " * 6000,
        "acknowledged_by": "x" * 300,
        "examples": [{"author": "a" * 300, "text": "y " * 9000, "url": "https://x.example"}] * 3,
    }
    attachment = card_attachment(huge)
    alert = Activity(
        type="message",
        text="#7 " + "B" * 400 + ": alert, risk 99",
        attachments=[attachment],
        summary="#7 alert",
        channel_data={"notification": {"alert": True}},
    )
    sent = await client.conversations.send_to_conversation(thread_id(), alert)
    stored = teams.activity(sent.id)
    assert stored is not None
    assert stored["attachments"][0]["content"] == attachment["content"]
    assert 10_000 < teams.calls[-1].size <= MAX_MESSAGE_BYTES  # texts cut, not dropped


# --- authentication ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openid() -> Iterator[OpenIdServer]:
    with OpenIdServer() as server:
        yield server


SERVICE_URL = "https://smba.trafficmanager.net/amer/"


def authentication(openid: OpenIdServer) -> Any:
    return ConfigurationBotFrameworkAuthentication(auth_config(APP_ID, openid.metadata_url))


def inbound(service_url: str = SERVICE_URL) -> Activity:
    return Activity().deserialize(message_activity(service_url, "status"))


async def test_botbuilder_accepts_a_token_signed_by_the_local_openid_server(
    openid: OpenIdServer,
) -> None:
    token = sign(openid.key, openid.kid, app_id=APP_ID, service_url=SERVICE_URL)
    result = await authentication(openid).authenticate_request(inbound(), bearer(token))
    assert result.claims_identity.is_authenticated
    assert result.claims_identity.claims["aud"] == APP_ID
    assert result.caller_id == "urn:botframework:azure"
    assert any(path.endswith("/keys") for path in openid.requests)  # really fetched


# What botbuilder 4.17 raises for each: only PermissionError becomes a 401 in CloudAdapter.process;
# the rest are 500s until the app maps them (PLATFORMS.md 3.3).
BAD: dict[str, type[BaseException]] = {
    "wrong audience": PermissionError,
    "wrong issuer": PermissionError,
    "wrong service url": PermissionError,
    "expired": jwt.ExpiredSignatureError,
    "unsigned (alg none)": Exception,  # "Token signing algorithm not in allowed list"
    "signed with another key": jwt.InvalidSignatureError,
    "unknown key id": PermissionError,  # Vigie's SigningKeys (botbuilder alone: IndexError)
}


@pytest.mark.parametrize(("what", "error"), BAD.items())
async def test_botbuilder_refuses_each_bad_token(
    openid: OpenIdServer, what: str, error: type[BaseException]
) -> None:
    token = bad_tokens(openid, app_id=APP_ID, service_url=SERVICE_URL)[what]
    with pytest.raises(error) as refused:
        await authentication(openid).authenticate_request(inbound(), bearer(token))
    assert type(refused.value) is error


@pytest.mark.parametrize(
    ("header", "error"),
    [(None, PermissionError), ("", AttributeError), ("Bearer abc", jwt.DecodeError)],
)
async def test_botbuilder_refuses_a_missing_or_malformed_header(
    openid: OpenIdServer, header: str | None, error: type[BaseException]
) -> None:
    """CloudAdapter passes "" for a missing header: an AttributeError (500), not a 401."""
    with pytest.raises(error):
        await authentication(openid).authenticate_request(inbound(), header)


@asynccontextmanager
async def serving(adapter: Any, bot: Any) -> AsyncIterator[str]:
    """The bot on ``/api/messages`` (127.0.0.1, port 0); yields that URL."""

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)  # type: ignore[no-any-return]

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner, root = await serve_loopback(app)
    try:
        yield f"{root}/api/messages"
    finally:
        await runner.cleanup()


class Echo(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(f"heard: {turn_context.activity.text}")


async def test_cloud_adapter_with_auth_on_answers_through_the_fake_with_the_static_token(
    openid: OpenIdServer, teams: FakeConnector
) -> None:
    auth = ConfigurationBotFrameworkAuthentication(
        auth_config(APP_ID, openid.metadata_url),
        credentials_factory=StaticCredentialsFactory(APP_ID),
    )
    async with serving(CloudAdapter(auth), Echo()) as url:
        token = sign(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
        activity = message_activity(teams.url, "status")
        status, _ = await post_activity(url, activity, bearer(token))
        assert status == 201
        wrong = bad_tokens(openid, app_id=APP_ID, service_url=teams.url)["wrong audience"]
        status, _ = await post_activity(url, activity, bearer(wrong))
        assert status == 401
    (reply,) = teams.calls_to("reply")
    assert reply.body["text"] == "heard: <at>Vigie</at> status"
    assert reply.authorization == bearer(STATIC_TOKEN)
    assert reply.conversation == activity["conversation"]["id"]


class Recorder(TeamsActivityHandler):  # type: ignore[misc]
    """What botbuilder's Teams routing makes of the inbound activities the fake builds."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    async def on_teams_members_added(self, members: Any, team_info: Any, context: Any) -> None:
        self.seen.append(("members added", ([m.id for m in members], team_info.id)))

    async def on_installation_update_add(self, context: TurnContext) -> None:
        reference = TurnContext.get_conversation_reference(context.activity)
        self.seen.append(("installed", reference.serialize()))

    async def on_invoke_activity(self, context: TurnContext) -> InvokeResponse:
        """Answers Action.Execute itself: botbuilder's own on_adaptive_card_invoke path gives a
        500 under CloudAdapter (its body is serialized twice; PLATFORMS.md section 0)."""
        if context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(context)
        action = parse_invoke(context.activity.value)
        self.seen.append(("clicked", action))
        card = incident_adaptive_card(
            CARD | {"acknowledged_by": context.activity.from_property.name}
        )
        body = AdaptiveCardInvokeResponse(status_code=200, type=CONTENT_TYPE, value=card)
        return InvokeResponse(status=200, body=body)


CARD: dict[str, Any] = {
    "incident": 7,
    "brand": "Kestrel Mobile",
    "topic": "storm",
    "theme": "",
    "status": "acknowledged",
    "level": "alert",
    "top_level": False,
    "risk": 55,
    "peak_risk": 61,
    "explanation": "55: 30 negative mentions in 1 h",
    "mentions": 30,
    "opened_at": "2026-03-10T09:05:00+00:00",
    "snoozed_until": None,
    "resolved_by": "",
    "merged_into": None,
    "trend": [],
    "examples": [],
}


async def test_inbound_activities_route_through_botbuilder_as_teams_ones_do() -> None:
    config = SimpleNamespace(APP_ID="", APP_PASSWORD="")  # auth disabled: no token either way
    adapter, bot = CloudAdapter(ConfigurationBotFrameworkAuthentication(config)), Recorder()
    async with FakeConnector() as teams, serving(adapter, bot) as url:
        assert (await post_activity(url, bot_added_activity(teams.url)))[0] == 201
        assert (await post_activity(url, installation_activity(teams.url)))[0] == 201
        click = invoke_activity(teams.url, "vigie.ack", {"incident": 7}, card_activity_id="1")
        status, answer = await post_activity(url, click)
    assert status == 200
    assert answer["statusCode"] == 200
    assert answer["type"] == CONTENT_TYPE
    assert answer["value"]["actions"][0]["title"] == "Unacknowledge"  # where Ack was
    kinds = dict(bot.seen)
    assert kinds["members added"] == ([BOT["id"]], TEAM)
    assert kinds["installed"]["serviceUrl"] == teams.url
    assert kinds["installed"]["conversation"]["id"] == CHANNEL
    assert kinds["clicked"] == TeamsAction(Verb.ACK, incident=7)


async def test_a_signing_key_published_since_the_last_read_is_fetched(
    openid: OpenIdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After Microsoft rotates its keys, a token signed by the new one is refused only until
    the keys are read again (at most every 5 minutes), not for the rest of the day."""
    first = sign(openid.key, openid.kid, app_id=APP_ID, service_url=SERVICE_URL)
    await authentication(openid).authenticate_request(inbound(), bearer(first))
    rotated = new_key()
    openid.keys.append(jwk(rotated, "rotated"))
    token = sign(rotated, "rotated", app_id=APP_ID, service_url=SERVICE_URL)
    with pytest.raises(PermissionError):  # the keys were read a moment ago
        await authentication(openid).authenticate_request(inbound(), bearer(token))
    monkeypatch.setattr(signing_keys, "UNKNOWN_KEY_REFRESH", timedelta(0))
    result = await authentication(openid).authenticate_request(inbound(), bearer(token))
    assert result.claims_identity.is_authenticated


class StalledOpenIdServer(OpenIdServer):
    """Holds every keys request until :attr:`release` is set (a stalled key server)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.release = threading.Event()

    async def _keys(self, request: web.Request) -> web.Response:
        self.asked.set()
        await asyncio.to_thread(self.release.wait, 30)
        return await super()._keys(request)


async def test_a_burst_of_tokens_naming_an_unknown_key_reads_the_keys_once() -> None:
    """Each request used to read the keys itself: while the key server stalled, a burst of
    such tokens took a thread each and filled the default pool. They now wait for one read."""
    with StalledOpenIdServer() as openid:
        openid.release.set()
        first = sign(openid.key, openid.kid, app_id=APP_ID, service_url=SERVICE_URL)
        await authentication(openid).authenticate_request(inbound(), bearer(first))
        JwtTokenExtractor.get_open_id_metadata(openid.metadata_url).last_updated = (
            datetime.now() - timedelta(minutes=10)  # an unknown key may be looked for again
        )
        openid.release.clear()
        openid.asked.clear()
        del openid.requests[:]
        token = bad_tokens(openid, app_id=APP_ID, service_url=SERVICE_URL)["unknown key id"]
        burst = asyncio.gather(
            *(
                authentication(openid).authenticate_request(inbound(), bearer(token))
                for _ in range(20)
            ),
            return_exceptions=True,
        )
        assert await asyncio.to_thread(openid.asked.wait, 30)
        openid.release.set()
        refused = await burst
    assert {type(error) for error in refused} == {PermissionError}
    assert [path.rsplit("/", 1)[1] for path in openid.requests] == ["openidconfiguration", "keys"]
