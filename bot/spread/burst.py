"""Online burst detection of one brand's mention volume against its own baseline.

Feed :class:`BurstDetector` one count per bin (5 minutes, an hour, any fixed width). Each bin is
scored against what the detector had learnt from *earlier* bins only, then the baseline learns
from it, unless the bin is part of a burst: an incident must not become the new normal.

How a bin is scored (see ``bench/eval_bursts.py`` for the figures behind each choice):

* **Scale.** Counts go through the negative-binomial variance-stabilising transform
  ``g(x) = 2*sqrt(k)*asinh(sqrt((x + 3/8) / k))`` (Anscombe 1948): square-root-like for a few
  mentions (Poisson noise), log-like for thousands (noise proportional to volume). On that scale
  the noise of a quiet brand and of a huge one have about the same spread, so one threshold fits
  all brands.
* **Surprise** is a robust z-score on that scale: ``(g(x) - level) / spread``, where ``level`` and
  ``spread`` (mean absolute deviation, times sqrt(pi/2)) are exponentially weighted. It is taken at
  two time scales, the bin itself and the sum of the last hour, and the larger one is reported.
  A negative-binomial tail ``-log10 p`` in the same detector (count-scale EWMA mean and variance)
  tied with it on the five labelled Twitter series (11/15 windows at 0.080 false alarms per day
  against 11/15 at 0.084); the z-score is kept because it needs no dispersion fit and no special
  functions, and its values stay in a readable range (the tail surprise spans 5 to 2,000).
* **Alarm threshold** starts at ``BurstSettings.threshold`` and rises for brands that keep
  crossing it: the peaks of past candidate episodes (last ``memory_days``) give a
  peaks-over-threshold estimate (exponential tail) of how often a peak this large comes, and the
  threshold is set where that rate equals ``alarm_rate_per_day``. A brand whose volume spikes
  every day (a celebrity brand) needs a larger spike to alarm than a steady one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

TRANSFORM_SIZE = 10.0
"""Negative-binomial size ``k`` of the stabilising transform: the per-5-minute Twitter counts have
a local (one-hour) overdispersion of about 7 to 30 in those units."""

MAD_TO_SD = math.sqrt(math.pi / 2)
"""Mean absolute deviation to standard deviation, for Gaussian noise."""

PRIOR_SPREAD = 0.75
"""Standard deviation on the transformed scale before any data: that of Poisson counts at about
one per bin, the quiet brand the cold-start prior assumes."""

MIN_SPREAD = 0.5
"""Floor of the standard deviation, so a brand with weeks of zeros is not alarmed by one post."""

PRIOR_MEAN_EXCESS = 2.0
"""Tail model prior: mean excess of an episode peak over the base threshold, in z units."""

PRIOR_EXCESS_WEIGHT = 1.0
"""Tail model prior weight, in episodes."""

EPISODE_GAP_HOURS = 1.0
"""Crossings less than this apart are one episode (the same rule the evaluation uses)."""

MAX_PEAKS = 512
"""Bound on remembered episode peaks (memory_days of a very bursty brand fits easily)."""

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class BurstSettings:
    """Tuning of one detector. Defaults were chosen by ``bench/eval_bursts.py`` (5-minute bins)."""

    bin_minutes: float = 5.0
    threshold: float = 5.0
    """Base alarm threshold, in robust z units on the transformed scale."""
    alarm_rate_per_day: float | None = 0.1
    """Target alarms per brand-day that raises the threshold for bursty brands; None: fixed."""
    level_half_life_hours: float = 1.0
    """Baseline memory: short enough to follow the daily cycle, long enough to be stable."""
    spread_half_life_hours: float = 1.0
    """Noise memory. Volatility clusters (a turbulent afternoon stays turbulent): a short memory
    widens the band for those hours, and on the labelled series 6 h and 24 h both did worse."""
    window_hours: float = 1.0
    """Second time scale: the sum of the last hour (ignored when a bin is that long)."""
    memory_days: float = 14.0
    """How far back episode peaks count for the tail model."""
    exit_fraction: float = 0.5
    """A burst lasts while the surprise stays above this fraction of ``threshold``."""
    max_burst_hours: float = 6.0
    """A burst longer than this is a level shift: the baseline adopts it and the burst ends."""
    prior_rate_per_hour: float = 1.0
    """Cold start: mentions per hour assumed before any data (a quiet brand)."""
    prior_weight_hours: float = 6.0
    """Cold start: the prior counts as this many hours of data."""
    clip: float = 3.0
    """Quiet bins move the baseline by at most ``clip`` standard deviations."""

    def __post_init__(self) -> None:
        positive = (
            *("bin_minutes", "threshold", "level_half_life_hours", "spread_half_life_hours"),
            *("window_hours", "memory_days", "max_burst_hours", "prior_rate_per_hour", "clip"),
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"BurstSettings.{name} must be > 0")
        if self.alarm_rate_per_day is not None and not self.alarm_rate_per_day > 0:
            raise ValueError("BurstSettings.alarm_rate_per_day must be > 0 or None")
        if not 0 < self.exit_fraction <= 1:
            raise ValueError("BurstSettings.exit_fraction must be in (0, 1]")
        if self.prior_weight_hours < 0:
            raise ValueError("BurstSettings.prior_weight_hours must be >= 0")

    @classmethod
    def hourly(cls) -> BurstSettings:
        """Hourly bins, 'last hour vs the previous 12 hours' (EWMAs of mean age ~12 h)."""
        return cls(bin_minutes=60.0, level_half_life_hours=8.0, spread_half_life_hours=8.0)

    def bins(self, hours: float) -> int:
        """A duration in whole bins (at least one)."""
        return max(1, round(hours * 60.0 / self.bin_minutes))

    def alpha(self, half_life_hours: float) -> float:
        """EWMA weight of one bin for a half-life."""
        return 1.0 - math.pow(0.5, self.bin_minutes / 60.0 / half_life_hours)


@dataclass(frozen=True, slots=True)
class BurstReading:
    surprise: float
    """Robust z on the stabilised scale, >= 0; comparable across brands."""
    burst: bool
    """The brand is in a burst (this bin started one or continues it)."""
    baseline: float
    """The typical count per bin expected before this bin (the level mapped back to a count,
    close to the median: a little under the mean for a few mentions per bin)."""


def stabilise(count: float) -> float:
    """The negative-binomial variance-stabilising transform of a count."""
    k = TRANSFORM_SIZE
    return 2.0 * math.sqrt(k) * math.asinh(math.sqrt((count + 0.375) / k))


def unstabilise(value: float) -> float:
    """The count whose transform is ``value`` (0 below the transform of 0)."""
    k = TRANSFORM_SIZE
    return max(0.0, k * math.sinh(value / (2.0 * math.sqrt(k))) ** 2 - 0.375)


@dataclass(slots=True)
class _Scale:
    """Level and spread of one time scale on the stabilised scale."""

    level: float
    deviation: float
    weight: float

    def z(self, value: float) -> float:
        return (value - self.level) / max(self.deviation * MAD_TO_SD, MIN_SPREAD)

    def learn(self, value: float, alphas: tuple[float, float], clip: float | None) -> None:
        # 1/(weight+1) early on: a running mean over prior + data, then the plain EWMA
        early = 1.0 / (self.weight + 1.0)
        if clip is not None:
            value = min(value, self.level + clip * max(self.deviation * MAD_TO_SD, MIN_SPREAD))
        error = value - self.level
        self.level += max(alphas[0], early) * error
        self.deviation += max(alphas[1], early) * (abs(error) - self.deviation)
        self.weight += 1.0


@dataclass(slots=True)
class _Peaks:
    """Peaks of past candidate episodes (surprise >= base threshold), for the tail model."""

    items: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=MAX_PEAKS))
    open_peak: float | None = None
    open_last: int = 0

    def observe(self, index: int, surprise: float, base: float, gap: int) -> None:
        self.close_if_stale(index, gap)
        if surprise < base:
            return
        self.open_peak = surprise if self.open_peak is None else max(self.open_peak, surprise)
        self.open_last = index

    def close_if_stale(self, index: int, gap: int) -> None:
        if self.open_peak is not None and index - self.open_last >= gap:
            self.items.append((self.open_last, self.open_peak))
            self.open_peak = None

    def threshold(self, index: int, settings: BurstSettings) -> float:
        """Where the estimated rate of peaks this large equals the target rate."""
        base, target = settings.threshold, settings.alarm_rate_per_day
        memory = settings.bins(settings.memory_days * 24.0)
        while self.items and self.items[0][0] <= index - memory:
            self.items.popleft()
        if target is None or not self.items:
            return base
        days = max(min(index, memory) * settings.bin_minutes / 1440.0, 1.0)
        rate = len(self.items) / days
        if rate <= target:
            return base
        excess = sum(peak - base for _, peak in self.items)
        mean_excess = (PRIOR_MEAN_EXCESS * PRIOR_EXCESS_WEIGHT + excess) / (
            PRIOR_EXCESS_WEIGHT + len(self.items)
        )
        return base + mean_excess * math.log(rate / target)


class BurstDetector:
    """Streaming burst detector for one series; not thread-safe, cheap (~10 us a bin)."""

    def __init__(self, settings: BurstSettings | None = None) -> None:
        self.settings = settings or BurstSettings()
        s = self.settings
        self._alphas = (s.alpha(s.level_half_life_hours), s.alpha(s.spread_half_life_hours))
        self._span = s.bins(s.window_hours)
        prior = s.prior_rate_per_hour * s.bin_minutes / 60.0
        weight = s.prior_weight_hours * 60.0 / s.bin_minutes
        self._prior_weight = weight
        deviation = PRIOR_SPREAD / MAD_TO_SD
        self._bin = _Scale(stabilise(prior), deviation, weight)
        self._window = _Scale(stabilise(prior * self._span), deviation, weight)
        # shadows always learn; a burst longer than max_burst_hours adopts them (level shift)
        self._shadow_bin = _Scale(self._bin.level, deviation, 0.0)
        self._shadow_window = _Scale(self._window.level, deviation, 0.0)
        self._recent: deque[float] = deque(maxlen=self._span)
        self._peaks = _Peaks()
        self._index = 0
        self._burst_bins = 0

    @property
    def in_burst(self) -> bool:
        return self._burst_bins > 0

    @property
    def threshold(self) -> float:
        """The surprise the next bin needs to start a burst."""
        return self._peaks.threshold(self._index, self.settings)

    def update(self, count: float) -> BurstReading:
        """Score one bin against earlier bins, then learn from it unless it is a burst."""
        if not (math.isfinite(count) and count >= 0):
            raise ValueError(f"a bin count must be a finite number >= 0, not {count!r}")
        s = self.settings
        gap = s.bins(EPISODE_GAP_HOURS)
        self._peaks.close_if_stale(self._index, gap)
        threshold = self._peaks.threshold(self._index, s)
        baseline = unstabilise(self._bin.level)
        self._recent.append(count)
        at_bin = stabilise(count)
        at_window = stabilise(sum(self._recent) * self._span / len(self._recent))
        surprise = max(0.0, self._bin.z(at_bin))
        if self._span > 1:
            surprise = max(surprise, self._window.z(at_window))
        if self._bin.weight >= 2 * self._prior_weight:
            # surprises against the prior say nothing about how bursty this brand is
            self._peaks.observe(self._index, surprise, s.threshold, gap)
        self._decide(surprise, threshold)
        burst = self.in_burst
        self._learn(at_bin, at_window)
        self._index += 1
        return BurstReading(surprise=surprise, burst=burst, baseline=baseline)

    def _decide(self, surprise: float, threshold: float) -> None:
        s = self.settings
        if self.in_burst:
            going_on = surprise >= s.exit_fraction * s.threshold
            self._burst_bins = self._burst_bins + 1 if going_on else 0
        elif surprise >= threshold:
            self._burst_bins = 1
        if self._burst_bins > s.bins(s.max_burst_hours):
            # this long is no longer a burst but the brand's new level
            self._bin = _Scale(**asdict(self._shadow_bin))
            self._window = _Scale(**asdict(self._shadow_window))
            self._burst_bins = 0

    def _learn(self, at_bin: float, at_window: float) -> None:
        s = self.settings
        self._shadow_bin.learn(at_bin, self._alphas, None)
        self._shadow_window.learn(at_window, self._alphas, None)
        if not self.in_burst:
            self._bin.learn(at_bin, self._alphas, s.clip)
            self._window.learn(at_window, self._alphas, s.clip)

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as plain JSON-able values."""
        return {
            "version": STATE_VERSION,
            "settings": asdict(self.settings),
            "index": self._index,
            "burst_bins": self._burst_bins,
            "recent": list(self._recent),
            "scales": {
                name: asdict(scale)
                for name, scale in (
                    ("bin", self._bin),
                    ("window", self._window),
                    ("shadow_bin", self._shadow_bin),
                    ("shadow_window", self._shadow_window),
                )
            },
            "peaks": [list(item) for item in self._peaks.items],
            "open_peak": self._peaks.open_peak,
            "open_last": self._peaks.open_last,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BurstDetector:
        """A detector that continues exactly where ``state()`` was taken."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown burst detector state version {state.get('version')!r}")
        detector = cls(BurstSettings(**state["settings"]))
        detector._index = int(state["index"])
        detector._burst_bins = int(state["burst_bins"])
        detector._recent.extend(float(v) for v in state["recent"])
        scales = state["scales"]
        detector._bin = _Scale(**scales["bin"])
        detector._window = _Scale(**scales["window"])
        detector._shadow_bin = _Scale(**scales["shadow_bin"])
        detector._shadow_window = _Scale(**scales["shadow_window"])
        detector._peaks.items.extend((int(i), float(p)) for i, p in state["peaks"])
        open_peak = state["open_peak"]
        detector._peaks.open_peak = None if open_peak is None else float(open_peak)
        detector._peaks.open_last = int(state["open_last"])
        return detector
