"""Out-of-fold accuracy of the reach predictor on real Twitter retweet cascades.

    .venv/bin/python -m bench.eval_reach [--data DIR] [--fit [--write]] [--others]

On ``shared/data/cascades/seismic_tideh_subset`` (140 cascades, final size = retweets at 7 days)
reports median / mean / 90th-percentile absolute percentage error (APE) and the Spearman rank
correlation of the predicted final size after 10 min, 1 h and 6 h, next to the baselines measured
in the same run. The subset's selection rule (every cascade ends above 2,000) is a floor the
regression uses by default; the regression and the "count x typical ratio" baseline are each
printed with and without that floor, so each comparison can be made on equal terms. Every
calibration is fitted by 5-fold cross-validation over cascades: every error is out of fold.
``--fit`` prints the tables fitted on all cascades (``--write`` stores them in
``bot/data/reach_twitter_2011.json``, shipped as ``reach.TWITTER_2011``). ``--others`` applies
the shipped table, without its floor, to the #auspol cascades (a transfer check; the Liang and
Weibo sets carry no follower counts).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize  # type: ignore[import-untyped]
from scipy.special import log_ndtr  # type: ignore[import-untyped]

from bot.spread.reach import (
    CALIBRATION_PATH,
    FEATURES,
    HORIZON,
    N_STAR,
    TWITTER_2011,
    Calibration,
    FloatArray,
    ReachFeatures,
    count_events,
    final_sizes,
    predict_final_size,
    seismic_features,
)
from bot.spread.reach_file import Cascade, read_cascades

CASCADES = Path(__file__).resolve().parents[2] / "shared" / "data" / "cascades"
SUBSET = CASCADES / "seismic_tideh_subset"
R_EXAMPLE = CASCADES / "seismic_r_example" / "seismic_tweet_127001313513967616.csv"
AUSPOL = CASCADES / "evently_auspol" / "auspol_cascades.csv"
OBSERVE_TIMES = (600.0, 3600.0, 21600.0)
FIT_AGES = (60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0, 259200.0)
# The subset's selection rule (SOURCES.md §4a: "only tweets with more than 2000 retweets").
FLOOR = 2000.0
# Ridge prior of the slopes: plain SEISMIC, log(1 + final) = intercept + log(1 + R + remaining).
PRIOR = np.array([1.0 if name == "log_seismic" else 0.0 for name in FEATURES])
PENALTY = 3.0  # against a log-likelihood summed over ~110-140 cascades
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
        "spearman": _spearman(predicted, finals),
    }


def _spearman(a: FloatArray, b: FloatArray) -> float:
    ranks = [np.argsort(np.argsort(x, kind="stable")).astype(np.float64) for x in (a, b)]
    if min(float(np.std(r)) for r in ranks) == 0.0:
        return float("nan")
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def fold_ids(count: int) -> NDArray[np.intp]:
    """Balanced fold labels in a fixed random order, so runs are reproducible."""
    labels = np.arange(count) % FOLDS
    np.random.default_rng(SEED).shuffle(labels)
    return labels


def event_features(cascade: Cascade, observe: float) -> ReachFeatures:
    times, followers = cascade
    return seismic_features(times, followers, np.ones_like(times), observe)


def count_only_features(cascade: Cascade, observe: float) -> ReachFeatures:
    """Features from cumulative counts polled every POLL_SECONDS (no per-reshare followers)."""
    times, followers = cascade
    polls = np.arange(POLL_SECONDS, observe + 1e-9, POLL_SECONDS)
    counts = np.searchsorted(times, polls, side="right") - 1
    observations = [(float(at), int(n)) for at, n in zip(polls, counts, strict=True)]
    events = count_events(observations, float(followers[0]), observe, N_STAR)
    return seismic_features(*events, observe)


def fit_truncated(
    features: Sequence[ReachFeatures], finals: FloatArray, floor: float, penalty: float = PENALTY
) -> tuple[tuple[float, ...], float]:
    """Penalised maximum likelihood of log(1 + final) ~ Normal(β·x, sigma), truncated below.

    Each cascade is known to end at or above max(floor, observed), so its likelihood is the
    normal density divided by the probability of that region; least squares on such a sample
    would learn the selection ("small early counts still end large") as if it were growth. The
    regressors are strongly collinear (observed, SEISMIC estimate and recent count move together),
    so the slopes are pulled towards PRIOR with weight ``penalty``: without it they swing from
    fold to fold (e.g. -1.1..+0.4 on log_observed at 1 h) for the same out-of-fold error.
    """
    x = np.array([f.regressors() for f in features])
    y = np.log1p(finals)
    lower = np.log1p(np.maximum(floor, [f.observed for f in features]))

    def negative_log_likelihood(theta: FloatArray) -> float:
        beta, log_sigma = theta[:-1], theta[-1]
        sigma = np.exp(log_sigma)
        mu = x @ beta
        fit = 0.5 * ((y - mu) / sigma) ** 2 + log_sigma + log_ndtr((mu - lower) / sigma)
        return float(np.sum(fit) + penalty * np.sum((beta[1:] - PRIOR[1:]) ** 2))

    start_beta = np.linalg.lstsq(x, y, rcond=None)[0]
    start = np.append(start_beta, np.log(max(float(np.std(y - x @ start_beta)), 1e-3)))
    result = minimize(negative_log_likelihood, start, method="BFGS")
    return tuple(float(b) for b in result.x[:-1]), float(np.exp(result.x[-1]))


def single_age(beta: tuple[float, ...], sigma: float, age: float, floor: float) -> Calibration:
    return Calibration(ages=(age,), coefficients=(beta,), sigmas=(sigma,), floor=floor)


def out_of_fold(
    features: Sequence[ReachFeatures], finals: FloatArray, age: float, predict_floor: float = FLOOR
) -> tuple[FloatArray, list[tuple[tuple[float, ...], float]]]:
    """Predictions for each fold from a regression fitted on the other folds only.

    The fit always knows the subset's selection (FLOOR); ``predict_floor`` = 0 shows what the
    same regression says when the selection is not used at prediction time.
    """
    folds = fold_ids(len(features))
    predicted = np.zeros_like(finals)
    fitted = []
    for fold in range(FOLDS):
        test = folds == fold
        train = [f for f, held_out in zip(features, test, strict=True) if not held_out]
        beta, sigma = fit_truncated(train, finals[~test], FLOOR)
        fitted.append((beta, sigma))
        calibration = single_age(beta, sigma, age, predict_floor)
        for i in np.flatnonzero(test):
            predicted[i] = calibration.predict(features[int(i)], age)
    return predicted, fitted


# Previous calibration (kept as a reference row): N̂ = R + scale · remaining, one scale per age
# minimising the mean APE, n* = 0; scales from 0.1 to 10, log-spaced.
SCALE_GRID = np.exp(np.linspace(np.log(0.1), np.log(10.0), 61))


def fit_scale(features: Sequence[ReachFeatures], finals: FloatArray) -> float:
    observed, remaining, infectiousness = _columns(features)
    keep = infectiousness * N_STAR < 1.0  # explosive ones are capped by contract
    losses = [
        np.mean(np.abs(observed + s * remaining - finals)[keep] / finals[keep]) for s in SCALE_GRID
    ]
    return float(SCALE_GRID[int(np.argmin(losses))])


def out_of_fold_scale(features: Sequence[ReachFeatures], finals: FloatArray) -> FloatArray:
    folds = fold_ids(len(features))
    observed, remaining, infectiousness = _columns(features)
    predicted = np.zeros_like(finals)
    for fold in range(FOLDS):
        test = folds == fold
        train = [f for f, held_out in zip(features, test, strict=True) if not held_out]
        scale = fit_scale(train, finals[~test])
        predicted[test] = final_sizes(
            observed[test], remaining[test], infectiousness[test], scale, 0.0
        )
    return predicted


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


def evaluate_at(cascades: Sequence[Cascade], finals: FloatArray, observe: float) -> dict[str, Any]:
    """All methods at one observation time, errors out of fold (or leave-one-out)."""
    features = [event_features(c, observe) for c in cascades]
    counts = [count_only_features(c, observe) for c in cascades]
    observed, remaining, infectiousness = _columns(features)
    calibrated, fitted = out_of_fold(features, finals, observe)
    baseline = leave_one_out_ratio(observed, finals)
    return {
        "calibrated_cv": ape_summary(calibrated, finals),
        "calibrated_no_floor_cv": ape_summary(
            out_of_fold(features, finals, observe, 0.0)[0], finals
        ),
        "count_only_cv": ape_summary(out_of_fold(counts, finals, observe)[0], finals),
        "previous_scale_cv": ape_summary(out_of_fold_scale(features, finals), finals),
        "seismic_uncalibrated": ape_summary(
            final_sizes(observed, remaining, infectiousness), finals
        ),
        "baseline_count_x_ratio": ape_summary(baseline, finals),
        "baseline_count_x_ratio_floor": ape_summary(np.maximum(FLOOR, baseline), finals),
        "constant_median": ape_summary(leave_one_out_constant(finals), finals),
        "fold_fits": fitted,
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


def fit_tables(data_dir: Path = SUBSET) -> dict[str, Any]:
    """The calibration file's content, fitted on every cascade (for shipping, never scoring)."""
    cascades, finals = load(data_dir)
    out: dict[str, Any] = {
        "description": (
            "Truncated log-linear regression of log(1 + size at 7 days) on FEATURES, per age"
            " (bot/spread/reach.py). Fitted by `python -m bench.eval_reach --fit --write` on the"
            f" {len(cascades)} SEISMIC Twitter cascades of shared/data/cascades/"
            "seismic_tideh_subset (Oct-Nov 2011, each > 2,000 retweets). events: reshare times"
            " and follower counts; counts: cumulative counts polled every 5 minutes."
        ),
        "features": list(FEATURES),
        "floor": FLOOR,
    }
    for name, feature_fn in (("events", event_features), ("counts", count_only_features)):
        coefficients, sigmas = [], []
        for age in FIT_AGES:
            beta, sigma = fit_truncated([feature_fn(c, age) for c in cascades], finals, FLOOR)
            coefficients.append([round(b, 5) for b in beta])
            sigmas.append(round(sigma, 5))
        out[name] = {"ages": list(FIT_AGES), "coefficients": coefficients, "sigmas": sigmas}
    return out


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


