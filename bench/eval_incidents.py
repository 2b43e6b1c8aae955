"""Incidents on a week of real airline tweets, replayed at full speed in event time.

    .venv/bin/python -m bench.eval_incidents

Replays ``../shared/data/airline_tweets/Tweets.csv`` through ``examples/airlines.yaml`` (the
default incident policy) into a fresh database, twice, and prints: whether the two
``incidents --json`` outputs are byte-identical, new incident notifications per airline and
day (UTC), how long American Airlines took to reach the top level after its 22 February surge
began, and the highest level each airline reached.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "airlines.yaml"
TWEETS = ROOT.parent / "shared" / "data" / "airline_tweets" / "Tweets.csv"
# The first tweet of the storm: 11:58:51 PST, after a gap in the collection from 10:30
SURGE_START = datetime.fromisoformat("2015-02-22T19:58:51+00:00")


def replay(database: Path, workers: str = "0") -> list[dict[str, Any]]:
    """Run the replay into ``database``; return ``incidents --status all --json`` parsed."""
    env = {"VIGIE_DB": str(database), "VIGIE_WORKERS": workers}
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["run", "-c", str(CONFIG), "--exit-when-idle"]) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["incidents", "-c", str(CONFIG), "--status", "all", "--json"]) == 0
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return [json.loads(line) for line in out.getvalue().splitlines()]


def per_day(incidents: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """New incident notifications per (brand, UTC day)."""
    return Counter(
        (item["brand"], item["notified_at"][:10]) for item in incidents if item["notified_at"]
    )


def top_level_delay(incidents: list[dict[str, Any]], brand: str, top: str) -> float | None:
    """Minutes from the surge's first tweet to ``brand`` reaching level ``top``."""
    times = [
        datetime.fromisoformat(change["at"])
        for item in incidents
        if item["brand"] == brand
        for change in item["levels"]
        if change["level"] == top and datetime.fromisoformat(change["at"]) >= SURGE_START
    ]
    return (min(times) - SURGE_START).total_seconds() / 60 if times else None


def highest_levels(incidents: list[dict[str, Any]], order: list[str]) -> dict[str, str]:
    best: dict[str, str] = {}
    for item in incidents:
        for change in item["levels"]:
            current = best.get(item["brand"])
            if current is None or order.index(change["level"]) > order.index(current):
                best[item["brand"]] = change["level"]
    return best


def main_eval() -> None:
    from bot.config.incidents import IncidentPolicy

    order = [level.name for level in IncidentPolicy().levels]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        first = replay(Path(folder) / "a.db")
        seconds = time.perf_counter() - started
        second = replay(Path(folder) / "b.db")
    same = json.dumps(first) == json.dumps(second)
    print(f"replay of {TWEETS.name}: {seconds:.1f} s; two runs byte-identical: {same}")
    counts = per_day(first)
    days = sorted({day for _, day in counts})
    brands = sorted({brand for brand, _ in counts})
    print("new incident notifications per airline and day (UTC):")
    print("  " + "airline".ljust(16) + " ".join(day[5:] for day in days) + "   max")
    for brand in brands:
        row = [counts[(brand, day)] for day in days]
        print("  " + brand.ljust(16) + " ".join(f"{n:>5}" for n in row) + f"   {max(row)}")
    delay = top_level_delay(first, "american", order[-1])
    print(f"American Airlines reached {order[-1]} {delay:.0f} min after its surge began")
    print(f"highest level per airline: {highest_levels(first, order)}")


if __name__ == "__main__":
    main_eval()
