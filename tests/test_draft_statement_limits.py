"""A holding statement is pasted by hand wherever the incident's replies go, so it fits every
one of those platforms, each counted its own way: X weighs a link 23, Bluesky counts it in
full, and a Mastodon instance may allow fewer than 500 characters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts.compose import compose_statement
from bot.drafts.control import text_check
from bot.drafts.limits import limit_for, platform_of_url
from bot.drafts.model import DraftKind
from bot.drafts.planner import BrandVoice, DraftPlanner, Reach, TargetRules
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from storage import drafts as store
from tests.test_incident_engine import MIN, T0, Desk, policy

LONG_LINKS = Playbook(
    sign_off={"en": "\N{EN DASH} Ana, Kestrel Mobile customer care"},
    contact="https://www.kestrel-mobile.co.uk/help/contact-us/social-media-support",
    status_page="https://status.kestrel-mobile.co.uk/incidents/2024-06-network-outage-north-west",
)
X, BLUESKY = limit_for("x"), limit_for("bluesky")


def test_a_statement_fits_every_limit_it_is_given() -> None:
    alone = compose_statement(LONG_LINKS, "Kestrel Mobile", language="en", theme="refund", limit=X)
    assert X.fits(alone.text)
    assert not BLUESKY.fits(alone.text)  # X weighs its links 23, Bluesky counts them whole
    both = compose_statement(
        LONG_LINKS, "Kestrel Mobile", language="en", theme="refund", limit=[X, BLUESKY]
    )
    assert X.fits(both.text)
    assert BLUESKY.fits(both.text)
    assert "status.kestrel-mobile.co.uk" in both.text  # only what does not fit is left out
    assert any("Bluesky's 300 graphemes" in note for note in both.notes)


def _post(desk: Desk, at: datetime, source: str, followers: int) -> None:
    desk.count += 1
    mention = Mention(
        source,
        f"m{desk.count}",
        "Acme cancelled my flight",
        at,
        author=Author(handle=f"u{desk.count}", followers=followers),
    )
    negativity = Negativity(0.95, Sentiment.NEGATIVE, -0.8, ("cancelled: “cancelled”",))
    scored = ScoredMention(mention, ("acme",), ("acme",), LanguageGuess("en", 1.0), negativity, at)
    desk.desk.store(desk.db, [scored], {}, at)


def test_the_planners_statement_fits_every_platform_the_replies_go_to(tmp_path: Path) -> None:
    desk = Desk(tmp_path, policy())
    reaches = {"x": Reach("x"), "bsky": Reach("bluesky"), "masto": Reach("mastodon", 200)}
    planner = DraftPlanner(
        ReplySettings(),
        {"acme": BrandVoice("Acme", LONG_LINKS, ("en",))},
        TargetRules(reaches, platform_of_url),
    )
    desk.desk.after_step = planner.plan
    standouts = {0: "x", 20: "bsky", 40: "masto"}  # the top post of three 5-minute bins
    for number in range(120):  # a storm up to the top level
        source = standouts.get(number, "x")
        _post(desk, T0 + number * MIN / 4, source, 10_000 if number in standouts else 10)
    desk.tick(T0 + 80 * MIN)
    sets = store.sets_of(desk.db, 1)
    replies = {s.target.platform for s in sets if s.kind is DraftKind.REPLY}
    assert replies == {"x", "bluesky", "mastodon"}
    [statement] = [s for s in sets if s.kind is DraftKind.STATEMENT]
    [draft] = store.drafts_in(desk.db, statement.id)
    for limit in (X, BLUESKY, limit_for("mastodon", 200)):
        assert limit.fits(draft.text), limit.problems(draft.text)
    # its set is counted where the text comes closest to the limit: the 200-character instance
    assert (statement.target.platform, statement.target.limit) == ("mastodon", 200)
    # and an edit is checked against every one of them, after a restart too (stored)
    check = text_check({"acme": LONG_LINKS})
    stored = store.get_set(desk.db, statement.id)
    assert stored is not None
    assert stored.target.also
    link = "https://status.kestrel-mobile.co.uk/incidents/2024-06-network-outage-north-west/"
    edited = (  # two long links: 23 each on X and Mastodon, in full on Bluesky
        f"We know about the outage and are on it: {link}live and {link}faq. Updates follow "
        "as we have them; thank you for your patience. Our team works around the clock."
    )
    assert X.fits(edited)
    assert limit_for("mastodon", 200).fits(edited)
    assert not BLUESKY.fits(edited)
    problems = check(stored, draft, edited)
    assert any("Bluesky" in problem for problem in problems), problems
