"""Predicted final reshare count of a post from its early reshares (SEISMIC, Zhao et al. KDD 2015).

A numpy port of ``memory.ccdf``, ``integral.memory.kernel``, ``get.infectiousness`` and
``pred.cascade`` from the R package ``seismic`` 1.1 (``cran/seismic: R/tweetfunctions.R``):
each reshare i at t_i by a user with n_i followers raises the reshare rate by p_t·n_i·φ(t - t_i),
and the package's estimate is

    N̂ = R_t + p̂_t · Σ_{t_i <= t} n_i (1 - Φ(t - t_i)) / (1 - p̂_t · n*)

(``calibration=None``; n* = 100, explosive cascades amplified MAX_AMPLIFICATION times, not Inf,
and p̂_t at most 1: a follower reshares once at most; see MAX_INFECTIOUSNESS).

The default prediction adds a calibration layer, as the package's "train for best n.star" and
the research note (§A3.2 step 5) suggest: per age, log(1 + final) ~ Normal(β · x, sigma) with x =
log(1 + ·) of the count R_t, the first-generation SEISMIC estimate R_t + p̂_t·Σ n_i(1 - Φ), the
follower mass Σ n_i seen so far and the reshares of the last window. It is a *truncated*
regression: the training cascades are only those that ended above 2,000 retweets, and every
cascade ends above what it already has, so the prediction is the median of the fitted normal
conditioned on final >= max(floor, R_t). The slopes are ridge-pulled towards plain SEISMIC
(β = 1 on the estimate) because the regressors are collinear. "Final" means the size at 7 days.

Out-of-fold figures (bench/eval_reach.py, 5-fold CV over the 140 shared SEISMIC cascades, all
> 2,000 retweets; median / mean / 90th-percentile APE):

    observe  calibrated, events   count-only, 5-min polls  count x typical ratio  package (median)
    10 min   0.255 / 0.276 / 0.54  0.275 / 0.282 / 0.54     0.450 / 0.468 / 0.97   0.484
    1 h      0.228 / 0.242 / 0.46  0.241 / 0.249 / 0.46     0.409 / 0.433 / 0.88   0.379
    6 h      0.130 / 0.166 / 0.35  0.136 / 0.166 / 0.36     0.246 / 0.265 / 0.45   0.211

Read them with the selection in mind: guessing the median size (~2,900) for every cascade
already scores 0.293 / 0.307 / 0.668, and the same regression used without the floor scores
0.540 / 0.360 / 0.136 (median, 10 min / 1 h / 6 h). Part of the gain is knowing that a cascade
ends above 2,000; the rest is the cascade's own signal (rank correlation with the final size 0.53
at 1 h, 0.48 for the baseline). Nothing here transfers as-is to small posts: on the #auspol
cascades (2017) the table without its floor is worse than predicting no further growth. Refit
the tables (``bench/eval_reach.py --fit``, FLOOR = 0) on Vigie's own mention logs before trusting
the numbers for brand mentions; ``Calibration.without_floor`` is for ranking only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Numbers = Sequence[float] | FloatArray

# Memory kernel φ (human reaction time), fitted on Twitter by the SEISMIC authors: constant
# density KERNEL_C up to KERNEL_CUTOFF seconds, then a power law with exponent -(1 + θ).
KERNEL_C = 0.0006265725
KERNEL_CUTOFF = 300.0
KERNEL_THETA = 0.2314843

# Triangular weighting window of the infectiousness estimate: half the post's age, clamped to
# [5 min, 2 h], widened to the last MIN_WINDOW_COUNT + 1 events when sparse (package defaults).
MIN_WINDOW = 300.0
MAX_WINDOW = 7200.0
MIN_WINDOW_COUNT = 5

# n*: mean follower count of future resharers (package default). Defines the branching number
# p̂·n* and the explosive flag (p̂·n* >= 1, where the package returns Inf).
N_STAR = 100.0

# Explosive (p̂·N_STAR >= 1), or a denominator near 0: the remaining growth is amplified this
# much, a large but finite value; callers should act on ``explosive``, not on the number.
MAX_AMPLIFICATION = 20.0

# p̂ is the expected number of reshares per follower reached, and nobody reshares a post twice,
# so p̂ <= 1. The package's ratio has no such bound: a reshare seconds before ``observe`` counts
# fully while its followers have had seconds of exposure, so with an original post nobody could
# see (0 followers) one reshare at 599.99 s of 600 gave p̂ = 800 and N̂ = 3.2 million. Bounded,
# the first-generation growth to come is at most the followers reached, and N̂ at most
# observed + MAX_AMPLIFICATION x follower mass (about 4,000 for that reshare of 200 followers,
# flagged explosive). The 140 shared cascades never exceed p̂ = 0.07, so no figure changes.
MAX_INFECTIOUSNESS = 1.0

# "Final" means the size 7 days after the post, as in the SEISMIC data the calibration is fitted
# on: at this age the prediction is the observed count (plus nothing), by definition.
HORIZON = 7 * 86400.0

CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "data" / "reach_twitter_2011.json"

# Regressors of the calibration, in order (all logs are log(1 + x)).
FEATURES = ("intercept", "log_observed", "log_seismic", "log_follower_mass", "log_recent")

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReachPrediction:
    """Estimate at one observation time."""

    observed: int  # reshares seen so far, excluding the original post
    predicted_final: float  # predicted final number of reshares, >= observed, always finite
    infectiousness: float  # p̂_t
    branching: float  # p̂_t · N_STAR; >= 1 means supercritical
    explosive: bool


@dataclass(frozen=True)
class ReachFeatures:
    """What the calibration sees of a cascade at one age (computed once, so fits are cheap)."""

    observed: int
    remaining: float  # p̂ · Σ_{t_i <= t} n_i (1 - Φ(t - t_i)): first-generation reshares to come
    infectiousness: float
    follower_mass: float  # Σ n_i over the original post and the reshares seen so far
    recent: float  # reshares in the last half of the post's age (window clamped to [5 min, 2 h])

    @property
    def branching(self) -> float:
        return self.infectiousness * N_STAR

    def regressors(self) -> tuple[float, ...]:
        """Values of FEATURES; log_seismic is the package estimate without amplification (n* = 0),
        which stays finite for explosive cascades."""
        return (
            1.0,
            math.log1p(self.observed),
            math.log1p(self.observed + self.remaining),
            math.log1p(self.follower_mass),
            math.log1p(self.recent),
        )

    def package_estimate(self) -> float:
        """The R package's N̂ (n* = 100), the explosive case amplified MAX_AMPLIFICATION times."""
        return float(
            final_sizes(
                np.array([self.observed], dtype=np.float64),
                np.array([self.remaining]),
                np.array([self.infectiousness]),
            )[0]
        )


