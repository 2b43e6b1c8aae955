"""Redirects followed by hand, so that a host on the internet cannot send Vigie into its own
network.

aiohttp follows any redirect: a hostile feed could answer 302 to the cloud metadata service
(169.254.169.254) or to an admin page on 127.0.0.1, and Vigie would fetch it. Here each redirect
is checked before it is followed: from a public host, only to hosts all of whose addresses are
public. A host that is private itself (an intranet feed, a test server on 127.0.0.1) may
redirect within private space.

The check resolves the name, then aiohttp resolves it again to connect: a name whose answer
changes in between (DNS rebinding) is not caught here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address

import aiohttp
from yarl import URL

from bot.redact import redact_url
from bot.sources.polite import SourceError, request

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})

Address = IPv4Address | IPv6Address
Resolve = Callable[[str, int], Awaitable[list[Address]]]


def is_public(address: Address) -> bool:
    """Reachable on the internet: not loopback, private, link-local (cloud metadata), shared
    (100.64/10), reserved, unspecified or multicast; an IPv4-mapped IPv6 address as its IPv4."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[Address]:
    """The addresses of ``host`` (itself when it is one); :class:`SourceError` when unknown."""
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise SourceError(f"cannot resolve {host}: {error}") from error
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
    current = URL(url)
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
        target = _target(response, current)
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


async def _check(current: URL, target: URL, inside: bool, resolve: Resolve) -> bool:
    """Refuse a redirect from a public host to a private address; whether ``target`` is
    private (then it may redirect within private space in turn)."""
    found = await addresses(target, resolve)
    private = [address for address in found if not is_public(address)]
    if private and not inside:
        raise SourceError(
            f"{redact_url(str(current))}: redirected to {redact_url(str(target))}, a private "
            f"address ({private[0]}); not followed",
            retryable=False,
        )
    return bool(found) and len(private) == len(found)
