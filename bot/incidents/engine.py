"""The incident engine: groups negative mentions into incidents and runs each one's life.

Everything happens on the injected time line: ``advance(until)`` walks it in order, closing every
group's 5-minute bin at its end (risk, open, level up, reminders, card updates, calm and
auto-resolve) and running each escalation chain when its timer falls due. A replay at any speed
therefore makes the same decisions, at the same event times, as a live run. Decisions go to the
journal (incidents, audit, outbox) in the caller's transaction; the caller reloads the engine
from storage if that transaction fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.accounts import is_own
from bot.config.incidents import IncidentPolicy
from bot.incidents.cards import signature
from bot.incidents.effects import Effects, Journal
from bot.incidents.escalation import QUIET, Escalation, hold_for, wake
from bot.incidents.groups import (
    BIN,
    STORM,
    BinSummary,
    GroupReading,
    GroupRisk,
    example_of,
    themes_of,
    topic_keys,
)
from bot.incidents.model import Chain, Incident, IntentKind, LevelChange, Silence, Status
from bot.incidents.stories import holding_the_post_replied_to, joined_why, told_already
from bot.model import ScoredMention, Sentiment

logger = logging.getLogger(__name__)

GroupKey = tuple[str, str]
MAX_CATCH_UP = timedelta(days=2)
"""A longer jump of time (a replay with a gap, a clock fixed after weeks) skips the bins between
instead of closing them one by one; two days is long enough for every timer of a policy."""
LATE = timedelta(hours=1)  # older mentions are filed, but no longer count as this hour's volume
MAX_EXAMPLES = 3
IDLE_TOPIC = timedelta(hours=1)
"""A topic group with no incident and no negative mention for this long is forgotten: most
hashtags and links are never shared again, and each group costs a detector update per bin."""


@dataclass(frozen=True)
class EngineSetup:
    policy: IncidentPolicy
    brand_names: dict[str, str]  # slug -> display name
    own_hashtags: dict[str, frozenset[str]] = field(default_factory=dict)  # slug -> {"#tag"}
    influencers: frozenset[str] = frozenset()  # handles as ``bot.accounts.own_accounts`` gives
    usual_per_hour: dict[str, float] = field(default_factory=dict)  # slug -> cold-start prior
    vote_sources: frozenset[str] = frozenset()
    """Sources whose mentions' reposts are upvotes (``bot.sources.VOTING_TYPES``)."""
    own_accounts: dict[str, frozenset[str]] = field(default_factory=dict)
    """slug -> the brand's own accounts (``bot.accounts.own_accounts``): their posts are not
    complaints, however negative ("sorry, flights are cancelled today")."""


@dataclass
class EngineState:
    """What the engine needs to resume after a restart (loaded from storage)."""

    now: datetime | None = None
    incidents: list[Incident] = field(default_factory=list)  # live and recently resolved
    groups: list[GroupRisk] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)


