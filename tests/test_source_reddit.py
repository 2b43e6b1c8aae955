"""The Reddit source against a fake Reddit on 127.0.0.1: tokens, pages, cursors, quotas, replies."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config.source_reddit import RedditSourceSettings
from bot.model import Brand, Mention
from bot.sources.polite import SourceError
from bot.sources.polling import Cursor
from bot.sources.reddit import CannotReply, RedditSource
from bot.sources.reddit_things import default_queries, to_mention
from bot.sources.searching import Horizon
from tests.conftest import (
    SHARED_DATA,
    RecordingInbox,
    running_service,
    stored_mentions,
    wait_for,
    write_config,
)
from tests.fake_reddit import FakeReddit, comment, load_listing, post

PAYLOADS = SHARED_DATA / "payloads" / "reddit"
KESTREL = Brand(
    name="Kestrel Mobile", slug="kestrel-mobile", keywords=("kestrel mobile", "kestrel")
)
USER_AGENT = "test:vigie-tests:1.0 (by /u/vigie-test)"
T = 1_790_000_000  # a second in 2026


def settings_for(reddit: FakeReddit, **overrides: Any) -> RedditSourceSettings:
    return RedditSourceSettings.model_validate(
        {
            "type": "reddit",
            "name": "reddit",
            "client_id": reddit.client_id,
            "client_secret": reddit.client_secret,
            "user_agent": USER_AGENT,
            "auth_url": reddit.auth_url,
            "base_url": reddit.url,
            **overrides,
        }
    )


def source_for(reddit: FakeReddit, **overrides: Any) -> RedditSource:
    return RedditSource(settings_for(reddit, **overrides), (KESTREL,))


async def poll(source: RedditSource, cursor: Cursor) -> tuple[list[Mention], Cursor]:
    """One poll; the cursor goes through JSON, as it does through storage."""
    async with source.session() as session:
        mentions, after = await source.poll(session, cursor)
    return mentions, json.loads(json.dumps(after))


Inbox = RecordingInbox


def posts(first: int, count: int, start: float) -> list[dict[str, Any]]:
    return [
        post(n, start + n, f"Kestrel Mobile down again ({n})") for n in range(first, first + count)
    ]


# --- reading Reddit's objects ------------------------------------------------------------------


@pytest.mark.shared_data
def test_every_child_of_the_real_listings_becomes_a_mention() -> None:
    if not PAYLOADS.exists():
        pytest.skip(f"shared data set not present: {PAYLOADS}")
    for path in sorted(PAYLOADS.glob("*.json")):
        mentions = [to_mention("reddit", child) for child in load_listing(path)]
        assert mentions, path
        assert all(m.native_id.startswith(("t1_", "t3_")) and m.text for m in mentions)
        assert all(m.url.startswith("https://www.reddit.com/r/") for m in mentions)


@pytest.mark.shared_data
def test_a_real_post_and_a_real_comment_read_as_reddit_shows_them() -> None:
    if not PAYLOADS.exists():
        pytest.skip(f"shared data set not present: {PAYLOADS}")
    new = load_listing(PAYLOADS / "listing_r_askreddit_new.json")
    first = to_mention("reddit", new[0])
    assert first.native_id == "t3_48fbm9"
    assert first.text.startswith("[Serious] Parents of Reddit, what's the biggest lie")
    assert first.url == (
        "https://www.reddit.com/r/AskReddit/comments/48fbm9/"
        "serious_parents_of_reddit_whats_the_biggest_lie/"
    )
    assert first.author.handle == "RedHeadQc"
    assert (first.engagement.reposts, first.engagement.replies) == (1, 1)  # score: spread
    assert first.created_at == datetime.fromtimestamp(1456821458, UTC)
    assert first.parent_id == ""

    found = load_listing(PAYLOADS / "listing_search_all.json")
    searched = to_mention("reddit", found[1])
    assert searched.url.endswith("/praw_is_there_an_easy_way_of_getting_a_list_of/")  # no ?ref=
    assert searched.text.startswith("[PRAW] Is there an easy way")
    assert "\n\nAs the title says." in searched.text  # title, then the self text
    assert (searched.engagement.reposts, searched.engagement.replies) == (2, 5)

    comments = load_listing(PAYLOADS / "listing_r_askreddit_comments.json")
    remark = to_mention("reddit", comments[1])
    assert remark.native_id == "t1_d4y8bdo"
    assert remark.text.startswith("People believe that the soul entered the body")
    assert 'it\'s "possible"' in remark.text
    assert remark.parent_id == "t3_4r4jmt"  # the post the comment is under
    assert remark.url == "https://www.reddit.com/r/AskReddit/comments/4r4jmt/_/d4y8bdo/"
    assert remark.author.handle == "Hankko"


def test_deleted_authors_and_downvoted_posts() -> None:
    child = post(1, T, "Kestrel", author="[deleted]", score=-7, num_comments=3)
    mention = to_mention("reddit", child)
    assert mention.author.handle == ""
    assert (mention.engagement.reposts, mention.engagement.replies) == (0, 3)


def test_default_queries_or_the_brands_terms_within_reddits_length_limit() -> None:
    assert default_queries((KESTREL,)) == ["kestrel"]  # "kestrel mobile" is found by "kestrel"
    acme = Brand(name="Acme Corp", slug="acme", aliases=("ACME corp", "acme-widgets"))
    assert default_queries((KESTREL, acme)) == ['kestrel OR "Acme Corp" OR "acme-widgets"']
    many = Brand(name="Brand", slug="b", keywords=tuple(f"term{n:03d}" for n in range(100)))
    queries = default_queries((many,))
    assert len(queries) > 1
    assert all(len(query) <= 512 for query in queries)
    assert sum(query.count(" OR ") + 1 for query in queries) == 101


# --- tokens ------------------------------------------------------------------------------------


async def test_one_app_token_serves_every_poll_and_reddit_sees_the_user_agent() -> None:
    async with FakeReddit() as reddit:
        reddit.add(*posts(1, 3, T))
        source = source_for(reddit, subreddits=["kestrelmobile"])
        cursor: Cursor = {}
        for _ in range(3):
            _, cursor = await poll(source, cursor)
    token_calls = [c for c in reddit.calls if c.path == "/api/v1/access_token"]
    assert [c.form for c in token_calls] == [{"grant_type": "client_credentials"}]
    assert token_calls[0].headers["Authorization"].startswith("Basic ")
    api = reddit.api_calls()
    assert len(api) == 9  # search, new and comments, three times
    assert {c.headers["Authorization"] for c in api} == {"bearer token-1"}
    assert {c.headers["User-Agent"] for c in reddit.calls} == {USER_AGENT}
    search = reddit.api_calls("/search")[0].query
    assert search == {
        "q": "kestrel",
        "sort": "new",
        "type": "link",
        "limit": "100",
        "raw_json": "1",
    }


async def test_a_token_close_to_expiry_is_replaced_before_use() -> None:
    async with FakeReddit(expires_in=30) as reddit:  # less than the one-minute margin
        source = source_for(reddit)
        await poll(source, {})
        await poll(source, {})
    assert [t.value for t in reddit.tokens] == ["token-1", "token-2"]
    assert [c.headers["Authorization"] for c in reddit.api_calls()] == [
        "bearer token-1",
        "bearer token-2",
    ]


async def test_a_revoked_token_is_replaced_and_the_poll_goes_on() -> None:
    async with FakeReddit() as reddit:
        reddit.add(*posts(1, 2, T))
        source = source_for(reddit)
        _, cursor = await poll(source, {})
        reddit.tokens[0].revoked = True  # or its expiry was misjudged across a suspend
        reddit.add(*posts(3, 1, T))
        mentions, _ = await poll(source, cursor)
    assert [m.native_id for m in mentions] == ["t3_p00003"]
    assert [t.value for t in reddit.tokens] == ["token-1", "token-2"]
    assert [(c.headers["Authorization"], c.status) for c in reddit.api_calls()[1:]] == [
        ("bearer token-1", 401),
        ("bearer token-2", 200),
    ]


async def test_a_revoked_token_neither_backs_off_nor_reports_trouble() -> None:
    async with FakeReddit() as reddit:
        reddit.add(*posts(1, 1, T))
        reports: list[str | None] = []
        settings = settings_for(reddit, poll_seconds=0.01)
        source = RedditSource(settings, (KESTREL,), report=lambda _, said: reports.append(said))
        inbox = Inbox()
        task = asyncio.create_task(source.run(inbox, None))
        await wait_for(lambda: len(inbox.mentions) == 1)
        reddit.tokens[0].revoked = True
        reddit.add(*posts(2, 1, T))
        await wait_for(lambda: len(inbox.mentions) == 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [m.native_id for m in inbox.mentions] == ["t3_p00001", "t3_p00002"]
    assert reports == []
    assert any(c.status == 401 for c in reddit.api_calls())


async def test_a_401_on_a_new_token_is_final_and_tried_once() -> None:
    async with FakeReddit() as reddit:
        source = source_for(reddit)
        reddit.fail(401)
        with pytest.raises(SourceError, match="HTTP 401") as first:
            await poll(source, {})  # no token yet: the one fetched for it is refused
        assert len(reddit.api_calls()) == 1
        _, cursor = await poll(source, {})
        reddit.fail(401, times=2)  # the reused token, then the new one, refused
        with pytest.raises(SourceError, match="HTTP 401") as second:
            await poll(source, cursor)
    assert not first.value.retryable
    assert not second.value.retryable
    assert len(reddit.api_calls()) == 4
    assert [t.value for t in reddit.tokens] == ["token-1", "token-2", "token-3"]


async def test_a_script_app_logs_in_with_its_password() -> None:
    async with FakeReddit(username="kestrel_care", password="hunter2") as reddit:
        source = source_for(reddit, username="kestrel_care", password="hunter2")
        await poll(source, {})
    assert reddit.tokens[0].grant == "password"
    login = reddit.calls[0].form
    assert login == {"grant_type": "password", "username": "kestrel_care", "password": "hunter2"}


@pytest.mark.parametrize(
    ("fake", "configured", "says"),
    [
        pytest.param({}, {"client_secret": "wrong"}, "HTTP 401", id="wrong-secret"),
        pytest.param(
            {"username": "a", "password": "right"},
            {"username": "a", "password": "wrong"},
            "reddit refused the app's credentials: invalid_grant",
            id="wrong-password",
        ),
    ],
)
async def test_wrong_credentials_are_a_refusal_that_says_why(
    fake: dict[str, str], configured: dict[str, str], says: str
) -> None:
    async with FakeReddit(**fake) as reddit:  # type: ignore[arg-type]
        source = source_for(reddit, **configured)
        with pytest.raises(SourceError, match=says) as refused:
            await poll(source, {})
    assert not refused.value.retryable
    assert reddit.api_calls() == []


# --- paging and the cursor ---------------------------------------------------------------------


async def test_a_first_poll_takes_the_newest_page_then_polls_page_back_to_the_cursor() -> None:
    async with FakeReddit() as reddit:
        reddit.add(*posts(1, 250, T))
        source = source_for(reddit, lookback_seconds=0)  # a post a second: no overlap wanted
        first, cursor = await poll(source, {})
        assert len(reddit.api_calls()) == 1
        assert [m.native_id for m in first] == [f"t3_p{n:05d}" for n in range(151, 251)]

        reddit.add(*posts(251, 150, T))
        second, cursor = await poll(source, cursor)
        calls = reddit.api_calls()[1:]
        assert [c.query.get("after") for c in calls] == [None, "t3_p00301"]
        assert [m.native_id for m in second] == [f"t3_p{n:05d}" for n in range(251, 401)]

        third, cursor = await poll(source, cursor)
    assert third == []
    assert len(reddit.api_calls()) == 4  # a quiet poll is one request
    assert list(cursor) == ["search:kestrel"]
    assert cursor["search:kestrel"]["newest"] == T + 400


async def test_a_post_in_the_same_second_or_indexed_late_is_heard_once() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, T, "Kestrel one"), post(2, T, "Kestrel two"))
        source = source_for(reddit, lookback_seconds=60)
        first, cursor = await poll(source, {})
        reddit.add(
            post(3, T, "Kestrel three, same second"),
            post(4, T - 30, "Kestrel four, indexed 30 s late"),
            post(5, T - 600, "Kestrel five, ten minutes late: beyond the lookback"),
        )
        second, cursor = await poll(source, cursor)
        third, _ = await poll(source, cursor)
    assert [m.native_id for m in first] == ["t3_p00001", "t3_p00002"]
    assert [m.native_id for m in second] == ["t3_p00004", "t3_p00003"]  # oldest first
    assert third == []


async def test_by_default_a_post_approved_by_a_moderator_minutes_later_is_heard_once() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, T, "kestrel down"))
        source = source_for(reddit, subreddits=["kestrelmobile"])
        _, cursor = await poll(source, {})
        reddit.add(post(2, T + 900, "kestrel outage again"))
        second, cursor = await poll(source, cursor)
        # written at T + 100, shown only now: it waited in the mod queue, or to be indexed
        reddit.add(post(3, T + 100, "kestrel billing is broken"))
        third, cursor = await poll(source, cursor)
        fourth, _ = await poll(source, cursor)
    assert [m.native_id for m in second] == ["t3_p00002"]
    assert [m.native_id for m in third] == ["t3_p00003"]
    assert fourth == []


async def test_subreddit_listings_read_posts_and_comments() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, T, "Which carrier?", sub="phones"))
        source = source_for(reddit, queries=[], subreddits=["r/Phones"])
        _, cursor = await poll(source, {})
        reddit.add(
            comment(1, T + 1, "Kestrel has had no signal all week", link="t3_p00001", sub="phones"),
            post(2, T + 2, "Kestrel outage map?", sub="phones"),
            post(3, T + 3, "Elsewhere", sub="otherplace"),
        )
        mentions, cursor = await poll(source, cursor)
    assert {c.path for c in reddit.api_calls()} == {"/r/Phones/new", "/r/Phones/comments"}
    assert [m.native_id for m in mentions] == ["t1_c00001", "t3_p00002"]
    assert mentions[0].parent_id == "t3_p00001"
    assert mentions[0].url == "https://www.reddit.com/r/phones/comments/p00001/a_title/c00001/"
    assert sorted(cursor) == ["comments:Phones", "new:Phones"]


def test_the_ids_remembered_are_capped_and_the_forgotten_ones_are_not_new_again() -> None:
    def heard(number: int, when: float) -> Mention:
        return Mention("reddit", f"t3_p{number:05d}", "kestrel", datetime.fromtimestamp(when, UTC))

    five = [heard(n, T + n) for n in range(5)]
    horizon = Horizon.load(Horizon().advance(five, lookback=1800, most=3).dump())
    assert sorted(horizon.seen) == ["t3_p00002", "t3_p00003", "t3_p00004"]
    assert horizon.since == T + 1
    assert not any(horizon.is_new(m, 1800) for m in five)
    assert horizon.is_new(heard(9, T + 2), 1800)  # late, but after what was forgotten
    assert not horizon.is_new(heard(8, T + 1), 1800)

    later = horizon.advance([heard(10, T + 3600)], lookback=1800, most=3)
    assert (later.since, list(later.seen)) == (None, ["t3_p00010"])


async def test_a_post_found_by_two_listings_in_one_poll_is_heard_once() -> None:
    async with FakeReddit() as reddit:
        source = source_for(reddit, subreddits=["kestrelmobile"])
        _, cursor = await poll(source, {})
        reddit.add(post(1, T, "Kestrel Mobile down"))
        mentions, _ = await poll(source, cursor)
    assert [m.native_id for m in mentions] == ["t3_p00001"]


async def test_a_malformed_child_is_counted_and_skipped() -> None:
    skipped: list[str] = []
    async with FakeReddit() as reddit:
        broken = post(2, T + 1, "Kestrel")
        del broken["data"]["name"]
        reddit.add(post(1, T, "Kestrel fine"), broken)
        settings = settings_for(reddit)
        source = RedditSource(settings, (KESTREL,), on_malformed=lambda: skipped.append("x"))
        mentions, _ = await poll(source, {})
    assert [m.native_id for m in mentions] == ["t3_p00001"]
    assert skipped == ["x"]


@pytest.mark.parametrize("status", [403, 404])
async def test_a_private_or_banned_subreddit_fails_alone_and_keeps_its_horizon(
    status: int,
) -> None:
    async with FakeReddit() as reddit:
        source = source_for(reddit, subreddits=["kestrelmobile", "secretsub"])
        _, cursor = await poll(source, {})
        reddit.close("secretsub", status)
        reddit.add(
            post(1, T, "Kestrel still down"),
            comment(2, T + 1, "Kestrel, said in secret", sub="secretsub"),
        )
        heard, after = await poll(source, cursor)
        assert [m.native_id for m in heard] == ["t3_p00001"]  # the other listings are read
        assert after["comments:secretsub"] == cursor["comments:secretsub"]
        trouble = source.trouble()
        assert trouble is not None
        assert "comments:secretsub" in trouble
        assert f"HTTP {status}" in trouble
        reddit.reopen("secretsub")
        heard, _ = await poll(source, after)
    assert [m.native_id for m in heard] == ["t1_c00002"]  # read from where it stopped
    assert source.trouble() is None
    assert len(reddit.tokens) == 1  # a refused listing is no refused token


async def test_a_refused_subreddit_is_reported_once_while_the_rest_is_heard() -> None:
    reports: list[str | None] = []
    async with FakeReddit() as reddit:
        reddit.close("secretsub")
        settings = settings_for(reddit, subreddits=["secretsub"], poll_seconds=0.01)
        source = RedditSource(
            settings, (KESTREL,), report=lambda name, trouble: reports.append(trouble)
        )
        inbox = Inbox()
        task = asyncio.create_task(source.run(inbox, None))
        try:
            await wait_for(lambda: len(reddit.api_calls("/r/secretsub/new")) >= 3)
            reddit.add(post(1, T, "Kestrel down"))
            await wait_for(lambda: bool(inbox.mentions))
            reddit.reopen("secretsub")
            await wait_for(lambda: reports[-1:] == [None])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert [m.native_id for m in inbox.mentions] == ["t3_p00001"]
    assert len(reports) == 2
    assert "new:secretsub" in str(reports[0])
    assert "comments:secretsub" in str(reports[0])


async def test_when_every_listing_is_refused_the_poll_fails() -> None:
    async with FakeReddit() as reddit:
        reddit.close("secretsub", 404)
        source = source_for(reddit, queries=[], subreddits=["secretsub"])
        with pytest.raises(SourceError, match="HTTP 404") as refused:
            await poll(source, {})
    assert not refused.value.retryable  # the polling loop backs off to its longest wait


async def test_a_listing_cut_short_fails_the_poll_for_a_retry_with_the_same_token() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, T, "Kestrel down"))
        source = source_for(reddit)
        reddit.break_next()
        with pytest.raises(SourceError, match="the answer broke off") as broken:
            await poll(source, {})
        assert broken.value.retryable
        heard, _ = await poll(source, {})
    assert [m.native_id for m in heard] == ["t3_p00001"]
    assert len(reddit.tokens) == 1


# --- quotas ------------------------------------------------------------------------------------


async def test_near_the_end_of_the_quota_requests_are_spread_over_the_window() -> None:
    waits: list[float] = []
    clock = [1_000.0]

    async def sleep(seconds: float) -> None:  # time passes as it would
        waits.append(seconds)
        clock[0] += seconds

    async with FakeReddit(quota=4, reset=120) as reddit:
        settings = settings_for(reddit, subreddits=["kestrelmobile"])
        source = RedditSource(settings, (KESTREL,), sleep=sleep, clock=lambda: clock[0])
        await poll(source, {})
    # remaining 3 after the first answer: 120 s / 3 apart; then 120 s / 2
    assert waits == [pytest.approx(40, abs=1), pytest.approx(60, abs=1)]


async def test_a_429_carries_the_wait_reddit_asks_for() -> None:
    async with FakeReddit() as reddit:
        reddit.fail(429, headers={"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"})
        source = source_for(reddit)
        with pytest.raises(SourceError) as limited:
            await poll(source, {})
    assert limited.value.retryable
    assert limited.value.wait == 42


# --- replies -----------------------------------------------------------------------------------


async def test_a_script_app_replies_under_a_post_it_heard() -> None:
    async with FakeReddit(username="kestrel_care", password="hunter2") as reddit:
        reddit.add(post(1, T, "Kestrel Mobile no signal for 3 days"))
        source = source_for(reddit, username="kestrel_care", password="hunter2")
        [mention], _ = await poll(source, {})
        posted = await source.reply(mention, "Sorry! We're on it: DM us your area.")
    text = "Sorry! We're on it: DM us your area."
    assert reddit.replies == [{"api_type": "json", "thing_id": "t3_p00001", "text": text}]
    assert posted.native_id.startswith("t1_")
    assert posted.url.startswith("https://www.reddit.com/r/kestrelmobile/comments/p00001/")


async def test_a_reply_whose_answer_was_lost_is_not_posted_twice() -> None:
    async with FakeReddit(username="kestrel_care", password="hunter2") as reddit:
        reddit.add(post(1, T, "Kestrel Mobile no signal"), post(2, T + 1, "Kestrel again"))
        source = source_for(reddit, username="kestrel_care", password="hunter2")
        first, second = (await poll(source, {}))[0]
        await source.reply(second, "Sorry!")  # the same words under another post do not count
        reddit.lose_reply_answers = True
        with pytest.raises(SourceError) as lost:
            await source.reply(first, "Sorry!")
        assert lost.value.retryable
        reddit.lose_reply_answers = False
        posted = await source.reply(first, "Sorry!")  # the outbox tries again
    assert [form["thing_id"] for form in reddit.replies] == ["t3_p00002", "t3_p00001"]
    mine = [c for c in reddit.children if c["data"].get("parent_id") == "t3_p00001"]
    assert len(mine) == 1
    assert posted.native_id == mine[0]["data"]["name"]
    assert reddit.api_calls("/user/kestrel_care/comments")


async def test_an_approved_reply_survives_a_revoked_token() -> None:
    async with FakeReddit(username="kestrel_care", password="hunter2") as reddit:
        reddit.add(post(1, T, "Kestrel Mobile no signal for 3 days"))
        source = source_for(reddit, username="kestrel_care", password="hunter2")
        [mention], _ = await poll(source, {})
        reddit.tokens[0].revoked = True
        url = await source.publish_reply(mention, "Sorry!", key="k", at=datetime.now(UTC))
    assert [form["text"] for form in reddit.replies] == ["Sorry!"]
    assert url.startswith("https://www.reddit.com/r/kestrelmobile/comments/p00001/")
    assert len(reddit.tokens) == 2


async def test_without_a_password_reply_refuses_clearly_and_sends_nothing() -> None:
    async with FakeReddit() as reddit:
        reddit.add(post(1, T, "Kestrel down"))
        source = source_for(reddit)
        [mention], _ = await poll(source, {})
        assert not source.can_reply
        with pytest.raises(CannotReply, match="needs a script app with username and password"):
            await source.reply(mention, "hello")
    assert reddit.api_calls("/api/comment") == []


@pytest.mark.parametrize(
    ("error", "retryable", "wait"),
    [
        (["RATELIMIT", "you are doing that too much. try again in 9 minutes.", "x"], True, 540),
        (["THREAD_LOCKED", "that thread is locked", "parent"], False, None),
    ],
)
async def test_a_reply_reddit_refuses_says_whether_to_try_again(
    error: list[str], retryable: bool, wait: float | None
) -> None:
    async with FakeReddit(username="care", password="pw") as reddit:
        reddit.add(post(1, T, "Kestrel down"))
        source = source_for(reddit, username="care", password="pw")
        [mention], _ = await poll(source, {})
        reddit.reply_errors.append(error)
        with pytest.raises(SourceError, match=error[0] if not retryable else "too much") as refused:
            await source.reply(mention, "hello")
    assert (refused.value.retryable, refused.value.wait) == (retryable, wait)


async def test_reply_refuses_a_mention_from_elsewhere() -> None:
    async with FakeReddit(username="care", password="pw") as reddit:
        source = source_for(reddit, username="care", password="pw")
        stranger = Mention("hn", "123", "Kestrel", datetime.now(UTC))
        with pytest.raises(CannotReply, match="was not heard on reddit"):
            await source.reply(stranger, "hello")


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"username": "care"}, "username and password go together"),
        ({"password": "pw"}, "username and password go together"),
        ({"queries": []}, "nothing to read"),
        ({"subreddits": ["no spaces"]}, "is not a subreddit name"),
        ({"user_agent": "  "}, "descriptive user agent"),
        ({"queries": ["x" * 513]}, "1 to 512 characters"),
    ],
)
def test_settings_refuse_what_cannot_work(change: dict[str, Any], says: str) -> None:
    base = {
        "type": "reddit",
        "name": "reddit",
        "client_id": "id",
        "client_secret": "secret",
        "user_agent": USER_AGENT,
    }
    with pytest.raises(ValidationError, match=says):
        RedditSourceSettings.model_validate({**base, **change})


def test_an_empty_password_from_the_environment_means_read_only() -> None:
    settings = RedditSourceSettings.model_validate(
        {
            "type": "reddit",
            "name": "reddit",
            "client_id": "id",
            "client_secret": "secret",
            "user_agent": USER_AGENT,
            "username": "",
            "password": "",
            "subreddits": ["/r/KestrelMobile/", "a_b+cd"],
        }
    )
    assert not settings.can_reply
    assert settings.subreddits == ["KestrelMobile", "a_b+cd"]


# --- the whole service -------------------------------------------------------------------------


async def test_the_service_stores_reddit_mentions_and_resumes_after_restart(tmp_path: Path) -> None:
    now = int(time.time())
    async with FakeReddit() as reddit:
        source = {
            "type": "reddit",
            "name": "reddit",
            "client_id": reddit.client_id,
            "client_secret": reddit.client_secret,
            "user_agent": USER_AGENT,
            "auth_url": reddit.auth_url,
            "base_url": reddit.url,
            "poll_seconds": 0.05,
        }
        config = write_config(tmp_path, [source])
        reddit.add(*posts(1, 3, now - 3000))
        async with running_service(config):
            await wait_for(lambda: len(stored_mentions(config)) == 3)
        reddit.add(*posts(4, 150, now - 1000))  # more than a page: only a resumed poll gets all
        async with running_service(config):
            await wait_for(lambda: len(stored_mentions(config)) == 153)
            await wait_for(lambda: len(reddit.api_calls()) >= 6)
    rows = {row["native_id"]: row for row in stored_mentions(config)}
    assert len(rows) == 153
    row = rows["t3_p00001"]
    assert row["url"] == "https://www.reddit.com/r/kestrelmobile/comments/p00001/a_title/"
    assert row["brands"] == ["kestrel-mobile"]


def test_reddit_dates_hits_on_the_service_s_clock() -> None:
    """A hit dated in the future is dated now by the service's clock (the replayed story's
    time during a replay), as Hacker News's are: not by the machine's."""
    from bot.clock import EventClock
    from bot.metrics import Metrics
    from bot.sources import SourceContext
    from bot.sources.reddit import build

    story = datetime(2015, 2, 22, 23, 0, tzinfo=UTC)
    clock = EventClock()
    clock.advance(story)
    settings = RedditSourceSettings.model_validate(
        {"type": "reddit", "name": "reddit", "client_id": "id", "client_secret": "secret"}
        | {"user_agent": USER_AGENT}
    )
    source = build(settings, SourceContext(clock, Metrics(), brands=(KESTREL,)))
    assert isinstance(source, RedditSource)
    assert source.now() == clock.now()
