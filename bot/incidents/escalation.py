"""Running an incident's escalation chain: notify, wait, escalate, with holds and reminders.

Each step kind has one handler (a dispatch table); a handler returns the incident and whether the
chain goes on to the next step now. Every step leaves an audit record saying what it did or why
it did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.config.incidents import EscalateStep, IncidentPolicy, NotifyStep, Step, WaitStep
from bot.incidents.cards import signature
from bot.incidents.effects import Effects
from bot.incidents.groups import BIN
from bot.incidents.model import Chain, Incident, IntentKind, LevelChange, Status
from bot.incidents.quiet import quiet_until

if TYPE_CHECKING:
    from bot.incidents.engine import IncidentEngine

Hold = tuple[str, datetime]  # why, and until when
HoldCheck = Callable[[Incident, datetime], Hold | None]
GROWTH = 5
"""Risk points that count as growth: before an acknowledged incident's owner hears again, and
for ``only_if_rising`` (a point or two is noise in the hour's mix, not a storm getting worse;
``only_if_rising`` also counts a doubled volume, see ``_rising``)."""
CALMING = "calming down"
"""Why a chain is parked (``Chain.held``, with no ``due``): a step that pages or escalates came
due while risk was below every level. It runs when risk reaches a level again (``wake``): a
lull must not use up the chain of a storm that comes back, nor page about one that is over."""
QUIET = "quiet hours"
"""Why a chain is held (``Chain.held``) during the policy's quiet hours."""


class StepHandler(Protocol):
    def __call__(self, incident: Incident, step: Step, at: datetime) -> tuple[Incident, bool]: ...


