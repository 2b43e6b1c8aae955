"""Reddit's things -> mentions and replies: the pure half of the Reddit source (no I/O).

A listing child is ``{"kind": "t3" | "t1", "data": {...}}``: a post (title and self text) or a
comment (body, under the post ``link_id``). ``POST /api/comment`` answers
``{"json": {"errors": [...], "data": {"things": [...]}}}``.

A thing's score is its ``reposts``: Reddit has no reshare, votes are what carry a post to more
readers (its spread: ``bot.sources.VOTING_TYPES``, ``bot.engagement``); ``likes`` stays 0 so it is
not counted twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.source_reddit import MAX_QUERY
from bot.model import Author, Brand, Engagement, Mention
from bot.records import MalformedRecord, parse_count, parse_text, parse_time
from bot.sources.polite import SourceError
from bot.sources.searching import search_terms

logger = logging.getLogger(__name__)

REDDIT = "https://www.reddit.com"


@dataclass(frozen=True, slots=True)
class Posted:
    """A reply Reddit accepted: the new comment's fullname and address."""

    native_id: str
    url: str


def default_queries(brands: tuple[Brand, ...]) -> list[str]:
    """The brands' terms OR-ed together, in as few queries as Reddit's length limit allows."""
    queries: list[str] = []
    for term in search_terms(brands):
        clause = term.replace('"', "")
        clause = f'"{clause}"' if re.search(r"\W", clause) else clause
        if queries and len(queries[-1]) + len(" OR ") + len(clause) <= MAX_QUERY:
            queries[-1] += " OR " + clause
        else:
            queries.append(clause[:MAX_QUERY])
    return queries


def to_mention(source: str, child: Any) -> Mention:
    """A ``t3`` (post) or ``t1`` (comment) listing child; :class:`MalformedRecord` otherwise."""
    kind = child.get("kind") if isinstance(child, dict) else None
    data = child.get("data") if isinstance(child, dict) else None
    if kind not in ("t1", "t3") or not isinstance(data, dict):
        raise MalformedRecord(f"not a post or a comment: {str(child)[:100]}")
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith(f"{kind}_"):
        raise MalformedRecord(f"{kind} without a fullname")
    author = parse_text(data.get("author"))
    score = data.get("score")
    if kind == "t3":
        parts = (parse_text(data.get("title")), parse_text(data.get("selftext")))
        text, parent = "\n\n".join(part for part in parts if part), ""
        replies = parse_count(data.get("num_comments"))
    else:
        text, parent, replies = parse_text(data.get("body")), parse_text(data.get("link_id")), 0
    return Mention(
        source=source,
        native_id=name,
        text=text,
        created_at=parse_time(data.get("created_utc")),
        url=_url(data),
        author=Author(handle="" if author == "[deleted]" else author),
        engagement=Engagement(
            reposts=parse_count(max(score, 0) if isinstance(score, int | float) else score),
            replies=replies,
        ),
        parent_id=parent,
        raw=data,
    )


def posted(answer: Any) -> Posted:
    """What ``POST /api/comment`` (``api_type=json``) answered: the comment, or why not."""
    body = answer.get("json") if isinstance(answer, dict) else None
    if not isinstance(body, dict):
        logger.debug("reddit: answered a reply with %.200r", answer)
        raise SourceError("reddit: unexpected answer to a reply")
    errors = body.get("errors") or []
    if errors:  # [["RATELIMIT", "you are doing that too much…", "ratelimit"]]
        first = errors[0] if isinstance(errors, list) and isinstance(errors[0], list) else []
        code, message = [*first, "", ""][:2]
        if code == "RATELIMIT":
            raise SourceError(f"reddit: {message}", wait=_wait_from(str(message)))
        raise SourceError(f"reddit refused the reply: {code}: {message}", retryable=False)
    try:
        things = (body.get("data") or {}).get("things") or [{}]
        comment = things[0].get("data") or {}
        permalink = comment.get("permalink")
        return Posted(
            native_id=str(comment.get("name", "")),
            url=REDDIT + permalink if isinstance(permalink, str) else "",
        )
    except (AttributeError, TypeError, KeyError, IndexError) as error:
        logger.debug("reddit: answered a reply with %.200r", answer)
        raise SourceError("reddit: unexpected answer to a reply") from error


def _url(data: Mapping[str, Any]) -> str:
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/"):
        return REDDIT + permalink.split("?")[0]  # search adds ?ref=search_posts
    link, comment, sub = data.get("link_id"), data.get("id"), data.get("subreddit")
    if isinstance(link, str) and isinstance(comment, str) and isinstance(sub, str):
        return f"{REDDIT}/r/{sub}/comments/{link.removeprefix('t3_')}/_/{comment}/"
    return ""


def _wait_from(message: str) -> float | None:
    found = re.search(r"(\d+) (second|minute)", message)
    if found is None:
        return None
    return float(found[1]) * (60 if found[2] == "minute" else 1)
