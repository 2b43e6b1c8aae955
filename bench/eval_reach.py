"""Out-of-fold accuracy of the SEISMIC reach predictor on real Twitter retweet cascades.

    .venv/bin/python -m bench.eval_reach [--data DIR] [--fit]

On ``shared/data/cascades/seismic_tideh_subset`` (140 cascades, final size = retweets at 7 days)
reports median / mean / 90th-percentile absolute percentage error (APE) of the predicted final
size after 10 min, 1 h and 6 h, next to the baselines measured in the same run. The calibration
is fitted by 5-fold cross-validation over cascades: every error is out of fold. ``--fit`` prints
the calibration table fitted on all cascades (the one shipped as ``reach.TWITTER_2011``).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.spread.reach import (
    N_STAR,
    UNCALIBRATED,
    Calibration,
    FloatArray,
    ReachFeatures,
    count_events,
    final_sizes,
    fit_scale,
    predict_final_size,
    seismic_features,
)
from bot.spread.reach_file import Cascade, read_cascades

CASCADES = Path(__file__).resolve().parents[2] / "shared" / "data" / "cascades"
SUBSET = CASCADES / "seismic_tideh_subset"
R_EXAMPLE = CASCADES / "seismic_r_example" / "seismic_tweet_127001313513967616.csv"
OBSERVE_TIMES = (600.0, 3600.0, 21600.0)
FIT_AGES = (300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)
FOLDS = 5
SEED = 0
POLL_SECONDS = 300.0  # the count-only variant sees a cumulative count every 5 minutes


def load(data_dir: Path) -> tuple[list[Cascade], FloatArray]:
    """Cascades in index order and their final sizes: event rows - 1 (size at 7 days)."""
    cascades = read_cascades(data_dir / "events.csv.gz")
    with (data_dir / "index.csv").open(encoding="utf-8", newline="") as handle:
        index = list(csv.DictReader(handle))
    kept = [cascades[row["cascade_id"]] for row in index]
    finals = np.array([cascade[0].size - 1 for cascade in kept], dtype=np.float64)
    for row, final in zip(index, finals, strict=True):
        if row.get("total_retweets") not in (None, "", str(int(final))):
            raise ValueError(f"{row['cascade_id']}: {int(final)} retweets, index says otherwise")
    return kept, finals


def ape_summary(predicted: FloatArray, finals: FloatArray) -> dict[str, float]:
    ape = np.abs(predicted - finals) / finals
    return {
        "median_ape": float(np.median(ape)),
        "mean_ape": float(np.mean(ape)),
        "p90_ape": float(np.quantile(ape, 0.9)),
        "share_ape_le_0.2": float(np.mean(ape <= 0.2)),
    }


def fold_ids(count: int) -> NDArray[np.intp]:
    """Balanced fold labels in a fixed random order, so runs are reproducible."""
    labels = np.arange(count) % FOLDS
    np.random.default_rng(SEED).shuffle(labels)
    return labels


def out_of_fold(
    features: Sequence[ReachFeatures], finals: FloatArray
) -> tuple[FloatArray, list[tuple[float, float]]]:
    """Predictions for each fold from a calibration fitted on the other folds only."""
    folds = fold_ids(len(features))
    observed, remaining, infectiousness = _columns(features)
    predicted = np.zeros_like(finals)
    fitted = []
    for fold in range(FOLDS):
        test = folds == fold
        train = [f for f, held_out in zip(features, test, strict=True) if not held_out]
        scale, n_star = fit_scale(train, finals[~test]), 0.0
        fitted.append((scale, n_star))
        predicted[test] = final_sizes(
            observed[test], remaining[test], infectiousness[test], scale, n_star
        )
    return predicted, fitted


def _columns(features: Sequence[ReachFeatures]) -> tuple[FloatArray, FloatArray, FloatArray]:
    return (
        np.array([f.observed for f in features], dtype=np.float64),
        np.array([f.remaining for f in features]),
        np.array([f.infectiousness for f in features]),
    )


def leave_one_out_ratio(counts: FloatArray, finals: FloatArray) -> FloatArray:
    """Baseline: count so far x median final/count of the *other* cascades."""
    ratios = np.where(counts > 0, finals / np.maximum(counts, 1.0), np.nan)
    typical = np.array([np.nanmedian(np.delete(ratios, i)) for i in range(counts.size)])
    return np.asarray(counts * typical, dtype=np.float64)


def leave_one_out_constant(finals: FloatArray) -> FloatArray:
    """Reference: the median final size of the other cascades, ignoring the cascade itself."""
    return np.array([np.median(np.delete(finals, i)) for i in range(finals.size)])


def count_only_features(cascade: Cascade, observe: float) -> ReachFeatures:
    """Features from cumulative counts polled every POLL_SECONDS (no per-reshare followers)."""
    times, followers = cascade
    polls = np.arange(POLL_SECONDS, observe + 1e-9, POLL_SECONDS)
    counts = np.searchsorted(times, polls, side="right") - 1
    observations = [(float(at), int(n)) for at, n in zip(polls, counts, strict=True)]
    events = count_events(observations, float(followers[0]), observe, N_STAR)
    return seismic_features(*events, observe)


def evaluate_at(cascades: Sequence[Cascade], finals: FloatArray, observe: float) -> dict[str, Any]:
    """All methods at one observation time, errors out of fold (or leave-one-out)."""
    features = [seismic_features(t, n, np.ones_like(t), observe) for t, n in cascades]
    observed, remaining, infectiousness = _columns(features)
    seismic, fitted = out_of_fold(features, finals)
    counts_only, _ = out_of_fold([count_only_features(c, observe) for c in cascades], finals)
    scale, n_star = UNCALIBRATED.at(observe)
    raw = final_sizes(observed, remaining, infectiousness, scale, n_star)
    return {
        "seismic_cv": ape_summary(seismic, finals),
        "seismic_uncalibrated": ape_summary(raw, finals),
        "count_only_cv": ape_summary(counts_only, finals),
        "baseline_count_x_ratio": ape_summary(leave_one_out_ratio(observed, finals), finals),
        "constant_median": ape_summary(leave_one_out_constant(finals), finals),
        "fold_calibrations": fitted,
        "explosive": int(np.sum(infectiousness * N_STAR >= 1.0)),
    }


def evaluate(
    data_dir: Path = SUBSET, observe_times: Sequence[float] = OBSERVE_TIMES
) -> dict[str, Any]:
    """Out-of-fold APE summaries per observation time, keyed by seconds."""
    started = time.perf_counter()
    cascades, finals = load(data_dir)
    results = {int(t): evaluate_at(cascades, finals, t) for t in observe_times}
    return {
        "cascades": len(cascades),
        "folds": FOLDS,
        "observe": results,
        "seconds": time.perf_counter() - started,
    }


def fit_table(data_dir: Path = SUBSET) -> Calibration:
    """The calibration fitted on every cascade of ``data_dir`` (for shipping, never scoring)."""
    cascades, finals = load(data_dir)
    scales = [
        fit_scale([seismic_features(t, n, np.ones_like(t), age) for t, n in cascades], finals)
        for age in FIT_AGES
    ]
    return Calibration(
        ages=FIT_AGES,
        scales=tuple(round(scale, 3) for scale in scales),
        n_stars=(0.0,) * len(FIT_AGES),
    )


def r_example(path: Path = R_EXAMPLE) -> dict[int, tuple[int, float, float]]:
    """The R package's example cascade: (observed, raw, calibrated prediction) per time."""
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    times, followers = data[:, 0], data[:, 1]
    out = {}
    for observe in OBSERVE_TIMES:
        raw = predict_final_size(times, followers, observe, calibration=None)
        fitted = predict_final_size(times, followers, observe)
        out[int(observe)] = (raw.observed, raw.predicted_final, fitted.predicted_final)
    return out


