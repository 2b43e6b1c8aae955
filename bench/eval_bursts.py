"""Burst detection on labelled Twitter volume (NAB realTweets), against an EWMA z-score baseline.

    .venv/bin/python -m bench.eval_bursts [--data PATH/mention_volume]

Scoring (shared/data/SOURCES.md section 7): a detection (a bin flagged ``burst``) inside a labelled
window is a hit, a window counts once; detections outside every window less than one hour apart
form one episode (adjacent bins always do, whatever their width), and each episode is a false
alarm. Reported per series and overall: window
recall, false alarms per series-day, and the median detection delay from each window's centre
(NAB windows are wide and centred on the labelled anomaly).

Parameters are chosen by leave-one-series-out over a small grid (the three bars of the size
criterion: hour x bin x long window; everything else at its documented default): tuned on four
series, scored on the fifth. Those held-out figures are the honest ones; the final parameters
are chosen the same way on all five. The suddenness bar was taken out of the grid after seeing
that 2, 3 and 4 find the same windows in-sample; with it in the grid (27 settings) the held-out
figure was 11/15 windows at 0.073 false alarms per day, not 12/15 at 0.069 (before the long
window). An hour bar of 8 is not in the grid: on a constructed series it leaves a fivefold hour
unflagged for four days after a huge incident (``tests/test_burst.py``), whatever it scores
here (with it, folds pick it and the held-out figure is 11/15 at 0.080).
Selection rule: the highest recall within the product's false-alarm budget
(``BUDGET_FA_PER_DAY``), then the fewest false alarms; if nothing fits the budget, the fewest
false alarms. Every bin is scored as ``detect-bursts`` decides it: a file's past is unknown, so
its first hour teaches the baseline and is never flagged (until session 14 the detector started
from a quiet brand's cold-start prior and each series' first hours were one false alarm: 23
false alarms in all then, 18 now, the same windows found). The baseline (EWMA z-score >= 8,
alpha = 0.02, as in SPREAD_AND_SOURCES.md A4.4) skips the 2-day warm-up it needs. As a check of
the hourly preset, the same series summed to hourly bins are scored with
``BurstSettings.hourly()``, untuned.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.spread.burst import BurstSettings, detect_series
from bot.spread.burst_file import read_volume

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mention_volume"
BUDGET_FA_PER_DAY = 0.10
EPISODE_GAP_S = 3600.0
BIN_S = 300.0
MAGNITUDES = (4.0, 6.0)
BIN_MAGNITUDES = (12.0, 16.0, 20.0)
LONG_MAGNITUDES = (3.0, 3.5, 4.0)
HOUR_BINS = 12
BASELINE_Z = 8.0
BASELINE_ALPHA = 0.02
BASELINE_WARMUP_BINS = 2 * 288
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Series:
    name: str
    times: list[float]
    values: list[float]
    windows: list[tuple[float, float]]


@dataclass(frozen=True)
class Score:
    hits: int
    windows: int
    false_alarms: int
    days: float
    delays_min: tuple[float, ...]

    def __add__(self, other: Score) -> Score:
        return Score(
            self.hits + other.hits,
            self.windows + other.windows,
            self.false_alarms + other.false_alarms,
            self.days + other.days,
            self.delays_min + other.delays_min,
        )

    def summary(self) -> dict[str, Any]:
        delay = statistics.median(self.delays_min) if self.delays_min else math.nan
        return {
            "hits": self.hits,
            "windows": self.windows,
            "recall": self.hits / self.windows if self.windows else math.nan,
            "false_alarms": self.false_alarms,
            "fa_per_day": self.false_alarms / self.days,
            "median_delay_min": delay,
        }


def _seconds(stamp: str) -> float:
    return (datetime.fromisoformat(stamp) - _EPOCH).total_seconds()


def load(data_dir: Path) -> list[Series]:
    labels = json.loads((data_dir / "anomaly_windows.json").read_text(encoding="utf-8"))
    series = []
    for name in sorted(labels):
        rows = read_volume(data_dir / name)
        windows = [(_seconds(a), _seconds(b)) for a, b in labels[name]]
        times = [(row.at - _EPOCH).total_seconds() for row in rows]
        series.append(Series(name, times, [row.value for row in rows], windows))
    return series


def score(series: Series, detections: Sequence[bool], bin_s: float = BIN_S) -> Score:
    """Window hits, false-alarm episodes and delays (from window centres) of one series."""
    hits, delays = 0, []
    for start, end in series.windows:
        inside = [
            t for t, d in zip(series.times, detections, strict=True) if d and start <= t <= end
        ]
        if inside:
            hits += 1
            delays.append((inside[0] - (start + end) / 2) / 60.0)
    episodes, last = 0, -math.inf
    for t, d in zip(series.times, detections, strict=True):
        if d and not any(start <= t <= end for start, end in series.windows):
            episodes += t - last >= max(EPISODE_GAP_S, 2 * bin_s)
            last = t
    days = (series.times[-1] - series.times[0] + bin_s) / 86400.0
    return Score(hits, len(series.windows), episodes, days, tuple(delays))


def detect(values: Iterable[float], settings: BurstSettings) -> list[bool]:
    """As ``detect-bursts`` decides: the first hour teaches the baseline."""
    return [reading.burst for reading in detect_series(values, settings)]


def ewma_z(values: Sequence[float]) -> list[bool]:
    """A4.4's baseline: EWMA mean and variance, z scored before the update, 2-day warm-up."""
    mean, var, flags = values[0], 0.0, [False]
    for i, x in enumerate(values[1:], start=1):
        flags.append(
            i >= BASELINE_WARMUP_BINS and var > 0 and (x - mean) / math.sqrt(var) >= BASELINE_Z
        )
        delta = x - mean
        mean += BASELINE_ALPHA * delta
        var = (1 - BASELINE_ALPHA) * (var + BASELINE_ALPHA * delta * delta)
    return flags


