"""Load on the running service over loopback: a steady stream, then a crisis burst, through the
signed webhook, with Slack configured against the fake Slack API.

    .venv/bin/python -m bench.load [--background 200] [--burst 2000] [--background-seconds 30]
                                   [--burst-seconds 60] [--batch 100] [--senders 8]
    .venv/bin/python -m bench.load --replay 1000000      # memory over a long replay

Vigie runs as its own process (``python -m bot run``) on the embedded defaults (SQLite, scoring
workers) in event time: the mentions' own times drive the 5-minute bins, one minute of events per
second of the run, so incidents open, grow and escalate within the run. Printed:

- sustained mentions/s (accepted and stored), against a bare VADER loop on the same texts in the
  same run; how many requests got 429/503 (backpressure: the sender waits and sends again) and
  whether anything was lost (stored == sent);
- webhook latency (POST until the answer: Vigie answers once the batch is stored);
- card latency: from the POST of the batch whose mentions close a bin to the incident card's
  ``chat.postMessage``/``chat.update`` at the fake (p50, p95, p99);
- queue depth (sampled from /healthz) and peak RSS of the service and its workers.

``--replay N`` instead replays N synthetic mentions from a file and samples the service's RSS
every second: peak, and the RSS at 25% against 100% of the run (flat memory).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret-0123456789abcdef"
SIGNING = "bench-signing-secret"
NEGATIVE = (
    "Kestrel Mobile down again, no signal since this morning",
    "still no refund from Kestrel Mobile after 3 weeks, never again",
    "@kestrelmobile charged twice this month and nobody answers",
    "Kestrel Mobile outage, calls dropping all day, useless #kestreldown",
    "waited 2 hours on hold with Kestrel Mobile, then they hung up",
)
NEUTRAL = (
    "switching to Kestrel Mobile next month, any tips?",
    "Kestrel Mobile new plan announced today",
    "thanks Kestrel Mobile, the new app works great",
    "is Kestrel Mobile coverage good in Lyon?",
)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bare_vader_rate(texts: list[str], seconds: float = 3.0) -> float:
    analyzer = SentimentIntensityAnalyzer()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            analyzer.polarity_scores(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    """RSS (or the peak, VmHWM) of a process and its children, in KiB."""
    total = 0
    for each in [pid, *children(pid)]:
        try:
            with open(f"/proc/{each}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith(field_name + ":"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                found += [int(p) for p in listing.read().split()]
    except OSError:
        return found
    return found + [grand for child in found for grand in children(child)]


@dataclass
class Run:
    sent: int = 0
    refused: int = 0  # 429/503 answers: sent again later
    post_latency: list[float] = field(default_factory=list)
    start_event: datetime = field(default_factory=lambda: datetime.now(UTC))
    crossings: dict[int, float] = field(default_factory=dict)  # bin -> when its closer was sent
    depth: list[int] = field(default_factory=list)
    phases: list[tuple[str, int, float]] = field(default_factory=list)  # name, offered, achieved


def config(folder: Path, slack_url: str, *, replay: Path | None = None) -> Path:
    source: dict[str, Any] = (
        {"type": "replay", "name": "load", "path": str(replay), "speed": 0}
        if replay
        else {"type": "webhook", "name": "load", "secret": SECRET, "max_batch": 1000}
    )
    data = {
        "storage": {"path": str(folder / "vigie.db")},
        "http": {"port": 0 if replay else free_port()},
        "console": {"show": "none"},
        "logging": {"level": "WARNING"},
        "clock": "event",
        "brands": [
            {
                "name": "Kestrel Mobile",
                "keywords": ["kestrel mobile", "kestrel"],
                "handles": ["@kestrelmobile"],
            }
        ],
        "sources": [source],
        "incidents": {
            "group_wait": "0s",
            "group_interval": "0s",
            "targets": {"team": {"platform": "slack", "channel": "C1"}},
        },
        "platforms": {
            "slack": {"bot_token": "xoxb-bench", "signing_secret": SIGNING, "api_url": slack_url}
        },
        "delivery": {"pace_seconds": 0},
        "replies": {"enabled": os.environ.get("BENCH_DRAFTS", "1") == "1"},
    }
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mention(number: int, at: datetime, negative: bool, rng: random.Random) -> dict[str, Any]:
    text = rng.choice(NEGATIVE if negative else NEUTRAL)
    return {
        "id": f"load-{number}",
        "text": f"{text} (ref {number})",
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "author": f"user{number % 5000}",
        "followers": rng.choice((10, 50, 200, 1000, 20_000)),
    }


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Vigie-Timestamp": stamp,
        "X-Vigie-Signature": f"sha256={digest}",
    }


async def send(
    session: aiohttp.ClientSession, url: str, batch: list[dict[str, Any]], run: Run
) -> None:
    body = json.dumps(batch).encode()
    while True:
        start = time.perf_counter()
        async with session.post(url, data=body, headers=signed(body)) as response:
            await response.read()
            if response.status == 200:
                run.post_latency.append(time.perf_counter() - start)
                run.sent += len(batch)
                return
            if response.status in (429, 503):
                run.refused += 1
                await asyncio.sleep(float(response.headers.get("Retry-After", "0.2") or 0.2))
                continue
            raise RuntimeError(f"webhook answered {response.status}: {await response.text()}")


async def drive(base: str, args: argparse.Namespace, run: Run) -> None:
    """Send the steady stream, then the burst; event time runs a minute per second."""
    rng = random.Random(7)
    url = f"{base}/webhooks/load"
    start_event = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    start_event -= timedelta(seconds=start_event.timestamp() % 300)  # on a bin boundary
    run.start_event = start_event
    phases = [
        ("background", args.background, args.background_seconds, 0.2),
        ("burst", args.burst, args.burst_seconds, 0.8),
        ("flood (as fast as accepted)", 100_000, args.flood_seconds, 0.5),
    ]
    number = 0
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=args.senders * 2)
    async with aiohttp.ClientSession() as session:

        async def sender() -> None:
            while (batch := await queue.get()) is not None:
                if batch and "_crossing" in batch[0]:
                    run.crossings[batch[0].pop("_crossing")] = time.time()
                await send(session, url, batch, run)

        senders = [asyncio.create_task(sender()) for _ in range(args.senders)]
        elapsed_event = 0.0
        last_bin = -1
        for name, rate, seconds, negative_share in phases:
            if seconds <= 0:
                continue
            phase_start = time.perf_counter()
            sent_before = run.sent
            per_batch = max(1, min(args.batch, rate // 10 or 1))
            interval = per_batch / rate
            while time.perf_counter() - phase_start < seconds:
                batch = []
                for _ in range(per_batch):
                    number += 1
                    elapsed_event += 60.0 / rate  # a minute of events per second of run
                    at = start_event + timedelta(seconds=elapsed_event)
                    batch.append(mention(number, at, rng.random() < negative_share, rng))
                # the bin of the time actually sent (rounded to the microsecond): the float sum
                # can sit a hair under a boundary that the sent time already reached
                current_bin = (at - start_event) // timedelta(seconds=300)
                if current_bin != last_bin:
                    batch[0]["_crossing"] = current_bin
                    last_bin = current_bin
                await queue.put(batch)
                await asyncio.sleep(interval)
            took = time.perf_counter() - phase_start
            run.phases.append((name, rate, (run.sent - sent_before) / took))
        for _ in senders:
            await queue.put(None)
        await asyncio.gather(*senders)


async def sample_depth(base: str, run: Run, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                async with session.get(f"{base}/healthz") as response:
                    run.depth.append(int((await response.json())["queue"]["depth"]))
            except (aiohttp.ClientError, KeyError, ValueError):
                pass
            await asyncio.sleep(0.5)


def start_service(path: Path, *, until_idle: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    idle = ["--exit-when-idle"] if until_idle else []
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "-c", str(path), *idle],
        cwd=path.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(path.parent / "stderr.log", "wb"),
    )


def stored(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{path.parent / 'vigie.db'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])


async def load(args: argparse.Namespace) -> None:
    texts = [f"{t} (ref {n})" for n, t in enumerate((*NEGATIVE, *NEUTRAL) * 200)]
    vader = bare_vader_rate(texts)
    async with FakeSlack() as slack:
        with tempfile.TemporaryDirectory() as folder:
            path = config(Path(folder), slack.api_url)
            port = yaml.safe_load(path.read_text())["http"]["port"]
            base = f"http://127.0.0.1:{port}"
            service = start_service(path)
            try:
                await wait_healthy(base)
                run, stop = Run(), asyncio.Event()
                sampler = asyncio.create_task(sample_depth(base, run, stop))
                begin = time.perf_counter()
                await drive(base, args, run)
                sent_in = time.perf_counter() - begin
                while stored(path) < run.sent:  # noqa: ASYNC110 (another process writes)
                    await asyncio.sleep(0.2)
                total = time.perf_counter() - begin
                await asyncio.sleep(2)  # the last cards
                stop.set()
                await sampler
                peak = rss_kib(service.pid, "VmHWM")
                cards = card_deliveries(path)
                count = stored(path)
            finally:
                service.send_signal(signal.SIGTERM)
                service.wait(timeout=60)
    latencies = card_latencies(run, cards)
    rate = run.sent / total
    print(f"sent {run.sent:,} mentions in {sent_in:.1f} s; all stored after {total:.1f} s")
    print(f"sustained: {rate:,.0f} mentions/s stored; bare VADER loop: {vader:,.0f}/s; "
          f"ratio {rate / vader:.2f}")  # fmt: skip
    for name, offered, achieved in run.phases:
        goal = "" if offered >= 100_000 else f" of {offered:,}/s offered"
        print(f"  {name}: {achieved:,.0f} mentions/s accepted{goal}; "
              f"{achieved / vader:.2f}x bare VADER")  # fmt: skip
    print(f"lost: {run.sent - count} (stored {count:,}); 429/503 answers: {run.refused}")
    print(
        "webhook POST until stored: "
        f"p50 {percentile(run.post_latency, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(run.post_latency, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(run.post_latency, 0.99) * 1000:.0f} ms"
    )
    print(
        f"card latency over {len(latencies)} cards: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
    )
    depth = run.depth or [0]
    print(f"queue depth: mean {statistics.mean(depth):.0f}, max {max(depth)}")
    print(f"peak RSS (service + workers): {peak / 1024:.0f} MiB")


def card_deliveries(path: Path) -> list[tuple[datetime, float]]:
    """Each incident card delivered to Slack: the event time it was decided at (a bin's end)
    and the wall time Slack accepted it."""
    import sqlite3

    with sqlite3.connect(f"file:{path.parent / 'vigie.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT created_at, sent_at FROM outbox WHERE platform = 'slack' AND state = 'sent' "
            "AND kind IN ('open', 'update', 'resolve') AND payload NOT LIKE '%\"part\":%'"
        ).fetchall()
    return [
        (datetime.fromisoformat(at), datetime.fromisoformat(sent).timestamp()) for at, sent in rows
    ]


def card_latencies(run: Run, cards: list[tuple[datetime, float]]) -> list[float]:
    """From the POST of the batch that closed a bin to Slack accepting the card it caused."""
    found = []
    for decided, delivered in cards:
        crossing = run.crossings.get(int((decided - run.start_event).total_seconds() // 300))
        if crossing is not None:
            found.append(delivered - crossing)
    return found


async def wait_healthy(base: str, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the service did not start")


async def replay(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    async with FakeSlack() as slack:
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "mentions.jsonl"
            start = datetime(2026, 1, 1, tzinfo=UTC)
            with data.open("w", encoding="utf-8") as out:
                for number in range(args.replay):
                    at = start + timedelta(seconds=number * 0.5)
                    out.write(json.dumps(mention(number, at, rng.random() < 0.3, rng)) + "\n")
            path = config(Path(folder), slack.api_url, replay=data)
            began = time.perf_counter()
            service = start_service(path, until_idle=True)
            samples: list[tuple[float, int]] = []
            while service.poll() is None:
                samples.append((time.perf_counter() - began, rss_kib(service.pid)))
                await asyncio.sleep(1.0)
            elapsed = time.perf_counter() - began
            count = stored(path)
    values = [kib for _, kib in samples if kib]
    quarter = values[len(values) // 4] if values else 0
    print(f"replayed {args.replay:,} mentions in {elapsed:.0f} s ({args.replay / elapsed:,.0f}/s);"
          f" stored {count:,}; exit code {service.returncode}")  # fmt: skip
    print(
        f"RSS (service + workers): peak {max(values) / 1024:.0f} MiB; at 25% {quarter / 1024:.0f} "
        f"MiB, at the end {values[-1] / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", type=int, default=200, help="Mentions/s before the burst.")
    parser.add_argument("--burst", type=int, default=2000, help="Mentions/s during the burst.")
    parser.add_argument("--background-seconds", type=float, default=30)
    parser.add_argument("--burst-seconds", type=float, default=60)
    parser.add_argument("--flood-seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=100, help="Mentions per webhook request.")
    parser.add_argument("--senders", type=int, default=8, help="Concurrent webhook requests.")
    parser.add_argument("--replay", type=int, default=0, help="Replay this many mentions instead.")
    args = parser.parse_args()
    asyncio.run(replay(args) if args.replay else load(args))


if __name__ == "__main__":
    main()
