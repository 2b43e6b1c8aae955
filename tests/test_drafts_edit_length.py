"""An edit is measured as it is saved: the spaces and blank lines around the text, which are
stripped before it is stored, do not count toward the platform's limit (a trailing newline once
refused a text stored at exactly the limit: "is 301 graphemes; Bluesky takes 300")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import EventClock
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.drafts.control import DraftControl, text_check
from bot.drafts.planner import Reach
from storage import drafts as store
from storage.writer import Writer
from tests.test_draft_planner import planned_desk
from tests.test_incident_engine import MIN, T0

SENTENCE = "We are sorry about your cancelled flight and are looking into it now. "
BLUESKY = (SENTENCE * 5)[:300]  # 300 graphemes: Bluesky's limit
MASTODON = "@ana@m.example " + (SENTENCE * 8)[:484] + "."  # 500 characters, the author named


async def control_for(tmp_path: Path, reach: Reach, handle: str) -> tuple[DraftControl, Writer]:
    desk = planned_desk(tmp_path, reach, max_mentions=1)
    for number in range(10):
        desk.post(T0 + number * MIN, 1, text="Acme cancelled my flight", handle=handle)
    desk.tick(T0 + 20 * MIN)
    desk.db.close()
    writer = Writer(tmp_path / "vigie.db")
    check_text = text_check({"acme": Playbook()})
    clock = EventClock(T0 + 25 * MIN)
    return DraftControl(writer, clock, ReplySettings(), {}, check_text), writer


@pytest.fixture(
    params=[
        (Reach("bluesky", None, True), "ana.bsky.social", BLUESKY),
        (Reach("mastodon", 500, True), "ana@m.example", MASTODON),
    ],
    ids=["bluesky", "mastodon"],
)
async def at_the_limit(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[DraftControl, Writer, str]]:
    """A draft's control on the platform, and a text exactly at that platform's limit."""
    reach, handle, text = request.param
    control, writer = await control_for(tmp_path, reach, handle)
    try:
        yield control, writer, text
    finally:
        writer.close()


async def test_an_edit_at_the_limit_with_a_trailing_newline_is_saved_stripped(
    at_the_limit: tuple[DraftControl, Writer, str],
) -> None:
    control, writer, text = at_the_limit
    outcome = await control.edit(1, 1, "UBEN", f"\n  {text}\n")
    assert (outcome.ok, outcome.message) == (True, "Edited.")
    stored = await writer.run(lambda db: store.get_draft(db, 1))
    assert stored is not None
    assert (stored.text, stored.version) == (text, 2)


async def test_the_modals_check_ignores_the_spaces_around_the_text(
    at_the_limit: tuple[DraftControl, Writer, str],
) -> None:
    control, _, text = at_the_limit
    assert await control.problems(1, text + "\n\n") == []
    [too_long] = await control.problems(1, text + "!\n")  # one more than the limit still is
    assert too_long.startswith("is 301 graphemes" if len(text) == 300 else "is 501 characters")
