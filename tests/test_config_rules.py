"""app.yaml settings that loaded but could never work: a malformed ${…}, a platform no level
notifies, a Teams mention that notifies nobody, a webhook without HTTP, empty quiet hours, a
tenant given by its domain, a zero reminder period, a secret echoed in an error."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.app import build
from bot.cli import main
from bot.config import AppConfig, ConfigError, load_config
from bot.config.incidents import IncidentPolicy, teams_mention_notifies
from bot.config.loader import substitute
from tests.conftest import write_config

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SOURCE = {"type": "replay", "name": "file", "path": "m.jsonl"}
GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "00000000-0000-0000-0000-00000000b07a"
SLACK = {"bot_token": "xoxb-1", "signing_secret": "s" * 32}
TEAMS = {"app_id": APP, "app_password": "app-password", "tenant_id": GUID}


def flat(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


def config_file(
    tmp_path: Path, sources: list[dict[str, Any]] | None = None, **sections: Any
) -> Path:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    return write_config(tmp_path, sources or [SOURCE], **sections)


def load(tmp_path: Path, environ: dict[str, str] | None = None, **sections: Any) -> AppConfig:
    return load_config(config_file(tmp_path, **sections), environ=environ or {})


def refusal(tmp_path: Path, environ: dict[str, str] | None = None, **sections: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, environ, **sections)
    return flat(str(caught.value))


# 1. A malformed ${…} is an error, never the literal text (it would become the secret)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("${vigie.webhook.secret}", "is not a variable name"),
        ("${SLACK_SIGNING_SECRET }", "has spaces inside the braces"),
        ("${SLACK-SIGNING-SECRET}", "is not a variable name"),
        ("${SLACK_SIGNING_SECRET-}", "is not a variable name (letters, digits and _; a default"),
        ("${SLACK_SIGNING_SECRET:=x}", "uses a shell form Vigie does not read"),
        ("${}", "is not a variable name"),
        ("${1PASSWORD}", "is not a variable name"),
    ],
)
def test_a_malformed_placeholder_is_an_error_naming_the_line_and_the_forms(
    tmp_path: Path, written: str, why: str
) -> None:
    slack = {**SLACK, "signing_secret": written}
    environ = {"SLACK_SIGNING_SECRET": "from-the-environment-0123"}
    message = refusal(tmp_path, environ, platforms={"slack": slack})
    text = (tmp_path / "app.yaml").read_text(encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "signing_secret" in row)
    assert f"line {line}: {written!r} {why}" in message
    assert "write ${NAME}, ${NAME:-default}, or $${ for a literal ${" in message


def test_placeholders_that_are_well_formed_or_escaped_still_work() -> None:
    environ = {"A": "ay"}
    assert substitute("${A}|${B:-bee}|$${A}|$${not.a.name}|$5 {x}", environ, 1) == (
        "ay|bee|${A}|${not.a.name}|$5 {x}"
    )
    # a value from the environment is never read again: its own ${ is its own
    assert substitute("${A}", {"A": "p@ss${word}"}, 1) == "p@ss${word}"


def test_an_unclosed_placeholder_does_not_show_what_follows() -> None:
    with pytest.raises(ConfigError) as caught:
        substitute("hunter2${PASSWORD-which-goes-on", {}, 4)
    assert "line 4: a '${' has no closing }" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "goes-on" not in str(caught.value)


def test_a_placeholder_in_a_default_is_an_error_not_text() -> None:
    with pytest.raises(ConfigError, match=r"line 2: the default of \$\{A:-…\} holds another"):
        substitute("${A:-${B}}", {"A": "set"}, 2)


# 2. A chat platform no level notifies: a warning, and check-config shows where cards go


def test_a_chat_platform_no_level_notifies_is_warned_about(tmp_path: Path) -> None:
    config = load(tmp_path, platforms={"slack": SLACK, "teams": TEAMS})
    warnings = config.unused_platform_warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "platforms.slack is configured but no level notifies a slack target: every card goes "
        "to console"
    )
    assert warnings[1].startswith("platforms.teams is configured")


async def test_the_service_says_so_when_it_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load(tmp_path, platforms={"slack": SLACK})
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        service = build(config, Console(file=io.StringIO()))
    service.intake.scorer.close()
    service.writer.close()
    assert any("no level notifies a slack target" in r.getMessage() for r in caplog.records)


def test_a_notified_platform_is_not_warned_about(tmp_path: Path) -> None:
    incidents = {"targets": {"team": {"platform": "slack", "channel": "C0123"}}}
    config = load(tmp_path, platforms={"slack": SLACK}, incidents=incidents)
    assert config.unused_platform_warnings() == []


def test_check_config_prints_targets_and_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incidents = {
        "targets": {
            "team": {"platform": "console", "channel": "#brand-alerts"},
            "lead": {"platform": "teams", "channel": "crisis", "mention": "Ana <ana@contoso.com>"},
        },
    }
    path = config_file(tmp_path, platforms={"slack": SLACK, "teams": TEAMS}, incidents=incidents)
    assert main(["check-config", "-c", str(path)]) == 0
    captured = capsys.readouterr()
    out, err = flat(captured.out), flat(captured.err)
    assert "target team: console channel #brand-alerts" in out
    assert "target lead: teams channel crisis, mentions Ana <ana@contoso.com>" in out
    assert "warning platforms.slack is configured but no level notifies a slack target" in err
    assert "warning platforms.teams is configured but no level notifies" in err  # lead: unused
    assert "warning platforms.slack.responders is empty" in err
    assert "warning platforms.slack.approvers is empty" in err
    assert "warning platforms.teams.approvers is empty" in err


# 3. A Teams mention that notifies nobody is refused, like a Slack one


@pytest.mark.parametrize(
    "mention", ["@social-oncall", "Ana <ana.lima>", "ana.lima@contoso.com", GUID, "here"]
)
def test_a_teams_mention_that_notifies_nobody_is_refused(tmp_path: Path, mention: str) -> None:
    incidents = {"targets": {"team": {"platform": "teams", "channel": "c", "mention": mention}}}
    message = refusal(tmp_path, platforms={"teams": TEAMS}, incidents=incidents)
    assert f"teams target 'team' mentions {mention!r}, which notifies nobody in Teams" in message
    assert "write 'Name <id>'" in message
    assert "'On-call Ana <ana.lima@contoso.com>'" in message


def test_a_steps_teams_mention_is_checked_too() -> None:
    with pytest.raises(ValueError, match=r"level 'watch'.*teams target 'team' mentions '@lead'"):
        IncidentPolicy.model_validate(
            {
                "targets": {"team": {"platform": "teams", "channel": "c"}},
                "levels": [
                    {
                        "name": "watch",
                        "min_risk": 40,
                        "steps": [{"notify": "team", "mention": "@lead"}],
                    }
                ],
            }
        )


@pytest.mark.parametrize(
    "mention",
    [
        "On-call Ana <ana.lima@contoso.com>",
        f"Ana Lima <{GUID}>",
        "@Ana <29:1AbC-dEf>",
        "none",
        "",
    ],
)
def test_a_teams_mention_that_notifies_is_accepted(mention: str) -> None:
    IncidentPolicy.model_validate(
        {"targets": {"team": {"platform": "teams", "channel": "c", "mention": mention}}}
    )
    assert teams_mention_notifies(mention)


def test_the_readme_teams_example_mentions_in_the_accepted_form() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.findall(r"\{platform: teams, channel: \w+, mention: \"([^\"]+)\"\}", readme)
    assert example
    assert all(teams_mention_notifies(mention) for mention in example)


# 5. A webhook source cannot receive anything without the HTTP server


def test_a_webhook_source_needs_http(tmp_path: Path) -> None:
    webhook = {"type": "webhook", "name": "inbound", "secret": "0123456789abcdef"}
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, [webhook], http={"enabled": False}), environ={})
    assert "webhook source 'inbound' needs http.enabled (POST /webhooks/inbound)" in flat(
        str(caught.value)
    )


def test_webhook_sources_sharing_a_secret_are_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The signature covers the body, not the path: either sender may post as the other."""
    hooks = [
        {"type": "webhook", "name": name, "secret": secret}
        for name, secret in [("crm", "0123456789abcdef"), ("forms", "0123456789abcdef")]
    ]
    own = {"type": "webhook", "name": "desk", "secret": "fedcba9876543210"}
    assert main(["check-config", "-c", str(config_file(tmp_path, [*hooks, own]))]) == 0
    err = flat(capsys.readouterr().err)
    assert "warning webhook sources crm, forms share one secret" in err
    assert "desk" not in err
    assert "0123456789abcdef" not in err  # never the secret itself


