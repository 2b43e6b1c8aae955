"""Watches each brand's risk as stored mentions arrive, and reports the hours worth a look.

Mentions are binned by the time they were posted (event time), so a replay shows the risk the
team would have seen live. A bin is reported when it closes, if its risk reaches ``min_risk`` or
the brand is in a burst.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.model import ScoredMention
from bot.spread.brand_risk import BinRisk, BrandRiskTracker

Report = Callable[[BinRisk], None]


class RiskMonitor:
    def __init__(
        self,
        brands: Sequence[str],
        report: Report,
        min_risk: int = 50,
        influencers: Sequence[str] = (),
    ) -> None:
        known = frozenset(handle.lower().lstrip("@") for handle in influencers)
        self.trackers = {brand: BrandRiskTracker(brand, influencers=known) for brand in brands}
        self.report = report
        self.min_risk = min_risk
        self.highest: dict[str, BinRisk] = {}

    def observe(self, batch: Sequence[ScoredMention]) -> None:
        for scored in sorted(batch, key=lambda item: item.mention.created_at):
            for brand in scored.brands:
                for closed in self.trackers[brand].observe(scored):
                    self._closed(closed)

    def _closed(self, bin_risk: BinRisk) -> None:
        best = self.highest.get(bin_risk.brand)
        if best is None or bin_risk.risk.score > best.risk.score:
            self.highest[bin_risk.brand] = bin_risk
        if bin_risk.risk.score >= self.min_risk or bin_risk.burst:
            self.report(bin_risk)
