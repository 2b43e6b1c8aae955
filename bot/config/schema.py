"""The shape of ``app.yaml``: pydantic models with defaults and a help text for every setting."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.complaints import CUE_GROUPS
from bot.config.incidents import IncidentPolicy, NotifyStep
from bot.config.languages import language_code
from bot.config.numbers import TEN_YEARS_DAYS, Integer, Number, not_a_boolean
from bot.config.playbook import Playbook
from bot.config.replies import ReplySettings
from bot.config.slack import SlackSettings
from bot.config.source_bluesky import BlueskySourceSettings
from bot.config.source_hackernews import HackerNewsSourceSettings
from bot.config.source_mastodon import NOTHING_TO_FOLLOW, MastodonSourceSettings
from bot.config.source_reddit import RedditSourceSettings
from bot.config.source_rss import RssSourceSettings
from bot.config.source_x import MAX_RULE, XSourceSettings, too_long_rule
from bot.config.teams import TeamsSettings
from bot.records import MENTION_FIELDS
from bot.text import fold

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_HASH_SIGNS = "#\uff03\ufe5f"  # a hashtag's sign: also full-width and small
_AT_SIGNS = "@\uff20\ufe6b"  # a handle's
MAX_AUTO_WORKERS = 4
MAX_SKEW_SECONDS = 3600


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def slugify(name: str) -> str:
    """'Crème Brûlée Café' -> 'creme-brulee-cafe'; "" for a name without Latin letters or digits
    (a brand so named must set its slug)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


class StorageSettings(Settings):
    path: Path = Field(Path("vigie.db"), description="SQLite file; relative to app.yaml's folder.")
    batch_size: Integer = Field(
        500, ge=1, le=10_000, description="Mentions written per transaction."
    )
    keep_days: Integer = Field(
        365,
        ge=0,
        le=TEN_YEARS_DAYS * 10,
        description="Forget mentions received longer ago than this (unless an incident or a "
        "reply draft holds them), and older engagement readings and delivered notifications; "
        "0 keeps everything. Incidents and the decision log are always kept.",
    )


class HttpSettings(Settings):
    enabled: bool = Field(True, description="Serve /healthz, /metrics and /webhooks/{name}.")
    host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 to accept from outside.")
    port: Integer = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one.")

    @field_validator("host")
    @classmethod
    def _host_named(cls, host: str) -> str:
        # asyncio listens on every interface for an empty host: that must be asked for by name
        if not host.strip():
            raise ValueError(
                "host is empty, which would listen on every interface: write 127.0.0.1 (this "
                "machine only) or 0.0.0.0 (to accept from outside)"
            )
        return host.strip()


class PipelineSettings(Settings):
    queue_size: Integer = Field(10_000, ge=1, description="Mentions waiting for scoring, at most.")
    workers: int | Literal["auto"] = Field(
        "auto",
        description="Scoring processes; 0: in the main process; auto: one per core, at most 4.",
    )

    @field_validator("workers", mode="before")
    @classmethod
    def _workers_not_boolean(cls, workers: object) -> object:
        return not_a_boolean(workers)

    @field_validator("workers")
    @classmethod
    def _workers(cls, workers: int | str) -> int | str:
        if isinstance(workers, int) and not 0 <= workers <= 64:
            raise ValueError("workers must be between 0 and 64, or auto")
        return workers

    @property
    def worker_count(self) -> int:
        if self.workers == "auto":
            # each worker holds its own models (about 100 MiB); four keep up with a flood
            cores = min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
            return cores if cores > 1 else 0
        return int(self.workers)


class ConsoleSettings(Settings):
    show: Literal["negative", "all", "none"] = Field(
        "negative", description="Which scored mentions the console prints."
    )
    min_negativity: Number = Field(0.0, ge=0, le=1, description="Hide negatives below this score.")


