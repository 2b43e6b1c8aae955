"""The airline week with Slack configured (against the fake): one card per incident, and each
card ends showing what ``python -m bot incidents`` says."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from bench.eval_incidents import CONFIG
from bot.app import build, serve
from bot.config import load_config
from bot.incident_commands import incident_record
from storage.database import open_database
from storage.incidents import list_incidents
from tests.conftest import AIRLINE_TWEETS
from tests.slack_fake import FakeSlack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not AIRLINE_TWEETS.exists(), reason=f"needs the shared airline tweets at {AIRLINE_TWEETS}"
    ),
]


def airline_config(tmp_path: Path, slack: FakeSlack) -> Path:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["storage"] = {"path": str(tmp_path / "airlines.db")}
    config["http"] = {"port": 0}
    config["pipeline"] = {"workers": 0}
    config["sources"][0]["path"] = str(AIRLINE_TWEETS)
    config["platforms"] = {
        "slack": {"bot_token": "xoxb-test", "signing_secret": "s" * 32, "api_url": slack.api_url}
    }
    config["incidents"] = {"targets": {"team": {"platform": "slack", "channel": "CAIR"}}}
    config["delivery"] = {"pace_seconds": 0}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def test_the_airline_week_in_slack_matches_the_incident_list(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        config = load_config(airline_config(tmp_path, slack))
        service = build(config, Console(file=io.StringIO()))
        assert await asyncio.wait_for(
            serve(service, exit_when_idle=True, stop=asyncio.Event()), 300
        )
        db = open_database(config.storage.path, read_only=True)
        incidents = [incident_record(i) for i in list_incidents(db, only_open=False)]
        pending = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE state != 'sent' AND state != 'superseded'"
        ).fetchone()[0]
        db.close()
    assert pending == 0
    notified = [i for i in incidents if i["notified_at"]]
    messages = slack.messages.get("CAIR", [])
    cards = [m for m in messages if m.get("blocks") and m["blocks"][0]["type"] == "header"]
    assert len(cards) == len(notified) > 0
    card_ts = {card["ts"] for card in cards}
    drafts = [m for m in messages if "Reply drafts" in str(m.get("blocks"))]
    assert drafts, "reply drafts were proposed under the cards"
    assert all(m.get("thread_ts") in card_ts for m in drafts)  # in the cards' threads
    for incident, card in zip(notified, cards, strict=True):
        header = card["blocks"][0]["text"]["text"]
        assert f"{incident['level'].upper()} · " in header, (incident, header)
        fields = " ".join(f["text"] for f in card["blocks"][1]["fields"])
        assert f"#{incident['id']} · {incident['status']}" in fields
    assert slack.calls_to("chat.update"), "cards were edited in place"
