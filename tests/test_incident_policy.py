"""The incident policy in app.yaml: a malformed one is refused at start-up, naming the problem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_config
from bot.config.incidents import IncidentPolicy, NotifyStep, slack_mention
from tests.conftest import write_config

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SOURCE = {"type": "replay", "name": "file", "path": "m.jsonl"}


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], incidents: dict[str, Any]) -> str:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    config = write_config(tmp_path, [SOURCE], incidents=incidents)
    assert main(["check-config", "-c", str(config)]) == 2
    return ANSI.sub("", capsys.readouterr().err).replace("\n", " ")


def levels(*steps_per_level: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = ("watch", "alert", "crisis")
    return [
        {"name": names[i], "min_risk": 30 + 20 * i, "steps": steps}
        for i, steps in enumerate(steps_per_level)
    ]


@pytest.mark.parametrize(
    ("incidents", "message"),
    [
        (
            {"levels": levels([{"escalate": {"to": "panic"}}], [])},
            "escalates to unknown level 'panic'",
        ),
        ({"levels": levels([{"wait": "-5m"}])}, "a duration cannot be negative (-5m)"),
        (
            {
                "levels": levels(
                    [], [{"escalate": {"to": "crisis"}}], [{"escalate": {"to": "alert"}}]
                )
            },
            "escalation cycle: alert -> crisis -> alert",
        ),
        ({"levels": levels([{"escalate": {"to": "watch"}}])}, "escalation cycle: watch -> watch"),
        ({"levels": levels([], [{"escalate": {}}])}, "'alert' escalates but is the top level"),
        ({"levels": levels([{"notify": "nobody"}])}, "notifies unknown target 'nobody'"),
        ({"levels": levels([{"shout": "x"}])}, "a step is one of notify"),
        (
            {"levels": [{"name": "a", "min_risk": 50}, {"name": "b", "min_risk": 40}]},
            "must need more risk than 'a'",
        ),
        ({"levels": levels([], [])[::-1][:1] * 2}, "level 'alert' is defined twice"),
        ({"group_wait": "soon"}, "'soon' is not a duration"),
        ({"resolve_after": 90}, "90 has no unit: write 90s, 90m or 90h"),
        (
            {"quiet_hours": {"time_zone": "Europe/Atlantis", "start": "22:00", "end": "07:00"}},
            "'Europe/Atlantis' is not a known time zone",
        ),
        (
            {
                "quiet_hours": {
                    "time_zone": "UTC",
                    "start": "22:00",
                    "end": "7",
                    "bypass_level": "x",
                }
            },
            "is not a time of day",
        ),
        ({"inhibit": {"level": "apocalypse"}}, "inhibit.level names unknown level 'apocalypse'"),
        (
            {"targets": {"team": {"platform": "file", "channel": "#a"}}},
            "uses platform 'file', which is not configured",
        ),
        (
            {"targets": {"lead": {"platform": "slack", "channel": "U0456EFGH"}}},
            "slack target 'lead' posts to 'U0456EFGH', a person",
        ),
        (
            {"targets": {"team": {"platform": "slack", "channel": "C1"}}},
            "uses platform 'slack', which is not configured",
        ),
        (
            {"targets": {"team": {"platform": "slack", "channel": "#social-care"}}},
            "slack target 'team' names channel '#social-care': give its id (C…",
        ),
    ],
)
def test_a_malformed_policy_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], incidents: dict[str, Any], message: str
) -> None:
    error = refused(tmp_path, capsys, incidents)
    assert message in error
    assert "line " in error  # and where


def test_the_default_policy_is_valid_and_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    config = write_config(tmp_path, [SOURCE])
    assert main(["check-config", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "level watch: from risk 40; steps: notify" in out
    assert "level alert: from risk 45; steps: notify, wait, escalate" in out


def test_the_shipped_app_yaml_policy_loads() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "app.yaml")
    assert [level.name for level in config.incidents.levels] == ["watch", "alert", "crisis"]


def test_a_policy_snapshot_round_trips_through_json() -> None:
    policy = IncidentPolicy.model_validate(
        {
            "quiet_hours": {"time_zone": "Europe/Paris", "start": "22:00", "end": "07:30"},
            "levels": levels([{"notify": "team"}, {"wait": "90s"}, {"escalate": {}}], []),
        }
    )
    again = IncidentPolicy.model_validate(policy.model_dump(mode="json"))
    assert again == policy


def test_slack_responders_must_name_known_brands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    slack = {
        "bot_token": "xoxb-1",
        "signing_secret": "s" * 32,
        "responders": {"kestrel": ["U0ANN"]},
    }
    config = write_config(tmp_path, [SOURCE], platforms={"slack": slack})
    assert main(["check-config", "-c", str(config)]) == 2
    error = ANSI.sub("", capsys.readouterr().err).replace("\n", " ")
    assert "platforms.slack.responders: names unknown brand(s) kestrel" in error
    assert "kestrel-mobile" in error


SLACK = {"bot_token": "xoxb-1", "signing_secret": "s" * 32}


@pytest.mark.parametrize("mention", ["@social-oncall", "social-oncall", "everyone", "u0456efgh"])
def test_a_slack_mention_that_pages_nobody_is_refused_naming_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mention: str
) -> None:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    incidents = {"targets": {"social": {"platform": "slack", "channel": "C1", "mention": mention}}}
    config = write_config(tmp_path, [SOURCE], incidents=incidents, platforms={"slack": SLACK})
    assert main(["check-config", "-c", str(config)]) == 2
    error = ANSI.sub("", capsys.readouterr().err).replace("\n", " ")
    assert f"slack target 'social' mentions {mention!r}, which pages nobody in Slack" in error
    assert "a user id (U…" in error
    assert "a user group id (S…), here, channel or none" in error


def test_a_steps_slack_mention_is_checked_too() -> None:
    with pytest.raises(ValueError, match=r"level 'watch'.*'team' mentions '@comms-lead'"):
        IncidentPolicy.model_validate(
            {
                "targets": {"team": {"platform": "slack", "channel": "C1"}},
                "levels": levels([{"notify": "team", "mention": "@comms-lead"}]),
            }
        )


@pytest.mark.parametrize(
    ("mention", "pages"),
    [
        ("S0123ABCD", "S0123ABCD"),
        ("U0456EFGH", "U0456EFGH"),
        ("W0456EFGH", "W0456EFGH"),
        ("<!subteam^S0123ABCD>", "S0123ABCD"),
        ("<!subteam^S0123ABCD|@social-oncall>", "S0123ABCD"),
        ("<@U0456EFGH>", "U0456EFGH"),
        ("<@U0456EFGH|ana>", "U0456EFGH"),
        ("<!here>", "here"),
        ("@here", "here"),
        ("channel", "channel"),
        ("none", ""),
        ("", ""),
    ],
)
def test_slack_mentions_slack_pages_are_accepted(mention: str, pages: str) -> None:
    policy = IncidentPolicy.model_validate(
        {"targets": {"team": {"platform": "slack", "channel": "C1", "mention": mention}}}
    )
    assert slack_mention(policy.targets["team"].mention) == pages


def test_other_platforms_mentions_are_not_slacks() -> None:
    """Teams names people as ``Name <id>``; the console and the file print the text."""
    IncidentPolicy.model_validate(
        {
            "targets": {
                "teams": {
                    "platform": "teams",
                    "channel": "19:a@thread.tacv2",
                    "mention": "On-call Ana <ana@contoso.com>",
                },
                "console": {"channel": "#social-care", "mention": "@social-oncall"},
            },
            "levels": levels([{"notify": "teams"}, {"notify": "console", "mention": "@lead"}]),
        }
    )


def test_a_targets_mention_none_pages_nobody() -> None:
    policy = IncidentPolicy.model_validate(
        {
            "targets": {"team": {"platform": "slack", "channel": "C1", "mention": "none"}},
            "levels": levels([{"notify": "team"}]),
        }
    )
    step = policy.levels[0].steps[0]
    assert isinstance(step, NotifyStep)
    assert step.mention_for(policy.targets["team"]) == ""
