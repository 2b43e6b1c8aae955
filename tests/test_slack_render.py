"""Block Kit cards: within Slack's limits whatever the incident holds, and the right buttons."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import DividerBlock, MarkdownTextObject, SectionBlock

from handlers.slack.render import (
    MESSAGE_TEXT,
    InvalidBlocks,
    _compact,
    card_blocks,
    check_blocks,
    cut,
    cut_escaped,
    escape,
    fitted,
    mention_markup,
    safe_url,
    sparkline,
    text_size,
)
from handlers.teams.render import safe_url as teams_safe_url


def card(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "incident": 7,
        "brand": "Kestrel Mobile",
        "topic": "storm",
        "theme": "not_working",
        "status": "open",
        "level": "alert",
        "top_level": False,
        "risk": 55,
        "peak_risk": 61,
        "explanation": "55: 30 negative mentions in 1 h, 6x the usual",
        "mentions": 30,
        "opened_at": "2026-03-10T09:05:00+00:00",
        "acknowledged_by": "",
        "snoozed_until": None,
        "resolved_by": "",
        "merged_into": None,
        "trend": [0, 1, 2, 8, 13],
        "examples": [
            {
                "author": "pix",
                "followers": 248_300,
                "text": "no signal <again> & again",
                "url": "https://x/1",
            }
        ],
    }
    base.update(changes)
    return base


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_a_card_is_valid_block_kit_with_escaped_text() -> None:
    blocks = check_blocks(card_blocks(card(), "v1"))
    assert blocks[0]["type"] == "header"
    example = next(b for b in blocks if b.get("block_id") == "m0-v1")
    assert "no signal &lt;again&gt; &amp; again" in example["text"]["text"]
    assert "(248.3k followers)" in example["text"]["text"]
    assert buttons(blocks) == ["vigie_ack", "vigie_snooze", "vigie_resolve", "vigie_silence"]


def test_huge_contents_are_cut_to_slacks_limits() -> None:
    huge = card(
        brand="B" * 400,
        topic="#" + "t" * 400,
        explanation="99: " + "word " * 3000,
        examples=[{"author": "a" * 200, "followers": 1, "text": "x " * 4000, "url": "https://x"}]
        * 3,
    )
    blocks = check_blocks(card_blocks(huge, "v2"))  # raises if any model limit is broken
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert blocks[1]["text"]["text"].endswith("…")


def test_a_huge_handle_and_a_long_link_still_make_a_card() -> None:
    """A webhook or a replayed file may send any handle: it is cut, and the link kept whole."""
    url = "https://social.example/" + "p" * 470
    example = {"author": "h" * 2950, "followers": 1, "text": "down again " * 300, "url": url}
    blocks = check_blocks(card_blocks(card(examples=[example]), "v3"))
    text = next(b for b in blocks if b.get("block_id") == "m0-v3")["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith(f"<{url}|open>")
    assert "h" * 101 not in text


@pytest.mark.parametrize(
    "url",
    [
        "https://x|open> <!channel> <https://evil.example",
        "javascript:alert(1)",
        "https://" + "a" * 600,
    ],
)
def test_a_mention_link_cannot_smuggle_markup(url: str) -> None:
    blocks = check_blocks(
        card_blocks(card(examples=[{"author": "a", "text": "t", "url": url}]), "u")
    )
    text = next(b for b in blocks if b.get("block_id") == "m0-u")["text"]["text"]
    assert "<!channel>" not in text
    assert text.count("<") <= 1  # at most our own link
    assert text.count("|") <= 1
    assert "javascript:" not in text


def test_a_new_post_names_people_without_pinging_them() -> None:
    posted = check_blocks(card_blocks(card(acknowledged_by="U123"), "p", new_post=True))
    assert "<@U123>" not in str(posted)
    assert "acknowledged by U123" in str(posted)


def test_buttons_follow_the_status() -> None:
    acked = check_blocks(card_blocks(card(status="acknowledged", acknowledged_by="U123"), "a"))
    assert "vigie_ack" not in buttons(acked)
    assert buttons(acked)[0] == "vigie_unack"  # where Acknowledge was: a mistake is undone
    assert any("<@U123>" in str(block) for block in acked)
    resolved = check_blocks(card_blocks(card(status="resolved", resolved_by="U123"), "r"))
    assert buttons(resolved) == ["vigie_reopen"]
    merged = check_blocks(card_blocks(card(status="merged", merged_into=3), "m"))
    assert buttons(merged) == []


def test_block_ids_change_with_every_version() -> None:
    first = {b["block_id"] for b in check_blocks(card_blocks(card(), "k-1"))}
    second = {b["block_id"] for b in check_blocks(card_blocks(card(), "k-2"))}
    assert not first & second


def test_what_slack_would_refuse_is_refused_before_sending() -> None:
    with pytest.raises(InvalidBlocks, match="at most 50"):
        check_blocks([DividerBlock(block_id=str(i)) for i in range(51)])
    with pytest.raises(InvalidBlocks, match="not unique"):
        check_blocks([DividerBlock(block_id="same"), DividerBlock(block_id="same")])


@pytest.mark.parametrize(
    ("who", "markup"),
    [
        ("S0TEAM", "<!subteam^S0TEAM>"),
        ("@U0LEAD", "<@U0LEAD>"),
        ("W0ENT", "<@W0ENT>"),
        ("@here", "<!here>"),
        ("channel", "<!channel>"),
        ("@social-oncall", "@social-oncall"),
        ("<script>", "&lt;script&gt;"),
        ("", ""),
        ("none", ""),
        # pasted from a Slack message: unwrapped, then written back as Slack markup
        ("<!subteam^S0123ABCD>", "<!subteam^S0123ABCD>"),
        ("<!subteam^S0123ABCD|@social-oncall>", "<!subteam^S0123ABCD>"),
        ("<@U0456EFGH>", "<@U0456EFGH>"),
        ("<@U0456EFGH|ana>", "<@U0456EFGH>"),
        ("<!here>", "<!here>"),
    ],
)
def test_mentions_become_slack_markup(who: str, markup: str) -> None:
    assert mention_markup(who) == markup


def test_small_helpers() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([]) == "-"
    assert cut("short", 10) == "short"
    assert cut("a few words here", 10) == "a few…"
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_a_snooze_until_tomorrow_shows_its_date() -> None:
    """Up to 24 h ahead, a time alone could be today or tomorrow: Slack shows the date
    ("today", "tomorrow", "Mar 11") and the time in each reader's zone; the fallback has both."""
    blocks = check_blocks(
        card_blocks(card(status="snoozed", snoozed_until="2026-03-11T08:05:00+00:00"), "v1")
    )
    context = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    assert "snoozed until <!date^1773216300^{date_short_pretty} {time}|2026-03-11 08:05 UTC>" in (
        context
    )


