"""A brand's own accounts: recognised on every network, and their posts never feed an incident."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.accounts import is_own, own_accounts
from bot.cli import main
from tests.conftest import mention_record, write_config, write_jsonl

ACCOUNTS = own_accounts(
    ["@KestrelMobile", "@kestrel_care@mastodon.social", "kestrel.example", " ", "@"]
)


@pytest.mark.parametrize(
    "author",
    [
        "kestrelmobile",  # Reddit, Hacker News
        "@KestrelMobile",  # X
        "kestrelmobile@mastodon.social",  # Mastodon: a handle without host is any instance's
        "kestrelmobile@other.example",
        "kestrel_care@mastodon.social",
        "@Kestrel_Care@Mastodon.Social ",
        "kestrelmobile.bsky.social",  # Bluesky: a name under the shared hosting domain
        "@KestrelMobile.bsky.social",
        "kestrel.example",  # Bluesky on a domain of its own: listed in full
    ],
)
def test_the_brands_accounts_are_recognised(author: str) -> None:
    assert is_own(author, ACCOUNTS)


@pytest.mark.parametrize(
    "author",
    [
        "",
        "@",
        "kestrel",
        "kestrelmobile_fan",
        "kestrel_care",  # configured with its host: that account only
        "kestrel_care@other.example",
        "someone@kestrelmobile",
        "kestrelmobile.com",  # anyone may own that domain: a custom one is listed in full
        "kestrelmobile.fan.bsky.social",
        "kestrel_care.bsky.social",
        "shop.kestrel.example",
    ],
)
def test_other_accounts_are_not_the_brands(author: str) -> None:
    assert not is_own(author, ACCOUNTS)


def test_empty_handles_make_no_accounts() -> None:
    assert own_accounts(["", "@", "  "]) == frozenset()


def incidents_after_replay(tmp_path: Path, author: str) -> list[tuple[str, int]]:
    records = [
        mention_record(
            n,
            f"Kestrel Mobile: sorry, the network is down and calls fail in the north #{n}",
            created_at=f"2026-03-10T09:{n:02d}:00Z",
            author=author,
            followers=200_000,
        )
        for n in range(1, 41)
    ]
    source = {
        "type": "replay",
        "name": "file",
        "path": str(write_jsonl(tmp_path / "r.jsonl", records)),
    }
    config = write_config(tmp_path, [source], http={"enabled": False})
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    db = sqlite3.connect(tmp_path / "vigie.db")
    try:
        return db.execute("SELECT status, mention_count FROM incidents").fetchall()
    finally:
        db.close()


def test_the_brands_own_posts_do_not_open_an_incident_in_the_running_service(
    tmp_path: Path,
) -> None:
    # the same words from a customer account open one: the difference is only whose posts they are
    own = tmp_path / "own"
    own.mkdir()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    assert incidents_after_replay(own, "kestrelmobile") == []
    assert len(incidents_after_replay(theirs, "angry_customer")) == 1
