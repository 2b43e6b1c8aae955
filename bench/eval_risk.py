"""Risk over the week of airline tweets: the hours with the highest risk, per airline.

    .venv/bin/python -m bench.eval_risk

The shared file holds a week of mentions of six airlines (February 2015); American Airlines'
cancellations storm of 22 February should stand out as the riskiest hours of the week.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from bench.pipeline import AIRLINES, COLUMNS, DATA
from bot.pipeline import Pipeline
from bot.records import RecordMapper
from bot.spread.brand_risk import BinRisk, BrandRiskTracker


def airline_risks(path: Path = DATA) -> list[BinRisk]:
    """Every closed hour of every airline, riskiest first."""
    mapper = RecordMapper("airline", COLUMNS, lambda: datetime.now(UTC))
    with path.open(encoding="utf-8", newline="") as file:
        mentions = sorted(
            (mapper.mention(row) for row in csv.DictReader(file)),
            key=lambda mention: mention.created_at,
        )
    pipeline = Pipeline.for_brands(AIRLINES)
    trackers = {brand.slug: BrandRiskTracker(brand.slug) for brand in AIRLINES}
    risks: list[BinRisk] = []
    for mention in mentions:
        scored = pipeline.process(mention, mention.created_at)
        for brand in scored.brands if scored else ():
            risks += trackers[brand].observe(scored)  # type: ignore[arg-type]
    return sorted(risks, key=lambda bin_risk: bin_risk.risk.score, reverse=True)


def main() -> None:
    risks = airline_risks()
    print("riskiest hours of the week (UTC):")
    for bin_risk in risks[:10]:
        print(
            f"  {bin_risk.start:%a %d %b %H:%M}  {bin_risk.brand:<15} {bin_risk.risk.explanation}"
        )


if __name__ == "__main__":
    main()
