"""The platform-neutral picture of an incident that every card, update and message is drawn from.

Renderers (console, Slack Block Kit, Teams Adaptive Card) turn this dict into their format; the
outbox stores it, so a card delivered late still shows the incident as it was when decided.
"""

from __future__ import annotations

import json
from typing import Any

from bot.incidents.model import Incident, topic_label


def card_of(incident: Incident, brand_name: str) -> dict[str, Any]:
    return {
        "incident": incident.id,
        "brand": brand_name,
        "topic": topic_label(incident.topic),
        "theme": incident.theme,
        "status": incident.status.value,
        "level": incident.level_name,
        "top_level": incident.top_level,
        "risk": incident.risk,
        "peak_risk": incident.peak_risk,
        "explanation": incident.explanation,
        "mentions": incident.mention_count,
        "opened_at": incident.opened_at.isoformat(),
        "acknowledged_by": incident.acknowledged_by,
        "snoozed_until": incident.snoozed_until.isoformat() if incident.snoozed_until else None,
        "snoozed_by": incident.snoozed_by,
        "resolved_by": incident.resolved_by,
        "merged_into": incident.merged_into,
        "trend": list(incident.trend),
        "examples": [dict(example) for example in incident.examples],
    }


def title_of(incident: Incident, brand_name: str) -> str:
    about = "" if incident.topic == "storm" else f" {topic_label(incident.topic)}"
    theme = f" ({incident.theme.replace('_', ' ')})" if incident.theme else ""
    return f"#{incident.id} {brand_name}{about}{theme}: {incident.level_name}, risk {incident.risk}"


def signature(incident: Incident) -> str:
    """What a person would notice changing on the card; risk in steps of 5 so it does not flap.
    Who snoozed it is added only while someone has (signatures stored before it was shown stay
    the same for incidents nobody snoozed)."""
    shown: list[object] = [
        incident.status.value,
        incident.level,
        incident.risk // 5,
        incident.mention_count,
        incident.acknowledged_by,
        incident.snoozed_until.isoformat() if incident.snoozed_until else "",
        incident.theme,
    ]
    if incident.snoozed_by and incident.snoozed_until:
        shown.append(incident.snoozed_by)
    return json.dumps(shown)
