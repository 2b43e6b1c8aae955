"""Soak of the Bluesky source: a firehose of Jetstream frames through the real source.

    .venv/bin/python -m bench.soak_bluesky [--events 100000] [--match-rate 0.01] [--rounds 3]

Generates ``--events`` Jetstream v1 frames in the real shape (the captured posts, deletes,
identity and account events of shared/data/payloads/bluesky_jetstream, with fresh DIDs, keys and
times), of which ``--match-rate`` name an airline. A fake Jetstream in its own process serves them
on 127.0.0.1 from a cursor. Each measurement runs in a fresh process (so peak RSS is its own):

* raw:      frames received off the socket, nothing else (the server and socket ceiling);
* baseline: frames received and JSON-parsed, no matching (the bare rate to compare with);
* source:   the real BlueskySource (parse, match, batch, position) into an inbox that counts;
* intake:   the real BlueskySource into the real Intake, scoring inline and storing to SQLite.

Prints events/s, matched and stored counts, peak RSS and, for the source, the peak of traced
Python memory in a separate run (tracemalloc slows the run, so its rate is not reported).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.pipeline import AIRLINES
from bot.config.source_bluesky import BlueskySourceSettings
from bot.intake import Envelope, Intake
from bot.matching import BrandMatcher
from bot.metrics import Metrics
from bot.sources.bluesky import BlueskySource, encode_position
from bot.sources.bluesky_events import POST, JetstreamReader
from bot.workers import InlineScorer
from storage.database import open_database
from storage.mentions import count_mentions
from storage.writer import Writer
from tests.fake_bluesky import SAMPLES, FakeBluesky, load_samples

COMPLAINTS = (
    "@united lost my bag again, three hours on hold and nobody answers",
    "Delta cancelled my flight with no explanation, stuck at the gate",
    "Southwest Airlines still has not refunded me after six weeks",
    "American Airlines customer service is a joke, no one picks up",
    "Virgin America wifi broken the whole flight",
    "US Airways delayed us 4 hours and lost the stroller",
)
STEP_US = 1_000  # one event per millisecond of event time, as a busy firehose
JITTER_US = 3_000  # Jetstream's time_us is only roughly ordered

# -- the stream -----------------------------------------------------------------------------------


def templates(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a client asking for posts receives: post creates and deletes, identity, account."""
    return [e for e in samples if e["kind"] != "commit" or e["commit"]["collection"] == POST]


def generate(count: int, match_rate: float, seed: int = 7) -> tuple[list[bytes], int, int]:
    """(frames, how many name a brand, the first time_us); ``match_rate`` of them are planted."""
    rng = random.Random(seed)
    shapes = templates(load_samples())
    creates = [s for s in shapes if s["kind"] == "commit" and s["commit"]["operation"] == "create"]
    matcher = BrandMatcher(AIRLINES)
    every = round(1 / match_rate) if match_rate > 0 else 0
    start_us = shapes[0]["time_us"]
    frames: list[bytes] = []
    matched, first_us = 0, start_us + JITTER_US
    for number in range(count):
        plant = bool(every) and number % every == every // 2
        event = copy.deepcopy(rng.choice(creates) if plant else shapes[number % len(shapes)])
        event["time_us"] = time_us = start_us + number * STEP_US + rng.randrange(JITTER_US)
        first_us = min(first_us, time_us)
        event["did"] = f"did:plc:soak{number:08d}"
        commit = event.get("commit")
        if commit is not None:
            commit["rkey"] = f"3soak{number:08d}"
            if "cid" in commit:
                commit["cid"] = f"bafysoak{number:08d}"
            record = commit.get("record")
            if record is not None:
                if plant:
                    record["text"] = COMPLAINTS[number % len(COMPLAINTS)]
                matched += bool(matcher.match(record.get("text", "")))
        frames.append(orjson.dumps(event))
    return frames, matched, first_us


def serve(path: str, ready: Connection) -> None:
    """The fake Jetstream, in its own process so that it does not share the client's core."""

    fake = FakeBluesky()
    fake.load_frames(Path(path).read_bytes().splitlines())

    async def forever() -> None:
        await fake.start()
        ready.send(fake.port)
        await asyncio.Event().wait()

    asyncio.run(forever())


# -- the measurements (each in its own process) ---------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    events: int
    matching: int
    first_us: int

    @property
    def backlog(self) -> str:
        """Ask for everything: a cursor just before the first event."""
        return f"{self.url}?wantedCollections={POST}&cursor={self.first_us - 10_000}"


@dataclass
class Result:
    seconds: float
    events: int
    matched: int = 0
    stored: int = 0
    peak_rss_mib: float = 0.0
    traced_peak_mib: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def bare(plan: Plan, parse: bool) -> Result:
    """Frames off the socket (and JSON-parsed when ``parse``), nothing more."""
    received = 0
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(plan.backlog, decode_text=False) as ws,
    ):
        async for message in ws:
            if parse:
                orjson.loads(message.data)
            received += 1
            if received == plan.events:
                break
        elapsed = time.perf_counter() - started  # before the closing handshake
    return Result(elapsed, received)


class CountingInbox:
    def __init__(self) -> None:
        self.matched = 0

    async def submit(self, envelope: Envelope) -> None:
        self.matched += len(envelope.mentions)

    def offer(self, envelope: Envelope) -> bool:
        raise AssertionError("the Bluesky source waits for room")


class StoringInbox(CountingInbox):
    def __init__(self, intake: Intake) -> None:
        super().__init__()
        self.intake = intake

    async def submit(self, envelope: Envelope) -> None:
        await self.intake.submit(envelope)
        await super().submit(envelope)


