"""The platform-neutral picture of a set of drafts, which Slack and Teams render as one message
in the incident card's thread (the outbox stores it as the intent's card)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.drafts.addressing import as_published
from bot.drafts.limits import limit_for
from bot.drafts.model import Draft, DraftKind, DraftSet
from bot.drafts.templates import LANGUAGE_NAMES

KIND = "drafts"

PLATFORM_NAMES = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "reddit": "Reddit",
    "x": "X",
    "hackernews": "Hacker News",
    "web": "the web",
}


def drafts_card(
    drafts: DraftSet, variants: Sequence[Draft], brand_name: str, install: str = ""
) -> dict[str, Any]:
    """``install`` is the database's own id (``storage.drafts.install_id``): the buttons carry
    it, so a button posted by a database since started afresh acts on nothing of this one's."""
    target = drafts.target
    limit = limit_for(target.platform, target.limit)
    return {
        "type": KIND,
        "incident": drafts.incident_id,
        "set": drafts.id,
        "install": install,
        "kind": drafts.kind.value,
        "brand": brand_name,
        "language": _statement_language(drafts),
        "target": {
            "platform": target.platform,
            "platform_name": PLATFORM_NAMES.get(target.platform, target.platform),
            "limit": limit.maximum,
            "unit": limit.unit,
            "source": target.source,
            "url": target.url,
            "author": target.author,
            "excerpt": target.excerpt,
            "can_publish": target.can_publish,
        },
        "drafts": [
            {
                "id": draft.id,
                "version": draft.version,
                "variant": draft.variant,
                "language": draft.language,
                "text": draft.text,
                # as published: on Mastodon with the author's handle Vigie may put in front
                "length": limit.length(as_published(draft.text, target.platform, target.author)),
                "state": draft.state.value,
                "expires_at": draft.expires_at.isoformat(),
                "edited_by": draft.edited_by,
                "decided_by": draft.decided_by,
                "decided_at": draft.decided_at.isoformat() if draft.decided_at else None,
                "reason": draft.reason,
                "published_url": draft.published_url,
                "published_at": draft.published_at.isoformat() if draft.published_at else None,
                "notes": list(draft.notes),
            }
            for draft in variants
        ],
    }


def _statement_language(drafts: DraftSet) -> str:
    """The name of a holding statement's language when the incident has one per language
    (its key, ``native_id``, is the code then); "" for the only one, and for replies."""
    code = drafts.target.native_id if drafts.kind is DraftKind.STATEMENT else ""
    return LANGUAGE_NAMES.get(code, code)


def drafts_title(card: dict[str, Any]) -> str:
    """The one-line text of a drafts message (notifications, screen readers, the console)."""
    target = card["target"]
    if card["kind"] == "statement":
        language = f" ({card['language']})" if card.get("language") else ""
        return f"#{card['incident']} holding statement draft for {card['brand']}{language}"
    who = f"@{target['author']}" if target["author"] else "a post"
    return f"#{card['incident']} reply drafts for {who} on {target['platform_name']}"


@dataclass(frozen=True, slots=True)
class Markup:
    """How a chat platform writes the parts of a draft's state line."""

    person: Callable[[str], str]  # a user id as the platform shows a person
    time: Callable[[str | None], str]  # an ISO time as the reader should see it
    link: Callable[[str, str], str]  # (url, label) as a link; "" when the url is not safe
    text: Callable[[str], str]  # user-made text, made inert


def state_line(draft: Mapping[str, Any], target: Mapping[str, Any], markup: Markup) -> str:
    """What happened to a draft, in one line: who decided, when, and where it went."""
    who = markup.person(draft["decided_by"] or "vigie")
    at = markup.time(draft["decided_at"])
    reason = markup.text(draft["reason"] or "no reason given")
    state = draft["state"]
    if state == "proposed":
        line = f"Proposed · expires {markup.time(draft['expires_at'])}"
        if draft["edited_by"]:
            line += f" · edited by {markup.person(draft['edited_by'])}"
        notes = "; ".join(markup.text(note) for note in list(draft.get("notes") or [])[:5])
        return f"{line} · {notes}" if notes else line
    if state == "publishing":
        return f"✅ Approved by {who} at {at} · publishing…"
    if state == "published":
        link = markup.link(str(draft["published_url"] or ""), "view reply")
        published = markup.time(draft["published_at"])
        return f"✅ Approved by {who}, published {published}" + (f" — {link}" if link else "")
    if state == "approved":
        post = markup.link(str(target.get("url") or ""), "open the post") or "open the post"
        return f"✅ Approved by {who} at {at} · copy the text and {post} to reply"
    if state == "failed":
        return f"⚠️ Approved by {who}; publishing failed: {reason}"
    if state == "rejected":
        return f"❌ Rejected by {who} at {at}: {reason}"
    if state == "expired":
        return f"⌛ Expired at {markup.time(draft['expires_at'])}"
    if state == "withdrawn":
        return f"Withdrawn: {who} approved another draft at {at}"
    return markup.text(str(state))