class IncidentEngine:
    def __init__(self, setup: EngineSetup, state: EngineState | None = None) -> None:
        self.setup = setup
        self.policy = setup.policy
        self._heard = False  # see started()
        self._unheard_after: datetime | None = None  # see leapt(); kept across reloads
        self.restore(state or EngineState())

    def restore(self, state: EngineState) -> None:
        self.now = state.now
        self.incidents = {incident.id: incident for incident in state.incidents}
        self.live: dict[GroupKey, int] = {}
        for incident in sorted(self.incidents.values(), key=lambda i: i.id):
            if incident.status.live:
                self.live[(incident.brand, incident.topic)] = incident.id
        self._route_merged_and_joined()
        self.groups = {group.key: group for group in state.groups}
        self.silences = list(state.silences)
        self._unheard = False
        self._changed: set[int] = set()
        self._dirty_groups: set[GroupKey] = set()
        self._dropped_groups: set[GroupKey] = set()
        if self.now is not None:
            for key in self.live:  # a live incident's group closes its bins: it can calm down
                self._group(key)  # and resolve even when its saved group could not be read

    def keeps_resolved(self) -> timedelta:
        """How long an incident resolved under the configured policy stays in memory (see
        ``kept_for``)."""
        return kept_for(self.policy)

    def _route_merged_and_joined(self) -> None:
        """The topics merged into, or joined to, a live incident go there (after a restart,
        and after a reopening: as they did before it was resolved)."""
        for incident in self.incidents.values():
            owner = _live_end(self.incidents, incident)
            if owner is None:
                continue
            if incident.status is Status.MERGED:
                self.live.setdefault((incident.brand, incident.topic), owner)
            for topic in incident.joined:  # a merged incident's joined topics moved with it
                self.live.setdefault((incident.brand, topic), owner)

    def started(self) -> None:
        """Live mode, once restored at start-up: the time from the saved clock to the first
        step was not heard (the service was not running); it counts neither as calm nor as
        storm (see ``_skip_unheard``). A reload after a failed transaction resumes a service
        that kept running, unless the step that skipped that time is the one rolled back."""
        if not self._heard:
            self._unheard = True

    def leapt(self, since: datetime) -> None:
        """Live mode: time leapt forward at ``since`` (the machine slept, or its clock was set
        forward): the time from the engine's clock to the first step after it was not heard, as
        after a restart. A step whose time was read before the leap (a batch scored across the
        suspension) leaves that to the next."""
        self._heard = False
        self._unheard = True
        self._unheard_after = since

    def committed(self) -> None:
        """The caller's transaction committed: once it holds the skip of the unheard time,
        later reloads are no longer a start."""
        if not self._unheard:
            self._heard = True

    # -- input ------------------------------------------------------------------------------

    def ingest(
        self, journal: Journal, batch: Sequence[ScoredMention], now: datetime, event_time: bool
    ) -> None:
        """File a batch of stored mentions; with ``event_time`` each one moves time to its post
        time (never past ``now``, the event clock, which ignores misdated posts), else the whole
        batch happens at ``now``."""
        effects = Effects(journal, self.setup.brand_names)
        if not event_time:
            self._advance(effects, now)
        for scored in batch:
            if event_time:
                self._advance(effects, min(scored.mention.created_at, now))
            if scored.negativity.sentiment is Sentiment.NEGATIVE:
                for brand in scored.brands:
                    self._file(effects, scored, brand)
        self._flush(journal)

    def advance(self, journal: Journal, until: datetime) -> None:
        """Move time to ``until``: close bins and run due escalation steps on the way."""
        effects = Effects(journal, self.setup.brand_names)
        self._advance(effects, until)
        self._flush(journal)

    # -- time line --------------------------------------------------------------------------

    def _advance(self, effects: Effects, until: datetime) -> None:
        if self.now is None:
            self.now, self._unheard = until, False
            return
        if self._unheard and (self._unheard_after is None or until > self._unheard_after):
            self._unheard, self._unheard_after = False, None
            if until - self.now > BIN:
                self._skip_unheard(effects, until)
        if until - self.now > MAX_CATCH_UP:
            self._walk(effects, self.now + MAX_CATCH_UP)  # a calm storm resolves, waits end
            logger.warning(
                "incident time jumps from %s to %s; the bins between are skipped",
                self.now.isoformat(),
                until.isoformat(),
            )
            self._skip_bins(until)
        self._walk(effects, until)

    def _skip_unheard(self, effects: Effects, until: datetime) -> None:
        """Skip the bins of a time the service was not running: empty bins there would read as
        calm (a storm going on all along resolves, then reopens as a new surprise when its
        backlog arrives). Its incidents go on as they were: each group's hour is the one it had
        when the service stopped, and calm counts again from now."""
        assert self.now is not None
        down = f"{self.now:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"
        logger.warning("not running from %s: those bins are skipped", down)
        for incident in self._live():
            why = f"Vigie was not running from {down}: that time does not count as calm"
            effects.audit(incident, until, "unheard", why)
            self._store(replace(incident, calm_since=None))
        self.now = _floor(until)
        for group in self.groups.values():
            group.resume_at(self.now)
            self._dirty_groups.add(group.key)

    def _skip_bins(self, until: datetime) -> None:
        self.now = _floor(until)
        for group in self.groups.values():
            group.skip_to(self.now)
            self._dirty_groups.add(group.key)

    def _walk(self, effects: Effects, until: datetime) -> None:
        assert self.now is not None
        while True:
            boundary = _floor(self.now) + BIN
            due = min(
                (i.chain.due for i in self._live() if i.chain and i.chain.due),
                default=None,
            )
            step = boundary if due is None or boundary <= due else max(due, self.now)
            if step > until:
                break
            self.now = step
            if step == boundary:
                self._close_bins(effects, step)
            self._run_due(effects, step)
        self.now = max(self.now, until)

    def _close_bins(self, effects: Effects, at: datetime) -> None:
        # topics first: when a topic and the storm it is part of both cross the line in one
        # bin, the topic (the more precise story) opens, and the storm sees its mentions told
        for key, group in sorted(self.groups.items(), key=lambda item: item[0][1] == STORM):
            if group.bin_start + BIN > at:
                continue
            reading = group.close()
            self._dirty_groups.add(key)
            self._on_reading(effects, key, group, reading)
            if key[1] != STORM and key not in self.live and group.idle(at, IDLE_TOPIC):
                del self.groups[key]
                self._dropped_groups.add(key)
        for incident_id, incident in list(self.incidents.items()):
            # a merged incident goes with the one it was merged into (the end of its chain),
            # each kept as long as its own policy snapshot says (app.yaml may have changed)
            end = _merge_end(self.incidents, incident)
            stale = end is None or (
                not end.status.live and (end.resolved_at or at) < at - kept_for(end.policy)
            )
            if stale and incident_id not in self._changed:  # unsaved changes are kept to flush
                del self.incidents[incident_id]

    def _run_due(self, effects: Effects, at: datetime) -> None:
        for incident in self._live():
            chain = incident.chain
            if chain is not None and chain.due is not None and chain.due <= at:
                self._store(self._escalation(effects).run(incident, at))

    # -- filing mentions --------------------------------------------------------------------

    def _file(self, effects: Effects, scored: ScoredMention, brand: str) -> None:
        mention = scored.mention
        assert self.now is not None
        if is_own(mention.author.handle, self.setup.own_accounts.get(brand, frozenset())):
            return
        if any(
            s.mutes_mention(brand, mention.author.handle, mention.source, self.now)
            for s in self.silences
        ):
            return
        topics = topic_keys(scored, self.setup.own_hashtags.get(brand, frozenset()))
        home = next(((brand, t) for t in topics if (brand, t) in self.live), (brand, STORM))
        incident_id = self.live.get(home)
        if self.now - LATE <= mention.created_at <= self.now + LATE:  # this hour's volume
            # (a post dated well after the event clock waits for a confirmation: see EventClock)
            influencer = is_own(mention.author.handle, self.setup.influencers)  # same rule
            votes = mention.source in self.setup.vote_sources
            keys = [(brand, t) for t in topics] + ([home] if home[1] == STORM else [])
            if incident_id is not None:  # merged: the incident's own group counts it too
                owner = self.incidents[incident_id]
                keys.append((owner.brand, owner.topic))
            for key in dict.fromkeys(keys):
                group = self._group(key)
                if not group.add(scored, influencer, votes):  # its bin keeps no more refs
                    effects.journal.note_overflow(key, self.now, mention.key)
                self._dirty_groups.add(key)
        if incident_id is not None:
            incident = self.incidents[incident_id]
            themes = dict(incident.themes)
            for theme in themes_of(scored):
                themes[theme] = themes.get(theme, 0) + 1
            examples = sorted(
                [*incident.examples, example_of(scored)], key=lambda e: -int(e["followers"])
            )[:MAX_EXAMPLES]
            effects.journal.attach(incident_id, [mention.key])
            self._store(
                replace(
                    incident,
                    mention_count=incident.mention_count + 1,
                    last_mention_at=_latest(incident.last_mention_at, mention.created_at),
                    themes=themes,
                    theme=_dominant(themes) or incident.theme,
                    examples=tuple(examples),
                )
            )

    def _group(self, key: GroupKey) -> GroupRisk:
        group = self.groups.get(key)
        if group is None:
            assert self.now is not None
            usual = self.setup.usual_per_hour.get(key[0]) if key[1] == STORM else None
            group = self.groups[key] = GroupRisk(key, _floor(self.now), usual)
            self._dropped_groups.discard(key)
        return group

    # -- reading a group's hour --------------------------------------------------------------

    def _on_reading(
        self, effects: Effects, key: GroupKey, group: GroupRisk, reading: GroupReading
    ) -> None:
        incident_id = self.live.get(key)
        if incident_id is None:
            # a storm that would reopen a recent incident is judged by that incident's own
            # policy snapshot (the one its levels index), not by today's app.yaml
            reopened = self._recently_resolved(key, reading.at)
            policy = reopened.policy if reopened is not None else self.policy
            level = policy.level_for(reading.risk.score)
            if level is not None and reading.negative >= self._needed(key, policy):
                journal = effects.journal
                holder = holding_the_post_replied_to(journal, self.live, key)
                if holder is not None:
                    self._join(effects, key, self.incidents[holder], reading.at)
                elif not told_already(journal, self.live, self.incidents, key, group):
                    self._open(effects, key, group, reading, level, reopened)
            return
        incident = self.incidents[incident_id]
        if (incident.brand, incident.topic) != key:
            return  # merged into another incident: that one's own group drives it
        self._store(self._on_update(effects, incident, reading, group.trend()))

    @staticmethod
    def _needed(key: GroupKey, policy: IncidentPolicy) -> int:
        """Negative mentions in an hour before this group is an incident."""
        return policy.min_mentions if key[1] == STORM else policy.topic_min_mentions

    def _open(
        self,
        effects: Effects,
        key: GroupKey,
        group: GroupRisk,
        reading: GroupReading,
        level: int,
        reopened: Incident | None,
    ) -> None:
        """Open an incident at ``level`` (of the current policy), or reopen ``reopened`` at
        ``level`` (of its own snapshot)."""
        at, risk = reading.at, reading.risk
        if reopened is not None:
            # the new storm's mentions (those heard since it was resolved) are the incident's
            since = group.recent_since(reopened.resolved_at or at)
            count = self._attach_hour(effects, reopened.id, key, group, since)
            themes = dict(reopened.themes)
            for b in since:
                for theme, times in b.themes.items():
                    themes[theme] = themes.get(theme, 0) + times
            examples = list(
                {
                    str(e.get("key")): e
                    for e in (*(b.top_example for b in since if b.top_example), *reopened.examples)
                }.values()
            )
            reopened = replace(
                reopened,
                level=level,
                risk=risk.score,
                peak_risk=max(reopened.peak_risk, risk.score),
                peak_negative=reading.negative,  # calm is measured against the new storm
                explanation=risk.explanation,
                mention_count=reopened.mention_count + count,
                last_mention_at=group.last_mention_at,
                themes=themes,
                theme=_dominant(themes) or reopened.theme,
                trend=group.trend(),
                examples=tuple(sorted(examples, key=lambda e: -int(e["followers"]))[:MAX_EXAMPLES]),
            )
            self._reopen(effects, reopened, at, "vigie", f"risk {risk.explanation}")
            return
        policy = self.policy
        name = policy.levels[level].name
        incident = Incident(
            id=effects.journal.next_incident_id(),
            brand=key[0],
            topic=key[1],
            theme="",
            status=Status.PENDING,
            level=level,
            policy=policy,
            opened_at=at,
            updated_at=at,
            risk=risk.score,
            peak_risk=risk.score,
            peak_negative=reading.negative,
            explanation=risk.explanation,
            levels=(LevelChange(name, at, f"risk {risk.explanation}"),),
            chain=Chain(
                level,
                due=at + policy.group_wait,
                started_at=at,
                start_risk=risk.score,
                start_negative=reading.negative,
            ),
        )
        count = self._attach_hour(effects, incident.id, key, group, [*group.closed, group.current])
        themes = group.recent_themes()
        incident = replace(
            incident,
            mention_count=count,
            last_mention_at=group.last_mention_at,
            themes=themes,
            theme=_dominant(themes),
            trend=group.trend(),
            examples=tuple(group.top_examples(MAX_EXAMPLES)),
        )
        self.live[key] = incident.id
        effects.audit(incident, at, "opened", f"at {name}: risk {risk.explanation}")
        self._store(incident)

    @staticmethod
    def _attach_hour(
        effects: Effects, incident_id: int, key: GroupKey, group: GroupRisk, bins: list[BinSummary]
    ) -> int:
        """Link the mentions ``bins`` (the group's last ones) counted to an incident; their
        number. Those beyond what a bin keeps references of are in storage."""
        refs = [ref for b in bins for ref in b.refs]
        effects.journal.attach(incident_id, refs)
        count = sum(b.count for b in bins)
        if count > len(refs):
            since = group.bin_start - (len(bins) - 1) * BIN
            effects.journal.attach_overflow(incident_id, key, since)
        return count

    def _on_update(
        self, effects: Effects, incident: Incident, reading: GroupReading, trend: tuple[int, ...]
    ) -> Incident:
        at, risk = reading.at, reading.risk
        incident = replace(
            incident,
            trend=trend,
            risk=risk.score,
            peak_risk=max(incident.peak_risk, risk.score),
            peak_negative=max(incident.peak_negative, reading.negative),
            explanation=risk.explanation,
            updated_at=at,
        )
        if incident.snoozed_until is not None and incident.snoozed_until <= at:
            incident = replace(incident, snoozed_until=None, snoozed_by="")  # off the card
        policy = incident.policy
        level = policy.level_for(risk.score)
        if level is None and self._calm(incident, reading):
            calm_since = incident.calm_since or at
            incident = replace(incident, calm_since=calm_since)
            if at - calm_since >= policy.resolve_after and not _awaits_its_first_card(incident):
                quiet = _duration(at - calm_since)
                return self._resolve(effects, incident, at, "vigie", f"calm for {quiet}")
        else:
            incident = wake(replace(incident, calm_since=None), at)  # a parked chain goes on
        if level is not None and level > incident.level:
            entered = policy.levels[level]
            why = f"risk {risk.score} reached {entered.name} ({entered.min_risk})"
            return self._escalation(effects).raise_level(incident, level, at, why)
        if incident.status is Status.PENDING:
            return incident
        incident = self._escalation(effects).remind(incident, at)
        if (
            incident.card_signature != signature(incident)
            and at - (incident.last_card_at or at) >= policy.group_interval
        ):
            incident = effects.update_cards(incident, at)
        return incident

    def _calm(self, incident: Incident, reading: GroupReading) -> bool:
        """Calm, with the risk below every level: the hour's volume is below what opens an
        incident, or has fallen to half its busiest hour. Risk alone is not enough: after
        ``max_burst_hours`` the burst detector takes a long storm for the brand's new level,
        and a storm still going at full strength must not resolve itself."""
        needed = self._needed((incident.brand, incident.topic), incident.policy)
        return reading.negative < needed or 2 * reading.negative <= incident.peak_negative

    # -- lifecycle shared with people ---------------------------------------------------------

    def _resolve(
        self, effects: Effects, incident: Incident, at: datetime, by: str, why: str
    ) -> Incident:
        incident = replace(
            incident,
            status=Status.RESOLVED,
            resolved_at=at,
            resolved_by=by,
            chain=None,
            calm_since=None,
            updated_at=at,
        )
        for key in [k for k, v in self.live.items() if v == incident.id]:
            del self.live[key]  # its topic and the topics merged into it: their hour's
            if key in self.groups:  # mentions are dealt with, a new incident (or a reopening)
                self.groups[key].consume()  # needs new ones
                self._dirty_groups.add(key)
                effects.journal.drop_overflow(key)
        effects.audit(incident, at, "resolved", why, actor=by)
        for channel in incident.channels:
            incident = effects.emit(incident, IntentKind.RESOLVE, channel, at, f"Resolved: {why}")
        return replace(incident, card_signature=signature(incident), last_card_at=at)

    def _reopen(
        self, effects: Effects, incident: Incident, at: datetime, by: str, why: str
    ) -> Incident:
        """Live again, at ``incident.level`` (the caller sets it for the new storm)."""
        level = incident.level
        incident = replace(
            incident,
            status=Status.OPEN if incident.notified_at else Status.PENDING,
            resolved_at=None,
            resolved_by="",
            acknowledged_by="",
            acknowledged_at=None,
            snoozed_until=None,
            snoozed_by="",
            updated_at=at,
            levels=(*incident.levels, LevelChange(incident.policy.levels[level].name, at, why)),
            chain=Chain(
                level, started_at=at, start_risk=incident.risk, start_negative=sum(incident.trend)
            ),
        )
        self.live[(incident.brand, incident.topic)] = incident.id
        self._store(incident)
        self._route_merged_and_joined()
        self._group((incident.brand, incident.topic))  # its bins close, so it can calm down
        effects.audit(incident, at, "reopened", why, actor=by)
        incident = effects.update_cards(incident, at, f"Reopened: {why}")
        incident = self._escalation(effects).run(incident, at)  # from its first step: waits too
        self._store(incident)
        return incident

    def _join(self, effects: Effects, key: GroupKey, incident: Incident, at: datetime) -> None:
        """From now on the topic's mentions go to ``incident`` (as after a merge)."""
        self.live[key] = incident.id
        if key[1] not in incident.joined:  # (joined again after a reopening: once is enough)
            self._store(replace(incident, joined=(*incident.joined, key[1])))
        effects.audit(incident, at, "joined", joined_why(incident, key[1]))

    def _recently_resolved(self, key: GroupKey, at: datetime) -> Incident | None:
        """The incident a storm on ``key`` reopens: one resolved within its ``reopen_within``
        whose topic it is, or to which the topic went (joined to it, or merged into it, along
        a chain of merges): resolving it dealt with that topic too."""
        candidates = [
            owner
            for i in self.incidents.values()
            if (owner := self._owner_of(i, key)) is not None
            and owner.status is Status.RESOLVED
            and owner.resolved_at is not None
            and at - owner.resolved_at <= owner.policy.reopen_within
        ]
        return max(candidates, key=lambda i: i.id, default=None)

    def _owner_of(self, incident: Incident, key: GroupKey) -> Incident | None:
        """Where ``key``'s mentions went when ``incident`` held that topic (its own, or one
        that joined it): the end of its chain of merges; None when it does not hold ``key``."""
        if incident.brand != key[0] or key[1] not in (incident.topic, *incident.joined):
            return None
        return _merge_end(self.incidents, incident)

    def _escalation(self, effects: Effects) -> Escalation:
        return Escalation(effects, lambda incident, at: hold_for(incident, at, self))

    # -- what people do (called by bot.incidents.actions, inside a transaction) -----------------

    def effects(self, journal: Journal) -> Effects:
        return Effects(journal, self.setup.brand_names)

    def change(self, incident: Incident) -> None:
        """Record a changed incident; written at the next flush."""
        self._store(incident)

    def resolve(
        self, effects: Effects, incident: Incident, at: datetime, by: str, why: str
    ) -> None:
        self._store(self._resolve(effects, incident, at, by, why))

    def reopen(self, effects: Effects, incident: Incident, at: datetime, by: str, why: str) -> None:
        self._reopen(effects, incident, at, by, why)

    def rerun(self, effects: Effects, incident: Incident, at: datetime) -> None:
        """Run the incident's chain at once from where it stands: after an unacknowledgement
        took it back before the escalation it skipped (``actions.unacknowledge``)."""
        self._store(self._escalation(effects).run(incident, at))

    def merge_keys(self, source: Incident, target: Incident) -> None:
        """From now on, what would have gone to ``source`` goes to ``target``."""
        for key, incident_id in list(self.live.items()):
            if incident_id == source.id:
                self.live[key] = target.id

    def flush(self, journal: Journal) -> None:
        self._flush(journal)

    def note_spread(
        self,
        journal: Journal,
        predicted: dict[GroupKey, float],
        votes: dict[GroupKey, int] | None = None,
    ) -> None:
        """Where the groups' posts are heading (predicted final reposts, and upvotes seen on
        sites that spread by votes, from engagement refreshes); the next bin's risk counts it
        as virality."""
        for key, reposts in predicted.items():
            group = self.groups.get(key)
            if group is not None:
                group.note_prediction(reposts)
                self._dirty_groups.add(key)
        for key, count in (votes or {}).items():
            group = self.groups.get(key)
            if group is not None:
                group.note_votes(count)
                self._dirty_groups.add(key)
        self._flush(journal)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _live(self) -> list[Incident]:
        return sorted((i for i in self.incidents.values() if i.status.live), key=lambda i: i.id)

    def _store(self, incident: Incident) -> None:
        self.incidents[incident.id] = incident
        self._changed.add(incident.id)

    def _flush(self, journal: Journal) -> None:
        for incident_id in sorted(self._changed):
            journal.save_incident(self.incidents[incident_id])
        journal.save_groups(
            [self.groups[key].state() for key in sorted(self._dirty_groups) if key in self.groups],
            ["\x1f".join(key) for key in sorted(self._dropped_groups)],
        )
        if self.now is not None:
            journal.save_clock(self.now)
        self._changed.clear()
        self._dirty_groups.clear()
        self._dropped_groups.clear()


