"""Throughput of match -> language -> score -> store, against a bare VADER loop on the same texts.

    .venv/bin/python -m bench.pipeline [--copies 10] [--workers 2] [--data PATH/Tweets.csv]

Replays the shared airline tweets (10,140 rows) ``--copies`` times with distinct ids through the
real Intake, scoring workers and SQLite Writer, and prints mentions/s, the bare-VADER rate on the
same texts measured in the same run, their ratio (goal: >= 0.5 with storage on) and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.intake import Envelope, Intake
from bot.language import LanguageDetector
from bot.metrics import Metrics
from bot.model import Brand, LanguageGuess, Mention
from bot.negativity import NegativityScorer
from bot.pipeline import Pipeline
from bot.records import RecordMapper
from bot.workers import InlineScorer, PoolScorer
from storage.writer import Writer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "airline_tweets" / "Tweets.csv"
COLUMNS = {
    "id": "tweet_id",
    "text": "text",
    "created_at": "tweet_created",
    "author": "name",
    "reposts": "retweet_count",
}
AIRLINES = [
    Brand(
        "United",
        "united",
        ("united airlines", "united"),
        handles=("@united",),
        hashtags=("#unitedairlines",),
        exclude=("manchester united",),
        languages=("en", "fr"),
    ),
    Brand("US Airways", "usairways", ("us airways",), handles=("@usairways",)),
    Brand("American Airlines", "american", ("american airlines",), handles=("@americanair",)),
    Brand(
        "Southwest", "southwest", ("southwest airlines", "southwest"), handles=("@southwestair",)
    ),
    Brand("Delta", "delta", ("delta air lines", "delta"), handles=("@delta",)),
    Brand("Virgin America", "virgin-america", ("virgin america",), handles=("@virginamerica",)),
]
CHUNK = 200


def load(path: Path, copies: int) -> list[Mention]:
    mapper = RecordMapper("airline", COLUMNS, lambda: datetime.now(UTC))
    with path.open(encoding="utf-8", newline="") as file:
        originals = [mapper.mention(row) for row in csv.DictReader(file)]
    return [
        replace(m, native_id=f"{m.native_id}-{copy}") for copy in range(copies) for m in originals
    ]


def bare_vader(texts: list[str]) -> float:
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in texts:
        analyzer.polarity_scores(text)
    return len(texts) / (time.perf_counter() - started)


def bare_scorer(texts: list[str]) -> float:
    """Vigie's own negativity scorer alone (English), in one process, for comparison."""
    scorer = NegativityScorer()
    english = LanguageGuess("en", 1.0)
    started = time.perf_counter()
    for text in texts:
        scorer.score(text, english)
    return len(texts) / (time.perf_counter() - started)


async def through_pipeline(
    mentions: list[Mention], database: Path, batch: int, workers: int
) -> float:
    scorer = PoolScorer(AIRLINES, workers) if workers else InlineScorer(AIRLINES)
    await scorer.score(mentions[:workers], datetime.now(UTC))  # workers up before timing
    writer = Writer(database)
    intake = Intake(
        scorer, writer, Metrics(), capacity=10_000, batch_size=batch, now=lambda: datetime.now(UTC)
    )
    consumer = asyncio.create_task(intake.run())
    started = time.perf_counter()
    for start in range(0, len(mentions), CHUNK):
        chunk = tuple(mentions[start : start + CHUNK])
        await intake.submit(Envelope("airline", chunk, str(start + len(chunk))))
    await intake.drained()
    elapsed = time.perf_counter() - started
    intake.close()
    await consumer
    writer.close()
    scorer.close()
    return len(mentions) / elapsed


def stage_costs(mentions: list[Mention]) -> dict[str, float]:
    """Microseconds per mention for each pure stage, on a sample."""
    sample = mentions[:10_000]
    scorer = NegativityScorer()
    detector = LanguageDetector(scorer.languages)
    pipeline = Pipeline(AIRLINES, detector, scorer)
    costs = {}
    languages = []
    started = time.perf_counter()
    for mention in sample:
        pipeline.matcher.match(mention.text)
    costs["match"] = time.perf_counter() - started
    started = time.perf_counter()
    for mention in sample:
        languages.append(detector.detect(mention.text, ("en", "fr")))
    costs["language"] = time.perf_counter() - started
    started = time.perf_counter()
    for mention, language in zip(sample, languages, strict=True):
        scorer.score(mention.text, language)
    costs["negativity"] = time.perf_counter() - started
    return {stage: seconds / len(sample) * 1e6 for stage, seconds in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="alternate baseline/pipeline runs")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="scoring processes (0: in the main process)",
    )
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: the shared data sets are needed")
    mentions = load(args.data, args.copies)
    texts = [m.text for m in mentions]
    print(
        f"mentions: {len(mentions):,} ({args.copies} copies of {len(mentions) // args.copies:,}),"
        f" {args.workers} scoring worker(s) on {os.cpu_count()} core(s)"
    )
    vader_rates, pipeline_rates = [], []
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(args.rounds):
            vader_rates.append(bare_vader(texts))
            database = Path(folder) / f"bench-{round_number}.db"
            rate = asyncio.run(through_pipeline(mentions, database, args.batch_size, args.workers))
            pipeline_rates.append(rate)
            size = database.stat().st_size / 2**20
            print(
                f"round {round_number + 1}: bare VADER {vader_rates[-1]:,.0f}/s, "
                f"pipeline+store {pipeline_rates[-1]:,.0f}/s (db {size:.0f} MiB)"
            )
    vader, pipeline = statistics.median(vader_rates), statistics.median(pipeline_rates)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"bare VADER loop:             {vader:,.0f} mentions/s")
    print(f"match+lang+score+store:      {pipeline:,.0f} mentions/s")
    print(f"ratio (goal >= 0.5):         {pipeline / vader:.2f}")
    scorer = bare_scorer(texts[: len(texts) // args.copies])
    print(
        f"bare negativity scorer loop: {scorer:,.0f} mentions/s (one process; the pipeline's "
        f"ratio to it: {pipeline / scorer:.2f})"
    )
    print(
        f"peak RSS:                    {peak:,.0f} MiB main process, "
        f"{worker_peak:,.0f} MiB largest worker"
    )
    costs = stage_costs(mentions)
    print("per-stage cost (us/mention): " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))


if __name__ == "__main__":
    main()
