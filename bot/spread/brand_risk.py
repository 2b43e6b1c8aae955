"""A brand's risk over time: negative mentions binned in event time, scored against the brand's
own baseline by the burst detector, and assessed as one explained risk per closed bin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.model import ScoredMention, Sentiment
from bot.spread.burst import BurstDetector, BurstSettings
from bot.spread.risk import Risk, RiskInputs, assess


@dataclass(frozen=True, slots=True)
class BinRisk:
    brand: str
    start: datetime
    end: datetime
    risk: Risk
    burst: bool


@dataclass
class _Bin:
    start: datetime
    negative: list[ScoredMention] = field(default_factory=list)


class BrandRiskTracker:
    """Feed a brand's scored mentions in time order; closed bins come back with their risk."""

    def __init__(
        self,
        brand: str,
        settings: BurstSettings | None = None,
        influencers: frozenset[str] = frozenset(),
    ) -> None:
        self.brand = brand
        self.influencers = influencers  # handles, lower case, without @
        self.settings = settings or BurstSettings.hourly()
        self.width = timedelta(minutes=self.settings.bin_minutes)
        self.detector = BurstDetector(self.settings)
        self._bin: _Bin | None = None

    def observe(self, scored: ScoredMention) -> list[BinRisk]:
        closed = self.advance(scored.mention.created_at)
        assert self._bin is not None
        if scored.negativity.sentiment is Sentiment.NEGATIVE:
            self._bin.negative.append(scored)
        return closed

    def advance(self, now: datetime) -> list[BinRisk]:
        """Close every bin that ended by ``now`` (empty ones too: silence is data)."""
        if self._bin is None:
            self._bin = _Bin(_floor(now, self.width))
        closed = []
        while now >= self._bin.start + self.width:
            closed.append(self._close(self._bin))
            self._bin = _Bin(self._bin.start + self.width)
        return closed

    def _close(self, current: _Bin) -> BinRisk:
        reading = self.detector.update(len(current.negative))
        negative = current.negative
        end = current.start + self.width
        top = max(negative, key=self._audience, default=None)
        inputs = RiskInputs(
            window=_duration(self.width),
            negative=len(negative),
            usual=reading.baseline,
            surprise=reading.surprise,
            mean_negativity=sum(s.negativity.score for s in negative) / len(negative)
            if negative
            else 0.0,
            top_author=top.mention.author.handle if top else "",
            top_followers=top.mention.author.followers if top else 0,
            top_is_influencer=top is not None and self._is_influencer(top),
            # observed counts only: a prediction needs successive observations of a post, which
            # the engagement refresh of live sources provides (replayed counts are final counts)
            reposts=max((s.mention.engagement.reposts for s in negative), default=0),
        )
        return BinRisk(self.brand, current.start, end, assess(inputs), reading.burst)

    def _is_influencer(self, scored: ScoredMention) -> bool:
        return scored.mention.author.handle.lower().lstrip("@") in self.influencers

    def _audience(self, scored: ScoredMention) -> tuple[bool, int]:
        return self._is_influencer(scored), scored.mention.author.followers


def _floor(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // width) * width


def _duration(width: timedelta) -> str:
    minutes = int(width.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
