"""Teams delivery through the real CloudAdapter against the fake Bot Connector, with real
SQLite: what an expired client secret looks like in the outbox."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import TurnContext  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import (  # type: ignore[import-untyped]
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity  # type: ignore[import-untyped]

from bot.delivery import DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.teams.people import TeamsDirectory
from handlers.teams.platform import TeamsPlatform
from storage.conversations import reference_for, save_reference
from storage.database import open_database
from storage.writer import Writer
from tests.fake_connector import APP_ID, CHANNEL, TEAM, FakeConnector, installation_activity
from tests.teams_auth import ExpiredSecretFactory, StaticCredentialsFactory, auth_config
from tests.test_teams_render import incident


@pytest.fixture
def writer(tmp_path: Path) -> Any:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


@pytest.fixture
async def teams() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        yield fake


def opening(channel: str = CHANNEL) -> Intent:
    return Intent(
        key="open-7",
        incident_id=7,
        kind=IntentKind.OPEN,
        platform="teams",
        channel=channel,
        created_at=datetime(2026, 3, 10, 9, 5, tzinfo=UTC),
        text="#7 Kestrel Mobile: alert, risk 55",
        card=incident(),
    )


async def test_an_expired_client_secret_is_named_not_taken_for_a_network_error(
    writer: Writer, teams: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    platform = _platform(writer, teams, ExpiredSecretFactory(APP_ID))
    with pytest.raises(DeliveryError) as failed:
        await platform.deliver(opening(), None)
    assert "app_password" in str(failed.value)
    assert "AADSTS7000222" in str(failed.value)
    assert "unreachable" not in str(failed.value)
    assert failed.value.retryable
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert not teams.calls  # nothing reached Teams without a token


def _platform(writer: Writer, teams: FakeConnector, credentials: Any = None) -> TeamsPlatform:
    """The platform installed in the fake's team, with ``credentials`` (a factory; by default
    one that never asks Microsoft Entra for a token)."""
    auth = ConfigurationBotFrameworkAuthentication(
        auth_config(APP_ID, "http://127.0.0.1:9/unused"),
        credentials_factory=credentials or StaticCredentialsFactory(APP_ID),
    )
    installed = Activity().deserialize(installation_activity(teams.url))
    reference = TurnContext.get_conversation_reference(installed).serialize()

    async def references(channel: str) -> dict[str, Any] | None:
        return reference if channel == CHANNEL else None

    return TeamsPlatform(CloudAdapter(auth), APP_ID, references, TeamsDirectory(writer))


async def test_a_bug_of_ours_is_not_taken_for_the_connectors_answer(
    writer: Writer, teams: FakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card that cannot be built (a bug) propagates as itself, so the deliverer gives up
    after 3 tries; it was a retryable 'Teams delivery failed' and was tried for ever."""
    platform = _platform(writer, teams)

    def broken(intent: Intent) -> Any:
        raise KeyError("peak_risk")

    monkeypatch.setattr(platform, "_card", broken)
    with pytest.raises(KeyError):
        await platform.deliver(opening(), None)


async def test_the_connectors_refusals_stay_delivery_errors(
    writer: Writer, teams: FakeConnector
) -> None:
    platform = _platform(writer, teams)
    teams.fail(".", status=503, times=1)
    with pytest.raises(DeliveryError) as failed:
        await platform.deliver(opening(), None)
    assert failed.value.retryable
    assert "503" in str(failed.value)


async def test_a_refusal_names_the_connectors_code_and_what_to_do(
    writer: Writer, teams: FakeConnector
) -> None:
    platform = _platform(writer, teams)
    teams.fail(".", status=403)
    with pytest.raises(DeliveryError) as refused:
        await platform.deliver(opening(), None)
    assert not refused.value.retryable
    assert str(refused.value).startswith(
        "the Bot Connector answered 403 BotNotInConversationRoster"
    )
    assert "Vigie was removed from that team or chat: add it again" in str(refused.value)


async def test_a_channel_id_vigie_never_heard_from_is_posted_to_with_another_reference(
    tmp_path: Path, writer: Writer, teams: FakeConnector
) -> None:
    """Teams sends install events from the team's General channel: a target naming another
    channel of the team by id has no reference of its own, and is posted to all the same."""
    db = open_database(tmp_path / "kept.db")
    installed = Activity().deserialize(installation_activity(teams.url))
    general = TurnContext.get_conversation_reference(installed).serialize()
    general["conversation"]["id"] = TEAM
    save_reference(db, "teams", TEAM, general)
    assert reference_for(db, "teams", "social") is None  # a name nobody bound

    async def references(channel: str) -> dict[str, Any] | None:
        return reference_for(db, "teams", channel)

    auth = ConfigurationBotFrameworkAuthentication(
        auth_config(APP_ID, "http://127.0.0.1:9/unused"),
        credentials_factory=StaticCredentialsFactory(APP_ID),
    )
    platform = TeamsPlatform(CloudAdapter(auth), APP_ID, references, TeamsDirectory(writer))
    try:
        ref = await platform.deliver(opening(CHANNEL), None)
        with pytest.raises(DeliveryError, match="type '@Vigie watch social here'"):
            await platform.deliver(opening("social"), None)
    finally:
        db.close()
    assert ref.startswith(CHANNEL)
    assert teams.activities(CHANNEL)


def test_a_bound_name_follows_its_channel_to_a_new_service_url(tmp_path: Path) -> None:
    """Every activity in a channel refreshes the reference kept under its id; the copy kept
    under a bound name takes its service URL when newer (Teams may move a tenant's)."""
    db = open_database(tmp_path / "kept.db")
    try:
        old = {"serviceUrl": "https://old.example/", "conversation": {"id": CHANNEL}}
        save_reference(db, "teams", "social", old, "Social")
        assert reference_for(db, "teams", "social") == old
        time.sleep(0.01)
        save_reference(db, "teams", CHANNEL, {**old, "serviceUrl": "https://new.example/"})
        assert reference_for(db, "teams", "social") == {**old, "serviceUrl": "https://new.example/"}
    finally:
        db.close()
