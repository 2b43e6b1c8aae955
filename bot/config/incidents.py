"""The incident policy in ``app.yaml``: grouping timers, levels with their escalation steps,
quiet hours, inhibition and where notifications go. Validated whole at start-up, and copied onto
each incident when it opens, so editing the file never changes an incident in flight.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)

from bot.config.numbers import TEN_YEARS_DAYS, Integer
from bot.durations import parse_duration

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
MAX_DURATION = timedelta(days=TEN_YEARS_DAYS)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        parsed = timedelta(0)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit: write {value}s, {value}m or {value}h")
    elif isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        parsed = sign * parse_duration(text.lstrip("-"))
    else:
        raise ValueError(f"{value!r} is not a duration such as 30s, 15m, 6h or 1d")
    if parsed < timedelta(0):
        raise ValueError(f"a duration cannot be negative ({value})")
    if parsed > MAX_DURATION:
        raise ValueError(
            f"{value} is longer than any timer needs: at most {TEN_YEARS_DAYS}d (ten years)"
        )
    return parsed


def _format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(_format_duration, return_type=str),
]
"""``15m``, ``6h``, ``1d``; never negative, at most ten years. Serialised back the same way
(policy snapshots)."""


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(Policy):
    """Where a notify step posts: a channel (or a person) on one chat platform."""

    platform: Literal["console", "file", "slack", "teams"] = Field(
        "console", description="Which configured platform delivers it."
    )
    channel: str = Field(
        min_length=1,
        description="Channel name or id ('#social-care'; Slack: its id, C…; Teams: the channel id "
        "19:…@thread.tacv2, or a name bound with '@Vigie watch NAME here').",
    )
    mention: str = Field(
        "",
        description="Who to mention with it: Slack user id 'U123', user group id 'S123', "
        "'here' or 'channel' (anything else is refused); Teams 'Name <id>', the id an Entra "
        "object id, a UPN or a Teams id 29:… (anything else is refused); 'none': nobody.",
    )


NOBODY = "none"
"""A step's ``mention`` that pages nobody (an empty one keeps the target's)."""

_SLACK_MARKUP = re.compile(
    r"<(?:@([UW][A-Z0-9]+)|!subteam\^(S[A-Z0-9]+)|!(here|channel))(?:\|[^>]*)?>"
)
_SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,}")
_SLACK_PERSON = re.compile(r"[UW][A-Z0-9]{6,}")  # a user id where a channel is expected
_SLACK_CHANNEL = re.compile(r"[CG][A-Z0-9]+")  # a public or private channel's id


def slack_mention(text: str) -> str | None:
    """Who a Slack target's ``mention`` pages, as Slack knows them: a user id (``U…``, ``W…``),
    a user group id (``S…``), ``here`` or ``channel``; markup pasted from Slack
    (``<!subteam^S…|name>``, ``<@U…>``) unwrapped; "" for nobody. None when Slack would page
    nobody with it (a name such as ``@social-oncall`` is only text there)."""
    value = text.strip()
    if found := _SLACK_MARKUP.fullmatch(value):
        return next(group for group in found.groups() if group)
    value = value.removeprefix("@")
    if value.lower() in ("", NOBODY):
        return ""
    if value.lower() in ("here", "channel"):
        return value.lower()
    return value if _SLACK_ID.fullmatch(value) else None


def _check_slack_mention(mention: str, where: str) -> None:
    if slack_mention(mention) is None:
        raise ValueError(
            f"{where} mentions {mention!r}, which pages nobody in Slack: write a user id "
            "(U…: 'Copy member ID' in their profile), a user group id (S…), here, channel "
            "or none"
        )


# What handlers/teams/mentions.py turns into a mention entity, the only way a bot's message
# notifies someone in Teams: ``Name <id>``, the id an Entra object id, a UPN or a Teams user id
TEAMS_MENTION = re.compile(r"^\s*@?(?P<name>[^<>]{1,100}?)\s*<(?P<id>[^<>\s]{1,200})>\s*$")
TEAMS_ID = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # Entra object id
    r"|[^@\s]+@[^@\s]+\.[^@\s]+"  # user principal name
    r"|29:[\w-]+)$",  # Teams user id
    re.IGNORECASE,
)


def teams_mention_notifies(text: str) -> bool:
    """Whether a Teams target's ``mention`` notifies someone (``Name <id>``) or is meant to
    page nobody ("", ``none``). Anything else would be plain text in Teams, notifying nobody:
    ``@social-oncall``, an id without a name (it notifies only once Vigie has heard from that
    person), ``Ana <ana.lima>``."""
    if text.strip().lower() in ("", NOBODY):
        return True
    found = TEAMS_MENTION.match(text)
    return found is not None and bool(found["name"].split()) and bool(TEAMS_ID.match(found["id"]))


def _check_teams_mention(mention: str, where: str) -> None:
    if not teams_mention_notifies(mention):
        raise ValueError(
            f"{where} mentions {mention!r}, which notifies nobody in Teams: write 'Name <id>', "
            "the id being the person's Microsoft Entra object id "
            "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in their Entra profile), their user "
            "principal name (ana.lima@contoso.com) or their Teams id (29:…), e.g. 'On-call Ana "
            "<ana.lima@contoso.com>'; or none"
        )


class NotifyStep(Policy):
    notify: str = Field(description="A target name from incidents.targets.")
    mention: str = Field(
        "",
        description="Overrides the target's mention for this step; 'none' pages nobody; "
        "empty: the target's.",
    )

    def mention_for(self, target: Target) -> str:
        """Who this step pages at ``target``: its own mention, nobody, or the target's."""
        chosen = self.mention or target.mention
        return "" if chosen.strip().lower() == NOBODY else chosen