class Escalation:
    def __init__(self, effects: Effects, hold: HoldCheck) -> None:
        self.effects = effects
        self.hold = hold
        self.handlers: dict[type, StepHandler] = {
            NotifyStep: self._notify,  # type: ignore[dict-item]
            WaitStep: self._wait,  # type: ignore[dict-item]
            EscalateStep: self._escalate,  # type: ignore[dict-item]
        }

    def run(self, incident: Incident, at: datetime) -> Incident:
        """Run the chain from where it stands until it waits, is held, or ends."""
        if incident.status is Status.PENDING:
            incident = replace(incident, status=Status.OPEN)
            chain = _chain(incident, incident.level, at)
            incident = replace(incident, chain=chain)
        while incident.chain is not None:
            steps = incident.policy.levels[incident.chain.level].steps
            if incident.chain.step >= len(steps):
                return replace(incident, chain=replace(incident.chain, due=None, held=""))
            step = steps[incident.chain.step]
            incident, go_on = self.handlers[type(step)](incident, step, at)
            if not go_on:
                return incident
            assert incident.chain is not None
            incident = replace(
                incident,
                chain=replace(
                    incident.chain,
                    step=incident.chain.step + 1,
                    due=None,
                    held="",
                    unsnoozed_due=None,
                ),
            )
        return incident

    def raise_level(self, incident: Incident, level: int, at: datetime, why: str) -> Incident:
        """Move to a higher level and start its chain (after group_wait if still pending)."""
        name = incident.policy.levels[level].name
        incident = replace(
            incident,
            level=level,
            levels=(*incident.levels, LevelChange(name, at, why)),
            updated_at=at,
        )
        self.effects.audit(incident, at, "escalated", f"to {name}: {why}")
        if incident.status is Status.PENDING:
            assert incident.chain is not None
            return replace(incident, chain=replace(incident.chain, level=level))
        incident = replace(incident, chain=_chain(incident, level, at))
        if incident.channels:
            incident = self.effects.update_cards(incident, at)
        notified = self._notified_channels(incident.policy, level)
        held = self.hold(incident, at) is not None  # snoozed, silenced, quiet: the card says it
        for channel in incident.channels:
            if channel not in notified and not held:  # its notify step says so there
                text = f"Escalated to {name}: {why}"
                incident = self.effects.emit(incident, IntentKind.THREAD, channel, at, text)
        return self.run(incident, at)

    @staticmethod
    def _notified_channels(policy: IncidentPolicy, level: int) -> set[tuple[str, str]]:
        targets = [
            policy.targets[step.notify]
            for step in policy.levels[level].steps
            if isinstance(step, NotifyStep)
        ]
        return {(target.platform, target.channel) for target in targets}

    def remind(self, incident: Incident, at: datetime) -> Incident:
        """Reminders while open: every level's ``remind_every`` when nobody acknowledged, and the
        owner's when an acknowledged incident keeps growing."""
        policy = incident.policy
        since = incident.last_reminder_at or incident.notified_at
        if since is None or not incident.channels or self.hold(incident, at):
            return incident
        chain = incident.chain
        if chain is not None and chain.due is not None and chain.due <= at:
            return incident  # the level's steps run now (a hold ended): they page, not this
        if incident.status is Status.OPEN:
            # levels never go down, but reminders follow the risk: at the pace of the level it
            # reaches now, none below every level (calming down)
            now_at = policy.level_for(incident.risk)
            if now_at is None:
                return incident
            every = policy.levels[min(now_at, incident.level)].remind_every
            if incident.levels:  # a new level's notification pages anew: its reminders count
                since = max(since, incident.levels[-1].at)  # from there, or from its notify
            if incident.last_paged_at is not None:  # steps if they were held (a snooze)
                since = max(since, incident.last_paged_at)
            if every and at - since >= every:
                text = f"Reminder: nobody has acknowledged this {incident.level_name} incident"
                text += f"; risk now {incident.risk}"
                if incident.peak_risk > incident.risk:
                    text += f" (peak {incident.peak_risk})"
                return self._remind(incident, at, text, self._level_mention(incident))
        elif incident.status is Status.ACKNOWLEDGED and policy.ack_remind_every:
            since = max(
                d for d in (incident.last_reminder_at, incident.acknowledged_at, since) if d
            )
            if (
                at - since >= policy.ack_remind_every
                and incident.risk >= incident.ack_risk + GROWTH
            ):
                text = f"Still growing: risk {incident.risk}, {incident.ack_risk} when acknowledged"
                incident = self._remind(incident, at, text, incident.acknowledged_by)
                return replace(incident, ack_risk=incident.risk)
        return incident

    # -- step handlers ---------------------------------------------------------------------------

    def _notify(self, incident: Incident, step: NotifyStep, at: datetime) -> tuple[Incident, bool]:
        held = self.hold(incident, at)
        if held is not None:
            return self._held(incident, at, held), False
        chain = incident.chain
        assert chain is not None
        target = incident.policy.targets[step.notify]
        channel = (target.platform, target.channel)
        # a step that waited (a hold, a ``wait`` step before it, or group_wait before the first
        # card) was decided earlier and is judged again now: a storm that calmed meanwhile
        # pages nobody; one that calmed during quiet hours (or a ``wait``) before any card was
        # posted still gets its first card, quietly (the team learns of it; its complaints may
        # want answers)
        after_wait = _after_wait(incident, chain)
        calmed = (bool(chain.held) or after_wait) and _calming(incident)
        if calmed and (chain.held not in (QUIET, "") or incident.channels):
            return self._park(incident, at, "held"), False
        mention = step.mention_for(target)
        # acknowledged while the step waited (a hold, a ``wait`` step, or group_wait before the
        # first card, by a command): the card still goes, but nobody needs paging about it
        waited = bool(chain.held) or after_wait or incident.notified_at is None
        handled = waited and _acknowledged_since(incident, chain)
        if handled or calmed:  # the card still belongs in the channel; paging someone does not
            mention = ""
        if channel not in incident.channels:
            incident = replace(incident, channels=(*incident.channels, channel))
            incident = self.effects.emit(incident, IntentKind.OPEN, channel, at, mention=mention)
        else:
            text = f"Now {incident.level_name}: {incident.explanation}"
            change = incident.levels[-1] if incident.levels else None
            if change is not None and change.at == at and not change.why.startswith("risk"):
                text = f"Now {incident.level_name}, {change.why}: {incident.explanation}"
            incident = self.effects.emit(
                incident, IntentKind.THREAD, channel, at, text, mention=mention
            )
        incident = replace(
            incident,
            notified_at=incident.notified_at or at,
            last_card_at=at,
            last_paged_at=at,
            card_signature=signature(incident),
        )
        detail = f"{step.notify} ({channel[0]} {channel[1]})" + (f", {mention}" if mention else "")
        if handled:
            during = (
                "the hold"
                if chain.held
                else "the chain's wait"
                if after_wait
                else "the wait for its first card"
            )
            detail += f", nobody paged: acknowledged by {incident.acknowledged_by} during {during}"
        elif calmed:
            during = "quiet hours" if chain.held == QUIET else "the chain's wait"
            detail += f", nobody paged: it calmed down during {during}"
        self.effects.audit(incident, at, "notified", detail)
        assert incident.chain is not None
        return replace(incident, chain=replace(incident.chain, held="")), True

    def _wait(self, incident: Incident, step: WaitStep, at: datetime) -> tuple[Incident, bool]:
        chain = incident.chain
        assert chain is not None
        if step.wait <= timedelta(0) or (chain.due is not None and chain.due <= at):
            return incident, True
        return replace(incident, chain=replace(chain, due=at + step.wait)), False

    def _escalate(
        self, incident: Incident, step: EscalateStep, at: datetime
    ) -> tuple[Incident, bool]:
        chain = incident.chain
        assert chain is not None
        options = step.escalate
        if _calming(incident):
            return self._park(incident, at, "not escalated"), False
        if options.unless_acknowledged and incident.status is Status.ACKNOWLEDGED:
            why = f"acknowledged by {incident.acknowledged_by}"
            self.effects.audit(incident, at, "not escalated", why)
            return incident, True
        snooze = snoozed(incident, at)
        if snooze is not None:  # a snooze holds the chain: the escalation is judged at its end
            return self._held(incident, at, snooze, "escalation"), False
        if options.only_if_rising and not _rising(incident, chain):
            why = (
                f"not rising since the level began: risk {chain.start_risk} -> {incident.risk}, "
                f"{chain.start_negative} -> {sum(incident.trend)} negative mentions in the hour"
            )
            self.effects.audit(incident, at, "not escalated", why)
            return incident, True
        level = incident.policy.escalation_target(incident.level, step)
        if level <= incident.level:
            return incident, True  # already there (risk got it there first)
        since = _minutes(at - (chain.started_at or at))
        why = f"no acknowledgement after {since}" if options.unless_acknowledged else "chain step"
        if options.only_if_rising:
            why += (
                f", rising: risk {chain.start_risk} -> {incident.risk}, "
                f"{chain.start_negative} -> {sum(incident.trend)} negative mentions in the hour"
            )
        return self.raise_level(incident, level, at, why), False

    # -- helpers -----------------------------------------------------------------------------------

    def _held(self, incident: Incident, at: datetime, held: Hold, what: str = "") -> Incident:
        why, until = held
        chain = incident.chain
        assert chain is not None
        until = max(until, at + timedelta(seconds=1))
        if chain.held != why:
            detail = f"{why}, until {until:%Y-%m-%d %H:%M} UTC"
            self.effects.audit(incident, at, "held", f"{what}: {detail}" if what else detail)
        return replace(incident, chain=replace(chain, due=until, held=why))

    def _park(self, incident: Incident, at: datetime, action: str) -> Incident:
        """Keep the chain at this step until risk reaches a level again (see ``CALMING``)."""
        chain = incident.chain
        assert chain is not None
        if chain.held != CALMING:
            why = f"{CALMING}: risk {incident.risk} is below every level; until it reaches one"
            self.effects.audit(incident, at, action, why)
        return replace(incident, chain=replace(chain, due=None, held=CALMING))

    def _remind(self, incident: Incident, at: datetime, text: str, mention: str) -> Incident:
        channel = self._level_channel(incident)
        incident = self.effects.emit(
            incident, IntentKind.THREAD, channel, at, text, mention=mention
        )
        self.effects.audit(incident, at, "reminded", text)
        return replace(incident, last_reminder_at=at)

    def _level_channel(self, incident: Incident) -> tuple[str, str]:
        """Where the current level's first notify step posts, if the card is there."""
        policy = incident.policy
        for step in policy.levels[incident.level].steps:
            if isinstance(step, NotifyStep):
                target = policy.targets[step.notify]
                if (target.platform, target.channel) in incident.channels:
                    return target.platform, target.channel
        return incident.channels[0]

    def _level_mention(self, incident: Incident) -> str:
        policy = incident.policy
        for step in policy.levels[incident.level].steps:
            if isinstance(step, NotifyStep):
                return step.mention_for(policy.targets[step.notify])
        return ""