def load_auspol(path: Path = AUSPOL) -> tuple[list[Cascade], FloatArray]:
    """The #auspol cascades (2017, follower counts as ``magnitude``) and their sizes at 7 days."""
    rows: dict[str, tuple[list[float], list[float]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            times, followers = rows.setdefault(row["cascade_id"], ([], []))
            times.append(float(row["time"]))
            followers.append(float(row["magnitude"]))
    cascades = []
    for times, followers in rows.values():
        t, n = np.asarray(times), np.asarray(followers)
        order = np.argsort(t, kind="stable")
        t, n = t[order], n[order]
        if t.size and t[0] == 0 and np.sum(t == 0) == 1:  # one original post, at time 0
            keep = t <= HORIZON
            cascades.append((t[keep], n[keep]))
    return cascades, np.array([c[0].size - 1 for c in cascades], dtype=np.float64)


def transfer(min_observed: int = 5) -> dict[int, Any]:
    """Shipped tables, nothing refitted, on #auspol cascades with >= ``min_observed`` reshares seen.

    Selecting on what is observed (not on the final size) means no floor is known: the
    regression is used without it. Other sets (Liang 2019, Weibo) carry no follower counts.
    """
    cascades, finals = load_auspol()
    subset, subset_finals = load(SUBSET)
    floorless = TWITTER_2011.without_floor()
    out: dict[int, Any] = {}
    for observe in OBSERVE_TIMES:
        chosen = [
            i for i, (t, _) in enumerate(cascades) if np.sum(t[1:] <= observe) >= min_observed
        ]
        features = [event_features(cascades[i], observe) for i in chosen]
        final = finals[chosen]
        observed, remaining, infectiousness = _columns(features)
        subset_counts = np.array([np.sum(t[1:] <= observe) for t, _ in subset], dtype=np.float64)
        subset_ratio = float(np.median(subset_finals / np.maximum(subset_counts, 1.0)))
        out[int(observe)] = {
            "cascades": len(chosen),
            "calibrated_no_floor": ape_summary(
                np.array([floorless.predict(f, observe) for f in features]), final
            ),
            "seismic_uncalibrated": ape_summary(
                final_sizes(observed, remaining, infectiousness), final
            ),
            "observed_only": ape_summary(observed, final),
            "count_x_subset_ratio": ape_summary(observed * subset_ratio, final),
        }
    return out


TRANSFER_ROWS = (
    ("calibrated_no_floor", "TWITTER_2011 without floor"),
    ("seismic_uncalibrated", "SEISMIC, package defaults"),
    ("observed_only", "observed count (no growth)"),
    ("count_x_subset_ratio", "count x SEISMIC-subset median ratio"),
)


def print_transfer(report: dict[int, Any]) -> None:
    print("#auspol cascades (evently, 2017), size at 7 days; shipped tables, nothing refitted")
    for observe, result in report.items():
        print(f"{observe:>7}s  {result['cascades']} cascades with >= 5 reshares seen")
        for key, label in TRANSFER_ROWS:
            s = result[key]
            print(
                f"{'':>9} {label:<40} {s['median_ape']:7.3f} {s['mean_ape']:7.3f}"
                f" {s['p90_ape']:7.3f} {s['share_ape_le_0.2']:6.2f} {s['spearman']:6.2f}"
            )


# Each method that can use the selection rule is shown with and without it, side by side.
ROWS = (
    ("calibrated_cv", "truncated regression, floor 2,000 (oof)"),
    ("calibrated_no_floor_cv", "same, floor not used to predict (oof)"),
    ("baseline_count_x_ratio_floor", "count x typical ratio, floor 2,000 (LOO)"),
    ("baseline_count_x_ratio", "count x typical ratio, no floor (LOO)"),
    ("count_only_cv", "regression, 5-min count polls, floor (oof)"),
    ("previous_scale_cv", "previous: SEISMIC x scale per age (oof)"),
    ("seismic_uncalibrated", "SEISMIC, package defaults"),
    ("constant_median", "median final size, ignores cascade (LOO)"),
)
FLOOR_NOTE = (
    f"floor {FLOOR:,.0f}: a prediction never goes below {FLOOR:,.0f}, i.e. it assumes every cascade"
    " ends above that size (true of this subset by selection, not of posts in general)"
)


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['cascades']} cascades, {report['folds']}-fold CV, {report['seconds']:.1f} s")
    print(FLOOR_NOTE)
    header = f"{'observe':>8}  {'method':<42} {'median':>7} {'mean':>7} {'p90':>7} {'<=0.2':>6}"
    print(header + f" {'rho':>6}")
    for observe, result in report["observe"].items():
        for key, label in ROWS:
            s = result[key]
            rho = "     -" if key == "constant_median" else f"{s['spearman']:6.2f}"
            print(
                f"{observe:>7}s  {label:<42} {s['median_ape']:7.3f} {s['mean_ape']:7.3f}"
                f" {s['p90_ape']:7.3f} {s['share_ape_le_0.2']:6.2f} {rho}"
            )
        betas = np.array([beta for beta, _ in result["fold_fits"]])
        sigmas = [sigma for _, sigma in result["fold_fits"]]
        spread = ", ".join(
            f"{name} {lo:+.2f}..{hi:+.2f}"
            for name, lo, hi in zip(FEATURES, betas.min(0), betas.max(0), strict=True)
        )
        print(f"{'':>9} folds: {spread}; sigma {min(sigmas):.2f}..{max(sigmas):.2f}")
        print(f"{'':>9} explosive at n*=100: {result['explosive']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_reach", description=__doc__)
    parser.add_argument("--data", type=Path, default=SUBSET, help="index.csv + events.csv.gz")
    parser.add_argument("--fit", action="store_true", help="print the all-data calibration")
    parser.add_argument(
        "--write", action="store_true", help=f"with --fit: write {CALIBRATION_PATH}"
    )
    parser.add_argument("--others", action="store_true", help="transfer check on other data sets")
    args = parser.parse_args(argv)
    if args.fit:
        text = json.dumps(fit_tables(args.data), indent=1) + "\n"
        if args.write:
            CALIBRATION_PATH.write_text(text, encoding="utf-8")
        print(text, end="")
        return 0
    if args.others:
        print_transfer(transfer())
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
