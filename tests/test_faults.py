"""Faults around the service: a flaky chat platform, a sick database, a jumping clock.

- Slack through the real service and the real slack_sdk client, against ``FakeSlack`` behind a
  small proxy (``FlakyLink``) that breaks requests the way networks do: 429 with Retry-After,
  500s, connections reset before or after Slack acted, answers slower than the client's
  timeout, and a long outage. Nothing is lost, no key is posted twice, retries back off, and
  ``/healthz`` says what is going on.
- Storage: a database locked by another connection, full (SQLITE_FULL), or read-only. A clear
  error in ``/healthz``, nothing lost, no corruption (``PRAGMA integrity_check``), recovery once
  the cause is gone.
- Time: NTP steps (the wall clock jumping hours forward and back) and daylight-saving changes
  while an escalation waits or an incident is snoozed: escalation neither fires early nor gets
  stuck.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

import handlers.slack.runtime
from bot.app import Service
from bot.cli import main
from bot.clock import SystemClock
from bot.config.incidents import IncidentPolicy
from bot.incidents import actions
from bot.incidents.engine import MAX_CATCH_UP
from bot.incidents.groups import BIN
from bot.incidents.quiet import quiet_until
from handlers.slack.platform import make_client
from storage.incidents import get_incident
from tests.conftest import mention_record, running_service, wait_for, write_config, write_jsonl
from tests.slack_fake import FakeSlack
from tests.test_incident_engine import MIN, T0, Desk, policy
from tests.test_restart import ROOT
from tests.test_slack import POLICY, RESPONDER, SECRET, storm
from tests.test_webhook import WEBHOOK, post, signed

# -- Slack behind a flaky link ---------------------------------------------------------------------


@dataclass
class Fault:
    """What to do to the next request of ``method``.

    ``reset``: the connection is reset before Slack sees the request; ``reset after``: Slack
    acts on it, then the connection is reset, so the answer is lost; ``slow``: Slack acts on
    it and the answer comes ``seconds`` later.
    """

    method: str
    kind: str
    seconds: float = 0.0


@dataclass
class Request:
    method: str
    channel: str
    at: float  # time.monotonic()
    outcome: str  # "relayed", "reset", "reset after", "slow", "outage"


class FlakyLink:
    """A proxy in front of FakeSlack's Web API, on 127.0.0.1, that breaks chosen requests."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.down: set[str] = set()  # methods answered 500 while set: an outage
        self.requests: list[Request] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._relay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/api/"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def requests_to(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def _take(self, method: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.method == method:
                return self.faults.pop(index)
        return None

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = await request.read()
        channel = _channel_of(body) or request.query.get("channel", "")
        if method in self.down:
            self.requests.append(Request(method, channel, time.monotonic(), "outage"))
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        fault = self._take(method)
        outcome = fault.kind if fault else "relayed"
        self.requests.append(Request(method, channel, time.monotonic(), outcome))
        if fault is not None and fault.kind == "reset":
            return _reset(request)
        assert self._session is not None
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type")
        }
        async with self._session.request(
            request.method, self.upstream + method, params=request.query, data=body, headers=headers
        ) as answer:
            payload, status = await answer.read(), answer.status
            kept = {k: v for k, v in answer.headers.items() if k in ("Content-Type", "Retry-After")}
        if fault is not None and fault.kind == "reset after":
            return _reset(request)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        return web.Response(body=payload, status=status, headers=kept)


def _channel_of(body: bytes) -> str:
    try:
        fields = json.loads(body)
    except ValueError:
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return str(fields.get("channel", "")) if isinstance(fields, dict) else ""


def _reset(request: web.Request) -> web.StreamResponse:
    """Reset the connection (RST, as a dropped link or a crashed proxy does)."""
    transport = request.transport
    assert transport is not None
    transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
    )
    transport.abort()
    return web.Response()


def slack_app(tmp_path: Path, api_url: str, **delivery: Any) -> Path:
    data = write_jsonl(tmp_path / "storm.jsonl", storm())
    return write_config(
        tmp_path,
        [{"type": "replay", "name": "file", "path": str(data)}],
        incidents=POLICY,
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": api_url,
                "responders": {"*": [RESPONDER]},
            }
        },
        delivery={"pace_seconds": 0, **delivery},
    )


@asynccontextmanager
async def slack_behind_a_flaky_link() -> AsyncIterator[tuple[FakeSlack, FlakyLink]]:
    async with FakeSlack() as slack, FlakyLink(slack.api_url) as link:
        yield slack, link


