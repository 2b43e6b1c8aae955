"""The on-call mention in Teams: ``Name <id>`` becomes a mention entity that notifies; through
the real botbuilder client against the fake Bot Connector on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError
from handlers.teams.mentions import TeamsMention, teams_mention
from tests.fake_connector import installation_activity, post_activity
from tests.test_teams import POLICY, api, storm, vigie_in_teams

ANA = "a11ce000-5b1c-4f7e-9d2a-00000000a7a1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Ana Lima <{ANA}>", TeamsMention("Ana Lima", ANA)),
        (
            "@On-call  Ana <ana.lima@contoso.com>",
            TeamsMention("On-call Ana", "ana.lima@contoso.com"),
        ),
        ("Ana <29:1AbC-dEf>", TeamsMention("Ana", "29:1AbC-dEf")),
    ],
)
def test_a_named_id_is_a_mention(text: str, expected: TeamsMention) -> None:
    assert teams_mention(text) == expected


def test_a_bare_id_is_a_mention_when_its_name_is_known() -> None:
    """Whoever acknowledged is recorded by id; the "still growing" ping must notify them."""
    names = {ANA: "Ana Lima"}
    assert teams_mention(ANA, lambda user: names.get(user, user)) == TeamsMention("Ana Lima", ANA)
    assert teams_mention("29:1AbC", lambda user: names.get(user, user)) is None  # name unknown
    assert teams_mention(ANA) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@social-oncall",
        "<ana@contoso.com>",
        "Ana <not an id>",
        "Ana <javascript:x>",
        "A<b> <ana@c.com>",
    ],
)
def test_anything_else_stays_plain_text(text: str) -> None:
    assert teams_mention(text) is None


async def first_card(tmp_path: Path, mention: str) -> dict[str, Any]:
    """The activity of the first card posted when the team target's ``mention`` is this."""
    target = {"platform": "teams", "channel": POLICY["targets"]["team"]["channel"]}
    policy = {**POLICY, "targets": {"team": {**target, "mention": mention}}}
    async with vigie_in_teams(tmp_path, policy=policy) as (service, teams, masto, _):
        await post_activity(api(service), installation_activity(teams.url))
        storm(masto)
        await teams.wait_for("create", timeout=30)
        activity: dict[str, Any] = teams.calls_to("create")[0].body["activity"]
    return activity


async def test_the_card_mentions_the_on_call_person_so_teams_notifies_them(tmp_path: Path) -> None:
    activity = await first_card(tmp_path, "On-call Ana <ana.lima@contoso.com>")
    assert activity["text"].startswith("<at>On-call Ana</at> ")
    assert activity["entities"] == [
        {
            "type": "mention",
            "text": "<at>On-call Ana</at>",
            "mentioned": {"id": "ana.lima@contoso.com", "name": "On-call Ana"},
        }
    ]


async def test_a_plain_mention_is_refused_before_it_reaches_teams(tmp_path: Path) -> None:
    """``@social-oncall`` would stay text in Teams (above), notifying nobody: the configuration
    refuses it at start-up (bot/config/incidents.py)."""
    with pytest.raises(ConfigError, match="mentions '@social-oncall', which notifies nobody"):
        await first_card(tmp_path, "@social-oncall")


def test_a_name_with_markup_characters_is_escaped_in_the_markup_and_the_entity() -> None:
    """A display name is the user's to choose: ``<`` or ``&`` in it must not break the
    message. Teams finds the entity's text in the message text, so both carry the same escaped
    string; the account keeps the name itself."""
    names = {ANA: "Ana <Ops> & Co"}
    mention = teams_mention(ANA, lambda user: names.get(user, user))
    assert mention is not None
    assert mention == TeamsMention("Ana <Ops> & Co", ANA)
    assert mention.markup == "<at>Ana &lt;Ops&gt; &amp; Co</at>"
    entity = mention.entity()
    assert entity.text == mention.markup
    assert entity.mentioned.name == "Ana <Ops> & Co"


async def test_an_ampersand_in_the_on_call_name_reaches_teams_escaped(tmp_path: Path) -> None:
    activity = await first_card(tmp_path, "Ana & Co <ana@contoso.com>")
    assert activity["text"].startswith("<at>Ana &amp; Co</at> ")
    assert activity["entities"] == [
        {
            "type": "mention",
            "text": "<at>Ana &amp; Co</at>",
            "mentioned": {"id": "ana@contoso.com", "name": "Ana & Co"},
        }
    ]