async def _consume(plan: Plan, inbox: CountingInbox) -> BlueskySource:
    """Run the real source until every frame is read and every match is queued."""
    settings = BlueskySourceSettings(
        type="bluesky", name="bsky", jetstream_url=plan.url, profiles=False
    )
    source = BlueskySource(settings, JetstreamReader("bsky", BrandMatcher(AIRLINES)))
    # the stored position a restart would have: the source asks for the whole backlog
    position = encode_position(plan.first_us - 10_000 + int(settings.overlap_seconds * 1e6))
    task = asyncio.create_task(source.run(inbox, position))
    while source.frames < plan.events or inbox.matched < plan.matching:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert source.malformed == 0
    return source


async def through_source(plan: Plan) -> Result:
    inbox = CountingInbox()
    started = time.perf_counter()
    source = await _consume(plan, inbox)
    return Result(time.perf_counter() - started, source.frames, inbox.matched)


async def through_intake(plan: Plan, db: Path) -> Result:
    scorer = InlineScorer(AIRLINES)
    writer = Writer(db)
    intake = Intake(
        scorer, writer, Metrics(), capacity=10_000, batch_size=500, now=lambda: datetime.now(UTC)
    )
    consumer = asyncio.create_task(intake.run())
    inbox = StoringInbox(intake)
    started = time.perf_counter()
    source = await _consume(plan, inbox)
    await intake.drained()
    elapsed = time.perf_counter() - started
    intake.close()
    await consumer
    writer.close()
    database = open_database(db, read_only=True)
    stored = count_mentions(database)
    database.close()
    return Result(elapsed, source.frames, inbox.matched, stored)


def _measure(kind: str, plan: Plan, db: Path, out: Connection) -> None:
    runs: dict[str, Callable[[], Coroutine[Any, Any, Result]]] = {
        "raw": lambda: bare(plan, parse=False),
        "baseline": lambda: bare(plan, parse=True),
        "source": lambda: through_source(plan),
        "intake": lambda: through_intake(plan, db),
        "traced": lambda: through_source(plan),
    }
    if kind == "traced":
        tracemalloc.start()
    result = asyncio.run(runs[kind]())
    if kind == "traced":
        result.traced_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    result.peak_rss_mib = peak_rss_mib()
    out.send(result)


def peak_rss_mib() -> float:
    """This process's peak RSS. ``ru_maxrss`` would not do: Linux keeps it across exec, so a
    spawned child starts with the peak of the parent it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(context: Any, kind: str, plan: Plan, db: Path) -> Result:
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_measure, args=(kind, plan, db, sender))
    process.start()
    result: Result = receiver.recv()
    process.join()
    return result


# -- report ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--match-rate", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the measurements")
    args = parser.parse_args()
    if not SAMPLES.exists():
        raise SystemExit(f"{SAMPLES} not found: the shared data sets are needed")
    frames, matching, first_us = generate(args.events, args.match_rate)
    size, count = sum(len(frame) for frame in frames), len(frames)
    print(
        f"events: {len(frames):,} Jetstream frames ({size / 2**20:.0f} MiB, "
        f"{size / len(frames):.0f} B each), {matching:,} name a brand "
        f"({matching / len(frames):.1%}), {len(AIRLINES)} brands"
    )
    context = multiprocessing.get_context("spawn")
    results: dict[str, list[Result]] = {"raw": [], "baseline": [], "source": [], "intake": []}
    with tempfile.TemporaryDirectory() as folder:
        stream = Path(folder) / "frames.jsonl"
        stream.write_bytes(b"\n".join(frames))
        del frames  # the children fork from this process: keep it small
        ready, announce = context.Pipe(duplex=False)
        server = context.Process(target=serve, args=(str(stream), announce), daemon=True)
        server.start()
        plan = Plan(f"ws://127.0.0.1:{ready.recv()}/subscribe", count, matching, first_us)
        try:
            for number in range(args.rounds):
                for kind, runs in results.items():
                    runs.append(measure(context, kind, plan, Path(folder) / f"soak-{number}.db"))
                rates = ", ".join(f"{kind} {r[-1].rate:,.0f}/s" for kind, r in results.items())
                print(f"round {number + 1}: {rates}")
            traced = measure(context, "traced", plan, Path(folder) / "unused.db")
        finally:
            server.terminate()
            server.join()
    report(results, traced, matching)


def report(results: dict[str, list[Result]], traced: Result, matching: int) -> None:
    rate = {kind: statistics.median(r.rate for r in runs) for kind, runs in results.items()}
    peak = {kind: max(r.peak_rss_mib for r in runs) for kind, runs in results.items()}
    source, intake = results["source"][-1], results["intake"][-1]
    for run in results["source"] + results["intake"]:
        assert run.matched == matching, f"{run.matched} matched, {matching} expected"
    rows = [
        ("raw receive (ceiling)", "raw", ""),
        ("baseline: receive + JSON parse", "baseline", ""),
        ("BlueskySource -> counting inbox", "source", f"matched {source.matched:,}"),
        (
            "BlueskySource -> Intake + SQLite",
            "intake",
            f"matched {intake.matched:,}, stored {intake.stored:,}",
        ),
    ]
    for label, kind, extra in rows:
        print(f"{label:34} {rate[kind]:>9,.0f} events/s  peak RSS {peak[kind]:4.0f} MiB  {extra}")
    print(f"{'source / baseline':34} {rate['source'] / rate['baseline']:.2f}")
    print(f"{'intake / baseline':34} {rate['intake'] / rate['baseline']:.2f}")
    heap = f"{traced.traced_peak_mib:.1f} MiB (separate tracemalloc run)"
    print(f"{'source, traced Python heap peak':34} {heap}")


if __name__ == "__main__":
    main()