def final_sizes(
    observed: FloatArray,
    remaining: FloatArray,
    infectiousness: FloatArray,
    scale: float = 1.0,
    n_star: float = N_STAR,
) -> FloatArray:
    """Vectorised N̂ = R + scale · remaining · amplification (amplification capped)."""
    denominator = np.maximum(1.0 - infectiousness * n_star, 1.0 / MAX_AMPLIFICATION)
    amplification = np.where(infectiousness * N_STAR >= 1.0, MAX_AMPLIFICATION, 1.0 / denominator)
    return observed + scale * remaining * amplification


def truncated_median(mu: float, sigma: float, lower: float) -> float:
    """Median of Normal(mu, sigma) conditioned on being >= ``lower`` (stable far in the tail)."""
    if sigma <= 0:
        return max(mu, lower)
    above = 0.5 * math.erfc((lower - mu) / (sigma * math.sqrt(2.0)))  # P(Y >= lower)
    half = above / 2.0  # (0 when above is the smallest float: as far in the tail)
    if half <= 0.0:
        return lower
    return max(lower, mu - sigma * _NORMAL.inv_cdf(half))


@dataclass(frozen=True)
class Calibration:
    """Per-age truncated log-linear regression: log(1 + final) ~ Normal(β_age · x, sigma_age).

    x are the FEATURES. The regression was fitted on cascades whose final size is known to be at
    least ``floor`` (a selected data set) and at least the count already seen, so it is a
    truncated regression (Hausman & Wise 1977) and the prediction is the median of the fitted
    normal conditioned on final >= max(floor, observed). Between ages the coefficients are
    interpolated linearly in log(age); below the first age the first row applies; from the last
    age to HORIZON they move towards "final = observed", which holds at HORIZON by definition.
    """

    ages: tuple[float, ...]
    coefficients: tuple[tuple[float, ...], ...]
    sigmas: tuple[float, ...]
    floor: float = 0.0

    def __post_init__(self) -> None:
        if not (len(self.ages) == len(self.coefficients) == len(self.sigmas) > 0):
            raise ValueError("calibration ages, coefficients and sigmas must have the same length")
        if any(len(row) != len(FEATURES) for row in self.coefficients):
            raise ValueError(f"each coefficient row needs {len(FEATURES)} values: {FEATURES}")
        if any(b <= a for a, b in zip(self.ages, self.ages[1:], strict=False)) or self.ages[0] <= 0:
            raise ValueError("calibration ages must be positive and increasing")
        if self.ages[-1] >= HORIZON or min(self.sigmas) < 0 or self.floor < 0:
            raise ValueError("ages must be below HORIZON; sigmas and floor must be >= 0")

    def at(self, age: float) -> tuple[FloatArray, float]:
        """Coefficients and sigma at ``age`` seconds."""
        identity = tuple(1.0 if name == "log_observed" else 0.0 for name in FEATURES)
        log_ages = np.log([*self.ages, HORIZON])
        table = np.array([*self.coefficients, identity], dtype=np.float64)
        sigmas = np.array([*self.sigmas, 0.0])
        where = math.log(max(age, 1.0))
        beta = np.array([np.interp(where, log_ages, column) for column in table.T])
        return beta, float(np.interp(where, log_ages, sigmas))

    def predict(self, features: ReachFeatures, age: float) -> float:
        """Median final size given the features at ``age``, final >= max(floor, observed)."""
        beta, sigma = self.at(age)
        mu = float(beta @ np.asarray(features.regressors()))
        lower = math.log1p(max(self.floor, features.observed))
        return max(float(features.observed), math.expm1(truncated_median(mu, sigma, lower)))

    def without_floor(self) -> Calibration:
        """The same regression for posts not known to be large (final >= observed only).

        An extrapolation below the fitted data: use it for ranking rather than as a forecast.
        """
        return replace(self, floor=0.0)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], floor: float) -> Calibration:
        """From one table of the JSON file: ``ages``, ``coefficients`` (rows by age), ``sigmas``."""
        return cls(
            ages=tuple(float(a) for a in table["ages"]),
            coefficients=tuple(tuple(float(b) for b in row) for row in table["coefficients"]),
            sigmas=tuple(float(s) for s in table["sigmas"]),
            floor=float(floor),
        )


