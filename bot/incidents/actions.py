"""What people do to incidents, platform-neutral: Slack buttons, Teams cards and the command
line all call these. Each runs inside one storage transaction, re-reads the incident, refuses
what no longer applies with a sentence saying why, audits who did what, and updates the cards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.incidents.effects import Journal
from bot.incidents.engine import IncidentEngine
from bot.incidents.escalation import before_skipped_escalation
from bot.incidents.groups import typed_topic
from bot.incidents.model import AuditEntry, Incident, Silence, Status, topic_label


@dataclass(frozen=True, slots=True)
class ActionResult:
    ok: bool
    message: str
    incident: Incident | None = None
    people: tuple[str, ...] = ()
    """The user ids the message names as they are, for a platform to show as people."""


def _live(engine: IncidentEngine, incident_id: int) -> Incident | ActionResult:
    incident = engine.incidents.get(incident_id)
    if incident is None:
        return ActionResult(False, f"incident #{incident_id} is not open (or no longer recent)")
    if incident.status is Status.RESOLVED:
        who = incident.resolved_by
        return ActionResult(False, f"#{incident_id} was already resolved by {who}", people=(who,))
    if incident.status is Status.MERGED:
        return ActionResult(False, f"#{incident_id} was merged into #{incident.merged_into}")
    return incident


def acknowledge(
    engine: IncidentEngine, journal: Journal, incident_id: int, user: str, at: datetime
) -> ActionResult:
    incident = _live(engine, incident_id)
    if isinstance(incident, ActionResult):
        return incident
    if incident.status is Status.ACKNOWLEDGED:
        when = f"{incident.acknowledged_at:%Y-%m-%d %H:%M} UTC" if incident.acknowledged_at else ""
        who = incident.acknowledged_by
        return ActionResult(
            False, f"#{incident_id} was already acknowledged by {who} {when}", people=(who,)
        )
    changed = replace(
        incident,
        status=Status.ACKNOWLEDGED,
        acknowledged_by=user,
        acknowledged_at=at,
        ack_risk=incident.risk,
        last_reminder_at=None,
    )
    return _apply(engine, journal, changed, user, at, "acknowledged", f"by {user}")


def unacknowledge(
    engine: IncidentEngine, journal: Journal, incident_id: int, user: str, at: datetime
) -> ActionResult:
    incident = _live(engine, incident_id)
    if isinstance(incident, ActionResult):
        return incident
    if incident.status is not Status.ACKNOWLEDGED:
        return ActionResult(False, f"#{incident_id} is not acknowledged: there is nothing to undo")
    changed = replace(
        incident, status=Status.OPEN, acknowledged_by="", acknowledged_at=None, last_reminder_at=at
    )
    rewound = before_skipped_escalation(changed, at)
    detail = f"by {user}" + (", the escalation it skipped runs again" if rewound else "")
    changed = replace(changed, chain=rewound or changed.chain)
    result = _apply(engine, journal, changed, user, at, "unacknowledged", detail)
    if rewound is not None and result.incident is not None:
        engine.rerun(engine.effects(journal), result.incident, at)  # its wait starts now
        engine.flush(journal)
        return replace(result, incident=engine.incidents[incident_id])
    return result


def snooze(
    engine: IncidentEngine,
    journal: Journal,
    incident_id: int,
    user: str,
    at: datetime,
    until: datetime,
) -> ActionResult:
    incident = _live(engine, incident_id)
    if isinstance(incident, ActionResult):
        return incident
    if until <= at:
        return ActionResult(False, "a snooze must end in the future")
    effects = engine.effects(journal)
    incident = replace(incident, snoozed_until=until, snoozed_by=user, updated_at=at)
    effects.audit(incident, at, "snoozed", f"until {until:%Y-%m-%d %H:%M} UTC", actor=user)
    incident = effects.update_cards(incident, at)
    chain = incident.chain
    if chain is not None and chain.due is not None:
        # the chain waits for the snooze, but never past it: snoozed again for less, it falls
        # due at the new end, or when its wait ends if that is later
        held = chain.held.startswith("snoozed")  # a step held by the snooze runs at its end
        natural = at if held else (chain.unsnoozed_due or chain.due)
        chain = replace(chain, due=max(natural, until), unsnoozed_due=natural)
        incident = replace(incident, chain=chain)
    return _done(engine, journal, incident, f"#{incident_id} snoozed until {until:%H:%M} UTC")


def resolve(
    engine: IncidentEngine, journal: Journal, incident_id: int, user: str, at: datetime
) -> ActionResult:
    incident = _live(engine, incident_id)
    if isinstance(incident, ActionResult):
        return incident
    engine.resolve(engine.effects(journal), incident, at, user, f"resolved by {user}")
    return _done(engine, journal, engine.incidents[incident_id], f"#{incident_id} resolved")


def reopen(
    engine: IncidentEngine, journal: Journal, incident_id: int, user: str, at: datetime
) -> ActionResult:
    incident = engine.incidents.get(incident_id)
    if incident is None or incident.status is not Status.RESOLVED:
        return ActionResult(False, f"#{incident_id} is not a recently resolved incident")
    if (incident.brand, incident.topic) in engine.live:
        other = engine.live[(incident.brand, incident.topic)]
        return ActionResult(False, f"#{other} is already open on the same topic")
    engine.reopen(engine.effects(journal), incident, at, user, f"reopened by {user}")
    return _done(engine, journal, engine.incidents[incident_id], f"#{incident_id} reopened")


def merge(
    engine: IncidentEngine,
    journal: Journal,
    source_id: int,
    target_id: int,
    user: str,
    at: datetime,
) -> ActionResult:
    source, target = _live(engine, source_id), _live(engine, target_id)
    for checked in (source, target):
        if isinstance(checked, ActionResult):
            return checked
    assert isinstance(source, Incident)
    assert isinstance(target, Incident)
    refused = _unmergeable(engine, source, target)
    if refused is not None:
        return ActionResult(False, refused)
    effects = engine.effects(journal)
    moved = journal.move_mentions(source.id, target.id)
    engine.merge_keys(source, target)
    source = replace(source, status=Status.MERGED, merged_into=target.id, chain=None, updated_at=at)
    effects.audit(source, at, "merged", f"into #{target.id}", actor=user)
    source = effects.update_cards(source, at, f"Merged into #{target.id}")
    engine.change(source)
    target = replace(
        target,
        mention_count=target.mention_count + moved,
        peak_risk=max(target.peak_risk, source.peak_risk),
        updated_at=at,
    )
    effects.audit(target, at, "absorbed", f"#{source.id} ({moved} mentions)", actor=user)
    target = effects.update_cards(target, at, f"#{source.id} merged into this incident")
    return _done(engine, journal, target, f"#{source.id} merged into #{target.id}")


def _unmergeable(engine: IncidentEngine, source: Incident, target: Incident) -> str | None:
    """Why ``source`` cannot be merged into ``target``, or None."""
    if source.id == target.id:
        return f"#{source.id} cannot be merged into itself"
    if source.brand != target.brand:
        names = engine.setup.brand_names
        return (
            f"#{source.id} ({names.get(source.brand, source.brand)}) and #{target.id} "
            f"({names.get(target.brand, target.brand)}) are different brands' incidents: "
            "only one brand's incidents can be merged"
        )
    return None


def silence(
    engine: IncidentEngine,
    journal: Journal,
    user: str,
    at: datetime,
    until: datetime,
    *,
    reason: str = "",
    brand: str = "",
    topic: str = "",
    author: str = "",
    source: str = "",
    incident_id: int | None = None,
) -> ActionResult:
    """Mute what matches until ``until``, audited on ``incident_id`` (the incident it was asked
    from; else the live incident of that brand and topic, if any). The same silence asked again
    by the same person while it lasts (a double click) is not added twice."""
    if until <= at:
        return ActionResult(False, "a silence must end in the future")
    if not (brand or topic or author or source):
        return ActionResult(False, "a silence needs at least one of brand, topic, author, source")
    if topic and (author or source):
        return ActionResult(False, "silence a topic, or an author/source, not both at once")
    if topic:
        try:  # as the card shows it (a link, a tag): the silence matches the topic's key
            topic = typed_topic(topic)
        except ValueError as error:
            return ActionResult(False, str(error))
    made = Silence(
        id=journal.next_silence_id(),
        created_by=user,
        created_at=at,
        expires_at=until,
        reason=reason,
        brand=brand,
        topic=topic,
        author=author.lstrip("@"),
        source=source,
    )
    what = _silenced(made)
    same = _same_silence(engine, made)
    if same is not None:
        return ActionResult(
            True, f"already silenced {what} until {same.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    journal.save_silence(made)
    engine.silences.append(made)
    on = incident_id if incident_id is not None else engine.live.get((brand, topic))
    if on is not None:
        detail = f"{what} until {until:%Y-%m-%d %H:%M} UTC" + (f": {reason}" if reason else "")
        journal.audit(AuditEntry(on, at, user, "silenced", detail))
    engine.flush(journal)
    return ActionResult(True, f"silenced {what} until {until:%Y-%m-%d %H:%M} UTC")


def _silenced(made: Silence) -> str:
    topic = topic_label(made.topic) if made.topic else ""
    fields = (("brand", made.brand), ("topic", topic), ("author", made.author))
    return ", ".join(
        f"{name} {value}" for name, value in (*fields, ("source", made.source)) if value
    )


def _same_silence(engine: IncidentEngine, made: Silence) -> Silence | None:
    """An unexpired silence by the same person on the same things, for the same reason, that
    lasts at least as long as ``made`` asks (a longer one asked is a new silence: it extends
    the first; another reason is a new one too, kept with its reason)."""
    asked = made.expires_at - made.created_at
    for kept in engine.silences:
        if (
            kept.created_by == made.created_by
            and (kept.brand, kept.topic, kept.author, kept.source, kept.reason)
            == (made.brand, made.topic, made.author, made.source, made.reason)
            and kept.active(made.created_at)
            and kept.expires_at - kept.created_at >= asked
        ):
            return kept
    return None


def _apply(
    engine: IncidentEngine,
    journal: Journal,
    incident: Incident,
    user: str,
    at: datetime,
    action: str,
    detail: str,
) -> ActionResult:
    """Audit a person's change of an incident, update its cards, and keep it."""
    effects = engine.effects(journal)
    incident = replace(incident, updated_at=at)
    effects.audit(incident, at, action, detail, actor=user)
    incident = effects.update_cards(incident, at)
    return _done(engine, journal, incident, f"#{incident.id} {action} {detail}".rstrip())


def _done(
    engine: IncidentEngine, journal: Journal, incident: Incident, message: str
) -> ActionResult:
    engine.change(incident)
    engine.flush(journal)
    return ActionResult(True, message, incident)
