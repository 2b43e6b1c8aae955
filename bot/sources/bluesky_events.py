"""Jetstream v1 frames -> mentions: the pure half of the Bluesky source (no I/O).

A frame is one JSON event: ``{"did", "time_us", "kind": "commit", "commit": {"operation",
"collection", "rkey", "cid", "record": {...}}}``, or an ``identity`` / ``account`` event. Only
created posts whose text (with the links, link card and alt texts it shows: bluesky_text.py)
names a brand become mentions; everything else only moves the cursor.
This runs on every post of the network, so the common case (a post about something else) costs
one JSON parse and one automaton pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import orjson

from bot.matching import BrandMatcher
from bot.model import Author, Mention
from bot.records import MalformedRecord, parse_time
from bot.sources.bluesky_text import post_text

POST = "app.bsky.feed.post"
POST_URI = "at://{did}/app.bsky.feed.post/{rkey}"
POST_URL = "https://bsky.app/profile/{did}/post/{rkey}"
# createdAt is what the client claims: an imported archive backdates it, a bad clock runs ahead.
# Beyond this distance from when the network saw the post, the network's time is used instead.
_PLAUSIBLE_CLAIM = timedelta(days=1)
_FUTURE_LEEWAY = timedelta(minutes=5)


class MalformedEvent(ValueError):
    """A frame that is not a Jetstream event, or a post that cannot become a mention."""


@dataclass(frozen=True, slots=True)
class Heard:
    """What one frame said: its time (the resume cursor) and a mention if it names a brand."""

    time_us: int
    mention: Mention | None = None


class JetstreamReader:
    def __init__(self, source: str, matcher: BrandMatcher) -> None:
        self.source = source
        self.matcher = matcher

    def read(self, frame: str | bytes) -> Heard:
        """One frame; raises :class:`MalformedEvent` for a frame to skip and count."""
        try:
            event = orjson.loads(frame)
        except orjson.JSONDecodeError as error:
            raise MalformedEvent(f"not JSON: {error}") from None
        if not isinstance(event, dict):
            raise MalformedEvent("not a JSON object")
        time_us = event.get("time_us")
        if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
            raise MalformedEvent(f"time_us is {time_us!r}, not a positive integer")
        if event.get("kind") != "commit":
            return Heard(time_us)  # identity and account events
        commit = event.get("commit")
        if not isinstance(commit, dict):
            raise MalformedEvent("a commit event without a commit object")
        if commit.get("operation") != "create" or commit.get("collection") != POST:
            return Heard(time_us)
        record = commit.get("record")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise MalformedEvent("a created post without a record text")
        text = post_text(record)  # with its links in full, card, alt texts: bluesky_text.py
        if not self.matcher.match(text):
            return Heard(time_us)
        return Heard(time_us, self._mention(event, commit, record, text))

    def _mention(
        self, event: dict[str, Any], commit: dict[str, Any], record: dict[str, Any], text: str
    ) -> Mention:
        did, rkey = event.get("did"), commit.get("rkey")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise MalformedEvent(f"did is {did!r}")
        if not isinstance(rkey, str) or not rkey or "/" in rkey:
            raise MalformedEvent(f"rkey is {rkey!r}")
        langs = record.get("langs")
        return Mention(
            source=self.source,
            native_id=POST_URI.format(did=did, rkey=rkey),
            text=text,
            created_at=_created_at(record.get("createdAt"), event["time_us"]),
            url=POST_URL.format(did=did, rkey=rkey),
            author=Author(handle=did),
            language=langs[0] if isinstance(langs, list) and langs and _is_str(langs[0]) else "",
            parent_id=_parent_uri(record.get("reply")),
            raw=event,
        )


def _created_at(claimed: Any, time_us: int) -> datetime:
    try:
        seen = datetime.fromtimestamp(time_us / 1_000_000, UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedEvent(f"time_us {time_us} is not a time") from None
    try:
        created = parse_time(claimed) if isinstance(claimed, str) else None
    except MalformedRecord:
        created = None
    if created is None or not seen - _PLAUSIBLE_CLAIM <= created <= seen + _FUTURE_LEEWAY:
        return seen
    return created


def _parent_uri(reply: Any) -> str:
    parent = reply.get("parent") if isinstance(reply, dict) else None
    uri = parent.get("uri") if isinstance(parent, dict) else None
    return uri if _is_str(uri) else ""


def _is_str(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)