class BrandSettings(Settings):
    name: str = Field(min_length=1, description="The brand's display name; also matched in text.")
    slug: str | None = Field(None, pattern=_NAME, description="Stable id; derived from the name.")
    keywords: list[str] = Field(default_factory=list, description="Phrases meaning the brand.")
    aliases: list[str] = Field(default_factory=list, description="Other names, products, typos.")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags, with or without #.")
    handles: list[str] = Field(
        default_factory=list,
        description="The brand's own accounts, with or without @: never complaints.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Phrases around the name that are not the brand ('apple pie'); words that "
        "rule a post out ('birdwatching').",
    )
    languages: list[str] = Field(["en"], min_length=1, description="ISO 639-1 codes expected.")
    usual_complaints_per_hour: Number | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Negative mentions the brand usually gets an hour, for the hours before Vigie "
        "has learned it (its first start, a brand newly added); default: a quiet brand's 1, so a "
        "busy brand's ordinary first hours read as a storm.",
    )
    cues: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Complaint phrases to add, by cue group: {not_working: [no signal]}.",
    )
    playbook: Playbook = Field(
        default_factory=Playbook,
        description="How reply drafts speak for the brand: tone, sign-off, contact, templates.",
    )

    @field_validator("keywords", "aliases", "exclude")
    @classmethod
    def _no_blank_terms(cls, terms: list[str]) -> list[str]:
        if any(not term.strip() for term in terms):
            raise ValueError("terms must not be empty")
        return [term.strip() for term in terms]

    @field_validator("hashtags")
    @classmethod
    def _hash_prefix(cls, tags: list[str]) -> list[str]:
        # full-width and small signs too: a full-width one kept after '#' would never match
        bare = [tag.strip().lstrip(_HASH_SIGNS) for tag in tags]
        return ["#" + tag for tag in bare if tag]

    @field_validator("handles")
    @classmethod
    def _at_prefix(cls, handles: list[str]) -> list[str]:
        bare = [handle.strip().lstrip(_AT_SIGNS) for handle in handles]
        return ["@" + handle for handle in bare if handle]

    @field_validator("cues")
    @classmethod
    def _cue_groups(cls, cues: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(cues) - set(CUE_GROUPS))
        if unknown:
            raise ValueError(
                f"unknown cue group(s) {', '.join(unknown)}; known: {', '.join(CUE_GROUPS)}"
            )
        if any(not phrase.strip() for phrases in cues.values() for phrase in phrases):
            raise ValueError("cue phrases must not be empty")
        return cues

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a brand needs a name (it is also matched in text)")
        return name.strip()

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, codes: list[str]) -> list[str]:
        """Two-letter codes, as the language detector gives them ('fra' and 'fr-FR' mean 'fr')."""
        two_letter = [language_code(code) for code in codes]
        return list(dict.fromkeys(two_letter))

    @model_validator(mode="after")
    def _usable_terms(self) -> BrandSettings:
        if self.slug is None and not slugify(self.name):
            raise ValueError(
                f"set a slug for {self.name!r} (letters a-z, digits, '-' or '_'): it names the "
                "brand in commands, stats and the database, and cannot be made from this name "
                "(a database of an earlier Vigie holds this brand's mentions as 'brand': "
                "slug: brand keeps them)"
            )
        # an exclusion equal to a term, or to a hashtag or handle without its sign (it masks
        # '#apple' as it masks 'apple'), would hide that term wherever it is written
        terms: dict[str, str] = {}
        for term in (self.name, *self.keywords, *self.aliases, *self.hashtags, *self.handles):
            terms.setdefault(fold(term), term)
        for term in (*self.hashtags, *self.handles):
            terms.setdefault(fold(term)[1:], term)
        for phrase in self.exclude:
            clash = terms.get(fold(phrase))
            if clash is not None:
                raise ValueError(
                    f"brand {self.name!r}: exclude {phrase!r} is also one of the brand's own "
                    f"terms ({clash!r}), so it would never match through it; exclusions are "
                    "phrases around the brand's name ('apple pie') or words that rule a post out "
                    "('birdwatching')"
                )
        return self

    @property
    def brand_slug(self) -> str:
        return self.slug or slugify(self.name)


