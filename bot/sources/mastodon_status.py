"""Mastodon statuses -> mentions: the pure half of the Mastodon source (no I/O).

A boost (``reblog`` set) is heard as the status it boosts: same id, text, author and counts, so
a post boosted a hundred times is one mention whose ``reposts`` says so. ``raw`` keeps the status
as received, the booster included. A status heard twice (on two hashtags, or streamed during
the catch-up after a reconnection) is queued once; the public timeline, which carries everything,
is kept only where it names a brand (and what it leaves, a hashtag feed may still take).
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, cast

from bot.matching import BrandMatcher
from bot.model import Author, Brand, Engagement, Mention
from bot.records import MalformedRecord, parse_time
from bot.sources.base import not_in_future
from bot.sources.mastodon_text import Named, content_text

logger = logging.getLogger(__name__)

# @name, or @name@domain, which Mastodon's HTML shows as @name (the domain only when needed)
_MENTION = re.compile(r"(?<![\w/@])@([\w.-]*\w)(?:@[\w.-]*\w(?::\d+)?)?")


class Account(TypedDict):
    id: str
    username: str
    acct: str  # "name" for this instance's accounts, "name@domain" for others
    display_name: str
    followers_count: int


class StatusMention(TypedDict):
    id: str
    username: str
    acct: str  # as Account's
    url: str


class Status(TypedDict):
    """The fields of a Status entity that Vigie reads (docs.joinmastodon.org/entities/Status)."""

    id: str
    created_at: str
    content: str
    account: Account
    uri: str
    url: NotRequired[str | None]
    spoiler_text: NotRequired[str]
    language: NotRequired[str | None]
    in_reply_to_id: NotRequired[str | None]
    reblogs_count: NotRequired[int]
    favourites_count: NotRequired[int]
    replies_count: NotRequired[int]
    quotes_count: NotRequired[int]  # 4.5+
    reblog: NotRequired[Status | None]
    mentions: NotRequired[list[StatusMention]]


class MalformedStatus(ValueError):
    """A payload that is not a status Vigie can hear."""


def id_order(status_id: str) -> tuple[int, str]:
    """Sort key of ids: Mastodon's are decimal snowflakes (time-ordered, of growing length);
    Pleroma's flake ids are fixed-length strings that sort as text. Both sort by this."""
    return (len(status_id), status_id)


_SNOWFLAKE_MS = (1_451_606_400_000, 4_102_444_800_000)  # 2016 to 2100: a plausible time


def snowflake_time(status_id: str) -> datetime | None:
    """When a Mastodon snowflake id was made (its bits above the 16 lowest are milliseconds
    since 1970); None for an id that is none (other fediverse servers)."""
    if not (status_id.isascii() and status_id.isdigit()):
        return None
    milliseconds = int(status_id) >> 16
    if not _SNOWFLAKE_MS[0] <= milliseconds < _SNOWFLAKE_MS[1]:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def snowflake_at(when: datetime) -> str:
    """The lowest snowflake id of ``when`` (Mastodon's ``id_at``)."""
    return str(int(when.timestamp() * 1000) << 16)


def is_newer(status_id: str, than: str | None) -> bool:
    return than is None or id_order(status_id) > id_order(than)


def newest(ids: Iterable[str]) -> str | None:
    return max(ids, key=id_order, default=None)


