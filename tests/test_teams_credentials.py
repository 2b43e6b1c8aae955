"""Vigie's own Bot Framework token is fetched off the event loop, once per app and scope, with
a timeout: botbuilder would fetch it synchronously on the loop for every message."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from botbuilder.core import TurnContext  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity  # type: ignore[import-untyped]

from handlers.teams.credentials import KeptCredentials, OwnTokenUnavailable
from handlers.teams.people import TeamsDirectory
from handlers.teams.platform import TeamsPlatform
from storage.writer import Writer
from tests.conftest import wait_for
from tests.fake_connector import APP_ID, CHANNEL, FakeConnector, installation_activity
from tests.teams_auth import (
    STATIC_TOKEN,
    ExpiredSecretFactory,
    StaticCredentials,
    StaticCredentialsFactory,
    auth_config,
)
from tests.test_teams_platform import opening

SCOPE = "https://api.botframework.com"


class Counted(StaticCredentials):
    """Credentials noting which thread asked for the token, optionally slow to get it."""

    def __init__(self, app_id: str, release: threading.Event | None = None) -> None:
        super().__init__(app_id)
        self.threads: list[int] = []
        self.release = release

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.threads.append(threading.get_ident())
        if self.release is not None:
            self.release.wait(10)
        return STATIC_TOKEN


class CountingFactory(StaticCredentialsFactory):
    def __init__(self, release: threading.Event | None = None) -> None:
        super().__init__(APP_ID)
        self.made: list[Counted] = []
        self.release = release

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Counted:
        self.made.append(Counted(app_id, self.release))
        return self.made[-1]


async def test_the_token_is_fetched_off_the_loop_and_the_credentials_kept() -> None:
    inner = CountingFactory()
    kept = KeptCredentials(inner)
    login = "https://login.example"
    first = await kept.create_credentials(APP_ID, SCOPE, login, True)
    again = await kept.create_credentials(APP_ID, SCOPE, login, True)
    other = await kept.create_credentials(APP_ID, "https://other.scope", login, True)
    assert first is again is inner.made[0]
    assert other is inner.made[1]
    assert first.get_access_token() == STATIC_TOKEN  # what signing a request gets
    assert len(inner.made[0].threads) == 2  # fetched before each use (MSAL: from its cache)
    assert threading.get_ident() not in inner.made[0].threads


async def test_an_entra_that_does_not_answer_times_out_without_freezing_the_loop() -> None:
    release = threading.Event()
    inner = CountingFactory(release)
    kept = KeptCredentials(inner, timeout=0.2)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        for _ in range(3):
            credentials = await kept.create_credentials(APP_ID, SCOPE, "https://login", True)
            with pytest.raises(OwnTokenUnavailable, match=r"no token within 0\.2s"):
                credentials.get_access_token()  # only a request that needs it fails
    finally:
        ticker.cancel()
        release.set()
    assert ticks > 20  # the loop went on meanwhile
    assert len(inner.made[0].threads) == 1  # one stuck worker thread, not one per attempt
    # the stuck fetch ends (its thread wakes when the machine lets it): the next one gets it
    await wait_for(
        lambda: all(k.fetching is None or k.fetching.done() for k in kept._kept.values()), 30
    )
    credentials = await kept.create_credentials(APP_ID, SCOPE, "https://login", True)
    assert credentials.get_access_token() == STATIC_TOKEN


async def test_a_refused_secret_is_raised_when_a_request_needs_the_token() -> None:
    credentials = await KeptCredentials(ExpiredSecretFactory(APP_ID)).create_credentials(
        APP_ID, SCOPE, "https://login", True
    )
    for _ in range(2):
        with pytest.raises(PermissionError, match="AADSTS7000222"):
            credentials.get_access_token()


async def test_without_an_app_id_no_token_is_asked_for() -> None:
    inner = CountingFactory()
    credentials = await KeptCredentials(inner).create_credentials("", SCOPE, "", True)
    assert credentials.threads == []


async def test_cards_sent_through_botbuilder_make_the_credentials_once(tmp_path: Any) -> None:
    inner = CountingFactory()
    auth = ConfigurationBotFrameworkAuthentication(
        auth_config(APP_ID, "http://127.0.0.1:9/unused"), credentials_factory=KeptCredentials(inner)
    )
    writer = Writer(tmp_path / "vigie.db")
    try:
        async with FakeConnector(token=STATIC_TOKEN) as teams:
            installed = Activity().deserialize(installation_activity(teams.url))
            reference = TurnContext.get_conversation_reference(installed).serialize()

            async def references(channel: str) -> dict[str, Any] | None:
                return reference if channel == CHANNEL else None

            platform = TeamsPlatform(CloudAdapter(auth), APP_ID, references, TeamsDirectory(writer))
            for _ in range(3):
                assert await platform.deliver(opening(), None)
    finally:
        writer.close()
    assert len(inner.made) == 1
    assert len(inner.made[0].threads) >= 3  # one fetch per use
    assert threading.get_ident() not in inner.made[0].threads  # never on the loop


async def test_callers_wait_together_on_a_hung_entra_not_one_after_another() -> None:
    release = threading.Event()
    kept = KeptCredentials(CountingFactory(release), timeout=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.gather(
            *(kept.create_credentials(APP_ID, SCOPE, "https://login", True) for _ in range(5))
        )
    finally:
        release.set()
    assert loop.time() - started < 2.0  # 0.5 s, not 5 x 0.5 s (each waiting in turn)