def _chain(incident: Incident, level: int, at: datetime) -> Chain:
    """A level's chain starting now, with where risk and volume stand."""
    return Chain(level, started_at=at, start_risk=incident.risk, start_negative=sum(incident.trend))


def wake(incident: Incident, at: datetime) -> Incident:
    """A chain parked while calming runs at ``at`` once risk is at a level again."""
    chain = incident.chain
    if chain is None or chain.held != CALMING or chain.due is not None or _calming(incident):
        return incident
    return replace(incident, chain=replace(chain, due=at))


def before_skipped_escalation(incident: Incident, at: datetime) -> Chain | None:
    """The level's chain taken back to the wait before its first ``unless_acknowledged``
    escalation step already passed, starting now: with nobody owning the incident again, the
    escalation an acknowledgement held off can happen. None when no such step was passed, or
    when going back would run a notify step again (it would page people a second time)."""
    chain = incident.chain
    if chain is None:
        return None
    steps = incident.policy.levels[chain.level].steps
    passed = [
        i
        for i, step in enumerate(steps[: chain.step])
        if isinstance(step, EscalateStep) and step.escalate.unless_acknowledged
    ]
    if not passed:
        return None
    start = passed[0]
    while start > 0 and isinstance(steps[start - 1], WaitStep):
        start -= 1
    if any(isinstance(step, NotifyStep) for step in steps[start : chain.step]):
        return None
    return replace(chain, step=start, due=None, held="", started_at=at)