def outbox_rows(service: Service) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(service.config.storage.path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM outbox ORDER BY id")]


def all_delivered(service: Service) -> bool:
    rows = outbox_rows(service)
    return bool(rows) and not any(row["state"] in ("pending", "sending") for row in rows)


def posted_keys(slack: FakeSlack) -> Counter[str]:
    """The idempotency key of every message in every channel (Slack's view: what people see)."""
    return Counter(
        message["metadata"]["event_payload"]["key"]
        for messages in slack.messages.values()
        for message in messages
        if message.get("metadata")
    )


def assert_each_intent_posted_once(service: Service, slack: FakeSlack) -> None:
    rows = outbox_rows(service)
    assert {row["state"] for row in rows} <= {"sent", "superseded"}, rows
    posted = posted_keys(slack)
    twice = {key: count for key, count in posted.items() if count > 1}
    assert not twice, f"posted more than once: {twice}"
    expected = {row["key"] for row in rows if row["state"] == "sent" and row["kind"] != "update"}
    assert set(posted) == expected


async def health(service: Service) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{service.http_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_429s_500s_resets_and_slow_answers_lose_nothing_and_post_nothing_twice(
    tmp_path: Path,
) -> None:
    async with slack_behind_a_flaky_link() as (slack, link):
        # a 429 (the client waits its Retry-After; test_slack.py has 429 storms that reach
        # the outbox), 500s that do reach it (the client retries a 500 only once)
        slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
        slack.fail("chat.postMessage", status=500, retry_after=None, times=2)
        link.faults += [
            Fault("chat.postMessage", "reset"),
            Fault("chat.postMessage", "slow", 0.5),
            Fault("chat.update", "reset"),
            Fault("chat.update", "slow", 0.5),
        ]
        async with running_service(slack_app(tmp_path, link.url)) as service:
            await wait_for(lambda: all_delivered(service) and not link.faults, timeout=60)
            assert_each_intent_posted_once(service, slack)
            assert (await health(service))[1]["notifications"]["failed"] == 0
        statuses = [call.status for call in slack.calls_to("chat.postMessage")]
        assert sorted(statuses[:3]) == [429, 500, 500]
        # Retry-After was honoured: nothing went to a channel within a second of its 429
        for channel in ("C1", "C2"):
            posts = [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == channel]
            for before, after in itertools.pairwise(posts):
                if before.status == 429:
                    assert after.time - before.time >= 1.0, channel
        assert {r.outcome for r in link.requests} >= {"reset", "slow", "relayed"}


async def test_a_reset_after_slack_posted_does_not_post_twice(tmp_path: Path) -> None:
    async with slack_behind_a_flaky_link() as (slack, link):
        link.faults.append(Fault("chat.postMessage", "reset after"))
        async with running_service(slack_app(tmp_path, link.url)) as service:
            await wait_for(lambda: all_delivered(service), timeout=60)
            assert link.requests_to("chat.postMessage")[0].outcome == "reset after"
            assert_each_intent_posted_once(service, slack)


async def test_an_answer_slower_than_the_client_timeout_is_found_not_posted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def impatient_client(token: str, api_url: str) -> AsyncWebClient:
        client = make_client(token, api_url)
        client.timeout = 1  # slack_sdk's default is 30 s; a test cannot wait that long
        return client

    monkeypatch.setattr(handlers.slack.runtime, "make_client", impatient_client)
    async with slack_behind_a_flaky_link() as (slack, link):
        link.faults.append(Fault("chat.postMessage", "slow", 3.0))
        async with running_service(slack_app(tmp_path, link.url)) as service:
            await wait_for(lambda: all_delivered(service), timeout=60)
            assert link.requests_to("chat.postMessage")[0].outcome == "slow"
            # the retry asked Slack whether it already had the message (metadata key) first
            assert slack.calls_to("conversations.history")
            assert_each_intent_posted_once(service, slack)


class HealthSilent(AssertionError):
    """/healthz did not show the delivery trouble."""


async def test_an_outage_backs_off_shows_in_health_and_loses_nothing(tmp_path: Path) -> None:
    async with slack_behind_a_flaky_link() as (slack, link):
        link.down.add("chat.postMessage")
        config = slack_app(tmp_path, link.url, max_backoff_seconds=1)
        async with running_service(config) as service:

            def retries() -> list[Request]:  # the outbox asks Slack first before each retry
                return [r for r in link.requests_to("conversations.history") if r.channel == "C1"]

            await wait_for(lambda: len(retries()) >= 2, timeout=30)
            during = await health(service)
            posts = [r for r in link.requests_to("chat.postMessage") if r.channel == "C1"]
            seen = retries()
            link.down.clear()
            await wait_for(lambda: all_delivered(service), timeout=30)
            after = await health(service)
            assert_each_intent_posted_once(service, slack)
        # no tight loop: the outbox waits max_backoff_seconds between tries of an item, and
        # each try costs at most two requests (the client retries a 500 once itself)
        gaps = [b.at - a.at for a, b in itertools.pairwise(seen)]
        assert all(gap >= 0.95 for gap in gaps), gaps
        assert len(posts) <= 2 * (len(seen) + 1), [r.at for r in posts]
        assert after[0] == 200
        assert after[1]["status"] == "ok"
        assert after[1]["notifications"]["failed"] == 0
        if "internal_error" not in json.dumps(during[1]) or "internal_error" in json.dumps(after):
            raise HealthSilent(f"during the outage: {during}; after: {after}")


# -- storage: locked, full, read-only ----------------------------------------------------------


def batch(first: int, count: int, filler: int = 0) -> list[dict[str, Any]]:
    """Mentions ``first`` .. ``first + count - 1``; ``filler`` characters make them bigger."""
    return [
        mention_record(n, f"{mention_record(n)['text']} {'z' * filler}")
        for n in range(first, first + count)
    ]


async def send(service: Service, records: list[dict[str, Any]]) -> tuple[int, Any]:
    body = json.dumps(records).encode()
    assert service.http_port is not None
    status, answer = await post(service.http_port, body, signed(body))
    return int(status), answer


def stored_ids(config: Path) -> Counter[str]:
    with closing(sqlite3.connect(config.parent / "vigie.db")) as conn:
        return Counter(row[0] for row in conn.execute("SELECT native_id FROM mentions"))


def integrity(database: Path) -> str:
    with closing(sqlite3.connect(database)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def storage_error(service: Service) -> str:
    status, report = await health(service)
    assert (status, report["status"]) == (503, "degraded"), report
    return str(report["storage"]["error"])


async def test_a_locked_database_degrades_health_then_recovers_without_losing_anything(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [WEBHOOK])
    async with running_service(config) as service:
        # The writer waits busy_timeout (5 s) for a lock before it errs; a shorter wait on its
        # own connection turns the same SQLITE_BUSY into an error within the test's budget.
        await service.writer.run(lambda db: db.execute("PRAGMA busy_timeout = 200"))
        assert (await send(service, batch(1, 20)))[0] == 200
        with closing(sqlite3.connect(tmp_path / "vigie.db", isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
            sending = asyncio.create_task(send(service, batch(21, 20)))
            await wait_for(lambda: service.intake.storage_error is not None)
            assert "locked" in await storage_error(service)
            assert not sending.done(), "acknowledged before it was stored"
            other.execute("ROLLBACK")
        status, answer = await sending
        assert (status, answer["stored"]) == (200, 20)
        status, report = await health(service)
        assert (status, report["status"], report["storage"]["error"]) == (200, "ok", None)
    ids = stored_ids(config)
    assert set(ids) == {f"m-{n}" for n in range(1, 41)}
    assert set(ids.values()) == {1}
    assert integrity(tmp_path / "vigie.db") == "ok"


async def test_a_full_disk_degrades_health_then_recovers_without_losing_anything(
    tmp_path: Path,
) -> None:
    """SQLite's max_page_count caps the file where it stands: the next write that needs a new
    page fails with SQLITE_FULL ("database or disk is full"), the very error and code path of
    a full disk, without a tiny filesystem (no loop device or tmpfs mount in CI)."""
    config = write_config(tmp_path, [WEBHOOK])
    async with running_service(config) as service:
        assert (await send(service, batch(1, 20)))[0] == 200

        def cap(db: Any, pages: int | None = None) -> None:
            pages = pages or db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")

        await service.writer.run(cap)
        sending = asyncio.create_task(send(service, batch(21, 100, filler=2000)))
        await wait_for(lambda: service.intake.storage_error is not None)
        assert "full" in await storage_error(service)
        assert not sending.done(), "acknowledged before it was stored"
        await service.writer.run(lambda db: cap(db, 1_000_000))  # room again
        status, answer = await sending
        assert (status, answer["stored"]) == (200, 100)
        status, report = await health(service)
        assert (status, report["status"], report["storage"]["error"]) == (200, "ok", None)
    ids = stored_ids(config)
    assert set(ids) == {f"m-{n}" for n in range(1, 121)}
    assert set(ids.values()) == {1}
    assert integrity(tmp_path / "vigie.db") == "ok"


class StuckReadOnly(AssertionError):
    """The running service did not recover once the database was writable again."""


def as_unprivileged(probe: Path) -> list[str]:
    """A command prefix under which file modes bind, even for root (CI containers often run
    as root, who may write a 0o444 file): a user namespace without a mapping drops the
    capability to override them. Skips where neither works."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["unshare", "--user"]
    try:
        check = subprocess.run(
            [*prefix, sys.executable, "-c", f"open({str(probe)!r}, 'r+b')"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except FileNotFoundError:
        pytest.skip("running as root without unshare: a read-only file cannot stop root here")
    if check.returncode == 0 or b"PermissionError" not in check.stderr:
        pytest.skip(f"a 0o444 file stays writable here: {check.stderr.decode()[-300:]}")
    return prefix


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    """Wait (in a synchronous test) until ``condition`` holds; False if it never did."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def health_of(log: Path) -> dict[str, Any] | None:
    """The /healthz report of the service that wrote ``log``, once it listens."""
    found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
    if found is None:
        return None
    url = f"http://127.0.0.1:{found.group(1)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return dict(json.load(answer))
    except urllib.error.HTTPError as error:
        return dict(json.load(error))
    except OSError:
        return None


@pytest.mark.slow
def test_a_read_only_database_is_reported_nothing_is_corrupted_and_it_recovers(
    tmp_path: Path,
) -> None:
    first = write_jsonl(tmp_path / "first.jsonl", batch(1, 30))
    config = write_config(tmp_path, [{"type": "replay", "name": "first", "path": str(first)}])
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    second = write_jsonl(tmp_path / "second.jsonl", batch(31, 30))
    sources = [
        {"type": "replay", "name": "first", "path": str(first)},
        {"type": "replay", "name": "second", "path": str(second)},
    ]
    config = write_config(tmp_path, sources, http={"port": 0})
    files = [tmp_path / name for name in ("vigie.db", "vigie.db-wal", "vigie.db-shm")]
    for file in files:
        if file.exists():
            file.chmod(0o444)
    prefix = as_unprivileged(tmp_path / "vigie.db")

    log = tmp_path / "log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "bot", "run", "-c", str(config), "--exit-when-idle"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        report: dict[str, Any] | None = None

        def told() -> bool:
            nonlocal report
            report = health_of(log)
            return process.poll() is not None or bool(report and report["storage"]["error"])

        assert poll(told, 60), log.read_text(errors="replace")
        said = log.read_text(errors="replace")
        if process.poll() is not None:  # refused at start-up: it must say why, and fail
            assert process.returncode == 1, said
            assert re.search(r"read-?only", said), said
        else:  # or it runs, degraded, saying why
            assert report is not None
            assert report["status"] == "degraded"
            assert "readonly" in str(report["storage"]["error"]).replace("-", "")
        for file in files:
            if file.exists():
                file.chmod(0o644)
        recovered = process.poll() is not None or poll(lambda: process.poll() is not None, 3)
        if process.poll() is None:
            process.kill()
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert integrity(tmp_path / "vigie.db") == "ok"
    assert set(stored_ids(config)) >= {f"m-{n}" for n in range(1, 31)}  # nothing lost

    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0  # writable: it goes on
    ids = stored_ids(config)
    assert set(ids) == {f"m-{n}" for n in range(1, 61)}
    assert set(ids.values()) == {1}
    assert integrity(tmp_path / "vigie.db") == "ok"
    if not recovered:
        raise StuckReadOnly(f"still running 3 s after the file was made writable:\n{said}")


# -- time: NTP steps and daylight-saving changes ---------------------------------------------------

HOUR = timedelta(hours=1)


class LiveDesk(Desk):
    """The incident desk as it runs live: time is the wall clock handed to each store and tick
    (what ``bot/app.py`` passes from ``SystemClock``), not the mentions' own times."""

    def __init__(self, path: Path, chosen: IncidentPolicy) -> None:
        super().__init__(path, chosen)
        self.desk.event_time = False

    def live(self, start: datetime, minutes: int, per_minute: int = 3) -> None:
        """A storm heard as it happens, with the clock ticking every minute."""
        for minute in range(minutes):
            self.post(start + minute * MIN, per_minute)
            self.tick(start + minute * MIN + MIN / 2)

    def ticking(self, start: datetime, minutes: int) -> None:
        for minute in range(minutes + 1):
            self.tick(start + minute * MIN)

    def escalation_wait(self) -> datetime:
        """When the 15-minute wait after the alert level's team notification ends."""
        return max(self.when(1, "notified", "team")) + 15 * MIN


def test_an_ntp_step_forward_runs_the_pending_wait_at_its_due_time_once(tmp_path: Path) -> None:
    desk = LiveDesk(tmp_path, policy())
    desk.live(T0, 12)
    due = desk.escalation_wait()
    assert not desk.when(1, "escalated", "to crisis")
    desk.tick(T0 + 12 * MIN + 3 * HOUR)  # the wall clock jumps three hours in one tick
    assert desk.when(1, "escalated", "to crisis") == [due]  # on the time line, not at the jump
    assert [row[1] for row in desk.intents("open")] == ["#team", "#lead"]  # each card once
    desk.tick(T0 + 12 * MIN + 3 * HOUR + MIN)  # the next tick repeats nothing
    assert len(desk.when(1, "escalated", "to crisis")) == 1
    assert len(desk.intents("open")) == 2


def test_a_jump_beyond_the_catch_up_limit_leaves_timers_working(tmp_path: Path) -> None:
    """MAX_CATCH_UP promises: a jump longer than two days walks two days (a calm storm
    resolves, waits and snoozes end) and skips the rest; time then runs normally again."""
    desk = LiveDesk(tmp_path, policy())
    desk.live(T0, 10)
    assert desk.act(actions.snooze, 1, "ann", T0 + 10 * MIN, T0 + 10 * MIN + 2 * HOUR).ok
    later = T0 + MAX_CATCH_UP + timedelta(days=3)  # a clock fixed after five days
    desk.tick(later)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.value == "resolved"
    assert incident.resolved_at is not None
    assert incident.resolved_at < T0 + MAX_CATCH_UP  # during the walk, when it had calmed
    assert len(desk.when(1, "resolved")) == 1
    # a new storm after the jump is an incident of its own, notified after group_wait and
    # escalated after its wait, like any other
    desk.live(later, 12)
    desk.ticking(later + 12 * MIN, 30)
    opened = desk.when(2, "opened")
    assert opened
    assert desk.when(2, "notified")[0] == opened[0] + 2 * MIN
    notified = max(t for t in desk.when(2, "notified", "team"))
    assert desk.when(2, "escalated", "to crisis") == [notified + 15 * MIN]


@pytest.mark.parametrize(
    ("asleep", "stale_batch"),
    [(True, False), (True, True), (False, False)],
    ids=["machine-asleep", "batch-scored-across-the-sleep", "heard-all-along"],
)
def test_time_the_machine_slept_is_not_calm(
    tmp_path: Path, asleep: bool, stale_batch: bool
) -> None:
    """A laptop's lid closed or a VM paused for three hours mid-storm: nothing was heard, so
    the storm does not resolve as if it had calmed (then page again as a new surprise when its
    backlog arrives), even when a batch whose time was read before the sleep is stored first.
    Three quiet hours heard as they pass do resolve it."""
    wall, steady = [T0], [0.0]
    clock = SystemClock(wall=lambda: wall[0], monotonic=lambda: steady[0])
    desk = LiveDesk(tmp_path, policy())
    desk.desk.leaps = clock.leapt_from
    for minute in range(12):
        wall[0], steady[0] = T0 + minute * MIN, minute * 60.0
        desk.live(clock.now(), 1)
    scored_at = clock.now()  # the intake reads the time, then scores its batch ...
    wall[0] += 3 * HOUR  # ... the monotonic clock does not count a suspension
    if not asleep:
        steady[0] += 3 * HOUR.total_seconds()
    ticked_at = clock.now()  # the tick loop reads the clock first after the sleep
    if stale_batch:
        desk.post(scored_at, 1, now=scored_at)
    desk.tick(ticked_at)
    incident = get_incident(desk.db, 1)
    assert incident is not None
    assert incident.status.live is asleep
    assert ("unheard" in [action for action, _ in desk.actions()]) is asleep


def test_an_ntp_step_back_repeats_nothing_and_fires_nothing_early(tmp_path: Path) -> None:
    desk = LiveDesk(tmp_path, policy())
    desk.live(T0, 12)
    step = T0 + 12 * MIN
    due = desk.escalation_wait()
    before = desk.intents()
    desk.ticking(step - HOUR, 59)  # the wall clock steps an hour back, then runs for an hour
    assert desk.intents() == before  # no step ran again, nothing was undone
    minutes = int((due - step) / MIN)
    desk.ticking(step, minutes - 1)  # up to the minute before the wait ends
    assert not desk.when(1, "escalated", "to crisis")
    desk.ticking(step + minutes * MIN, 2)
    assert desk.when(1, "escalated", "to crisis") == [due]
    assert [row[1] for row in desk.intents("open")] == ["#team", "#lead"]


def test_an_ntp_step_back_does_not_stop_the_escalation_wait(tmp_path: Path) -> None:
    """The live clock never steps back: after the wall clock is set back an hour, time goes
    on from where it was, so a 15-minute wait still ends 15 minutes later."""
    wall, steady = [T0], [0.0]
    clock = SystemClock(wall=lambda: wall[0], monotonic=lambda: steady[0])
    desk = LiveDesk(tmp_path, policy())
    for minute in range(12):
        wall[0], steady[0] = T0 + minute * MIN, minute * 60.0
        desk.live(clock.now(), 1)
    due = desk.escalation_wait()
    wall[0] -= HOUR  # an NTP step back, then time runs on
    start = steady[0]
    for minute in range(1, int((due - T0) / MIN) + 3):
        wall[0] += MIN
        steady[0] = start + minute * 60.0
        desk.tick(clock.now())
    assert desk.when(1, "escalated", "to crisis") == [due]


@pytest.mark.parametrize(
    ("night", "change"),
    [
        (datetime(2026, 3, 29, 0, 40, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 0, 40, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_wait_and_a_snooze_across_a_dst_change_last_their_real_length(
    tmp_path: Path, night: datetime, change: datetime
) -> None:
    # Paris changes at 01:00 UTC; the quiet hours (evening) make the zone matter, not hold
    quiet = {"time_zone": "Europe/Paris", "start": "20:00", "end": "22:00"}
    desk = Desk(tmp_path, policy(quiet_hours=quiet))
    desk.storm(night, 10)
    desk.tick(night + 10 * MIN)
    notified = max(desk.when(1, "notified", "team"))
    assert notified < change < notified + 15 * MIN  # the wait spans the change
    snoozed_at = notified + MIN
    until = snoozed_at + HOUR
    assert desk.act(actions.snooze, 1, "ann", snoozed_at, until).ok
    desk.storm(night + 10 * MIN, 40)  # still rising
    desk.tick(night + 3 * HOUR)
    escalated = desk.when(1, "escalated", "to crisis")
    assert escalated
    assert escalated[0] >= until  # the snooze held exactly an hour of real time
    assert desk.when(1, "notified", "lead")[0] == escalated[0]
    assert escalated[0] - until < BIN + timedelta(seconds=1)  # and not longer


def test_quiet_hours_ending_in_the_repeated_hour_hold_until_the_second_pass_ends(
    tmp_path: Path,
) -> None:
    quiet = {"time_zone": "Europe/Paris", "start": "00:00", "end": "02:30"}
    hours = policy(quiet_hours=quiet).quiet_hours
    assert hours is not None
    second_pass = datetime(2026, 10, 25, 1, 5, tzinfo=UTC)  # 02:05 CET, after the fall-back
    end = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    desk = Desk(tmp_path, policy(quiet_hours=quiet))
    desk.storm(second_pass - 10 * MIN, 10)
    desk.tick(second_pass + HOUR)
    assert desk.when(1, "notified")[0] == end  # the outcome is right ...
    assert quiet_until(hours, second_pass) == end  # ... but not what quiet_until says
    held = [detail for action, detail in desk.actions() if action == "held"]
    assert held == ["quiet hours, until 2026-10-25 01:30 UTC"]


def test_the_live_clock_follows_the_wall_clock_forward_and_never_steps_back() -> None:
    wall, steady = [T0], [0.0]
    clock = SystemClock(wall=lambda: wall[0], monotonic=lambda: steady[0])
    assert clock.now() == T0
    wall[0], steady[0] = T0 + 3 * HOUR, 60.0  # a forward step is taken as it is
    assert clock.now() == T0 + 3 * HOUR
    wall[0], steady[0] = T0, 120.0  # set back three hours: time goes on from where it was
    assert clock.now() == T0 + 3 * HOUR + MIN
    wall[0], steady[0] = T0 + 5 * HOUR, 180.0  # wall time overtakes: followed again
    assert clock.now() == T0 + 5 * HOUR