def test_slacks_total_text_limit_is_checked_before_sending() -> None:
    """Slack answers msg_blocks_too_long past about 13,000 characters of text in all, though
    each block is within its own limit; slack_sdk does not check it."""
    sections = [
        SectionBlock(block_id=str(i), text=MarkdownTextObject(text="x" * 2500)) for i in range(5)
    ]
    assert text_size(sections) == 12_500
    with pytest.raises(InvalidBlocks, match="12,500 characters of text"):
        check_blocks(sections)
    assert check_blocks(sections[:4])


def test_a_card_of_long_posts_is_cut_to_fit_slacks_total() -> None:
    long = {"author": "pat", "followers": 10, "text": "the app is down again " * 200, "url": ""}
    huge = card(explanation="99: " + "word " * 700, examples=[long] * 3)
    blocks = check_blocks(card_blocks(huge, "v1"))
    assert text_size(blocks) <= MESSAGE_TEXT
    assert len([b for b in blocks if b["block_id"].startswith("m")]) == 3


@pytest.mark.parametrize(
    ("followers", "said"),
    [
        (999, "999"),
        (1_000, "1k"),
        (248_300, "248.3k"),
        (999_949, "999.9k"),
        (999_950, "1M"),
        (999_999, "1M"),
        (1_049_999, "1M"),
        (999_999_999, "1B"),
    ],
)
def test_follower_counts_are_rounded_before_their_unit_is_chosen(followers: int, said: str) -> None:
    assert _compact(followers) == said


# --- escaping, cutting and who snoozed ---------------------------------------------------------


