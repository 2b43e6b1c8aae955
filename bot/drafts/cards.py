"""The platform-neutral picture of a set of drafts, which Slack and Teams render as one message
in the incident card's thread (the outbox stores it as the intent's card)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.drafts.limits import limit_for
from bot.drafts.model import Draft, DraftSet

KIND = "drafts"

PLATFORM_NAMES = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "reddit": "Reddit",
    "x": "X",
    "hackernews": "Hacker News",
    "web": "the web",
}


def drafts_card(drafts: DraftSet, variants: Sequence[Draft], brand_name: str) -> dict[str, Any]:
    target = drafts.target
    limit = limit_for(target.platform, target.limit)
    return {
        "type": KIND,
        "incident": drafts.incident_id,
        "set": drafts.id,
        "kind": drafts.kind.value,
        "brand": brand_name,
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
                "length": limit.length(draft.text),
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


def drafts_title(card: dict[str, Any]) -> str:
    """The one-line text of a drafts message (notifications, screen readers, the console)."""
    target = card["target"]
    if card["kind"] == "statement":
        return f"#{card['incident']} holding statement draft for {card['brand']}"
    who = f"@{target['author']}" if target["author"] else "a post"
    return f"#{card['incident']} reply drafts for {who} on {target['platform_name']}"