ROWS = (
    ("seismic_cv", "SEISMIC, calibrated (out of fold)"),
    ("seismic_uncalibrated", "SEISMIC, package defaults"),
    ("count_only_cv", "SEISMIC count-only, 5-min polls (oof)"),
    ("baseline_count_x_ratio", "count x typical ratio (LOO)"),
    ("constant_median", "median final size, ignores cascade (LOO)"),
)


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['cascades']} cascades, {report['folds']}-fold CV, {report['seconds']:.1f} s")
    print(f"{'observe':>8}  {'method':<42} {'median':>7} {'mean':>7} {'p90':>7} {'<=0.2':>6}")
    for observe, result in report["observe"].items():
        for key, label in ROWS:
            s = result[key]
            print(
                f"{observe:>7}s  {label:<42} {s['median_ape']:7.3f} {s['mean_ape']:7.3f}"
                f" {s['p90_ape']:7.3f} {s['share_ape_le_0.2']:6.2f}"
            )
        folds = ", ".join(f"({a:.2f}, {n:g})" for a, n in result["fold_calibrations"])
        print(f"{'':>9} fold (scale, n*): {folds}; explosive at n*=100: {result['explosive']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_reach", description=__doc__)
    parser.add_argument("--data", type=Path, default=SUBSET, help="index.csv + events.csv.gz")
    parser.add_argument("--fit", action="store_true", help="print the all-data calibration")
    args = parser.parse_args(argv)
    if args.fit:
        print(fit_table(args.data))
        return 0
    print_report(evaluate(args.data))
    if R_EXAMPLE.exists():
        final = np.loadtxt(R_EXAMPLE, delimiter=",", skiprows=1).shape[0] - 1
        print(f"R package example cascade ({final} retweets at 7 days):")
        for observe, (seen, raw, fitted) in r_example().items():
            print(f"{observe:>7}s  observed {seen:>6}  raw {raw:9.0f}  calibrated {fitted:9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
