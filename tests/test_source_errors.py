"""What a source's trouble says (/healthz, the logs, a notice in the channel): the URL without
its secrets (``user:pass@``, ``?token=``), the HTTP status, and never what the server answered,
which may be anything (the review's feed redirected to an internal page full of passwords)."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.redact import MAX_ERROR, redact_url, redact_urls, shown_error
from bot.sources.hackernews import HackerNewsSource
from bot.sources.polite import SourceError, client_session, get_json
from bot.sources.searching import Horizon
from tests.conftest import running_service, wait_for, write_config
from tests.fake_feeds import RSS, FakeFeeds, rss_feed
from tests.test_source_hackernews import KESTREL
from tests.test_source_health import notices
from tests.test_source_rss import Recorder, make_source, poll

SECRETS = ("alertuser", "feedpass", "PRIVATE-FEED-TOKEN")
INTERNAL = "INTERNAL-ONLY admin panel: db_password=hunter2 AccessKeyId=AKIAEXAMPLE"
FEED = "alerts/feeds/0123456789/98765"


def secret_url(feeds: FakeFeeds) -> str:
    return f"http://alertuser:feedpass@127.0.0.1:{feeds.port}/{FEED}?token=PRIVATE-FEED-TOKEN"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://alertuser:feedpass@127.0.0.1:18098/alerts/feeds/1/2?token=PRIVATE",
            "http://127.0.0.1:18098/alerts/feeds/1/2?…",
        ),
        ("https://www.google.com/alerts/feeds/1/2", "https://www.google.com/alerts/feeds/1/2"),
        ("https://Feeds.Example/rss?q=a#top", "https://feeds.example/rss?…#…"),
        ("https://user@[::1]:8443/x", "https://[::1]:8443/x"),
        ("/api/v1/search?token=1", "/api/v1/search?…"),
        ("http://[::1/feed", "(unreadable URL)"),
    ],
)
def test_a_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_urls_quoted_in_an_error_are_redacted_and_the_rest_kept() -> None:
    said = "403, message='Forbidden', url='http://u:p@h.example/feed?t=1' (see http://h.example/x)."
    assert redact_urls(said) == (
        "403, message='Forbidden', url='http://h.example/feed?…' (see http://h.example/x)."
    )
    assert shown_error("a\x1b[2J b\x07 " + "x" * 1000).startswith("a[2J b x")
    assert len(shown_error("x" * 1000)) == MAX_ERROR


async def test_a_refusal_names_the_status_but_not_the_body_nor_the_credentials() -> None:
    async with FakeFeeds() as feeds, client_session() as session:
        feeds.fail(FEED, 403, body=INTERNAL)
        with pytest.raises(SourceError) as refused:
            await get_json(session, secret_url(feeds))
        assert feeds.hits[0].headers["Authorization"].startswith("Basic ")  # the user was used
    said = str(refused.value)
    assert said == f"http://127.0.0.1:{feeds.port}/{FEED}?…: HTTP 403 Forbidden"
    assert refused.value.status == 403


async def test_a_feed_whose_connection_fails_is_named_without_its_secrets() -> None:
    recorder = Recorder()
    async with FakeFeeds() as closed:
        dead = secret_url(closed)  # nothing listens there once this block ends
    await poll(make_source([dead], recorder), {})
    trouble = recorder.reports[-1][1] or ""
    assert trouble.startswith(f"http://127.0.0.1:{closed.port}/{FEED}?…: ")
    assert not [secret for secret in SECRETS if secret in trouble]


async def test_an_answer_that_is_not_a_search_is_not_quoted() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("api/v1/search_by_date", f'{{"error": "{INTERNAL}"}}', "application/json")
        settings = HackerNewsSourceSettings.model_validate(
            {"type": "hackernews", "name": "hn", "base_url": feeds.url("api/v1/")}
        )
        source = HackerNewsSource(settings, (KESTREL,))
        async with source.session() as session:
            with pytest.raises(SourceError) as refused:
                await source.fetch(session, "kestrel", Horizon())
    assert str(refused.value) == f"{feeds.url('api/v1/search_by_date')}: not a search answer"


async def test_health_the_logs_and_the_notice_keep_the_feeds_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The review's run: /healthz, the WARNING line and the Slack notice carried the feed's
    user, password and token, and the page it was redirected to."""
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "deliveries.jsonl"
    async with FakeFeeds() as feeds:
        feeds.fail(FEED, 403, body=INTERNAL)
        config = write_config(
            tmp_path,
            [{"type": "rss", "name": "alerts", "feeds": [secret_url(feeds)], "poll_seconds": 60}],
            platforms={"file": {"path": str(out)}},
            incidents={"targets": {"team": {"platform": "file", "channel": "#ops"}}},
        )
        async with running_service(config) as service:
            await wait_for(lambda: bool(notices(out)), timeout=20)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{service.http_port}/healthz") as response,
            ):
                health = await response.json()
    shown = f"http://127.0.0.1:{feeds.port}/{FEED}?…: HTTP 403 Forbidden"
    assert health["sources"]["alerts"]["error"] == shown
    notice = str(notices(out)[0]["text"])
    assert f"({shown})" in notice
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]  # the fake feed's own
    assert any(shown in r.getMessage() and r.levelno == logging.WARNING for r in ours)
    for record in ours:  # the body only at DEBUG, the credentials never
        hidden = (*SECRETS, "hunter2") if record.levelno > logging.DEBUG else SECRETS
        assert not [secret for secret in hidden if secret in record.getMessage()], record


async def test_a_feeds_credentials_reach_no_mention() -> None:
    """A bare entry id is qualified by the feed's host, a relative link resolved against the
    feed's address: neither takes its user and password along."""
    item = (
        "<item><title>Kestrel Mobile down</title><link>/posts/1</link>"
        '<guid isPermaLink="false">1234</guid></item>'
    )
    async with FakeFeeds() as feeds:
        feeds.publish(FEED, rss_feed([item]), RSS)
        [mention], _ = await poll(make_source([secret_url(feeds)]), {})
    host = f"127.0.0.1:{feeds.port}"
    assert (mention.native_id, mention.url) == (f"{host}:1234", f"http://{host}/posts/1")
    assert not [secret for secret in SECRETS if secret in repr(mention)]
