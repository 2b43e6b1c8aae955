"""A Mastodon reply is published once at any delay: past the hour Mastodon keeps an
Idempotency-Key, the thread is searched for the reply a lost answer hid before posting again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config.source_mastodon import MastodonSourceSettings
from bot.metrics import Metrics
from bot.model import Brand, Mention
from bot.sources import SourceContext
from bot.sources.mastodon import MastodonSource
from bot.sources.mastodon_api import MastodonApi
from bot.sources.mastodon_reply import KEY_TRUSTED
from bot.sources.mastodon_status import Status, as_status, comparable, reply_by, to_mention
from bot.sources.polite import SourceError, client_session
from tests.fake_mastodon import FakeMastodon, account_id

TOKEN = "test-token"
APPROVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEXT = "Sorry, we are on it.\n\nNews on https://status.kestrel.example/incidents/42 as it comes."
KESTREL = Brand(name="Kestrel Mobile", slug="kestrel-mobile", keywords=("kestrel",))
CREDENTIALS = "/api/v1/accounts/verify_credentials"
POST = "/api/v1/statuses"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(token=TOKEN, formatted=True) as instance:
        yield instance


def source_for(fake: FakeMastodon, clock: Clock) -> MastodonSource:
    settings = MastodonSourceSettings.model_validate(
        {"type": "mastodon", "name": "masto", "base_url": fake.url, "access_token": TOKEN}
        | {"hashtags": ["kestreldown"], "search": []}
    )
    return MastodonSource(settings, SourceContext(clock, Metrics(), brands=(KESTREL,)))


def complaint(fake: FakeMastodon, acct: str = "bob@other.example") -> Mention:
    return to_mention("masto", as_status(fake.post("Kestrel down again", acct=acct)), fake.host)


def context_calls(fake: FakeMastodon) -> list[str]:
    return [call.path for call in fake.calls if call.path.endswith("/context")]


async def lost_first_attempt(
    source: MastodonSource, fake: FakeMastodon, mention: Mention, text: str, key: str
) -> None:
    """An attempt at approval that posted, but whose answer a proxy replaced with a 502."""
    fake.lose_answers(POST)
    with pytest.raises(SourceError, match="HTTP 502") as lost:
        await source.publish_reply(mention, text, key=key, at=APPROVED)
    assert lost.value.retryable


async def test_a_lost_answer_retried_after_the_key_expired_is_posted_once(
    fake: FakeMastodon,
) -> None:
    clock = Clock(APPROVED)
    source = source_for(fake, clock)
    mention = complaint(fake)
    await lost_first_attempt(source, fake, mention, TEXT, "vigie-draft-7-v1")
    assert len(fake.posted) == 1
    fake.forget_idempotency_keys()  # as an hour later
    clock.at = APPROVED + timedelta(hours=3)  # the instance was down meanwhile

    url = await source.publish_reply(mention, TEXT, key="vigie-draft-7-v1", at=APPROVED)

    assert len(fake.replies_to(mention.native_id)) == len(fake.posted) == 1
    assert url == fake.posted[0]["url"]
    assert "@<span>bob</span>" in fake.posted[0]["content"]  # shown without its domain
    # the account is asked once per source; the next late reply asks the thread only
    other = complaint(fake, "carol@elsewhere.example")
    await source.publish_reply(other, "Sorry, Carol.", key="vigie-draft-8-v1", at=APPROVED)
    assert len(fake.calls_to(CREDENTIALS)) == 1
    assert len(context_calls(fake)) == 2
    assert len(fake.posted) == 2


async def test_an_edited_text_is_a_new_publication(fake: FakeMastodon) -> None:
    clock = Clock(APPROVED)
    source = source_for(fake, clock)
    mention = complaint(fake)
    await lost_first_attempt(source, fake, mention, TEXT, "vigie-draft-7-v1")
    fake.forget_idempotency_keys()
    clock.at = APPROVED + timedelta(hours=2)
    edited = TEXT.replace("Sorry", "So sorry")

    url = await source.publish_reply(mention, edited, key="vigie-draft-7-v2", at=APPROVED)

    assert len(fake.posted) == 2
    assert url == fake.posted[1]["url"]
    assert "So sorry" in fake.posted[1]["content"]


async def test_only_this_accounts_reply_to_that_very_status_counts(fake: FakeMastodon) -> None:
    source = source_for(fake, Clock(APPROVED + timedelta(hours=2)))
    mention = complaint(fake)
    said = f"@bob {TEXT}"  # the same words, said by someone else...
    fake.post(said, acct="mallory", in_reply_to_id=mention.native_id)
    aside = fake.post("Is it just me?", acct="carol", in_reply_to_id=mention.native_id)
    fake.post(said, acct="vigie", in_reply_to_id=aside["id"])  # ...and by us, a level down

    url = await source.publish_reply(mention, TEXT, key="vigie-draft-7-v1", at=APPROVED)

    assert len(fake.posted) == 1
    assert url == fake.posted[0]["url"]


@pytest.mark.parametrize(
    ("since_approval", "looks"),
    [(KEY_TRUSTED - timedelta(minutes=1), False), (KEY_TRUSTED, True)],
)
async def test_within_the_margin_the_key_alone_is_relied_on(
    fake: FakeMastodon, since_approval: timedelta, looks: bool
) -> None:
    source = source_for(fake, Clock(APPROVED + since_approval))
    mention = complaint(fake)
    first = await source.publish_reply(mention, TEXT, key="vigie-draft-7-v1", at=APPROVED)
    again = await source.publish_reply(mention, TEXT, key="vigie-draft-7-v1", at=APPROVED)
    assert first == again
    assert len(fake.posted) == 1
    assert bool(fake.calls_to(CREDENTIALS)) is looks
    assert len(context_calls(fake)) == (2 if looks else 0)


@pytest.mark.parametrize(
    ("path", "failure", "retryable"),
    [
        (CREDENTIALS, 503, True),
        ("context", 502, True),
        ("context", None, True),  # the answer broke off
        (CREDENTIALS, 403, False),  # a token without the read scope: said, not posted blind
    ],
)
async def test_a_failed_lookup_fails_the_attempt_and_posts_nothing(
    fake: FakeMastodon, path: str, failure: int | None, retryable: bool
) -> None:
    source = source_for(fake, Clock(APPROVED + timedelta(hours=2)))
    mention = complaint(fake)
    path = f"/api/v1/statuses/{mention.native_id}/context" if path == "context" else path
    if failure is None:
        fake.break_next(path)
    else:
        fake.fail(path, failure)
    with pytest.raises(SourceError, match="looking for an earlier reply") as failed:
        await source.publish_reply(mention, TEXT, key="vigie-draft-7-v1", at=APPROVED)
    assert failed.value.retryable is retryable
    assert not fake.posted
    assert not [call for call in fake.calls if call.method == "POST"]


async def test_the_fake_answers_a_context_as_mastodon_does(fake: FakeMastodon) -> None:
    root = fake.post("Kestrel down")
    reply = fake.post("same here", acct="carol", in_reply_to_id=root["id"])
    deeper = fake.post("and here", acct="dan", in_reply_to_id=reply["id"])
    sibling = fake.post("fixed for me", acct="erin", in_reply_to_id=root["id"])
    source = source_for(fake, Clock(APPROVED))
    async with client_session() as session:
        api = MastodonApi(session, source.settings)
        below = await api.replies_below(root["id"])
        assert await api.own_account_id() == account_id("vigie")
        context = await api.get(f"/api/v1/statuses/{deeper['id']}/context")
    assert [s["id"] for s in below] == [reply["id"], deeper["id"], sibling["id"]]
    assert [s["id"] for s in context["ancestors"]] == [root["id"], reply["id"]]
    assert context["descendants"] == []


def _status(content: str, *, parent: str = "1", account: str = "9") -> Status:
    fields = {"id": "5", "in_reply_to_id": parent, "account": {"id": account}}
    return as_status(fields | {"content": content})


MASTODON_HTML = (
    '<p><span class="h-card" translate="no"><a href="https://other.example/@bob" '
    'class="u-url mention">@<span>bob</span></a></span> Sorry, we are on it.</p><p>News on '
    '<a href="https://status.kestrel.example/incidents/42" target="_blank" rel="nofollow noopener"'
    ' translate="no"><span class="invisible">https://</span><span class="ellipsis">'
    'status.kestrel.example/incident</span><span class="invisible">s/42</span></a> as it'
    "<br />comes.</p>"
)


@pytest.mark.parametrize(
    ("status", "found"),
    [
        (_status(MASTODON_HTML), True),
        (_status(MASTODON_HTML.replace("Sorry", "So sorry")), False),
        (_status(MASTODON_HTML, account="8"), False),
        (_status(MASTODON_HTML, parent="2"), False),
        (as_status({"id": "6", "in_reply_to_id": "1"}), False),  # no account, no content
    ],
)
def test_the_same_reply_reads_through_mastodons_html(status: Status, found: bool) -> None:
    body = "@bob@other.example " + TEXT
    assert (reply_by([status], "1", "9", body) is status) is found


def test_comparable_text_ignores_white_space_and_mention_domains() -> None:
    assert comparable("@Bob@other.example  hi\n\nthere ") == "@bob hi there"
    assert comparable("mail me@kestrel.example") == "mail me@kestrel.example"
