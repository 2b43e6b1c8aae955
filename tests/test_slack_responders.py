"""Who may act on a brand's incidents: listed users, members of listed user groups, nobody else."""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.slack_response import SlackResponse

from handlers.slack.responders import SlackResponders
from tests.slack_fake import FakeSlack


async def test_users_and_user_group_members_may_act_per_brand() -> None:
    async with FakeSlack() as slack:
        slack.usergroups = {"S0COMMS": ["U0MEMBER"]}
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        now = [0.0]
        responders = SlackResponders(
            {"*": ["S0COMMS"], "acme": ["U0ACME"]}, client, clock=lambda: now[0]
        )
        assert await responders.may_act("U0MEMBER", "acme")
        assert await responders.may_act("U0MEMBER", "other")
        assert await responders.may_act("U0ACME", "acme")
        assert not await responders.may_act("U0ACME", "other")
        assert not await responders.may_act("U0STRANGER", "acme")
        lookups = len(slack.calls_to("usergroups.users.list"))
        await responders.may_act("U0STRANGER", "acme")
        assert len(slack.calls_to("usergroups.users.list")) == lookups  # cached
        slack.usergroups["S0COMMS"].append("U0NEW")
        now[0] += 301  # the cache expires: a new member counts
        assert await responders.may_act("U0NEW", "acme")


async def test_nobody_listed_means_everyone_may_act() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        responders = SlackResponders({}, client)
        assert responders.open_to_all
        assert await responders.may_act("U0ANYONE", "acme")


async def test_an_unreadable_group_grants_nothing() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        responders = SlackResponders({"*": ["S0GONE"]}, client)
        assert not await responders.may_act("U0MEMBER", "acme")


class StuckGroups:
    """A Slack client whose user-group look-up never answers (rate-limited, waiting)."""

    async def usergroups_users_list(self, usergroup: str) -> dict[str, list[str]]:
        await asyncio.Event().wait()
        return {}


class FailingGroups:
    async def usergroups_users_list(self, usergroup: str) -> dict[str, list[str]]:
        raise SlackApiError(
            "ratelimited",
            SlackResponse(
                client=None,
                http_verb="GET",
                api_url="",
                req_args={},
                data={"ok": False, "error": "ratelimited"},
                headers={},
                status_code=429,
            ),
        )


async def test_members_as_last_read_count_for_an_hour_while_slack_cannot_say() -> None:
    """Someone removed from a responders group an hour ago does not keep acting because Slack
    is slow or refusing to say who is in it now."""
    now = [0.0]
    for client in (StuckGroups(), FailingGroups()):
        responders = SlackResponders({"*": ["S0COMMS"]}, client, clock=lambda: now[0])  # type: ignore[arg-type]
        responders._groups["S0COMMS"] = (0.0, frozenset({"U0ANA"}))
        now[0] = 400.0  # past the 5-minute cache: Slack is asked again
        assert await responders.may_act_soon("U0ANA", "acme", seconds=0.05) is True
        now[0] = 3700.0
        assert await responders.may_act_soon("U0ANA", "acme", seconds=0.05) in (None, False)
        now[0] = 0.0