class WaitStep(Policy):
    wait: Duration = Field(description="Pause the chain this long.")


class EscalateOptions(Policy):
    to: str | None = Field(None, description="Level to go to; default: the next one up.")
    unless_acknowledged: bool = Field(True, description="Skip when someone acknowledged.")
    only_if_rising: bool = Field(False, description="Skip unless risk rose since the level began.")


class EscalateStep(Policy):
    escalate: EscalateOptions = Field(default_factory=EscalateOptions)

    @field_validator("escalate", mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        return {} if value is None else value


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((kind for kind in ("notify", "wait", "escalate") if kind in value), None)
    return next(
        (kind for kind in ("notify", "wait", "escalate") if hasattr(value, kind)),
        None,
    )


Step = Annotated[
    Annotated[NotifyStep, Tag("notify")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[EscalateStep, Tag("escalate")],
    Discriminator(
        _step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step is one of notify: TARGET, wait: DURATION, escalate: {...}",
    ),
]


class Level(Policy):
    name: str = Field(pattern=_NAME, description="watch, alert, crisis…")
    min_risk: Integer = Field(
        ge=0, le=100, description="Risk (0..100) at which an incident enters."
    )
    steps: list[Step] = Field(default_factory=list, description="Run in order on entry.")
    remind_every: Duration | None = Field(
        None, description="Remind while open and unacknowledged; null (the default): never."
    )

    @field_validator("remind_every")
    @classmethod
    def _reminds(cls, every: timedelta | None) -> timedelta | None:
        return _not_zero(every, "remind_every", "write null (or leave it out) for no reminders")


def _not_zero(value: timedelta | None, what: str, instead: str) -> timedelta | None:
    if value == timedelta(0):
        raise ValueError(f"{what} cannot be 0: {instead}")
    return value


class QuietHours(Policy):
    time_zone: str = Field(description="IANA zone the hours are read in ('Europe/Paris').")
    start: time = Field(description="Local time quiet hours begin ('22:00').")
    end: time = Field(description="Local time they end ('07:00'); may be past midnight.")
    bypass_level: str | None = Field(None, description="This level and above notify anyway.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a known time zone such as Europe/Paris") from None
        return name

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        # (the loader keeps an unquoted 22:00 as text, not YAML 1.1's base-60 number)
        if isinstance(value, time):
            return value
        found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?", str(value).strip())
        if not isinstance(value, str) or found is None:
            raise ValueError(f"{value!r} is not a time of day such as 22:00")
        hour, minute, second = found.groups()
        return time(int(hour), int(minute), int(second or 0))

    @model_validator(mode="after")
    def _a_stretch(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(
                f"quiet hours start and end at the same time ({self.start.isoformat('minutes')}"
                "), which leaves no quiet time: they run from start to a different end (22:00 "
                "to 07:00 runs past midnight) and cannot cover a whole day; to hold "
                "notifications longer, silence the brand or topic for a while (silences always "
                "expire); for no quiet hours, remove quiet_hours"
            )
        return self


class Inhibit(Policy):
    enabled: bool = Field(True, description="An incident at a high level mutes lesser ones.")
    level: str | None = Field(None, description="From this level on; default: the top level.")
    equal: list[Literal["brand", "topic", "theme"]] = Field(
        ["brand", "theme"], description="What the muted incidents must share with it."
    )


class IncidentPolicy(Policy):
    group_wait: Duration = Field(
        timedelta(minutes=2), description="Wait before the first notification."
    )
    group_interval: Duration = Field(
        timedelta(minutes=10), description="Fold changes into one card update at most this often."
    )
    resolve_after: Duration = Field(
        timedelta(hours=6), description="Auto-resolve after this long below the lowest level."
    )
    reopen_within: Duration = Field(
        timedelta(hours=2), description="A storm on the same topic this soon reopens it."
    )
    ack_remind_every: Duration | None = Field(
        timedelta(hours=1), description="Re-notify the owner of an acknowledged, growing incident."
    )
    min_mentions: Integer = Field(
        3, ge=1, description="Negative mentions in an hour before a brand's storm is an incident."
    )
    topic_min_mentions: Integer = Field(
        5, ge=1, description="Negative mentions in an hour before a topic gets its own incident."
    )
    quiet_hours: QuietHours | None = Field(None, description="Hold notifications at night.")
    inhibit: Inhibit = Field(default_factory=Inhibit, description="Crisis mutes lesser alerts.")
    targets: dict[str, Target] = Field(
        default_factory=lambda: {"team": Target(channel="#brand-alerts")},
        description="Named destinations for notify steps.",
    )
    levels: list[Level] = Field(
        default_factory=lambda: list(_default_levels()),
        min_length=1,
        description="Lowest first: name, min_risk, steps, remind_every.",
    )

    @field_validator("resolve_after")
    @classmethod
    def _resolves(cls, after: timedelta) -> timedelta:
        instead = "an incident would be resolved the moment it calms; write a calm period (6h)"
        _not_zero(after, "resolve_after", instead)
        return after

    @field_validator("ack_remind_every")
    @classmethod
    def _ack_reminds(cls, every: timedelta | None) -> timedelta | None:
        return _not_zero(every, "ack_remind_every", "write null for no reminders")

    @model_validator(mode="after")
    def _coherent(self) -> IncidentPolicy:
        names = [level.name for level in self.levels]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"level {name!r} is defined twice")
        for lower, higher in zip(self.levels, self.levels[1:], strict=False):
            if higher.min_risk <= lower.min_risk:
                raise ValueError(
                    f"level {higher.name!r} (min_risk {higher.min_risk}) must need more risk "
                    f"than {lower.name!r} (min_risk {lower.min_risk}): list levels lowest first"
                )
        for name, target in self.targets.items():
            if target.platform == "teams":
                _check_teams_mention(target.mention, f"teams target {name!r}")
            if target.platform == "slack":
                _check_slack_mention(target.mention, f"slack target {name!r}")
                if _SLACK_PERSON.fullmatch(target.channel.strip()):
                    raise ValueError(
                        f"slack target {name!r} posts to {target.channel!r}, a person: Vigie "
                        "edits its cards in place and finds them again after a restart by "
                        "channel, which a message to a user id does not allow; name a channel "
                        "(its C… id) and mention the person there"
                    )
                if not _SLACK_CHANNEL.fullmatch(target.channel.strip()):
                    raise ValueError(
                        f"slack target {name!r} names channel {target.channel!r}: give its id "
                        "(C…: at the bottom of the channel's About tab, or the end of its "
                        "link); after a restart Vigie finds its cards again by reading the "
                        "channel's history, which Slack allows by id only"
                    )
        for level in self.levels:
            for step in level.steps:
                if isinstance(step, NotifyStep) and step.notify not in self.targets:
                    raise ValueError(
                        f"level {level.name!r} notifies unknown target {step.notify!r}; "
                        f"targets: {', '.join(self.targets) or 'none'}"
                    )
                if isinstance(step, NotifyStep) and self.targets[step.notify].platform == "slack":
                    where = f"level {level.name!r}'s step notifying slack target {step.notify!r}"
                    _check_slack_mention(step.mention, where)
                if isinstance(step, NotifyStep) and self.targets[step.notify].platform == "teams":
                    where = f"level {level.name!r}'s step notifying teams target {step.notify!r}"
                    _check_teams_mention(step.mention, where)
        references: tuple[tuple[str, str | None], ...] = (
            (
                "quiet_hours.bypass_level",
                self.quiet_hours.bypass_level if self.quiet_hours else None,
            ),
            ("inhibit.level", self.inhibit.level),
        )
        for what, named in references:
            if named and named not in names:
                raise ValueError(
                    f"{what} names unknown level {named!r}; levels: {', '.join(names)}"
                )
        _check_escalations(self.levels)
        return self

    def level_index(self, name: str) -> int:
        return [level.name for level in self.levels].index(name)

    def level_for(self, risk: int) -> int | None:
        """The highest level whose entry risk ``risk`` reaches; None below the lowest."""
        reached = [i for i, level in enumerate(self.levels) if risk >= level.min_risk]
        return reached[-1] if reached else None

    def escalation_target(self, level: int, step: EscalateStep) -> int:
        to = step.escalate.to
        return self.level_index(to) if to else level + 1


def _check_escalations(levels: list[Level]) -> None:
    """Every escalate step goes to a known, higher level; a loop of escalations is refused."""
    names = [level.name for level in levels]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for index, level in enumerate(levels):
        for step in level.steps:
            if not isinstance(step, EscalateStep):
                continue
            to = step.escalate.to
            if to is None:
                if index + 1 >= len(levels):
                    raise ValueError(
                        f"level {level.name!r} escalates but is the top level; "
                        "add a higher level or name one with escalate: {to: LEVEL}"
                    )
                to = names[index + 1]
            if to not in edges:
                raise ValueError(
                    f"level {level.name!r} escalates to unknown level {to!r}; "
                    f"levels: {', '.join(names)}"
                )
            edges[level.name].append(to)
    for start in names:
        cycle = _find_cycle(edges, [start])
        if cycle:
            raise ValueError(f"escalation cycle: {' -> '.join(cycle)}")
    for index, level in enumerate(levels):
        for to in edges[level.name]:
            if names.index(to) <= index:
                raise ValueError(f"level {level.name!r} escalates down to {to!r}; escalate upwards")


def _find_cycle(edges: dict[str, list[str]], path: list[str]) -> list[str] | None:
    for following in edges[path[-1]]:
        if following in path:
            return [*path[path.index(following) :], following]
        found = _find_cycle(edges, [*path, following])
        if found:
            return found
    return None


def _default_levels() -> list[Level]:
    return DEFAULT_LEVELS


DEFAULT_LEVELS: list[Level] = [
    Level(name="watch", min_risk=40, steps=[NotifyStep(notify="team")]),
    Level(
        name="alert",
        min_risk=45,
        remind_every=timedelta(hours=4),
        steps=[
            NotifyStep(notify="team"),
            WaitStep(wait=timedelta(minutes=15)),
            EscalateStep(escalate=EscalateOptions()),
        ],
    ),
    Level(
        name="crisis",
        min_risk=60,
        remind_every=timedelta(hours=1),
        steps=[NotifyStep(notify="team")],
    ),
]
"""Used when app.yaml has no ``incidents.levels``: three levels, one channel."""