def as_status(payload: Any) -> Status:
    """A decoded JSON payload checked to be a status (its id a string)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise MalformedStatus("not a status (no string id)")
    return cast(Status, payload)


def original(status: Status) -> Status:
    """The status itself, or the one it boosts."""
    boosted = status.get("reblog")
    return as_status(boosted) if boosted else status


def to_mention(
    source: str, status: Status, instance_host: str, in_full: Collection[str] = ()
) -> Mention:
    """Raises :class:`MalformedStatus` when a field Vigie needs is missing or wrong.

    A mention of an account in ``in_full`` (``name@host``, lower case: the brands' accounts
    configured in full) reads ``@name@host``, so that handle matches; Mastodon shows ``@name``.
    Other mentions stay as shown: their domains written out would match brands named like an
    instance (``@ana@kestrel.social`` is not about Kestrel)."""
    post = original(status)
    try:
        account = post["account"]
        accounts = [one for one in named(post, instance_host) if one.handle.lower() in in_full]
        text = content_text(post.get("content") or "", accounts)
        spoiler = (post.get("spoiler_text") or "").strip()
        return Mention(
            source=source,
            native_id=post["id"],
            text=f"{spoiler}\n\n{text}" if spoiler and text else spoiler or text,
            created_at=parse_time(post["created_at"]),
            url=post.get("url") or post.get("uri") or "",
            author=Author(
                handle=_handle(account["acct"], instance_host),
                name=account.get("display_name") or account.get("username") or "",
                followers=_count(account, "followers_count"),
            ),
            engagement=Engagement(
                reposts=_count(post, "reblogs_count"),
                likes=_count(post, "favourites_count"),
                replies=_count(post, "replies_count"),
                quotes=_count(post, "quotes_count"),
            ),
            language=post.get("language") or "",
            parent_id=post.get("in_reply_to_id") or "",
            raw=cast(dict[str, Any], status),
        )
    except (KeyError, TypeError, AttributeError, MalformedRecord) as error:
        raise MalformedStatus(f"status {post.get('id')}: {type(error).__name__}: {error}") from None


def comparable(text: str) -> str:
    """``text`` as compared with a posted status's: runs of white space (line and paragraph
    breaks too) as one space, mentions as ``@name`` in lower case."""
    text = _MENTION.sub(lambda found: "@" + found[1].casefold(), text)
    return " ".join(text.split())


def reply_by(
    statuses: Iterable[Status], parent_id: str, account_id: str, text: str
) -> Status | None:
    """The first of ``statuses`` that account ``account_id`` posted in reply to ``parent_id``,
    saying ``text`` (as :func:`comparable`; the status's HTML read as text)."""
    wanted = comparable(text)
    for status in statuses:
        account = status.get("account")
        if (
            status.get("in_reply_to_id") == parent_id
            and isinstance(account, dict)
            and account.get("id") == account_id
            and comparable(content_text(status.get("content") or "")) == wanted
        ):
            return status
    return None


def named(status: Status, instance_host: str) -> list[Named]:
    """The accounts ``status`` mentions, each with its handle in full; odd entries left out (the
    mention then reads as shown, which loses a match rather than the post)."""
    entries: Any = status.get("mentions")
    found = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        url, username, acct = (entry.get(key) for key in ("url", "username", "acct"))
        if isinstance(url, str) and isinstance(username, str) and isinstance(acct, str):
            handle = _handle(acct, instance_host)
            if handle:
                found.append(Named(url, username, handle))
    return found


def in_full(brands: Iterable[Brand]) -> frozenset[str]:
    """The brands' accounts configured with their host (``@kestrel_care@mastodon.social``), as
    ``name@host`` in lower case."""
    handles = (handle.strip().lstrip("@").lower() for brand in brands for handle in brand.handles)
    return frozenset(handle for handle in handles if "@" in handle)


def _handle(acct: str, instance_host: str) -> str:
    """``name@domain`` everywhere: this instance's accounts come without their domain."""
    acct = acct.strip().lstrip("@")
    return acct if "@" in acct or not acct else f"{acct}@{instance_host}"


def _count(entity: Mapping[str, Any], key: str) -> int:
    value = entity.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class RecentIds:
    """The last ``size`` ids taken, so a status streamed on two hashtags (or during the
    catch-up that follows a reconnection) is queued once."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, status_id: str) -> bool:
        """True when ``status_id`` is new."""
        if status_id in self._ids:
            self._ids.move_to_end(status_id)
            return False
        self._ids[status_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


class StatusReader:
    """Statuses of one source -> the mentions to queue. Malformed ones are skipped and counted
    (``on_malformed``), repeats dropped, firehose statuses kept only when they name a brand."""

    def __init__(
        self,
        source: str,
        instance_host: str,
        matcher: BrandMatcher,
        on_malformed: Callable[[int], None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.now = now
        self.instance_host = instance_host
        self.matcher = matcher
        self.on_malformed = on_malformed
        self.seen = RecentIds()
        self.in_full = in_full(matcher.brands)

    def read(
        self, statuses: Iterable[Status], *, firehose: bool, not_before: datetime | None = None
    ) -> list[Mention]:
        """The mentions to queue; ``not_before``: skip older posts (the very first start)."""
        mentions = []
        for status in statuses:
            mention = self.mention(status)
            if mention is None or (not_before is not None and mention.created_at < not_before):
                continue
            # seen once taken only: the public timeline refusing a post that does not name a
            # brand must not stop its hashtag's feed from taking it
            if self.wanted(mention, firehose=firehose) and self.seen.add(mention.native_id):
                mentions.append(mention)
        return mentions

    def wanted(self, mention: Mention, *, firehose: bool) -> bool:
        return not firehose or bool(self.matcher.match(mention.text))

    def decode(self, data: str) -> Status | None:
        """A streamed status (``data`` of an ``update`` or ``status.update`` event)."""
        try:
            return as_status(json.loads(data))
        except ValueError as error:  # MalformedStatus too
            self._skip(error)
            return None

    def mention(self, status: Status) -> Mention | None:
        try:
            mention = to_mention(self.source, status, self.instance_host, self.in_full)
        except MalformedStatus as error:
            self._skip(error)
            return None
        return not_in_future(mention, self.now())

    def _skip(self, error: Exception) -> None:
        logger.debug("source %s: skipped a status: %s", self.source, error)
        self.on_malformed(1)
