"""Risk over the week of airline tweets: the moments with the highest risk, per airline.

    .venv/bin/python -m bench.eval_risk

Each airline's negative mentions go through the same group risk the incident engine uses
(``bot.incidents.groups.GroupRisk``): 5-minute bins, the last hour scored against the airline's
own baseline every 5 minutes of event time. American Airlines' cancellations storm of 22 February
should stand out as the riskiest time of the week.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.pipeline import AIRLINES, COLUMNS, DATA
from bot.incidents.groups import BIN, STORM, GroupReading, GroupRisk
from bot.model import Sentiment
from bot.pipeline import Pipeline
from bot.records import RecordMapper


@dataclass(frozen=True)
class BrandReading:
    brand: str
    reading: GroupReading


def airline_risks(path: Path = DATA) -> list[BrandReading]:
    """Every 5-minute reading of every airline, riskiest first."""
    mapper = RecordMapper("airline", COLUMNS, lambda: datetime.now(UTC))
    with path.open(encoding="utf-8", newline="") as file:
        mentions = sorted(
            (mapper.mention(row) for row in csv.DictReader(file)),
            key=lambda mention: mention.created_at,
        )
    pipeline = Pipeline.for_brands(AIRLINES)
    start = mentions[0].created_at.astimezone(UTC)
    start = (
        datetime(1970, 1, 1, tzinfo=UTC) + ((start - datetime(1970, 1, 1, tzinfo=UTC)) // BIN) * BIN
    )
    groups = {brand.slug: GroupRisk((brand.slug, STORM), start) for brand in AIRLINES}
    readings: list[BrandReading] = []
    for mention in mentions:
        for slug, group in groups.items():
            while group.bin_start + BIN <= mention.created_at:
                readings.append(BrandReading(slug, group.close()))
        scored = pipeline.process(mention, mention.created_at)
        if scored is None or scored.negativity.sentiment is not Sentiment.NEGATIVE:
            continue
        for brand in scored.brands:
            groups[brand].add(scored, influencer=False)
    return sorted(readings, key=lambda item: item.reading.risk.score, reverse=True)


def main() -> None:
    risks = airline_risks()
    print("riskiest moments of the week (UTC, each the hour before):")
    for item in risks[:10]:
        reading = item.reading
        print(f"  {reading.at:%a %d %b %H:%M}  {item.brand:<15} {reading.risk.explanation}")
    best: dict[str, int] = {}
    for item in risks:
        best.setdefault(item.brand, item.reading.risk.score)
    print("highest risk per airline:", best)


if __name__ == "__main__":
    main()
