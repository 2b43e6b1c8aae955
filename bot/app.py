"""The composition root: the only place that picks concrete classes and wires them together.

``Service`` owns the running parts; ``serve`` runs them and shuts them down in order:
stop the sources, stop taking HTTP requests, drain the queue into storage, close storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from aiohttp import web
from rich.console import Console
from sqlite_utils import Database

from bot.accounts import own_accounts
from bot.clock import Clock, EventClock, SystemClock
from bot.config import AppConfig, ReplaySourceSettings
from bot.config.incidents import IncidentPolicy
from bot.config.source_mastodon import MastodonSourceSettings
from bot.delivery import Deliverer, Platform
from bot.drafts.control import DraftControl, text_check
from bot.drafts.enrich import DraftEnricher
from bot.drafts.limits import platform_of_url
from bot.drafts.planner import BrandVoice, DraftPlanner, Reach, TargetRules
from bot.drafts.publishing import PREFIX as PUBLISH_PREFIX
from bot.drafts.publishing import DraftSettler, SourcePublisher
from bot.engagement import EngagementRefresher
from bot.health import Fault, health_report
from bot.incidents.desk import IncidentDesk
from bot.incidents.engine import EngineSetup
from bot.incidents.filing import refile
from bot.incidents.groups import BIN
from bot.incidents.model import Incident, Intent, IntentKind
from bot.intake import Intake
from bot.metrics import Metrics
from bot.model import Brand
from bot.redact import shown_error
from bot.rescoring import rescore
from bot.retention import forget_old
from bot.server import KEEPALIVE_SECONDS, build_http_app
from bot.sources import VOTING_TYPES, Source, SourceContext, build_source
from bot.sources.base import EngagementReader, Replier
from bot.sources.replay import ReplaySource
from bot.sources.webhook import WebhookSource
from bot.workers import InlineScorer, PoolScorer, Scorer
from handlers.console import ConsolePlatform
from handlers.file_output import FilePlatform
from handlers.slack.inbound import slack_route
from handlers.slack.runtime import SlackRuntime, build_slack
from handlers.teams.inbound import teams_route
from handlers.teams.runtime import TeamsRuntime, build_teams
from storage.cursors import load_cursor
from storage.incidents import get_incident, list_incidents
from storage.mentions import latest_post_time
from storage.outbox import enqueue
from storage.writer import Writer

logger = logging.getLogger(__name__)

SHUTDOWN_STEP_SECONDS = 15.0
NOTICE_RETRY_MAX_SECONDS = 60.0
"""A notice that could not be written to the outbox is tried again after 1 s, 2 s, … 1 min."""
REFILE_SECONDS = 300.0
"""How often mentions whose filing into incidents failed are filed again (and at each start)."""
RESTART_FIRST_SECONDS = 5.0
RESTART_MAX_SECONDS = 600.0
"""A live source that stopped on an unexpected error starts again after 5 s, 10 s, … 10 min."""
STABLE_SECONDS = RESTART_MAX_SECONDS
"""A restarted source that has run this long without stopping again is well: the chat hears it
works again (unless it reports trouble of its own), and its next stop waits 5 s again."""


class ServiceError(Exception):
    """The service cannot start or ran into a fatal problem; the message says why."""


def brands_from(config: AppConfig) -> list[Brand]:
    return [
        Brand(
            name=item.name,
            slug=item.brand_slug,
            keywords=tuple(item.keywords),
            aliases=tuple(item.aliases),
            hashtags=tuple(item.hashtags),
            handles=tuple(item.handles),
            exclude=tuple(item.exclude),
            languages=tuple(item.languages),
            cues=tuple((group, tuple(phrases)) for group, phrases in item.cues.items()),
        )
        for item in config.brands
    ]


def choose_clock(config: AppConfig) -> Clock:
    replay_only = all(isinstance(s, ReplaySourceSettings) for s in config.sources)
    if config.clock == "event" or (config.clock == "auto" and replay_only):
        return EventClock()
    return SystemClock()


def build_scorer(config: AppConfig) -> Scorer:
    workers = config.pipeline.worker_count
    brands = brands_from(config)
    return PoolScorer(brands, workers) if workers else InlineScorer(brands)


@dataclass
class SourceState:
    source: Source
    state: str = "starting"
    error: str = ""
    told: str | None = None
    """The trouble the source itself last reported (None: fine). A source reports only changes,
    and it keeps that memory across a restart: once restarted, this is still what it believes."""
    alarmed: bool = False
    """The chat was told the source is in trouble, and not yet that it works again."""


class Notices:
    """Messages about Vigie itself (a source in trouble), through the outbox to the channel of
    the policy's first target, so they are delivered like everything else."""

    def __init__(self, writer: Writer, policy: IncidentPolicy, deliverer: Deliverer) -> None:
        first = next(iter(policy.targets.values()), None)
        self.channel = (first.platform, first.channel) if first else ("console", "")
        self.writer = writer
        self.deliverer = deliverer
        self._tasks: set[asyncio.Task[None]] = set()
        self._fault = Fault("writing a notice to the outbox", logger)

    def say(self, text: str) -> None:
        now = datetime.now(UTC)
        intent = Intent(
            # unique whatever the clock says: two notices in one microsecond are two notices
            key=f"notice-{now.timestamp():.6f}-{uuid.uuid4().hex[:12]}",
            incident_id=0,
            kind=IntentKind.NOTICE,
            platform=self.channel[0],
            channel=self.channel[1],
            created_at=now,
            text=text,
            card={},
        )
        task = asyncio.get_running_loop().create_task(self._send(intent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, intent: Intent) -> None:
        """Write the notice to the outbox, trying again until it is written (a source's
        trouble is said once: a notice lost here would never be said)."""
        delay = 1.0
        while True:
            try:
                await self.writer.run(partial(enqueue, intent=intent))  # once per key
            except Exception as error:
                self._fault.failed(error, f"trying again in {delay:.0f}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, NOTICE_RETRY_MAX_SECONDS)
                continue
            self._fault.ok()
            self.deliverer.wake()
            return


class SourceWatch:
    """Sources' health as /healthz, ``vigie_source_up`` and the chat see it. A source reports
    its trouble when it starts or changes, and None when it is over (:meth:`report`); a source
    that stopped on an unexpected error and was started again is shown through the same path
    (:meth:`crashed`, :meth:`restarted`, :meth:`stable`), so state, metric and notices agree."""

    def __init__(self, states: dict[str, SourceState], metrics: Metrics, notices: Notices) -> None:
        self.states = states
        self.metrics = metrics
        self.notices = notices

    def report(self, name: str, trouble: str | None) -> None:
        """What the sources call (``SourceContext.report``)."""
        trouble = shown_error(trouble) if trouble else None  # sources redact; this makes sure
        self.states[name].told = trouble
        self._show(name, trouble)

    def crashed(self, name: str, error: str) -> None:
        self._show(name, error)

    def restarted(self, name: str) -> None:
        """Started again: as it was before it stopped, in the source's own eyes. The chat hears
        that it works again once it proves so (:meth:`stable`) or says so itself."""
        self._show(name, self.states[name].told, tell=False)

    def stable(self, name: str) -> None:
        """Ran ``STABLE_SECONDS`` since its restart."""
        self._show(name, self.states[name].told)

    def _show(self, name: str, trouble: str | None, *, tell: bool = True) -> None:
        state = self.states[name]
        state.state, state.error = ("degraded", trouble) if trouble else ("running", "")
        self.metrics.source_up.labels(name).set(0 if trouble else 1)
        if trouble and not state.alarmed:  # into trouble, or out of it: say so once in the chat
            state.alarmed = True
            self.notices.say(f"Source {name} is in trouble ({trouble}); Vigie keeps retrying.")
        elif not trouble and state.alarmed and tell:
            state.alarmed = False
            self.notices.say(f"Source {name} works again.")


def voices_of(config: AppConfig) -> dict[str, BrandVoice]:
    return {
        b.brand_slug: BrandVoice(b.name, b.playbook, tuple(b.languages), own_accounts(b.handles))
        for b in config.brands
    }


def vote_sources(config: AppConfig) -> frozenset[str]:
    """The sources whose mentions' reposts are upvotes."""
    return frozenset(s.name for s in config.sources if s.type in VOTING_TYPES)


_REACH_OF_TYPE = {
    "mastodon": "mastodon",
    "bluesky": "bluesky",
    "reddit": "reddit",
    "x": "x",
    "hackernews": "hackernews",
}


def reaches_of(config: AppConfig, publishers: set[str]) -> dict[str, Reach]:
    """Where each source's mentions are answered; replays, feeds and webhooks carry posts from
    anywhere, so their URL decides."""
    reaches = {}
    for settings in config.sources:
        platform = _REACH_OF_TYPE.get(settings.type, "")
        limit = settings.max_characters if isinstance(settings, MastodonSourceSettings) else None
        reaches[settings.name] = Reach(platform, limit, settings.name in publishers)
    return reaches


def build_drafts(
    config: AppConfig, writer: Writer, clock: Clock, names: dict[str, str]
) -> DraftControl:
    playbooks = {b.brand_slug: b.playbook for b in config.brands}
    return DraftControl(writer, clock, config.replies, names, text_check(playbooks))


@dataclass
class Service:
    config: AppConfig
    clock: Clock
    metrics: Metrics
    writer: Writer
    intake: Intake
    console: ConsolePlatform
    desk: IncidentDesk
    deliverer: Deliverer
    watch: SourceWatch
    sources: dict[str, SourceState] = field(default_factory=dict)
    slack: SlackRuntime | None = None
    enricher: DraftEnricher | None = None
    teams: TeamsRuntime | None = None
    http_port: int | None = None
    story_over: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when every replay is done (event time): from then on time passes as on a watch."""
    ticking: Fault = field(default_factory=lambda: Fault("the incident clock", logger))
    """The incident clock's failures in a row (``_tick``), shown by /healthz while they last."""

    def health(self) -> dict[str, Any]:
        """What ``GET /healthz`` answers (``bot.health``)."""
        return health_report(self.sources, self.intake, self.desk, self.deliverer, self.ticking)


def build(config: AppConfig, console: Console) -> Service:
    clock = choose_clock(config)
    for warning in (
        *config.unused_platform_warnings(),
        *config.clock_warnings(),
        *config.webhook_warnings(),
    ):
        logger.warning(warning)
    metrics = Metrics()
    writer = Writer(config.storage.path)
    names = {b.brand_slug: b.name for b in config.brands}
    own = {b.brand_slug: own_accounts(b.handles) for b in config.brands}
    platform = ConsolePlatform(config.console, names, console, own, background=True)
    desk = IncidentDesk(
        EngineSetup(
            policy=config.incidents,
            brand_names=names,
            own_hashtags={
                b.brand_slug: frozenset(t.lower() for t in b.hashtags) for b in config.brands
            },
            influencers=own_accounts(config.influencers),
            vote_sources=vote_sources(config),
            own_accounts=own,
            usual_per_hour={
                b.brand_slug: b.usual_complaints_per_hour
                for b in config.brands
                if b.usual_complaints_per_hour
            },
        ),
        event_time=isinstance(clock, EventClock),
    )
    if isinstance(clock, SystemClock):
        desk.leaps = clock.leapt_from
    platforms: dict[str, Platform] = {"console": platform}
    pace = {}
    if config.platforms.file is not None:
        platforms["file"] = FilePlatform(config.platforms.file.path)
        pace["file"] = config.platforms.file.pace_seconds
    drafts = build_drafts(config, writer, clock, names)
    slack = None
    if config.platforms.slack is not None:
        slack = build_slack(config.platforms.slack, writer, desk, clock, names, drafts, own)
        platforms["slack"] = slack.platform
        pace["slack"] = config.delivery.pace_seconds
    teams = None
    if config.platforms.teams is not None:
        targets = config.incidents.targets.values()
        teams = build_teams(
            config.platforms.teams, writer, desk, clock, names, drafts, targets, own=own
        )
        platforms["teams"] = teams.platform
        pace["teams"] = config.delivery.pace_seconds
    deliverer = Deliverer(
        writer,
        platforms,
        pace_seconds=pace,
        max_attempts=config.delivery.max_attempts,
        max_backoff_seconds=config.delivery.max_backoff_seconds,
        metrics=metrics,
        settler=DraftSettler(names, clock.now),
    )
    drafts.wake = deliverer.wake
    if teams is not None:
        teams.bot.on_reference = partial(deliverer.retry_now, "teams")
    # a feed of these can carry an item another feed of the source carries under another id
    same_link = frozenset(s.name for s in config.sources if s.type == "rss")
    intake = Intake(
        build_scorer(config),
        writer,
        metrics,
        capacity=config.pipeline.queue_size,
        batch_size=config.storage.batch_size,
        now=clock.now,
        sinks=[platform.show],
        on_event_time=clock.advance if isinstance(clock, EventClock) else None,
        store=lambda db, scored, positions: desk.store(
            db, scored, positions, clock.now(), same_link
        ),
        same_link_sources=same_link,
    )
    states: dict[str, SourceState] = {}
    watch = SourceWatch(states, metrics, Notices(writer, config.incidents, deliverer))
    context = SourceContext(clock, metrics, watch.report, tuple(brands_from(config)))
    for settings in config.sources:
        states[settings.name] = SourceState(build_source(settings, context))
    publishers = {
        name: state.source
        for name, state in states.items()
        if isinstance(state.source, Replier) and state.source.can_reply
    }
    for name, source in publishers.items():
        deliverer.platforms[PUBLISH_PREFIX + name] = SourcePublisher(source, writer)
        deliverer.max_attempts_for[PUBLISH_PREFIX + name] = config.replies.publish_attempts
    drafts.publishes = lambda source: source in publishers  # approvals refused for the others
    enricher = None
    if config.replies.generator.enabled:
        enricher = DraftEnricher(
            writer, config.replies.generator, voices_of(config), wake=deliverer.wake, clock=clock
        )
    planner = DraftPlanner(
        config.replies,
        voices_of(config),
        TargetRules(reaches_of(config, set(publishers)), platform_of_url),
        on_new_set=enricher.wanted if enricher is not None else lambda set_id: None,
    )
    desk.after_step = planner.plan
    sources = states
    return Service(
        config,
        clock,
        metrics,
        writer,
        intake,
        platform,
        desk,
        deliverer,
        watch,
        sources,
        slack,
        enricher,
        teams,
    )


async def serve(service: Service, *, exit_when_idle: bool, stop: asyncio.Event) -> bool:
    """Run until ``stop`` is set (or, with ``exit_when_idle``, the finite sources are done).

    Returns False when a source failed.
    """
    loop = asyncio.get_running_loop()
    service.desk.on_intents = partial(loop.call_soon_threadsafe, service.deliverer.wake)
    if service.enricher is not None:
        service.enricher.bind(loop)
    await service.writer.run(service.desk.load)
    before = await service.writer.run(_incidents_before)
    if isinstance(service.clock, EventClock):
        # resume event time where the stored story ends, so a run that hears nothing new
        # (a replay already consumed) judges the same moment again rather than "now"
        # (or, later, where the engine's time stood: it flowed on after the story's end)
        times = [await service.writer.run(latest_post_time), service.desk.engine.now]
        known = [at for at in times if at is not None]
        if known:
            service.clock.advance(max(known))
    await _refile(service)  # what a failed filing left, before new mentions follow
    intake_task = asyncio.create_task(service.intake.run(), name="intake")
    background = [asyncio.create_task(service.deliverer.run(), name="deliverer")]
    background.append(asyncio.create_task(_scorer_told(service, stop), name="stopping"))
    background.append(asyncio.create_task(_tick(service), name="incident-clock"))
    background.append(asyncio.create_task(_refile_often(service), name="refile"))
    background.append(asyncio.create_task(_rescore(service), name="rescore"))
    if not service.desk.event_time:
        readers = {
            name: state.source
            for name, state in service.sources.items()
            if isinstance(state.source, EngagementReader)
        }
        if readers:
            settings = service.config.engagement
            refresher = EngagementRefresher(
                service.writer,
                service.desk,
                readers,
                service.clock,
                every=settings.refresh_seconds,
                limit=settings.max_posts,
                vote_sources=vote_sources(service.config),
            )
            background.append(asyncio.create_task(refresher.run(), name="engagement"))
    keep_days = service.config.storage.keep_days
    if keep_days:
        background.append(asyncio.create_task(_forget_old(service, keep_days), name="retention"))
    runner = await _start_http(service) if service.config.http.enabled else None
    if service.slack is not None and service.slack.socket is not None:
        # in the background: the SDK retries a connection for ever, start-up must not wait
        socket = service.slack.socket.connect_async()  # type: ignore[no-untyped-call]
        background.append(asyncio.create_task(socket, name="slack-socket-mode"))
    tasks = {
        name: asyncio.create_task(_run_source(service, state), name=f"source:{name}")
        for name, state in service.sources.items()
    }
    try:
        await _wait(service, tasks, exit_when_idle, stop, intake_task)
    finally:
        await _shutdown(service, tasks, runner, intake_task, background, before)
    return all(state.state != "failed" for state in service.sources.values())


async def _tick(service: Service) -> None:
    """Let time pass for incidents even when no mention arrives: live, from the start; on
    event time, once the replays are over (the service goes on for Slack or Teams, where people
    acknowledge, snooze and wait for reminders)."""
    if service.desk.event_time:
        await service.story_over.wait()
    while True:
        await asyncio.sleep(service.config.delivery.tick_seconds)
        try:
            await service.writer.run(partial(service.desk.tick, now=service.clock.now()))
        except Exception as error:
            service.metrics.tick_failures.inc()
            service.ticking.failed(error, "retrying at the next tick")
        else:
            service.ticking.ok()


async def _scorer_told(service: Service, stop: asyncio.Event) -> None:
    """Tell the scorer as soon as a signal asks the service to stop (its workers may have
    been signalled too)."""
    await stop.wait()
    service.intake.scorer.stopping()


async def _refile(service: Service) -> None:
    """File the mentions kept unfiled (a filing that failed) once more."""
    try:
        left = await service.writer.run(partial(refile, service.desk, now=service.clock.now()))
    except Exception:
        logger.exception("filing the mentions kept unfiled failed; retrying later")
        return
    if left:
        logger.warning("%d stored mentions still wait to be filed into incidents", left)


async def _rescore(service: Service) -> None:
    """Score the mentions stored unscored once more (a new version may have fixed the bug)."""
    try:
        await rescore(service.intake.scorer, service.writer, service.desk, service.clock.now())
    except Exception:
        logger.exception("scoring the mentions stored unscored again failed; next start")


async def _refile_often(service: Service) -> None:
    """While mentions wait to be filed, try again every ``REFILE_SECONDS``."""
    while True:
        await asyncio.sleep(REFILE_SECONDS)
        if service.desk.unfiled:
            await _refile(service)


async def _forget_old(service: Service, keep_days: int) -> None:
    """Old mentions are forgotten on the service's clock: on event time, once the replays are
    over (a replay of last year's posts is not forgotten as it is stored)."""
    if service.desk.event_time:
        await service.story_over.wait()
    await forget_old(service.writer, service.clock, timedelta(days=keep_days))


async def _run_source(service: Service, state: SourceState) -> None:
    """Run one source from its stored position. A replay that fails has failed (its file is
    wrong); a live source that stops on an unexpected error starts again from its stored
    position after a growing pause, and is shown degraded meanwhile: listening never ends."""
    name = state.source.name
    live = not isinstance(state.source, ReplaySource)
    loop = asyncio.get_running_loop()
    stops = 0  # in a row: since the source last ran STABLE_SECONDS
    while True:
        started = loop.time()
        settled: asyncio.TimerHandle | None = None
        try:
            position = await service.writer.run(lambda db: load_cursor(db, name))
            if stops:
                service.watch.restarted(name)
                settled = loop.call_later(STABLE_SECONDS, service.watch.stable, name)
            else:
                state.state = "running"
                service.metrics.source_up.labels(name).set(1)
            await state.source.run(service.intake, position)
        except asyncio.CancelledError:
            state.state = "stopped"
            raise
        except Exception as error:
            shown = shown_error(str(error) or type(error).__name__)
            if not live:
                state.state, state.error = "failed", shown
                service.metrics.source_up.labels(name).set(0)
                logger.error("source %s failed: %s", name, error)
                await _story_may_be_over(service)
                return
            if loop.time() - started >= STABLE_SECONDS:
                stops = 0  # it ran well for a while: this stop is not one of a series
            pause = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**stops)
            stops += 1
            service.watch.crashed(name, shown)
            logger.exception("source %s stopped; starting it again in %.0fs", name, pause)
            await asyncio.sleep(pause)
            continue
        finally:
            if settled is not None:
                settled.cancel()
        break
    state.state = "finished"
    await _story_may_be_over(service)


async def _story_may_be_over(service: Service) -> None:
    """On event time, once no replay is left running (finished, or failed: a wrong file), the
    story's end is judged and time flows on (see ``_end_of_story``)."""
    over = all(s.state in ("finished", "failed") for s in service.sources.values())
    if over and service.desk.event_time and not service.story_over.is_set():
        await _end_of_story(service)


async def _end_of_story(service: Service) -> None:
    """Every replay is done and time is event time: close the last bin, so the story's end is
    judged too (it would be, live, five minutes later)."""
    await service.intake.drained()
    end = service.clock.now() + BIN
    await service.writer.run(partial(service.desk.tick, now=end))
    if isinstance(service.clock, EventClock):
        service.clock.advance(end)  # the story's end, which the last tick judged
        service.clock.follow_wall()
    service.story_over.set()


async def _wait(
    service: Service,
    tasks: dict[str, asyncio.Task[None]],
    exit_when_idle: bool,
    stop: asyncio.Event,
    intake_task: asyncio.Task[None],
) -> None:
    waiters = [asyncio.create_task(stop.wait()), intake_task]
    if exit_when_idle:
        finite = [tasks[name] for name, s in service.sources.items() if s.source.finite]
        if not finite:
            logger.warning("--exit-when-idle: no finite source (replay) configured; exiting")
        waiters.append(asyncio.create_task(_idle(service, finite)))
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        if waiter is not intake_task:
            waiter.cancel()
    if intake_task in done:
        intake_task.result()  # the consumer never ends on its own: surface its error
        raise ServiceError("the intake stopped unexpectedly")


async def _idle(service: Service, finite: list[asyncio.Task[None]]) -> None:
    if finite:
        await asyncio.wait(finite)
    await service.intake.drained()


async def _start_http(service: Service) -> web.AppRunner:
    http = service.config.http
    webhooks = {
        state.source.name: state.source
        for state in service.sources.values()
        if isinstance(state.source, WebhookSource)
    }
    slack = service.slack
    http_mode = slack is not None and slack.socket is None  # Socket Mode: no way in over HTTP
    routes = {"/slack/events": slack_route(slack.app)} if slack is not None and http_mode else {}
    if service.teams is not None:
        teams_settings = service.config.platforms.teams
        tenant = teams_settings.tenant_id if teams_settings else ""
        emulator = teams_settings is not None and not teams_settings.app_id
        routes["/api/messages"] = teams_route(
            service.teams.adapter, service.teams.bot, tenant, emulator=emulator
        )
    app = build_http_app(webhooks, service.metrics, service.health, routes)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=SHUTDOWN_STEP_SECONDS,
        keepalive_timeout=KEEPALIVE_SECONDS,
    )
    await runner.setup()
    site = web.TCPSite(runner, http.host, http.port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ServiceError(
            f"cannot listen on {http.host}:{http.port}: {error.strerror or error}; "
            "choose another http.port in app.yaml (0 picks a free one)"
        ) from None
    service.http_port = int(runner.addresses[0][1]) if runner.addresses else http.port
    logger.info(
        "listening on http://%s:%s (healthz, metrics, webhooks)", http.host, service.http_port
    )
    return runner


@dataclass(frozen=True)
class IncidentsBefore:
    """The incidents open when the service started, and the highest id then."""

    open: frozenset[int]
    last_id: int


def _incidents_before(db: Database) -> IncidentsBefore:
    row = db.execute("SELECT COALESCE(MAX(id), 0) FROM incidents").fetchone()
    return IncidentsBefore(frozenset(i.id for i in list_incidents(db, only_open=True)), row[0])


def _incidents_of_this_run(db: Database, before: IncidentsBefore) -> list[Incident]:
    """What the summary at exit shows: the incidents open now, opened during this run, or open
    when it started (closed since); not every incident a months-old database holds."""
    shown = {i.id: i for i in list_incidents(db, only_open=True)}
    rows = db.execute("SELECT id FROM incidents WHERE id > ?", [before.last_id]).fetchall()
    for incident_id in sorted({*before.open, *(row[0] for row in rows)} - shown.keys()):
        incident = get_incident(db, incident_id)
        if incident is not None:  # a reserved id, never filled
            shown[incident_id] = incident
    return sorted(shown.values(), key=lambda incident: incident.id)


async def _shutdown(
    service: Service,
    tasks: dict[str, asyncio.Task[None]],
    runner: web.AppRunner | None,
    intake_task: asyncio.Task[None],
    background: list[asyncio.Task[None]],
    before: IncidentsBefore,
) -> None:
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    if service.slack is not None and service.slack.socket is not None:
        await service.slack.socket.close_async()  # type: ignore[no-untyped-call]
    if runner is not None:
        await runner.cleanup()
    if not intake_task.done():
        service.intake.close()
        try:
            await asyncio.wait_for(intake_task, SHUTDOWN_STEP_SECONDS)
        except TimeoutError:
            logger.error(
                "the queue did not drain in %.0fs; unstored mentions are re-read by "
                "replays on restart, webhook senders were not acknowledged",
                SHUTDOWN_STEP_SECONDS,
            )
    await asyncio.to_thread(service.intake.scorer.close)
    for task in background[1:]:  # the incident clock, the Slack socket: not the deliverer
        task.cancel()
    if service.enricher is not None:
        await service.enricher.close()  # variants not yet generated are not waited for
    try:
        left = await service.deliverer.flush(SHUTDOWN_STEP_SECONDS)
    except Exception:  # the database must still be closed: what is left goes out next start
        logger.exception("delivering the outbox at shutdown failed")
    else:
        if left:
            logger.warning("%d notifications left in the outbox; delivered at the next start", left)
    background[0].cancel()
    await asyncio.gather(*background, return_exceptions=True)
    incidents = await service.writer.run(partial(_incidents_of_this_run, before=before))
    await asyncio.to_thread(service.writer.close)
    service.console.summary(incidents)


REPEAT_IS_ECHO_SECONDS = 1.0
"""A second signal this soon after the first is the same stop delivered twice (coreutils
``timeout`` signals the service, then its whole process group), not a person insisting."""


def install_signal_handlers(
    stop: asyncio.Event, stopping: Sequence[Callable[[], None]] = ()
) -> None:
    """The first SIGINT or SIGTERM sets ``stop`` (an orderly shutdown) and calls ``stopping``
    (as it stands then: the scorer, once built, must know before its workers' deaths reach it);
    a second one, while that shutdown is slow, exits at once with 128 + the signal's number
    (130, 143). Nothing committed is lost (SQLite); the outbox is delivered and unacknowledged
    webhooks resent after a start."""
    loop = asyncio.get_running_loop()
    first: list[float] = []  # when the first signal came

    def on_signal(signum: signal.Signals) -> None:
        if not stop.is_set():
            stop.set()
            first.append(loop.time())
            for told in stopping:
                told()
            return
        if loop.time() - first[0] < REPEAT_IS_ECHO_SECONDS:
            return  # the same stop, delivered twice (`timeout` signals the child, then its group)
        logger.warning("%s again: shutdown forced, exiting now", signum.name)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