class ReplaySourceSettings(Settings):
    type: Literal["replay"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    path: Path = Field(description="CSV or JSONL file; relative to app.yaml's folder.")
    format: Literal["csv", "jsonl"] | None = Field(None, description="Default: from the suffix.")
    speed: Number = Field(0, ge=0, description="0: as fast as possible; 60: an hour per minute.")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Mention field -> column name; unnamed fields map to themselves.",
    )
    rebase_time: bool = Field(
        False,
        description="Shift event times so the last row happens in the last five minutes "
        "(demos; by whole five-minute bins, so every run tells the same story).",
    )
    encoding: str = Field("utf-8-sig", description="Text encoding of the file.")

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(columns) - set(MENTION_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown mention field(s) {', '.join(unknown)}; known: {', '.join(MENTION_FIELDS)}"
            )
        return columns

    @model_validator(mode="after")
    def _format_known(self) -> ReplaySourceSettings:
        if self.format is None and self.path.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
            raise ValueError(f"cannot tell the format of {self.path}; set format: csv or jsonl")
        return self

    @property
    def file_format(self) -> Literal["csv", "jsonl"]:
        if self.format is not None:
            return self.format
        return "csv" if self.path.suffix.lower() == ".csv" else "jsonl"


class WebhookSourceSettings(Settings):
    type: Literal["webhook"]
    name: str = Field(pattern=_NAME, description="The URL is POST /webhooks/{name}.")
    secret: SecretStr = Field(description="Shared HMAC-SHA256 key; use ${ENV_VAR}.")
    max_skew_seconds: Integer = Field(
        300, ge=1, description="Reject signatures older (or newer) than this; at most 3600."
    )
    max_body_bytes: Integer = Field(
        1_048_576, ge=1024, description="Largest accepted request body."
    )
    max_batch: Integer = Field(1_000, ge=1, description="Most mentions in one request.")

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < 16:
            raise ValueError("the webhook secret must be at least 16 characters")
        return secret

    @field_validator("max_skew_seconds")
    @classmethod
    def _short_skew(cls, seconds: int) -> int:
        if seconds > MAX_SKEW_SECONDS:
            raise ValueError(
                f"at most {MAX_SKEW_SECONDS} (an hour): whoever captures a signed request can "
                "send it again for that long"
            )
        return seconds


SourceSettings = Annotated[
    ReplaySourceSettings
    | WebhookSourceSettings
    | MastodonSourceSettings
    | BlueskySourceSettings
    | RedditSourceSettings
    | HackerNewsSourceSettings
    | RssSourceSettings
    | XSourceSettings,
    Field(discriminator="type"),
]


class LoggingSettings(Settings):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class FileOutputSettings(Settings):
    path: Path = Field(description="JSON Lines file each notification is appended to.")
    pace_seconds: Number = Field(0, ge=0, description="Pause between two lines of one channel.")


class PlatformSettings(Settings):
    file: FileOutputSettings | None = Field(
        None, description="Write notifications to a file (audits, pipes, tests)."
    )
    slack: SlackSettings | None = Field(None, description="Deliver to Slack; buttons, /vigie.")
    teams: TeamsSettings | None = Field(None, description="Deliver to Microsoft Teams.")


class DeliverySettings(Settings):
    pace_seconds: Number = Field(
        1.0, ge=0, description="Chat platforms: at most one message per channel this often."
    )
    max_attempts: Integer | None = Field(
        None,
        ge=1,
        description="Tries per notification before giving up; none: keep trying (an outage "
        "ends), refusals such as an unknown channel still fail at once.",
    )
    max_backoff_seconds: Number = Field(300, ge=0, description="Longest wait between tries.")
    tick_seconds: Number = Field(
        5.0, gt=0, description="How often timers are checked (live, and after the replays)."
    )


