"""``/vigie`` and ``@Vigie`` as people type them, through the real slack-bolt app against the
fake Slack: apostrophes, curly quotes and a phone's dashes, capitals, words too many, Slack's
escaping of ``&``, ``<`` and ``>``, people mentioned in the text, and the "Next" hint."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from bot.app import Service
from bot.command_words import join_words, split_words
from tests.conftest import wait_for
from tests.slack_fake import FakeSlack, post_signed, slash_command_body
from tests.test_slack import RESPONDER, SECRET, card_posted, events_url, vigie_with_slack
from tests.test_slack_inbound import app_mention, mention


async def slash(service: Service, slack: FakeSlack, text: str) -> str:
    """``/vigie text`` as Slack posts it (``&``, ``<``, ``>`` escaped); the private answer."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    before = len(slack.responses)
    body = slash_command_body("/vigie", escaped, RESPONDER, "C1", slack.response_url("c"))
    assert (await post_signed(events_url(service), body, SECRET))[0] == 200
    await wait_for(lambda: len(slack.responses) > before)
    answer: dict[str, Any] = slack.responses[-1]
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


def silences(service: Service) -> list[dict[str, Any]]:
    with sqlite3.connect(service.config.storage.path) as conn:
        rows = conn.execute("SELECT data FROM silences ORDER BY rowid").fetchall()
    return [json.loads(data) for (data,) in rows]


async def test_commands_read_as_people_type_them(tmp_path: Path) -> None:
    commands = {
        "silence brand:kestrel-mobile 2h it's a false alarm": "silenced brand kestrel-mobile",
        "silence author:@o'brien 24h": "silenced author",
        "silence brand:kestrel-mobile 2h c'est réglé": "silenced brand",
        "silence brand:kestrel-mobile 1h R&D <test>": "silenced brand",
        "stats “Kestrel Mobile” —since 30d": "*Kestrel Mobile* since",
        "stats Kestrel&Mobile": "no brand 'Kestrel&amp;Mobile'",
        "mentions —negative \u2013since 30d": "Mentions since",  # em and en dashes
        "Incidents": "Incidents (open)",
        "incidents ALL": "Incidents (all)",
        "Help": "*/vigie incidents*",
        "mentions KESTREL-MOBILE --Negative --since 30d": "Mentions since",
        "incident 1 please": "Cannot read that: `incident` does not take `please`",
        "incidents open now": "Cannot read that: `incidents` does not take `now`",
        "mentions kestrel-mobile yesterday": "`mentions` does not take `yesterday`",
        "stats kestrel-mobile --negative": "Cannot read that: unknown option `--negative`",
        'stats "Kestrel Mobile': "Cannot read that: a quotation mark is not closed",
        "silence author:<@U0BOB> 2h spam": "not a person in this chat",
    }
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        answers = [await slash(service, slack, text) for text in commands]
        reasons = [s.get("reason") for s in silences(service)]
    for (text, expected), answer in zip(commands.items(), answers, strict=True):
        assert expected in answer, (text, answer)
    assert "`/vigie help`" in answers[-1]
    assert reasons == ["it's a false alarm", "", "c'est réglé", "R&D <test>"]


async def test_following_the_next_hint_shows_the_next_page(tmp_path: Path) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        first = await slash(service, slack, "mentions “Kestrel Mobile” —negative --since 30d")
        assert first.splitlines()[0].endswith("(1 to 10 of 90):")
        hint = first.splitlines()[-1]
        # the window fixed as times, so that page 2 reads the list page 1 read
        assert re.fullmatch(
            r'Next: `/vigie mentions "Kestrel Mobile" --negative --since \S+Z --until \S+Z page 2`',
            hint,
        ), hint
        following = hint.split("`")[1].removeprefix("/vigie ")
        second = await slash(service, slack, following)
        assert second.splitlines()[0].endswith("(11 to 20 of 90):")


async def test_a_mention_keeps_the_people_it_names_and_slacks_escaping_is_undone(
    tmp_path: Path,
) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        author = await mention(
            service, slack, app_mention("silence author:<@U0BOB> 2h spam", "Ev1", "1700000001.1")
        )
        assert "`author:` is who posted" in author["text"]
        reason = await mention(
            service,
            slack,
            app_mention(
                "silence brand:kestrel-mobile 2h R&amp;D &lt;ok&gt;", "Ev2", "1700000002.1"
            ),
        )
        assert "silenced brand" in reason["text"]
        named = await mention(
            service, slack, app_mention("stats Kestrel&amp;Mobile", "Ev3", "1700000003.1")
        )
        assert "no brand 'Kestrel&amp;Mobile'" in named["text"]  # & as typed, shown as text
        assert [s.get("reason") for s in silences(service)] == ["R&D <ok>"]
        assert not any(s.get("author") for s in silences(service))


def test_words_read_back_the_same() -> None:
    words = ["mentions", "Kestrel Mobile", "it's", "", "--since", "30d"]
    assert split_words(join_words(words)) == words
    assert split_words("“Acme Air” „x y” l'été") == ["Acme Air", "x y", "l'été"]
