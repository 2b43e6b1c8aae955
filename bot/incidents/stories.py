"""Which live incident already tells a group's story, so that one story pages once.

A mention counts in each of its topics (the post it replies to, its links, its hashtags) and in
the brand's storm, so one story can fill several groups. Before a group opens an incident, the
engine asks here whether a live incident already holds it: the post a reply thread answers
(the thread then joins that incident), or most of the mentions the group counted this hour
(the group then waits: it opens once most of its hour is a story nobody tells yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.incidents.effects import Journal
from bot.incidents.groups import STORM, GroupRisk
from bot.incidents.model import Incident

GroupKey = tuple[str, str]


def holding_the_post_replied_to(
    journal: Journal, live: Mapping[GroupKey, int], key: GroupKey
) -> int | None:
    """The live incident of the brand that already holds the post a reply thread answers:
    replies piling up under a post of an incident are that incident's story, not another one
    to page about."""
    kind, _, ref = key[1].partition(":")
    source, _, parent_id = ref.partition(":")
    if kind != "thread" or not parent_id:
        return None
    return journal.incident_holding((source, parent_id), _of_brand(live, key[0]))


def told_already(
    journal: Journal,
    live: Mapping[GroupKey, int],
    incidents: Mapping[int, Incident],
    key: GroupKey,
    group: GroupRisk,
) -> bool:
    """Whether a live topic incident of the brand already holds most of the mentions this group
    counted in its hour ("cancelled again #refundnow #neveragain" fills three groups: one story
    opens one incident). A storm incident holds every complaint that has no live topic, so it
    tells no topic's story: a topic still splits out of a storm. Incidents are told apart by
    their own topic, not by the routes to them (a storm holds the threads it joined)."""
    topical = [i for i in _of_brand(live, key[0]) if incidents[i].topic != STORM]
    refs = list(dict.fromkeys(group.recent_refs()))
    if not topical or not refs:
        return False
    held = journal.held_counts(refs, topical)
    return any(2 * count > len(refs) for count in held.values())


def joined_why(incident: Incident, topic: str) -> str:
    """The timeline's words for a reply thread joining ``incident``."""
    _, source, parent_id = topic.split(":", 2)
    author = next(
        (e["author"] for e in incident.examples if list(e["key"]) == [source, parent_id]), ""
    )
    post = f"@{author.lstrip('@')}'s post" if author else f"{source} post {parent_id}"
    return f"replies to {post} count here"


def _of_brand(live: Mapping[GroupKey, int], brand: str) -> Sequence[int]:
    return sorted({incident_id for (of, _), incident_id in live.items() if of == brand})
