"""A feed's redirects, followed by hand (bot/sources/redirects.py): a feed host on the internet
cannot send Vigie to 127.0.0.1 or the cloud metadata address, and what such a host answers is
never shown. Two fake feed servers on 127.0.0.1; the one playing a host on the internet is
told apart by its port in the resolver the source is given."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bot.sources.redirects import MAX_REDIRECTS, Address, Resolve, is_public, resolve
from tests.fake_feeds import FakeFeeds
from tests.test_source_rss import Clock, Recorder, alerts, make_source, numbers, poll

METADATA = "latest/meta-data/iam/security-credentials/"
INTERNAL = "INTERNAL-ONLY admin panel: db_password=hunter2 AccessKeyId=AKIAEXAMPLE"


def seen_as_public(*servers: FakeFeeds) -> Resolve:
    """A resolver for which ``servers`` are hosts on the internet (any other: as it is)."""
    ports = {server.port for server in servers}

    async def resolving(host: str, port: int) -> list[Address]:
        return [ip_address("93.184.216.34")] if port in ports else await resolve(host, port)

    return resolving


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped: loopback still
        ("::ffff:93.184.216.34", True),
    ],
)
def test_what_counts_as_public(address: str, public: bool) -> None:
    assert is_public(ip_address(address)) is public


async def test_a_feed_on_the_internet_redirecting_inside_is_refused_and_never_shown() -> None:
    """The review's feedhost.py: 302 to the metadata path of a server on 127.0.0.1, which
    answered 403 with secrets in its body; Vigie fetched it and put the body in /healthz."""
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds, FakeFeeds() as internal:
        internal.fail(METADATA, 403, body=INTERNAL)
        feeds.redirect("alerts", internal.url(METADATA))
        source = make_source([feeds.url("alerts")], recorder, clock)
        source.resolve = seen_as_public(feeds)
        assert (await poll(source, {}))[0] == []
        assert internal.hits == []
    [(_, trouble)] = recorder.reports
    assert trouble is not None
    assert f"redirected to {internal.url(METADATA)}, a private address (127.0.0.1)" in trouble
    assert "hunter2" not in trouble
    assert source.health[feeds.url("alerts")].due >= clock.seconds + 3600  # a refusal


@pytest.mark.parametrize("relative", [True, False])
async def test_a_private_feed_may_redirect_within_private_space(relative: bool) -> None:
    async with FakeFeeds() as feeds, FakeFeeds() as moved:
        moved.publish("alerts", alerts(1, 2))
        feeds.publish("alerts", alerts(1, 2))
        feeds.redirect("old", "/alerts" if relative else moved.url("alerts"), status=301)
        mentions, _ = await poll(make_source([feeds.url("old")]), {})
    assert numbers(mentions) == [1, 2]


async def test_trouble_after_a_redirect_names_the_feed_configured() -> None:
    """The review's run, where the feed host is on 127.0.0.1 too: the redirect is followed,
    and what the page answers is its status, under the feed's name."""
    recorder = Recorder()
    async with FakeFeeds() as feeds, FakeFeeds() as internal:
        internal.fail(METADATA, 403, body=INTERNAL)
        feeds.redirect("alerts", internal.url(METADATA))
        assert (await poll(make_source([feeds.url("alerts")], recorder), {}))[0] == []
    assert recorder.reports[-1][1] == (
        f"{feeds.url('alerts')}: redirected, then {internal.url(METADATA)}: HTTP 403 Forbidden"
    )


async def test_a_feed_on_the_internet_may_redirect_to_another_one() -> None:
    async with FakeFeeds() as feeds, FakeFeeds() as moved:
        moved.publish("alerts", alerts(3))
        feeds.redirect("old", moved.url("alerts"), status=308)
        source = make_source([feeds.url("old")])
        source.resolve = seen_as_public(feeds, moved)
        mentions, _ = await poll(source, {})
    assert numbers(mentions) == [3]


async def test_a_redirect_loop_stops_after_five_and_the_feed_waits() -> None:
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds:
        feeds.redirect("a", feeds.url("b"))
        feeds.redirect("b", "/a")
        source = make_source([feeds.url("a")], recorder, clock)
        assert (await poll(source, {}))[0] == []
        assert len(feeds.hits) == MAX_REDIRECTS + 1
    assert f"more than {MAX_REDIRECTS} redirects" in (recorder.reports[-1][1] or "")


async def test_a_redirect_to_something_else_than_http_is_refused() -> None:
    recorder = Recorder()
    async with FakeFeeds() as feeds:
        feeds.redirect("alerts", "file:///etc/passwd")
        assert (await poll(make_source([feeds.url("alerts")], recorder), {}))[0] == []
    assert "HTTP 302 to no http(s) URL" in (recorder.reports[-1][1] or "")
