"""A fake feed server for tests: RSS and Atom documents on 127.0.0.1, with ETag and 304.

Test support code, not a test module. ``async with FakeFeeds() as feeds:`` serves on a free port;
``feeds.publish(path, document)`` sets or replaces a document (a new ETag and Last-Modified each
time, as a real server would); ``feeds.fail(path, status)`` makes the next requests fail;
``feeds.redirect(path, location)`` answers a redirect; ``feeds.protect(path, user, password)``
answers 401 to a request without that basic auth; every request is kept in ``feeds.hits`` with
its headers. A request whose ``If-None-Match`` or ``If-Modified-Since`` matches the current
document gets 304 with no body.

The builders below write documents the way Google Alerts (Atom, Google redirect links, ``<b>``
around the query's words) and Google News searches (RSS 2.0) do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Self
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from aiohttp import encode_basic_auth, web

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
_EPOCH = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str
    etag: str | None
    modified: str | None


@dataclass
class Failure:
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


class FakeFeeds:
    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.failures: dict[str, Failure] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.logins: dict[str, str] = {}  # path: the Authorization header it needs
        self.hits: list[Hit] = []
        self.versions = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def publish(
        self,
        path: str,
        document: str | bytes,
        content_type: str = ATOM,
        *,
        etag: bool = True,
        last_modified: bool = True,
    ) -> None:
        self.versions += 1
        modified = _EPOCH + timedelta(minutes=self.versions)
        self.documents["/" + path.lstrip("/")] = Document(
            document.encode() if isinstance(document, str) else document,
            content_type,
            f'"v{self.versions}"' if etag else None,
            format_datetime(modified, usegmt=True) if last_modified else None,
        )

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1_000_000,
        headers: dict[str, str] | None = None,
        body: str = "",
    ) -> None:
        self.failures["/" + path.lstrip("/")] = Failure(status, times, headers or {}, body)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer ``path`` with ``status`` to ``location`` (absolute or relative)."""
        self.redirects["/" + path.lstrip("/")] = (status, location)

    def protect(self, path: str, user: str, password: str) -> None:
        """Answer ``path`` 401 unless the request carries ``user:password`` (basic auth)."""
        self.logins["/" + path.lstrip("/")] = encode_basic_auth(user, password)

    def mend(self, path: str) -> None:
        self.failures.pop("/" + path.lstrip("/"), None)

    def hits_of(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == "/" + path.lstrip("/")]

    async def _serve(self, request: web.Request) -> web.Response:
        response = self._answer(request)
        self.hits.append(Hit(request.path, dict(request.headers), response.status))
        return response

    def _answer(self, request: web.Request) -> web.Response:
        if request.path in self.redirects:
            status, location = self.redirects[request.path]
            return web.Response(status=status, headers={"Location": location})
        login = self.logins.get(request.path)
        if login is not None and request.headers.get("Authorization") != login:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="feeds"'})
        failure = self.failures.get(request.path)
        if failure is not None and failure.times > 0:
            failure.times -= 1
            return web.Response(status=failure.status, text=failure.body, headers=failure.headers)
        document = self.documents.get(request.path)
        if document is None:
            return web.Response(status=404, text="no such feed")
        validators = {"ETag": document.etag, "Last-Modified": document.modified}
        headers = {name: value for name, value in validators.items() if value}
        if _unchanged(request, document):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = document.content_type
        return web.Response(body=document.body, headers=headers)


def _unchanged(request: web.Request, document: Document) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only when it is absent."""
    match = request.headers.get("If-None-Match")
    if match is not None:
        return document.etag is not None and document.etag in match.split(", ")
    since = request.headers.get("If-Modified-Since")
    return since is not None and since == document.modified


# Documents


def stamp(minutes: int) -> str:
    """An RFC 3339 time, ``minutes`` after 2026-03-10 08:00 UTC."""
    return (_EPOCH + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_id(number: int) -> str:
    return f"tag:google.com,2013:googlealerts/feed:{10_000_000_000_000_000_000 + number}"


def alert_entry(
    number: int,
    title_html: str,
    target: str,
    *,
    minutes: int | None = None,
    content_html: str = "",
) -> str:
    """One Google Alerts entry: the link is Google's redirect to ``target``."""
    link = (
        f"https://www.google.com/url?rct=j&sa=t&url={quote(target, safe=':/')}"
        f"&ct=ga&cd=CAIyGjE{number}&usg=AOvVaw{number:04d}"
    )
    when = stamp(number if minutes is None else minutes)
    return (
        f"<entry><id>{alert_id(number)}</id>"
        f'<title type="html">{escape(title_html)}</title>'
        f"<link href={quoteattr(link)}></link>"
        f"<published>{when}</published><updated>{when}</updated>"
        f'<content type="html">{escape(content_html)}</content>'
        f"<author><name></name></author></entry>"
    )


def alerts_feed(query: str, entries: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">'
        "<id>tag:google.com,2005:reader/user/01234567890123456789/state/com.google/alerts/"
        f"98765432109876543210</id><title>Google Alert - {escape(query)}</title>"
        '<link href="https://www.google.com/alerts/feeds/01234567890123456789/98765432109876543210"'
        ' rel="self"></link>'
        f"<updated>{stamp(600)}</updated>{''.join(entries)}</feed>"
    )


def news_item(guid: str, headline: str, outlet: str, *, minutes: int | None) -> str:
    """One Google News search result: the description repeats the headline and the outlet.
    ``minutes`` None: no ``pubDate`` (some feeds leave an item undated)."""
    link = f"https://news.google.com/rss/articles/{guid}?oc=5"
    description = (
        f'<a href="{link}" target="_blank">{escape(headline)}</a>&nbsp;&nbsp;'
        f'<font color="#6f6f6f">{escape(outlet)}</font>'
    )
    published = ""
    if minutes is not None:
        when = format_datetime(_EPOCH + timedelta(minutes=minutes), usegmt=True)
        published = f"<pubDate>{when}</pubDate>"
    return (
        f"<item><title>{escape(headline)} - {escape(outlet)}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid>{published}'
        f"<description>{escape(description)}</description>"
        f'<source url="https://www.{outlet.lower().replace(" ", "-")}.example">'
        f"{escape(outlet)}</source></item>"
    )


def rss_feed(items: list[str], title: str = "News") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>{escape(title)}</title><link>https://news.google.com/search</link>"
        "<language>en-US</language><description>Google News</description>"
        f"{''.join(items)}</channel></rss>"
    )