def load_calibrations(path: Path = CALIBRATION_PATH) -> dict[str, Calibration]:
    """The fitted tables of ``path`` by name (``events``, ``counts``)."""
    data = json.loads(path.read_text("utf-8"))
    if list(data["features"]) != list(FEATURES):
        raise ValueError(f"{path}: features {data['features']} are not {FEATURES}; refit")
    return {
        name: Calibration.from_mapping(data[name], data["floor"]) for name in ("events", "counts")
    }


# Fitted by ``python -m bench.eval_reach --fit --write`` on the 140 SEISMIC Twitter cascades of
# shared/data/cascades/seismic_tideh_subset (Oct-Nov 2011, each > 2,000 retweets at 7 days, so
# floor = 2,000), at ages 1 min to 3 days. bench/eval_reach.py refits them per fold and reports
# only out-of-fold errors. Refit on Vigie's own mention logs before trusting them for brands.
_FITTED = load_calibrations()
TWITTER_2011 = _FITTED["events"]  # reshare times and each resharer's follower count
TWITTER_2011_COUNTS = _FITTED["counts"]  # cumulative counts polled every 5 minutes
DEFAULT_CALIBRATION = TWITTER_2011


def memory_ccdf(age: FloatArray) -> FloatArray:
    """1 - Φ(age): share of a sharer's expected reshares still to come at that age."""
    age = np.maximum(age, 0.0)
    tail = KERNEL_C * KERNEL_CUTOFF ** (1 + KERNEL_THETA) / KERNEL_THETA
    late = tail * np.maximum(age, KERNEL_CUTOFF) ** -KERNEL_THETA
    return np.where(age <= KERNEL_CUTOFF, 1.0 - KERNEL_C * age, late)