# 6. Quiet hours from a time to the same time


def test_quiet_hours_starting_and_ending_at_once_are_refused(tmp_path: Path) -> None:
    quiet = {"time_zone": "Europe/Paris", "start": "22:00", "end": "22:00"}
    message = refusal(tmp_path, incidents={"quiet_hours": quiet})
    assert "incidents.quiet_hours: quiet hours start and end at the same time (22:00)" in message
    assert "cannot cover a whole day" in message
    assert "silence the brand or topic" in message


# 7. Teams' app id and tenant id are GUIDs


def test_a_tenant_given_by_its_domain_is_refused(tmp_path: Path) -> None:
    teams = {**TEAMS, "tenant_id": "${TEAMS_TENANT_ID}"}
    environ = {"TEAMS_TENANT_ID": "contoso.onmicrosoft.com"}
    message = refusal(tmp_path, environ, platforms={"teams": teams})
    assert (
        "platforms.teams.tenant_id: 'contoso.onmicrosoft.com' is not a directory (tenant) id"
        in (message)
    )
    assert "Microsoft Entra ID's Overview page" in message


def test_an_app_id_that_is_not_a_guid_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, platforms={"teams": {**TEAMS, "app_id": "vigie-bot"}})
    assert "platforms.teams.app_id: 'vigie-bot' is not a Microsoft App ID" in message
    assert "Configuration page" in message