def grid() -> list[BurstSettings]:
    base = BurstSettings()
    return [
        replace(base, magnitude=m, bin_magnitude=b, long_magnitude=n)
        for m, b, n in itertools.product(MAGNITUDES, BIN_MAGNITUDES, LONG_MAGNITUDES)
    ]


def hourly(series: Series) -> Series:
    """The series summed to whole hours (a trailing partial hour is dropped), each stamped with
    its last 5-minute bin: an hour's decision is only made once it is over."""
    hours = len(series.values) // HOUR_BINS
    return Series(
        series.name,
        [series.times[HOUR_BINS * (h + 1) - 1] for h in range(hours)],
        [sum(series.values[HOUR_BINS * h : HOUR_BINS * (h + 1)]) for h in range(hours)],
        series.windows,
    )


def choose(candidates: list[BurstSettings], scores: dict[BurstSettings, Score]) -> BurstSettings:
    """Highest recall within the false-alarm budget, then fewest false alarms."""

    def key(settings: BurstSettings) -> tuple[bool, float, float]:
        s = scores[settings]
        fa_per_day = s.false_alarms / s.days
        within = fa_per_day <= BUDGET_FA_PER_DAY
        return (within, s.hits / s.windows if within else 0.0, -fa_per_day)

    return max(candidates, key=key)  # max keeps the first of equals: grid order is the tiebreak


def _total(scores: Iterable[Score]) -> Score:
    return sum(scores, Score(0, 0, 0, 0.0, ()))


def _params(settings: BurstSettings) -> dict[str, Any]:
    return {
        "suddenness": settings.suddenness,
        "magnitude": settings.magnitude,
        "bin_magnitude": settings.bin_magnitude,
        "long_magnitude": settings.long_magnitude,
    }


def _label(params: dict[str, Any]) -> str:
    sizes = f"{params['magnitude']:g}/{params['bin_magnitude']:g}/{params['long_magnitude']:g}"
    return f"sudden {params['suddenness']:g}, size {sizes}"