class EngagementSettings(Settings):
    refresh_seconds: Number = Field(
        300, ge=10, description="Live mode: re-read the counts of open incidents' posts this often."
    )
    max_posts: Integer = Field(
        200,
        ge=1,
        description="Posts re-read per round: each incident's most reposted first, then newest.",
    )


class AppConfig(Settings):
    storage: StorageSettings = StorageSettings()
    http: HttpSettings = HttpSettings()
    pipeline: PipelineSettings = PipelineSettings()
    console: ConsoleSettings = ConsoleSettings()
    logging: LoggingSettings = LoggingSettings()
    clock: Literal["auto", "system", "event"] = Field(
        "auto", description="auto: event time when every source is a replay, else system time."
    )
    brands: list[BrandSettings] = Field(min_length=1, description="What to listen for.")
    influencers: list[str] = Field(
        default_factory=list, description="Handles whose posts count as far-reaching."
    )
    sources: list[SourceSettings] = Field(min_length=1, description="Where to listen.")
    incidents: IncidentPolicy = Field(
        default_factory=IncidentPolicy, description="Grouping, levels and escalation."
    )
    platforms: PlatformSettings = PlatformSettings()
    delivery: DeliverySettings = DeliverySettings()
    engagement: EngagementSettings = EngagementSettings()
    replies: ReplySettings = ReplySettings()

    @model_validator(mode="after")
    def _slack_can_hear(self) -> AppConfig:
        slack = self.platforms.slack
        if slack is not None and not slack.socket_mode and slack.signing_secret is None:
            raise ValueError(
                "platforms.slack needs signing_secret (HTTP mode) or app_token (Socket Mode)"
            )
        if slack is not None and not slack.socket_mode and not self.http.enabled:
            raise ValueError("platforms.slack in HTTP mode needs http.enabled (POST /slack/events)")
        if self.platforms.teams is not None and not self.http.enabled:
            raise ValueError("platforms.teams needs http.enabled (POST /api/messages)")
        for source in self.sources:
            if isinstance(source, WebhookSourceSettings) and not self.http.enabled:
                raise ValueError(
                    f"webhook source {source.name!r} needs http.enabled (POST "
                    f"/webhooks/{source.name}): with http.enabled: false it would receive nothing"
                )
        slugs = {brand.brand_slug for brand in self.brands}
        for platform in ("slack", "teams"):
            settings = getattr(self.platforms, platform)
            for field in ("responders", "approvers"):
                named = getattr(settings, field) if settings is not None else {}
                unknown = sorted(set(named) - slugs - {"*"})
                if unknown:
                    raise ValueError(
                        f"platforms.{platform}.{field} names unknown brand(s) "
                        f"{', '.join(unknown)}; brand slugs: {', '.join(sorted(slugs))}, "
                        "or * for all"
                    )
        return self

    def unused_platform_warnings(self) -> list[str]:
        """A chat platform configured but notified by no level: valid, but its cards go
        elsewhere (the console, by default). Logged at start, and shown by check-config."""
        notified = {
            self.incidents.targets[step.notify].platform
            for level in self.incidents.levels
            for step in level.steps
            if isinstance(step, NotifyStep)
        }
        warnings = []
        for platform in ("slack", "teams"):
            if getattr(self.platforms, platform) is None or platform in notified:
                continue
            where = " and ".join(sorted(notified)) or "nowhere (no level notifies)"
            warnings.append(
                f"platforms.{platform} is configured but no level notifies a {platform} target: "
                f"every card goes to {where}; set platform: {platform} on the targets in "
                "incidents.targets that should post there"
            )
        return warnings

    def clock_warnings(self) -> list[str]:
        """Event time with a source that never ends: valid (tests, benchmarks), but nothing
        moves time between mentions. Logged at start, and shown by check-config."""
        live = [s.name for s in self.sources if not isinstance(s, ReplaySourceSettings)]
        if self.clock != "event" or not live:
            return []
        return [
            f"clock: event with the live source(s) {', '.join(live)}: time moves only when "
            "mentions arrive, so waits, reminders, snooze ends and resolving happen only then; "
            "use clock: auto (system time for live sources) outside tests"
        ]

    def access_warnings(self) -> list[str]:
        """Who may act where nobody is named: what the chat platforms log at start."""
        warnings = []
        for platform in ("slack", "teams"):
            settings: SlackSettings | TeamsSettings | None = getattr(self.platforms, platform)
            if settings is None:
                continue
            if not any(settings.responders.values()):
                warnings.append(
                    f"platforms.{platform}.responders is empty: anyone who sees a card may "
                    "acknowledge, snooze, resolve or silence"
                )
            if self.replies.enabled and not any(settings.approvers.values()):
                warnings.append(
                    f"platforms.{platform}.approvers is empty: reply drafts are shown, but nobody "
                    "can approve them until approvers are set per brand"
                )
        teams = self.platforms.teams
        if teams is not None and not teams.app_id:
            warnings.append(
                "platforms.teams.app_id is empty: Teams requests are not authenticated; only "
                "for a local Bot Framework Emulator"
            )
        elif teams is not None and not teams.tenant_id:
            warnings.append(
                "platforms.teams.tenant_id is empty: people of any Microsoft 365 organisation "
                "that installs the app can query incidents and, while responders is empty, act "
                "on them (card buttons only in a channel holding the card); set it to your "
                "directory id"
            )
        return warnings

    def webhook_warnings(self) -> list[str]:
        """Webhook sources with one secret: the signature covers the body, not the path, so a
        request signed for one is accepted by the other. Logged at start, and shown by
        check-config."""
        by_secret: dict[str, list[str]] = {}
        for source in self.sources:
            if isinstance(source, WebhookSourceSettings):
                by_secret.setdefault(source.secret.get_secret_value(), []).append(source.name)
        return [
            f"webhook sources {', '.join(names)} share one secret: a request signed for one is "
            "accepted by the others (the signature does not cover the path); give each its own"
            for names in by_secret.values()
            if len(names) > 1
        ]

    @model_validator(mode="after")
    def _sources_hear_something(self) -> AppConfig:
        """What a source is built from the brands with, checked here so that check-config
        refuses what run would (a source refusing only when built would pass check-config)."""
        tagged = any(brand.hashtags for brand in self.brands)
        for index, source in enumerate(self.sources):
            if isinstance(source, MastodonSourceSettings) and source.follows_nothing(tagged):
                raise ValueError(f"sources[{index}]: {NOTHING_TO_FOLLOW}")
            if isinstance(source, XSourceSettings) and source.rules is None:
                for brand in self.brands:
                    terms = (brand.name, *brand.keywords, *brand.aliases)
                    terms += (*brand.hashtags, *brand.handles)
                    rule = too_long_rule(terms, brand.exclude, brand.languages)
                    if rule:
                        raise ValueError(
                            f"sources[{index}]: brand {brand.name!r} gives a rule longer than "
                            f"{MAX_RULE} characters ({rule[:60]}...), its exclusions and "
                            "languages being in every rule; set the source's rules yourself, "
                            "or exclude fewer phrases"
                        )
        return self

    @model_validator(mode="after")
    def _two_person_levels_exist(self) -> AppConfig:
        levels = {level.name for level in self.incidents.levels}
        unknown = sorted(set(self.replies.two_person_levels) - levels)
        if unknown:
            raise ValueError(
                f"replies.two_person_levels names unknown level(s) {', '.join(unknown)}; "
                f"levels: {', '.join(sorted(levels))}"
            )
        return self

    @model_validator(mode="after")
    def _targets_have_platforms(self) -> AppConfig:
        for name, target in self.incidents.targets.items():
            if target.platform != "console" and getattr(self.platforms, target.platform) is None:
                raise ValueError(
                    f"incidents.targets.{name} uses platform {target.platform!r}, "
                    f"which is not configured under platforms:"
                )
        return self
