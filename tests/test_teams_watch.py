"""``@Vigie watch NAME here`` once a name is bound, end to end through the real CloudAdapter:
with the defaults (no tenant_id, no responders) someone of another organisation that installed
the app cannot take a name's cards to their own channel, nor can anyone move a bound name while
no responder is listed; a responder of every brand moves it, within the organisation."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.config.teams import TeamsSettings
from handlers.teams.runtime import build_teams
from storage.writer import Writer
from tests.conftest import wait_for
from tests.fake_connector import CHANNEL, TENANT, USER, message_activity, post_activity
from tests.test_teams import POLICY, RESPONDER, api, vigie_in_teams
from tests.test_teams_inbound import reference_of

OUTSIDER = {
    "id": "29:outsider",
    "name": "Mallory",
    "aadObjectId": "0badc0de-0000-4000-8000-000000000bad",
}
COLLEAGUE = {
    "id": "29:colleague",
    "name": "Lea",
    "aadObjectId": "1eadc0de-0000-4000-8000-00000000001e",
}
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"
OTHER_CHANNEL = "19:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@thread.tacv2"
OTHER_TEAM = "19:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@thread.tacv2"
SOCIAL = {**POLICY, "targets": {"team": {"platform": "teams", "channel": "social"}}}


def watch(service_url: str, sender: dict[str, Any], tenant: str = TENANT) -> dict[str, Any]:
    """``@Vigie watch social here`` in another channel (of ``tenant``'s organisation)."""
    activity = message_activity(
        service_url, "watch social here", channel=OTHER_CHANNEL, team=OTHER_TEAM, sender=sender
    )
    activity["channelData"]["tenant"] = {"id": tenant}
    activity["conversation"]["tenantId"] = tenant
    return activity


async def said(teams: Any, service: Any, activity: dict[str, Any]) -> str:
    before = len(teams.activities(OTHER_CHANNEL))
    await post_activity(api(service), activity)
    await wait_for(lambda: len(teams.activities(OTHER_CHANNEL)) > before)
    return str(teams.activities(OTHER_CHANNEL)[-1]["text"])


def bound(config: Path) -> str:
    reference = reference_of(config, "social")
    return "" if reference is None else str(reference["conversation"]["id"])


async def test_nobody_moves_a_bound_name_while_no_responder_is_listed(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path, responders=(), policy=SOCIAL) as (service, teams, _, cfg):
        await post_activity(api(service), message_activity(teams.url, "watch social here"))
        await wait_for(lambda: bound(cfg).startswith(CHANNEL))  # the first binding is open
        assert reference_of(cfg, "social")["conversation"]["tenantId"] == TENANT.lower()
        # someone of another organisation
        refused = await said(teams, service, watch(teams.url, OUTSIDER, OTHER_TENANT))
        assert "another Microsoft 365 organisation" in refused
        assert bound(cfg).startswith(CHANNEL)
        # a colleague of the same organisation: no responder is listed, so nobody may move it
        refused = await said(teams, service, watch(teams.url, COLLEAGUE))
        assert "nobody is listed yet" in refused
        assert bound(cfg).startswith(CHANNEL)
        # watching it again where it is refreshes it, as before
        await post_activity(api(service), message_activity(teams.url, "watch social here"))
        assert bound(cfg).startswith(CHANNEL)


async def test_a_listed_responder_moves_a_name_within_the_organisation(tmp_path: Path) -> None:
    async with vigie_in_teams(tmp_path, policy=SOCIAL) as (service, teams, _, cfg):
        await post_activity(api(service), message_activity(teams.url, "watch social here"))
        await wait_for(lambda: bound(cfg).startswith(CHANNEL))
        assert USER["aadObjectId"] == RESPONDER
        elsewhere = {**USER}
        refused = await said(teams, service, watch(teams.url, elsewhere, OTHER_TENANT))
        assert "another Microsoft 365 organisation" in refused
        assert bound(cfg).startswith(CHANNEL)
        assert "now 'social'" in await said(teams, service, watch(teams.url, elsewhere))
        assert bound(cfg).startswith(OTHER_CHANNEL)


@pytest.mark.parametrize(("responders", "act"), [({}, True), ({"*": [RESPONDER]}, False)])
def test_the_start_up_warning_says_what_people_of_any_organisation_could_do(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, responders: dict[str, list[str]], act: bool
) -> None:
    settings = TeamsSettings(
        app_id="00000000-0000-0000-0000-00000000b07a",
        app_password="app-password",  # type: ignore[arg-type]
        responders=responders,
    )
    caplog.set_level(logging.WARNING)
    drafts = SimpleNamespace(install=lambda: "")
    build_teams(settings, Writer(tmp_path / "vigie.db"), Any, Any, {}, drafts)  # type: ignore[arg-type]
    warned = " ".join(r.getMessage() for r in caplog.records if "tenant_id" in r.getMessage())
    assert "can query" in warned
    assert ("act on incidents" in warned) is act
    assert ("to their own channel" in warned) is act
    assert ("press the buttons of a card in a channel they are in" in warned) is act