def evaluate(data_dir: Path = DATA) -> dict[str, Any]:
    """Leave-one-series-out and final figures of the detector, and the baseline's, as a dict."""
    series = load(data_dir)
    candidates = grid()
    table = {c: {s.name: score(s, detect(s.values, c)) for s in series} for c in candidates}
    loso: dict[str, Any] = {}
    held_out = []
    for s in series:
        train = {c: _total(v for k, v in table[c].items() if k != s.name) for c in candidates}
        chosen = choose(candidates, train)
        held_out.append(table[chosen][s.name])
        loso[s.name] = {"chosen": _params(chosen), **held_out[-1].summary()}
    final = choose(candidates, {c: _total(table[c].values()) for c in candidates})
    baseline = {s.name: score(s, ewma_z(s.values)) for s in series}
    hours = [hourly(s) for s in series]
    per_hour = {s.name: score(s, detect(s.values, BurstSettings.hourly()), 3600.0) for s in hours}
    return {
        "budget_fa_per_day": BUDGET_FA_PER_DAY,
        "grid": [{**_params(c), **_total(table[c].values()).summary()} for c in candidates],
        "loso": {"series": loso, "overall": _total(held_out).summary()},
        "final": {
            "settings": asdict(final),
            "is_default": final == BurstSettings(),
            "series": {k: v.summary() for k, v in table[final].items()},
            "overall": _total(table[final].values()).summary(),
        },
        "baseline": {
            "series": {k: v.summary() for k, v in baseline.items()},
            "overall": _total(baseline.values()).summary(),
        },
        "hourly": {
            "series": {k: v.summary() for k, v in per_hour.items()},
            "overall": _total(per_hour.values()).summary(),
        },
    }


def _line(label: str, figures: dict[str, Any], extra: str = "") -> str:
    return (
        f"{label:<26} recall {figures['hits']:>2}/{figures['windows']:<2} "
        f"= {figures['recall']:.2f}   FA/day {figures['fa_per_day']:.3f} "
        f"({figures['false_alarms']:>3})   median delay {figures['median_delay_min']:>7.0f} min"
        f"{extra}"
    )


def report(result: dict[str, Any]) -> str:
    lines = [f"budget: <= {result['budget_fa_per_day']:.2f} false alarms per series-day", ""]
    lines.append("leave-one-series-out (parameters tuned on the other four):")
    for name, figures in result["loso"]["series"].items():
        lines.append(_line(f"  {name}", figures, f"   [{_label(figures['chosen'])}]"))
    lines.append(_line("  overall", result["loso"]["overall"]))
    settings = result["final"]["settings"]
    lines.append("")
    lines.append(
        f"final ({_label(settings)}; "
        f"equal to BurstSettings() defaults: {result['final']['is_default']}):"
    )
    for name, figures in result["final"]["series"].items():
        lines.append(_line(f"  {name}", figures))
    lines.append(_line("  overall", result["final"]["overall"]))
    lines.append("")
    lines.append("baseline EWMA z >= 8 (same run):")
    for name, figures in result["baseline"]["series"].items():
        lines.append(_line(f"  {name}", figures))
    lines.append(_line("  overall", result["baseline"]["overall"]))
    lines.append("")
    lines.append("hourly bins (the same series summed to hours), BurstSettings.hourly(), untuned:")
    for name, figures in result["hourly"]["series"].items():
        lines.append(_line(f"  {name}", figures))
    lines.append(_line("  overall", result["hourly"]["overall"]))
    lines.append("")
    lines.append("whole grid on all five series (in-sample, for the trade-off only):")
    for row in result["grid"]:
        lines.append(_line(f"  {_label(row)}", row))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="the mention_volume folder")
    parser.add_argument("--json", action="store_true", help="print the result dict as JSON")
    args = parser.parse_args(argv)
    result = evaluate(args.data)
    print(json.dumps(result, indent=1) if args.json else report(result))


if __name__ == "__main__":
    main()
