"""A feed's redirects, followed by hand (bot/sources/redirects.py): a feed host on the internet
cannot send Vigie to 127.0.0.1 or the cloud metadata address, and what such a host answers is
never shown. Two fake feed servers on 127.0.0.1; the one playing a host on the internet is
told apart by its port in the resolver the source is given."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from aiohttp import encode_basic_auth
from yarl import URL

from bot.sources.polite import SourceError
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
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 (RFC 6052): the metadata service
        ("64:ff9b::7f00:1", False),  # NAT64: loopback
        ("64:ff9b::a00:1", False),  # NAT64: 10.0.0.1
        ("64:ff9b::5db8:d822", True),  # NAT64: a host on the internet
        ("64:ff9b:1::5db8:d822", False),  # a network's own NAT64 (RFC 8215)
        ("::a9fe:a9fe", False),  # IPv4-compatible: the metadata service
        ("::7f00:1", False),  # IPv4-compatible: loopback
        ("::5db8:d822", True),
        ("2002:a9fe:a9fe::1", False),  # 6to4: the metadata service
        ("2002:c0a8:101::1", False),  # 6to4: 192.168.1.1
        ("2002:5db8:d822::1", True),
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


async def test_the_metadata_address_behind_nat64_is_refused_as_well() -> None:
    recorder = Recorder()
    async with FakeFeeds() as feeds:
        feeds.redirect("alerts", f"http://[64:ff9b::a9fe:a9fe]/{METADATA}")
        source = make_source([feeds.url("alerts")], recorder)
        source.resolve = seen_as_public(feeds)
        assert (await poll(source, {}))[0] == []
    [(_, trouble)] = recorder.reports
    assert "a private address (64:ff9b::a9fe:a9fe); not followed" in (trouble or "")


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


def with_login(url: str, user: str = "vigie", password: str = "s3cr:t@") -> str:
    return str(URL(url).with_user(user).with_password(password))


@pytest.mark.parametrize("relative", [True, False])
async def test_a_redirect_within_the_feeds_origin_keeps_its_login(relative: bool) -> None:
    """An absolute Location naming the same scheme, host and port is the same server: its
    password still goes (aiohttp's own redirects kept it; without it, 401)."""
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2))
        feeds.protect("alerts", "vigie", "s3cr:t@")
        feeds.redirect("old", "/alerts" if relative else feeds.url("alerts"), status=301)
        mentions, _ = await poll(make_source([with_login(feeds.url("old"))]), {})
        [hit] = feeds.hits_of("alerts")
    assert numbers(mentions) == [1, 2]
    assert hit.headers["Authorization"] == encode_basic_auth("vigie", "s3cr:t@")


async def test_a_redirect_to_another_origin_never_carries_the_login() -> None:
    """Another port of the same host is another origin, as it is for a browser."""
    async with FakeFeeds() as feeds, FakeFeeds() as moved:
        moved.publish("alerts", alerts(3))
        feeds.redirect("old", moved.url("alerts"))
        mentions, _ = await poll(make_source([with_login(feeds.url("old"))]), {})
        [asked] = feeds.hits_of("old")
        [hit] = moved.hits_of("alerts")
    assert numbers(mentions) == [3]
    assert asked.headers["Authorization"] == encode_basic_auth("vigie", "s3cr:t@")
    assert "Authorization" not in hit.headers


async def test_a_login_named_by_the_redirect_is_the_one_sent() -> None:
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(4))
        feeds.protect("alerts", "other", "pw")
        feeds.redirect("old", with_login(feeds.url("alerts"), "other", "pw"))
        mentions, _ = await poll(make_source([with_login(feeds.url("old"))]), {})
    assert numbers(mentions) == [4]


LONG_LABEL = "a" * 64  # one label over 63 characters: IDNA encoding fails (UnicodeError)


@pytest.mark.parametrize("host", [f"{LONG_LABEL}.example.com", "news..example.com"])
async def test_a_host_that_is_no_host_name_is_a_refusal_not_a_crash(host: str) -> None:
    with pytest.raises(SourceError) as caught:
        await resolve(host, 80)
    assert not caught.value.retryable
    assert "not a valid host name" in str(caught.value)


async def test_a_redirect_to_a_host_that_is_no_host_name_fails_that_feed_alone() -> None:
    """The review's t_rss_redirect.py: the UnicodeError escaped the feeds' task group, the
    healthy feed's mentions were lost and the source restarted for ever."""
    recorder, clock = Recorder(), Clock()
    async with FakeFeeds() as feeds:
        feeds.publish("good", alerts(1, 2))
        feeds.redirect("bad", f"http://{LONG_LABEL}.example.com/feed")
        source = make_source([feeds.url("good"), feeds.url("bad")], recorder, clock)
        mentions, cursor = await poll(source, {})
    assert numbers(mentions) == [1, 2]
    assert cursor["feeds"][feeds.url("bad")] == {"seen": []}
    [(_, trouble)] = recorder.reports
    assert trouble is not None
    assert trouble.startswith(f"{feeds.url('bad')}: redirected to http://{LONG_LABEL}")
    assert "not a valid host name" in trouble
    assert source.health[feeds.url("bad")].due >= clock.seconds + 3600  # will not mend soon