def kernel_integral(share_times: FloatArray, at: float, window: float) -> FloatArray:
    """∫ φ(s - t_i) · K(s) ds over [at - window, at], K the triangle rising from 0 to 1 at ``at``.

    Closed form of the package's ``integral.memory.kernel``: the constant piece of φ up to the
    cutoff, then the power-law piece (checked against numerical quadrature in the tests).
    """
    slope = 1.0 / window
    start = np.maximum(share_times, at - window)
    bend = share_times + KERNEL_CUTOFF
    flat_hi = np.minimum(at, bend)
    flat_lo = np.minimum(start, flat_hi)
    flat = KERNEL_C * (
        (flat_hi - flat_lo) + slope * ((flat_hi - at) ** 2 - (flat_lo - at) ** 2) / 2.0
    )
    # Power-law piece in u = s - t_i: c·s0^(1+θ) ∫ u^-(1+θ) · ((1 - slope·age) + slope·u) du.
    age = at - share_times
    u_lo = np.maximum(start, bend) - share_times
    u_hi = np.maximum(age, u_lo)
    theta = KERNEL_THETA
    power = (
        KERNEL_C
        * KERNEL_CUTOFF ** (1 + theta)
        * (
            (1.0 - slope * age) * (u_lo**-theta - u_hi**-theta) / theta
            + slope * (u_hi ** (1 - theta) - u_lo ** (1 - theta)) / (1 - theta)
        )
    )
    return np.where(age > 0, flat + power, 0.0)


def _window(times: FloatArray, weights: FloatArray, at: float) -> float:
    """Width of the weighting window at ``at`` (package rule, events counted with weights)."""
    window = min(max(at / 2.0, MIN_WINDOW), MAX_WINDOW)
    before = times < at
    if weights[before & (times >= at - window)].sum() >= MIN_WINDOW_COUNT:
        return window
    # Too few recent events: reach back to the last MIN_WINDOW_COUNT + 1 events, original included.
    past = np.flatnonzero(before)[::-1]
    reach = int(np.searchsorted(np.cumsum(weights[past]), MIN_WINDOW_COUNT + 1))
    return float(at - times[past[min(reach, past.size - 1)]])


def estimate_infectiousness(
    times: FloatArray, followers: FloatArray, weights: FloatArray, at: float
) -> float:
    """p̂_t: triangle-weighted recent reshares over triangle-weighted exposure (at most
    MAX_INFECTIOUSNESS).

    Inputs are sorted by time with the original post first; ``weights`` count events per row.
    """
    if at <= 0 or times.size < 2:
        return 0.0
    window = _window(times, weights, at)
    exposure = float(np.sum(weights * followers * kernel_integral(times, at, window)))
    reshares = times[1:]
    inside = (reshares >= at - window) & (reshares < at)
    recent = float(np.sum(weights[1:][inside] * (1.0 - (at - reshares[inside]) / window)))
    if recent <= 0 or exposure <= 0:
        return 0.0
    return min(recent / exposure, MAX_INFECTIOUSNESS)


def seismic_features(
    times: FloatArray, followers: FloatArray, weights: FloatArray, observe: float
) -> ReachFeatures:
    """Features of the events at or before ``observe`` (sorted input, original post first)."""
    if not (np.isfinite(observe) and observe > 0):
        raise ValueError(f"observe must be a positive number of seconds, got {observe!r}")
    seen = times <= observe
    times, followers, weights = times[seen], followers[seen], weights[seen]
    infectiousness = estimate_infectiousness(times, followers, weights, observe)
    exposure = float(np.sum(weights * followers * memory_ccdf(observe - times)))
    window = min(max(observe / 2.0, MIN_WINDOW), MAX_WINDOW)
    return ReachFeatures(
        observed=round(float(weights[1:].sum())),
        remaining=infectiousness * exposure,
        infectiousness=infectiousness,
        follower_mass=float(np.sum(weights * followers)),
        recent=float(weights[1:][times[1:] > observe - window].sum()),
    )


