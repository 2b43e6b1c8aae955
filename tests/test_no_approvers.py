"""No ``approvers`` configured means nobody may approve a reply draft, on Slack and on Teams:
unlike ``responders`` (nobody listed: everyone may act on incidents), an empty list never opens
publishing to whoever sees the card. End to end: real slack-bolt and botbuilder, the Mastodon
source and publisher against the fake, real SQLite. The refusal is answered and logged, and
once the service has stopped (nothing left in flight) nothing was published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import Service
from handlers.slack.render_drafts import APPROVE
from tests.conftest import running_service, wait_for, write_config
from tests.fake_connector import FakeConnector, installation_activity, invoke_activity
from tests.fake_connector import post_activity as post_teams
from tests.fake_mastodon import FakeMastodon
from tests.slack_fake import FakeSlack
from tests.test_drafts_slack import POLICY as SLACK_POLICY
from tests.test_drafts_slack import audit, buttons, click, drafts_messages
from tests.test_slack import SECRET
from tests.test_teams import POLICY as TEAMS_POLICY
from tests.test_teams import RESPONDER as TEAMS_RESPONDER
from tests.test_teams import action_data, api, drafts_activity
from tests.test_teams import storm as stream_storm

TOKEN = "masto-token"
SLACK_RESPONDER = "UANA"
NO_APPROVERS: list[dict[str, Any]] = [{}, {"kestrel-mobile": [], "*": []}]  # omitted, or empty


def mastodon_source(masto: FakeMastodon) -> dict[str, Any]:
    return masto.source(TOKEN)


@asynccontextmanager
async def vigie(
    tmp_path: Path, platforms: dict[str, Any], policy: dict[str, Any]
) -> AsyncIterator[tuple[Service, FakeMastodon, Path]]:
    async with FakeMastodon(token=TOKEN) as masto:
        config = write_config(
            tmp_path,
            [mastodon_source(masto)],
            clock="event",
            incidents=policy,
            platforms=platforms,
            delivery={"pace_seconds": 0},
        )
        async with running_service(config) as service:
            await masto.wait_for_streams(1)
            yield service, masto, config


def decisions(config: Path) -> list[tuple[str, str]]:
    return [(str(row["actor"]), str(row["action"])) for row in audit(config)]


@pytest.mark.parametrize("approvers", NO_APPROVERS, ids=["omitted", "empty"])
async def test_slack_without_approvers_refuses_every_approval(
    tmp_path: Path, approvers: dict[str, Any]
) -> None:
    async with FakeSlack() as slack:
        slack_settings: dict[str, Any] = {
            "bot_token": "xoxb-test",
            "signing_secret": SECRET,
            "api_url": slack.api_url,
            "responders": {"*": [SLACK_RESPONDER]},  # may act on incidents, not on drafts
        }
        if approvers:
            slack_settings["approvers"] = approvers
        platforms = {"slack": slack_settings}
        async with vigie(tmp_path, platforms, SLACK_POLICY) as (service, masto, config):
            stream_storm(masto)
            await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
            message = drafts_messages(slack)[0]
            value = buttons(message, APPROVE)[0]

            async def approve_as(user: str) -> str:
                before = len(slack.responses)
                await click(service, slack, APPROVE, value, user, message["ts"])
                await wait_for(lambda: len(slack.responses) > before)
                return str(slack.responses[-1]["text"])

            for user in (SLACK_RESPONDER, "UEVE"):
                assert "Only Kestrel Mobile's approvers" in await approve_as(user)
        assert masto.posted == []  # the service has stopped: nothing is still on its way
    log = decisions(config)
    assert (SLACK_RESPONDER, "refused approve") in log
    assert ("UEVE", "refused approve") in log
    assert not any(action in ("approved", "published") for _, action in log)


@pytest.mark.parametrize("approvers", NO_APPROVERS, ids=["omitted", "empty"])
async def test_teams_without_approvers_refuses_every_approval(
    tmp_path: Path, approvers: dict[str, Any]
) -> None:
    async with FakeConnector() as teams:
        teams_settings: dict[str, Any] = {
            "app_id": "",
            "responders": {"*": [TEAMS_RESPONDER]},  # may act on incidents, not on drafts
        }
        if approvers:
            teams_settings["approvers"] = approvers
        platforms = {"teams": teams_settings}
        async with vigie(tmp_path, platforms, TEAMS_POLICY) as (service, masto, config):
            await post_teams(api(service), installation_activity(teams.url))
            stream_storm(masto)
            await wait_for(lambda: drafts_activity(teams) is not None, timeout=30)
            drafts = drafts_activity(teams)
            assert drafts is not None
            approve = action_data(drafts["attachments"][0]["content"], "vigie.draft.approve")
            status, answer = await post_teams(
                api(service),
                invoke_activity(
                    teams.url, "vigie.draft.approve", approve, card_activity_id=drafts["id"]
                ),
            )
            assert status == 200
            assert answer["type"] == "application/vnd.microsoft.activity.message"
            assert "Only Kestrel Mobile's approvers" in answer["value"]
        assert masto.posted == []  # the service has stopped: nothing is still on its way
    log = decisions(config)
    assert (TEAMS_RESPONDER, "refused approve") in log
    assert not any(action in ("approved", "published") for _, action in log)
