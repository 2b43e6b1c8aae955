"""``influencers`` from app.yaml are matched as a brand's own handles are: by name on any
network, or one account when written with its host."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.accounts import own_accounts
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from tests.test_incident_engine import T0, Desk, policy


class InfluencerDesk(Desk):
    def __init__(self, path: Path, influencers: list[str]) -> None:
        super().__init__(path, policy())
        setup = EngineSetup(policy(), {"acme": "Acme"}, influencers=own_accounts(influencers))
        self.desk = IncidentDesk(setup, event_time=True)


@pytest.mark.parametrize(
    ("configured", "author", "known"),
    [
        ("@journalist", "journalist", True),
        ("@journalist", "journalist@mastodon.social", True),  # how Mastodon authors are stored
        ("@journalist", "journalist.bsky.social", True),
        ("@Reporter@mastodon.social", "reporter@Mastodon.Social", True),
        ("@reporter@mastodon.social", "reporter@other.example", False),
        ("@journalist", "journalistic", False),
    ],
)
def test_an_influencer_is_known_on_every_network(
    tmp_path: Path, configured: str, author: str, known: bool
) -> None:
    desk = InfluencerDesk(tmp_path, [configured])
    desk.post(T0, 1, handle=author, followers=40)
    group = desk.desk.engine.groups[("acme", "storm")]
    assert group.current.top_influencer is known
