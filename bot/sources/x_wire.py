"""The X API v2 filtered stream's words, without I/O: rules built from brands, the stream's
newline-delimited JSON cut into lines, a streamed tweet read into a :class:`Mention`.

Rule syntax (developer.x.com, "Build a rule"): a space is AND, ``OR`` is explicit, a phrase is in
double quotes, ``-`` negates, ``@handle`` matches posts mentioning the account, ``#tag`` the
hashtag, ``lang:`` and ``is:retweet`` need another operator beside them.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config.source_x import MAX_RULE, rule_tail, rule_term
from bot.model import Author, Brand, Engagement, Mention

logger = logging.getLogger(__name__)

MAX_LINE = 4 * 1024 * 1024
"""A line longer than this is not a tweet: the stream is broken (and memory is bounded)."""
_TWITTER_EPOCH_MS = 1_288_834_974_657  # tweet ids are snowflakes: (ms - epoch) << 22


class MalformedTweet(ValueError):
    """A stream line that is neither a keep-alive, a tweet nor an error object."""


class StreamFailed(Exception):
    """The stream sent an error object (operational disconnect...): reconnect."""


# -- rules -------------------------------------------------------------------------------------


def brand_rules(brand: Brand, limit: int = MAX_RULE) -> list[str]:
    """``("kestrel mobile" OR @kestrelmobile OR #kestreldown) -"american kestrel" -is:retweet
    (lang:en OR lang:fr)``, split into several rules when longer than ``limit``."""
    terms = list(dict.fromkeys(rule_term(t) for t in brand.terms if t.strip()))
    suffix = " " + " ".join(rule_tail(brand.exclude, brand.languages))
    rules: list[str] = []
    group: list[str] = []
    for term in terms:
        if len(_rule([*group, term], suffix)) > limit and group:
            rules.append(_rule(group, suffix))
            group = []
        group.append(term)
    if group:
        rules.append(_rule(group, suffix))
    too_long = [rule for rule in rules if len(rule) > limit]
    if too_long:
        raise ValueError(
            f"brand {brand.name}: a rule would be longer than {limit} characters "
            f"({too_long[0][:60]}...); set the source's rules yourself"
        )
    return rules


def _rule(terms: list[str], suffix: str) -> str:
    return (terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})") + suffix


def default_rules(brands: Iterable[Brand]) -> list[str]:
    return list(dict.fromkeys(rule for brand in brands for rule in brand_rules(brand)))


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What to change so that the rules tagged ``tag`` are exactly the wanted ones."""

    add: tuple[str, ...]
    delete: tuple[str, ...]  # rule ids
    kept: dict[str, str]  # id -> value, wanted rules already there (whatever their tag)


def plan_rules(existing: Iterable[Mapping[str, Any]], wanted: Iterable[str], tag: str) -> RulePlan:
    wanted = list(dict.fromkeys(wanted))
    kept: dict[str, str] = {}
    delete: list[str] = []
    for rule in existing:
        rule_id, value = str(rule.get("id")), str(rule.get("value"))
        if value in wanted and value not in kept.values():
            kept[rule_id] = value
        elif rule.get("tag") == tag:
            delete.append(rule_id)
    add = tuple(value for value in wanted if value not in kept.values())
    return RulePlan(add, tuple(delete), kept)


# -- the stream --------------------------------------------------------------------------------


class LineSplitter:
    """Bytes as they arrive (a line may span reads) -> complete lines; ``b""`` is a keep-alive."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self.max_line:
            raise MalformedTweet(f"a line longer than {self.max_line} bytes")
        return [line.strip() for line in lines]


@dataclass(frozen=True, slots=True)
class Heard:
    tweet_id: str
    mention: Mention
    rules: tuple[str, ...]  # ids of the rules it matched
    tags: tuple[str, ...]


def read_line(source: str, line: bytes) -> Heard:
    """One non-blank stream line: a tweet, or :class:`StreamFailed` for an error object;
    :class:`MalformedTweet` says why anything else is not read."""
    try:
        return _read_line(source, line)
    except (StreamFailed, MalformedTweet):
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError) as error:
        # a shape the API never sends: skip the line, keep the stream
        raise MalformedTweet(f"unreadable tweet: {type(error).__name__}: {error}"[:200]) from None


def _read_line(source: str, line: bytes) -> Heard:
    try:
        item = json.loads(line)
    except ValueError as error:
        raise MalformedTweet(f"not JSON: {line[:80]!r}") from error
    if not isinstance(item, dict):
        raise MalformedTweet("not a JSON object")
    if "data" not in item:
        errors = item.get("errors")
        if isinstance(errors, list) and errors:
            raise StreamFailed(problem(item))
        raise MalformedTweet("neither data nor errors")
    data = item["data"]
    if not isinstance(data, dict):
        raise MalformedTweet("data is not an object")
    users = (item.get("includes") or {}).get("users") or []
    mention = to_mention(source, data, users if isinstance(users, list) else [])
    matching = item.get("matching_rules") or []
    if not isinstance(matching, list):
        raise MalformedTweet("matching_rules is not a list")
    rules = tuple(str(r.get("id")) for r in matching if isinstance(r, dict))
    tags = tuple(str(r.get("tag")) for r in matching if isinstance(r, dict) and r.get("tag"))
    return Heard(mention.native_id, mention, rules, tags)


def to_mention(source: str, data: Mapping[str, Any], users: list[Any]) -> Mention:
    tweet_id, text = data.get("id"), data.get("text")
    if not isinstance(tweet_id, str) or not tweet_id.isdigit():
        raise MalformedTweet(f"tweet id is {tweet_id!r}")
    if not isinstance(text, str):
        raise MalformedTweet(f"tweet {tweet_id} has no text")
    note = data.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        text = note["text"]  # a long post: text is cut at 280 characters
    author_id = data.get("author_id")
    user = next(
        (u for u in users if isinstance(u, dict) and author_id and u.get("id") == author_id), {}
    )
    username = str(user.get("username") or "")
    followers = (user.get("public_metrics") or {}).get("followers_count")
    replied = [
        str(r.get("id"))
        for r in data.get("referenced_tweets") or []
        if isinstance(r, dict) and r.get("type") == "replied_to"
    ]
    return Mention(
        source=source,
        native_id=tweet_id,
        text=html.unescape(text),  # v2 still escapes &, < and > as entities
        created_at=_created_at(data.get("created_at"), tweet_id),
        url=f"https://x.com/{username or 'i'}/status/{tweet_id}",
        author=Author(
            handle=username or str(author_id or ""),
            name=str(user.get("name") or ""),
            followers=followers if isinstance(followers, int) else 0,
        ),
        engagement=engagement_of(data),
        language=_language(data.get("lang")),
        parent_id=replied[0] if replied else "",
        raw={"data": dict(data), "user": dict(user)},
    )


def engagement_of(data: Mapping[str, Any]) -> Engagement:
    metrics = data.get("public_metrics")
    if not isinstance(metrics, dict):
        return Engagement()

    def count(key: str) -> int:
        value = metrics.get(key)
        return value if isinstance(value, int) else 0

    return Engagement(
        reposts=count("retweet_count"),
        likes=count("like_count"),
        replies=count("reply_count"),
        quotes=count("quote_count"),
    )


def _created_at(value: Any, tweet_id: str) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        except ValueError:
            pass
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def _language(code: Any) -> str:
    """X's code, except its "undetermined"/"no text" (und, zxx) and private q* codes."""
    if not isinstance(code, str) or code in ("und", "zxx") or (len(code) == 3 and code[0] == "q"):
        return ""
    return code


def problem(body: Any) -> str:
    """The words of an X error body: a problem (title, detail) or a list of them."""
    if not isinstance(body, dict):
        return ""
    items = body.get("errors") if isinstance(body.get("errors"), list) else [body]
    said = []
    for item in items or []:
        if isinstance(item, dict):
            words = [str(item[k]) for k in ("title", "detail", "message") if item.get(k)]
            details = item.get("details")
            if isinstance(details, list):
                words += [str(d) for d in details]
            said.append(": ".join(dict.fromkeys(words)))
    return "; ".join(s for s in said if s)


def encode_position(newest_id: str) -> str:
    return json.dumps({"newest_id": newest_id})


def decode_position(position: str | None) -> str | None:
    if not position:
        return None
    try:
        newest = json.loads(position)["newest_id"]
    except (ValueError, TypeError, KeyError):
        logger.warning("x: unreadable stored position %r; starting from now", position)
        return None
    return newest if isinstance(newest, str) and newest.isdigit() else None


def newer(candidate: str, than: str | None) -> bool:
    return than is None or int(candidate) > int(than)
