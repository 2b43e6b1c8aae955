"""Redirects followed by hand, so that a host on the internet cannot send Vigie into its own
network.

aiohttp follows any redirect: a hostile feed could answer 302 to the cloud metadata service
(169.254.169.254) or to an admin page on 127.0.0.1, and Vigie would fetch it. Here each redirect
is checked before it is followed: from a public host, only to hosts all of whose addresses are
public. A host that is private itself (an intranet feed, a test server on 127.0.0.1) may
redirect within private space.

The check resolves the name, then aiohttp resolves it again to connect: a name whose answer
changes in between (DNS rebinding) is not caught here.

A feed's ``user:pass@`` goes with a redirect that stays on its origin (scheme, host and port), as
aiohttp's own redirects kept it, and never to another origin.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import aiohttp
from yarl import URL

from bot.redact import redact_url
from bot.sources.polite import SourceError, bad_host, request

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})

Address = IPv4Address | IPv6Address
Resolve = Callable[[str, int], Awaitable[list[Address]]]

# IPv6 prefixes whose last 32 bits are an IPv4 address a host reaches through them: NAT64's
# well-known prefix (RFC 6052; 64:ff9b::a9fe:a9fe is 169.254.169.254) and the deprecated
# IPv4-compatible form (::a.b.c.d, RFC 4291). Python 3.11 calls both global whatever they hold.
_EMBEDDING = (ip_network("64:ff9b::/96"), ip_network("::/96"))
_LOCAL_NAT64 = ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own NAT64, never global


def is_public(address: Address) -> bool:
    """Reachable on the internet: not loopback, private, link-local (cloud metadata), shared
    (100.64/10), reserved, unspecified or multicast; an IPv6 address embedding an IPv4 one
    (IPv4-mapped, NAT64, IPv4-compatible, 6to4) as that IPv4 address."""
    if isinstance(address, IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        address = _embedded(address) or address
    return address.is_global and not address.is_multicast


def _embedded(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _EMBEDDING):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def resolve(host: str, port: int) -> list[Address]:
    """The addresses of ``host`` (itself when it is one); :class:`SourceError` when unknown,
    one that is not retryable when ``host`` is no host name at all (a label empty or over 63
    characters fails IDNA encoding with a UnicodeError, which is a ValueError)."""
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise SourceError(f"cannot resolve {host}: {error}") from error
    except ValueError as error:
        raise bad_host(host, error) from error
    return [ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


async def addresses(url: URL, resolve: Resolve = resolve) -> list[Address]:
    """The addresses of ``url``'s host."""
    return await resolve(url.raw_host or "", url.port or 0)


async def is_private(url: URL, resolve: Resolve = resolve) -> bool:
    """Whether every address of ``url``'s host is private (a public one among them: public)."""
    found = await addresses(url, resolve)
    return bool(found) and not any(is_public(address) for address in found)


async def follow(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Mapping[str, str],
    seconds: float,
    resolve: Resolve = resolve,
) -> aiohttp.ClientResponse:
    """``GET url`` through at most :data:`MAX_REDIRECTS` redirects, each checked (see the
    module); the final answer, for the caller to read and release. A refused redirect is a
    :class:`SourceError` that is not retryable."""
    try:
        current = URL(url)
    except ValueError as error:  # yarl refuses some hosts itself (bad punycode)
        raise SourceError(f"{redact_url(url)}: not a URL ({error})", retryable=False) from None
    inside: bool | None = None  # whether the current host is private; asked at the first hop
    for hop in range(MAX_REDIRECTS + 1):
        try:
            response = await request(
                session,
                "GET",
                str(current),
                headers=headers,
                seconds=seconds,
                allow_redirects=False,
            )
        except SourceError as error:
            if hop == 0:
                raise
            raise _redirected(url, error) from error
        if response.status not in REDIRECTS:
            return response
        target = _with_credentials(_target(response, current), current)
        if inside is None:
            inside = await is_private(current, resolve)
        inside = await _check(current, target, inside, resolve)
        current = target
    raise SourceError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects", retryable=False)


def _redirected(url: str, error: SourceError) -> SourceError:
    """``error`` of a redirect's target, named after the URL asked (the one configured)."""
    return SourceError(
        f"{redact_url(url)}: redirected, then {error}",
        retryable=error.retryable,
        wait=error.wait,
        status=error.status,
    )


def _target(response: aiohttp.ClientResponse, current: URL) -> URL:
    """Where a redirect points (released): an http(s) URL, else :class:`SourceError`."""
    location = response.headers.get("Location", "")
    response.release()
    shown = redact_url(str(current))
    try:
        target = current.join(URL(location)) if location else None
    except ValueError:
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.raw_host:
        raise SourceError(f"{shown}: HTTP {response.status} to no http(s) URL", retryable=False)
    return target


def _with_credentials(target: URL, current: URL) -> URL:
    """``target`` with ``current``'s ``user:pass@`` when it names none and stays on its origin
    (a feed moved within the same server is still behind the same login)."""
    if target.raw_user is not None or current.raw_user is None:
        return target
    if (target.scheme, target.host, target.port) != (current.scheme, current.host, current.port):
        return target
    return target.with_user(current.user).with_password(current.password)


async def _check(current: URL, target: URL, inside: bool, resolve: Resolve) -> bool:
    """Refuse a redirect from a public host to a private address; whether ``target`` is
    private (then it may redirect within private space in turn)."""
    try:
        found = await addresses(target, resolve)
    except SourceError as error:  # named after the redirect, so the feed's trouble says where
        shown = f"{redact_url(str(current))}: redirected to {redact_url(str(target))}"
        raise SourceError(f"{shown}, then {error}", retryable=error.retryable) from error
    private = [address for address in found if not is_public(address)]
    if private and not inside:
        raise SourceError(
            f"{redact_url(str(current))}: redirected to {redact_url(str(target))}, a private "
            f"address ({private[0]}); not followed",
            retryable=False,
        )
    return bool(found) and len(private) == len(found)