def _calming(incident: Incident) -> bool:
    return incident.calm_since is not None or incident.policy.level_for(incident.risk) is None


def _after_wait(incident: Incident, chain: Chain) -> bool:
    """A ``wait`` step of this level came before the step the chain is at: what the step was
    to page about may have been acknowledged or have calmed down since."""
    steps = incident.policy.levels[chain.level].steps[: chain.step]
    return any(isinstance(step, WaitStep) and step.wait > timedelta(0) for step in steps)


def _acknowledged_since(incident: Incident, chain: Chain) -> bool:
    """Acknowledged after this level's chain began: someone answered what it was to page."""
    if incident.status is not Status.ACKNOWLEDGED:
        return False
    began, acked = chain.started_at, incident.acknowledged_at
    return began is None or acked is None or acked >= began


def _rising(incident: Incident, chain: Chain) -> bool:
    """Risk up ``GROWTH`` points since the level began, or the hour's negative volume doubled
    (by at least ``min_mentions``): risk is log-scaled and its burst part saturates, so a storm
    going from 4 to 24 complaints an hour may add only a couple of points."""
    if incident.risk >= chain.start_risk + GROWTH:
        return True
    start, now = chain.start_negative, sum(incident.trend)
    return now >= max(2 * start, start + incident.policy.min_mentions)


def snoozed(incident: Incident, at: datetime) -> Hold | None:
    """The snooze holding the incident's chain now (its notifications and its escalations),
    and until when; None when it is not snoozed."""
    if incident.snoozed_until is not None and incident.snoozed_until > at:
        return f"snoozed by {incident.snoozed_by}", incident.snoozed_until
    return None


def hold_for(incident: Incident, at: datetime, engine: IncidentEngine) -> Hold | None:
    """Why a notification of this incident must wait now, and until when; None if it need not."""
    snooze = snoozed(incident, at)
    if snooze is not None:
        return snooze
    for silence in engine.silences:
        if silence.mutes_incident(incident, at):
            return f"silenced by {silence.created_by}", silence.expires_at
    policy = incident.policy
    quiet = policy.quiet_hours
    if quiet is not None:
        bypass = policy.level_index(quiet.bypass_level) if quiet.bypass_level else None
        if bypass is None or incident.level < bypass:
            end = quiet_until(quiet, at)
            if end is not None:
                return QUIET, end
    inhibitor = _inhibitor(incident, engine)
    if inhibitor is not None:
        return f"inhibited by #{inhibitor.id} ({inhibitor.level_name})", at + max(
            policy.group_interval, BIN
        )
    return None


def _inhibitor(incident: Incident, engine: IncidentEngine) -> Incident | None:
    """An incident that mutes this one. Each is read by its own policy snapshot (app.yaml may
    have been edited between their openings, moving level positions): the other inhibits from
    its snapshot's ``inhibit.level``, and this one is lesser when its level begins at a lower
    risk than the other's."""
    rule = incident.policy.inhibit
    if not rule.enabled:
        return None
    floor = incident.policy.levels[incident.level].min_risk
    for other in engine.incidents.values():
        if (
            other.id != incident.id
            and other.status in (Status.OPEN, Status.ACKNOWLEDGED)
            and _inhibits(other)
            and floor < other.policy.levels[other.level].min_risk
            and all(getattr(other, label) == getattr(incident, label) for label in rule.equal)
        ):
            return other
    return None


def _inhibits(incident: Incident) -> bool:
    """At or above the level from which its own policy snapshot's incidents inhibit others."""
    policy = incident.policy
    rule = policy.inhibit
    source = policy.level_index(rule.level) if rule.level else len(policy.levels) - 1
    return rule.enabled and incident.level >= source


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} min"