def calibrated(
    features: ReachFeatures, observe: float, calibration: Calibration | None
) -> ReachPrediction:
    """Apply ``calibration`` at age ``observe`` (None: the package's uncalibrated estimator)."""
    if calibration is None:
        predicted = features.package_estimate()
    else:
        predicted = calibration.predict(features, observe)
    return ReachPrediction(
        observed=features.observed,
        predicted_final=predicted,
        infectiousness=features.infectiousness,
        branching=features.branching,
        explosive=features.branching >= 1.0,
    )


def cascade_arrays(times: Numbers, followers: Numbers) -> tuple[FloatArray, FloatArray]:
    """Validated arrays sorted by time, the original post (row 0, at time 0) kept first."""
    t = np.asarray(times, dtype=np.float64)
    n = np.asarray(followers, dtype=np.float64)
    if t.ndim != 1 or t.shape != n.shape or t.size == 0:
        raise ValueError("times and followers must be non-empty sequences of the same length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(n))):
        raise ValueError("times and followers must be finite numbers")
    if t[0] != 0 or np.any(t < 0) or np.any(n < 0):
        raise ValueError("row 0 must be the original post at time 0, and no value may be < 0")
    order = np.concatenate(([0], 1 + np.argsort(t[1:], kind="stable")))
    return t[order], n[order]


def predict_final_size(
    times: Numbers,
    followers: Numbers,
    observe: float,
    *,
    calibration: Calibration | None = DEFAULT_CALIBRATION,
) -> ReachPrediction:
    """Predict the final reshare count from the events at or before ``observe`` seconds.

    ``times``: seconds since the original post (row 0, at 0); ``followers``: follower count
    of each (re)sharer, same order. ``calibration=None`` gives the package's raw estimator.
    """
    t, n = cascade_arrays(times, followers)
    return calibrated(seismic_features(t, n, np.ones_like(t), observe), observe, calibration)


def count_events(
    observations: Sequence[tuple[float, int]],
    author_followers: float,
    observe: float,
    reshare_followers: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pseudo-events (times, followers, weights): each poll's increment at mid-interval.

    Counts are taken as a running maximum: a count that drops (a reshare deleted, a replica
    behind) is no reshare undone, and its recovery is no new one.
    """
    times, weights, last_at, last_count = [0.0], [1.0], 0.0, 0
    for at, count in sorted((float(a), int(c)) for a, c in observations if a <= observe):
        if at < 0:
            raise ValueError(f"times must be >= 0 (at {at:g} s)")
        if count > last_count:
            times.append((last_at + at) / 2.0)
            weights.append(float(count - last_count))
        last_at, last_count = at, max(last_count, count)
    followers = np.full(len(times), float(reshare_followers))
    followers[0] = float(author_followers)
    return np.asarray(times), followers, np.asarray(weights)


def predict_from_counts(
    observations: Sequence[tuple[float, int]],
    author_followers: float,
    observe: float,
    *,
    reshare_followers: float = N_STAR,
    calibration: Calibration | None = TWITTER_2011_COUNTS,
) -> ReachPrediction:
    """Predict the final reshare count from polled cumulative counts ``(seconds, reshares)``.

    For count-only sources (Reddit, HN, Mastodon ``reblogs_count``, X ``public_metrics``):
    each poll's increment counts as that many reshares at the middle of its interval, each by
    a user with ``reshare_followers`` followers (research note §A3.2, step 2). The default
    calibration was fitted on 5-minute polls with ``reshare_followers`` = N_STAR.
    """
    times, followers, weights = count_events(
        observations, author_followers, observe, reshare_followers
    )
    features = seismic_features(times, followers, weights, observe)
    return calibrated(features, observe, calibration)