def mrkdwn_objects(value: Any) -> list[dict[str, Any]]:
    """Every mrkdwn text object in Slack JSON."""
    if isinstance(value, list):
        return [found for item in value for found in mrkdwn_objects(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if value.get("type") == "mrkdwn" else []
    return own + [found for item in value.values() for found in mrkdwn_objects(item)]


def ends_inside_an_entity(text: str) -> bool:
    """A cut through "&amp;", "&lt;" or "&gt;" (Slack would show "&am…")."""
    head = text.rstrip("…")
    amp = head.rfind("&")
    return amp >= 0 and ";" not in head[amp:]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a &amp; b", 20, "a &amp; b"),  # short enough: as it is
        ("x" * 10 + "&amp;" * 5, 14, "x" * 10 + "…"),  # never "&am…"
        ("x" * 10 + "&lt;&gt;&lt;", 17, "x" * 10 + "&lt;…"),
        ("seen <!date^1^{date_short_pretty} {time}|2026-03-10 12:00 UTC> then", 40, "seen…"),
        ("by <@U123> and <https://x.example/a|open post> after", 40, "by <@U123> and…"),
        ("x" * 10 + "*\u200b" + "y" * 5, 12, "x" * 10 + "…"),  # a mark keeps its zero-width space
    ],
)
def test_escaped_text_is_never_cut_through_an_entity_or_markup(
    text: str, limit: int, expected: str
) -> None:
    assert cut_escaped(text, limit) == expected
    assert len(cut_escaped(text, limit)) <= limit


def test_a_long_post_of_ampersands_is_cut_after_escaping() -> None:
    """Cut first and escaped after, "&" * 3000 grew past the section's 3,000 characters, and
    the cut ended in "&am…"."""
    posts = [{"author": "&<" * 60, "followers": 1, "text": "&" * 700, "url": ""}]
    blocks = check_blocks(card_blocks(card(explanation="x: " + "&" * 600, examples=posts), "v"))
    for text in [o["text"] for o in mrkdwn_objects(blocks)]:
        assert len(text) <= 3000
        assert not ends_inside_an_entity(text), text[-20:]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.com/x\ny", "https://a.com/x%0Ay"),
        ("https://a.com/x\ty", "https://a.com/x%09y"),
        ("https://a.com/x\r\ny", "https://a.com/x%0D%0Ay"),
        ("https://a.com/x\u00a0y", "https://a.com/x%A0y"),
        ("https://a.com/x\u2028y", "https://a.com/xy"),  # past Latin-1: dropped, as on Teams
        ("https://a.com/a b|c<d>", "https://a.com/a%20b%7Cc%3Cd%3E"),
    ],
)
def test_a_links_whitespace_is_percent_encoded_as_on_teams(url: str, expected: str) -> None:
    assert safe_url(url) == expected == teams_safe_url(url)


def test_a_post_cannot_ping_or_link_a_channel_but_vigies_own_mentions_work() -> None:
    """verbatim: Slack does not pre-process the text, so a post's plain "@here" or "#general"
    stays text; Vigie's ``<@U…>`` and ``<!date^…>`` markup is no pre-processing and works."""
    post = {"author": "pat", "followers": 1, "text": "@here @channel see #general", "url": ""}
    shown = card(acknowledged_by="U123", examples=[post])
    objects = mrkdwn_objects(check_blocks(card_blocks(shown, "v")))
    assert objects
    assert all(o.get("verbatim") is True for o in objects)
    texts = " ".join(o["text"] for o in objects)
    assert "@here @channel see #general" in texts
    assert "acknowledged by <@U123>" in texts
    assert "<!date^" in texts


def test_the_card_says_who_snoozed_it() -> None:
    snoozed = card(
        status="acknowledged",
        acknowledged_by="U123",
        snoozed_until="2026-03-11T08:05:00+00:00",
        snoozed_by="U456",
    )
    edited = check_blocks(card_blocks(snoozed, "v1"))
    context = next(b for b in edited if b["type"] == "context")["elements"][0]["text"]
    assert context.endswith(
        "snoozed until <!date^1773216300^{date_short_pretty} {time}|2026-03-11 08:05 UTC>"
        " by <@U456>"
    )
    posted = check_blocks(card_blocks(snoozed, "v2", new_post=True))  # naming notifies nobody
    context = next(b for b in posted if b["type"] == "context")["elements"][0]["text"]
    assert context.endswith("2026-03-11 08:05 UTC> by U456")
    older = {k: v for k, v in snoozed.items() if k != "snoozed_by"}  # a card stored before
    context = next(b for b in check_blocks(card_blocks(older, "v3")) if b["type"] == "context")
    assert context["elements"][0]["text"].endswith("2026-03-11 08:05 UTC>")


def test_a_fit_past_a_blocks_own_limit_is_passed_over() -> None:
    """A block over its own limit raised from ``to_dict`` while the fit was measured, so the
    smaller fits were never tried."""

    def render(size: int) -> list[Any]:
        return [SectionBlock(block_id="s", text=MarkdownTextObject(text="x" * size))]

    blocks = fitted(render, [3001, 2000])
    assert check_blocks(blocks)[0]["text"]["text"] == "x" * 2000
    assert len(fitted(render, [3001])[0].text.text) == 3001  # none fits: check_blocks says why
