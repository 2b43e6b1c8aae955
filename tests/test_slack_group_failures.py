"""When Slack cannot say who is in a responders or approvers user group (a 5xx, a 429 after the
client's retries, a missing scope, no connection) and the group was not read recently, nobody
is refused or logged as refused: they are asked to try again. Real slack_sdk and slack-bolt
against the fake Slack, real SQLite."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from handlers.slack.platform import make_client
from handlers.slack.render_drafts import APPROVE
from handlers.slack.responders import SlackResponders
from tests.slack_fake import FakeSlack
from tests.test_drafts_slack import APPROVER, buttons, drafts_messages
from tests.test_slack_draft_modals import (  # noqa: F401 (a fixture)
    GROUP,
    answered,
    decisions,
    group_cache_expired,
    press,
    storm,
)

FAILURES = [(500, None, 1), (200, "missing_scope", 1), (429, None, 3)]  # a 429 retried twice


@pytest.mark.parametrize(("status", "error", "times"), FAILURES)
async def test_a_group_slack_cannot_read_is_unknown_not_a_refusal(
    status: int, error: str | None, times: int
) -> None:
    async with FakeSlack() as slack:
        slack.usergroups[GROUP] = [APPROVER]
        responders = SlackResponders({"*": [GROUP]}, make_client("xoxb-test", slack.api_url))
        slack.fail("usergroups.users.list", status=status, error=error, retry_after=0, times=times)
        assert await responders.may_act(APPROVER, "acme") is None
        assert await responders.may_act(APPROVER, "acme") is True  # Slack answers again


async def test_an_unreachable_slack_is_unknown_not_an_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = make_client("xoxb-test", f"http://127.0.0.1:{port}/api/")
    responders = SlackResponders({"*": [GROUP]}, client)
    assert await responders.may_act(APPROVER, "acme") is None


async def test_a_missing_scope_is_one_error_saying_which(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeSlack() as slack:
        responders = SlackResponders({"*": [GROUP]}, make_client("xoxb-test", slack.api_url))
        slack.fail("usergroups.users.list", status=200, error="missing_scope", times=2)
        with caplog.at_level(logging.WARNING, logger="handlers.slack.responders"):
            await responders.may_act(APPROVER, "acme")
            await responders.may_act(APPROVER, "acme")
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "usergroups:read" in errors[0].getMessage()


@pytest.mark.usefixtures("group_cache_expired")
async def test_an_approver_is_asked_to_click_again_and_nothing_is_logged_as_refused(
    tmp_path: Path,
) -> None:
    async with storm(tmp_path, [GROUP]) as (service, slack, _masto):
        message = drafts_messages(slack)[0]
        value = buttons(message, APPROVE)[0]
        slack.fail("usergroups.users.list", status=500, times=5)
        before = len(slack.responses)
        await press(service, slack, APPROVE, value, APPROVER, message["ts"])
        said = await answered(slack, before)
        assert "did not confirm in time" in said
        assert "Click again" in said
        assert not [a for _, a, _ in decisions(service, value.split(":")[0]) if "refused" in a]