def test_guids_and_empty_ids_are_accepted(tmp_path: Path) -> None:
    config = load(tmp_path, platforms={"teams": {**TEAMS, "tenant_id": GUID.upper()}})
    assert config.platforms.teams is not None
    assert config.platforms.teams.tenant_id == GUID.upper()  # compared case-insensitively
    local = load(tmp_path, platforms={"teams": {"app_id": "", "tenant_id": ""}})
    assert local.platforms.teams is not None


# 8. Zero periods; a secret written as a number


@pytest.mark.parametrize(
    ("incidents", "message"),
    [
        ({"resolve_after": "0s"}, "incidents.resolve_after: resolve_after cannot be 0"),
        ({"ack_remind_every": "0s"}, "ack_remind_every cannot be 0: write null for no reminders"),
        (
            {"levels": [{"name": "watch", "min_risk": 40, "remind_every": "0m"}]},
            "incidents.levels[0].remind_every: remind_every cannot be 0: write null",
        ),
    ],
)
def test_a_zero_period_is_refused(tmp_path: Path, incidents: dict[str, Any], message: str) -> None:
    assert message in refusal(tmp_path, incidents=incidents)


def test_null_periods_still_mean_never(tmp_path: Path) -> None:
    levels = [{"name": "watch", "min_risk": 40, "remind_every": None}]
    config = load(tmp_path, incidents={"ack_remind_every": None, "levels": levels})
    assert config.incidents.ack_remind_every is None
    assert config.incidents.levels[0].remind_every is None


def test_a_secret_written_as_a_number_is_not_echoed(tmp_path: Path) -> None:
    webhook = {"type": "webhook", "name": "inbound", "secret": 98765432109876543210}
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, [webhook]), environ={})
    message = flat(str(caught.value))
    assert "sources[0].secret: Input should be a valid string (YAML read it as a number" in message
    assert "98765432109876543210" not in message


def test_another_number_where_text_belongs_is_still_shown(tmp_path: Path) -> None:
    message = refusal(tmp_path, incidents={"targets": {"team": {"channel": 42}}})
    assert "YAML read 42 as a number; quote it" in message


# 4. A check across sections points at the key its message names, not the top level


def test_a_check_across_sections_names_the_line_of_its_key(tmp_path: Path) -> None:
    slack = {**SLACK, "responders": {"kestrel": ["U0123"]}}
    said = refusal(tmp_path, platforms={"slack": slack})
    path = tmp_path / "app.yaml"
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "responders:" in text
    )
    assert f"line {line}: platforms.slack.responders: names unknown brand(s) kestrel" in said
    assert "(top level)" not in said


def test_event_time_with_a_live_source_is_warned_about(tmp_path: Path) -> None:
    """Nothing would move time between mentions: reminders and resolving would wait for them."""
    webhook = {"type": "webhook", "name": "inbound", "secret": "0123456789abcdef"}
    config = load_config(
        config_file(tmp_path, [webhook], http={"enabled": True}, clock="event"), environ={}
    )
    [warning] = config.clock_warnings()
    assert warning.startswith("clock: event with the live source(s) inbound: time moves only")
    assert load(tmp_path, clock="event").clock_warnings() == []  # a replay ends; time flows on
    auto = load_config(config_file(tmp_path, [webhook], http={"enabled": True}), environ={})
    assert auto.clock_warnings() == []
