"""A brand's Mastodon account configured in full (``@kestrel_care@mastodon.social``) matches a
post that mentions it, though Mastodon's HTML shows the mention as ``@kestrel_care``: the
status's ``mentions`` say which account it is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.config.source_mastodon import MastodonSourceSettings
from bot.matching import BrandMatcher
from bot.metrics import Metrics
from bot.model import Brand
from bot.sources import SourceContext
from bot.sources.mastodon import MastodonSource
from bot.sources.mastodon_status import Status, StatusReader, as_status, to_mention
from tests.conftest import wait_for
from tests.fake_mastodon import FakeMastodon, formatted
from tests.test_source_mastodon import running

TOKEN = "test-token"
CARE = "kestrel_care@mastodon.social"
KESTREL = Brand("Kestrel Mobile", "kestrel-mobile", keywords=("kestrel",), handles=(f"@{CARE}",))


def mentioning(text: str, base_url: str, *accts: str) -> dict[str, Any]:
    """The fields of a status saying ``text`` as Mastodon renders it, naming ``accts``."""
    mentions = []
    for acct in accts:
        username, _, domain = acct.partition("@")
        url = f"https://{domain}/@{username}" if domain else f"{base_url}/@{username}"
        mentions.append({"id": "1", "username": username, "acct": acct, "url": url})
    return {"content": formatted(text, base_url), "mentions": mentions}


def status(text: str, *accts: str, host: str = "mastodon.social", **fields: Any) -> Status:
    return as_status(
        {
            "id": "110",
            "created_at": "2026-03-02T09:00:00.000Z",
            "uri": f"https://{host}/users/bob/statuses/110",
            "account": {"id": "7", "username": "bob", "acct": "bob@other.example"},
            **mentioning(text, f"https://{host}", *accts),
            **fields,
        }
    )


def reader(*brands: Brand, host: str = "mastodon.social") -> StatusReader:
    return StatusReader("masto", host, BrandMatcher(brands), lambda count: None)


def test_a_local_mention_of_the_brands_account_reads_in_full_and_is_heard() -> None:
    """On the brand's own instance the mention's ``acct`` has no domain: the instance's it is."""
    post = status("@kestrel_care my bill is wrong again", "kestrel_care")

    heard = reader(KESTREL).read([post], firehose=True)

    assert [mention.text for mention in heard] == [f"@{CARE} my bill is wrong again"]
    assert BrandMatcher([KESTREL]).match(heard[0].text)


def test_a_remote_mention_reads_in_full_and_the_stored_text_matches() -> None:
    post = status("@kestrel_care@mastodon.social why", CARE, host="fosstodon.org")

    heard = reader(KESTREL, host="fosstodon.org").read([post], firehose=False)

    assert heard[0].text == f"@{CARE} why"
    assert BrandMatcher([KESTREL]).match(heard[0].text)


def test_other_accounts_stay_as_shown() -> None:
    """Written in full, ``@ana@kestrel.social`` would name Kestrel; an account of the same name
    on another instance is not the brand's."""
    post = status(
        "@ana and @kestrel_care@kestrel.social: no signal",
        "ana@kestrel.social",
        "kestrel_care@kestrel.social",
    )

    assert reader(KESTREL).read([post], firehose=True) == []
    assert to_mention("masto", post, "mastodon.social").text == "@ana and @kestrel_care: no signal"


def test_a_mention_linked_elsewhere_is_known_by_its_name() -> None:
    """Pleroma links a mention to the actor (``/users/name``), not the profile page."""
    post = status("x", CARE)
    post["content"] = (
        '<p><span class="h-card"><a class="u-url mention" href="https://mastodon.social/users/'
        'kestrel_care" rel="ugc">@<span>kestrel_care</span></a></span> refund please</p>'
    )

    assert to_mention("masto", post, "h", {CARE}).text == f"@{CARE} refund please"


@pytest.mark.parametrize(
    "mentions", [None, "kestrel_care", [None, {"username": 3}], {"acct": "kestrel_care"}]
)
def test_odd_mentions_leave_the_mention_as_shown(mentions: Any) -> None:
    post = status("@kestrel_care help", mentions=mentions)

    assert to_mention("masto", post, "mastodon.social", {CARE}).text == "@kestrel_care help"


# -- against a fake instance --------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(token=TOKEN, heartbeat=0.05, formatted=True) as instance:
        yield instance


def source_for(fake: FakeMastodon, **fields: Any) -> MastodonSource:
    settings = MastodonSourceSettings.model_validate(
        {"type": "mastodon", "name": "masto", "base_url": fake.url, "access_token": TOKEN}
        | {"search": [], "idle_seconds": 2, "max_backoff": 1, "backfill": "0s", **fields}
    )
    return MastodonSource(settings, SourceContext(SystemClock(), Metrics(), brands=(KESTREL,)))


async def test_the_public_timeline_hears_a_complaint_to_the_brands_account(
    fake: FakeMastodon,
) -> None:
    async with running(source_for(fake, hashtags=[], public="all")) as inbox:
        await fake.wait_for_streams(1)
        fake.post("@ana my bill is wrong", acct="bob@other.example", local=False)
        fake.post(
            **mentioning("@kestrel_care@mastodon.social my bill is wrong again", fake.url, CARE),
            acct="bob@other.example",
            local=False,
        )
        await wait_for(lambda: len(inbox.mentions) == 1)
    assert inbox.mentions[0].text == f"@{CARE} my bill is wrong again"


async def test_a_reply_to_such_a_complaint_names_its_author_only_and_is_posted_once(
    fake: FakeMastodon,
) -> None:
    source = source_for(fake, hashtags=[], public="all")
    async with running(source) as inbox:
        await fake.wait_for_streams(1)
        fake.post(**mentioning("@kestrel_care@mastodon.social down?", fake.url, CARE))
        await wait_for(lambda: len(inbox.mentions) == 1)
    mention = inbox.mentions[0]
    assert mention.text == f"@{CARE} down?"

    approved = datetime.now(UTC)
    await source.publish_reply(mention, "Sorry, we are on it.", key="k1", at=approved)
    fake.forget_idempotency_keys()  # as hours later: the thread is searched before posting
    late = approved - timedelta(hours=2)
    await source.publish_reply(mention, "Sorry, we are on it.", key="k1", at=late)

    assert len(fake.posted) == 1
    assert [call for call in fake.calls if call.path.endswith("/context")]
    posted = fake.posted[0]["content"]
    assert "@<span>alice</span>" in posted
    assert "kestrel_care" not in posted
    assert mention.author.handle == f"alice@{fake.host}"