def _live_end(incidents: dict[int, Incident], incident: Incident) -> int | None:
    """The live incident that ``incident`` is, or was merged into, following a chain of merges
    (#2 into #1, then #1 into #3: #3); None when the chain ends in one that is not live."""
    end = _merge_end(incidents, incident)
    return end.id if end is not None and end.status.live else None


def kept_for(policy: IncidentPolicy) -> timedelta:
    """How long an incident resolved under ``policy`` stays in memory: a storm can reopen it,
    people can reopen it by hand, before and after a restart alike."""
    return max(policy.reopen_within, policy.resolve_after, LATE)


def _merge_end(incidents: dict[int, Incident], incident: Incident) -> Incident | None:
    """The incident that ``incident`` is, or was merged into, following a chain of merges;
    None when the chain leads to one no longer in memory (or loops)."""
    seen: set[int] = set()
    while incident.status is Status.MERGED:
        if incident.id in seen:
            return None
        seen.add(incident.id)
        target = incidents.get(incident.merged_into or 0)
        if target is None:
            return None
        incident = target
    return incident


def _awaits_its_first_card(incident: Incident) -> bool:
    """Held by quiet hours before any card was posted: the morning's team still gets its card
    (quietly, see ``Escalation``), so it is not resolved out of sight; calm by then, it
    resolves at the next bin, card and all."""
    chain = incident.chain
    return chain is not None and chain.held == QUIET and not incident.channels


def _latest(known: datetime | None, moment: datetime) -> datetime:
    """The later of the two (a mention filed late, refiled or rescored, is older than others)."""
    return moment if known is None or moment > known else known


def _floor(moment: datetime) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // BIN) * BIN


def _dominant(themes: dict[str, int]) -> str:
    return max(sorted(themes), key=lambda theme: themes[theme], default="")


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
