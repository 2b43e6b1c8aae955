"""Predicted final reshare count of a post from its early reshares (SEISMIC, Zhao et al. KDD 2015).

A numpy port of ``memory.ccdf``, ``integral.memory.kernel``, ``get.infectiousness`` and
``pred.cascade`` from the R package ``seismic`` 1.1 (``cran/seismic: R/tweetfunctions.R``):
each reshare i at t_i by a user with n_i followers raises the reshare rate by p_t·n_i·φ(t - t_i).

    N̂ = R_t + scale · p̂_t · Σ_{t_i <= t} n_i (1 - Φ(t - t_i)) / (1 - p̂_t · n*_fit)

``scale`` and ``n*_fit`` are a per-age calibration fitted on held-out cascades (the package's
``features.return`` exists "to train for best n.star"). The branching number p̂_t · N_STAR
and the explosive flag keep the package's n* = 100; where the package returns Inf (explosive)
the remaining term is amplified MAX_AMPLIFICATION times instead, so numbers stay finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ReachPrediction:
    """SEISMIC estimate at one observation time."""

    observed: int  # reshares seen so far, excluding the original post
    predicted_final: float  # predicted final number of reshares, >= observed, always finite
    infectiousness: float  # p̂_t
    branching: float  # p̂_t · N_STAR; >= 1 means supercritical
    explosive: bool


@dataclass(frozen=True)
class Calibration:
    """Per-age (scale, n*_fit) table, interpolated linearly in log(age), clamped at the ends."""

    ages: tuple[float, ...]
    scales: tuple[float, ...]
    n_stars: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.ages) == len(self.scales) == len(self.n_stars) > 0):
            raise ValueError("calibration ages, scales and n_stars must have the same length")
        if any(b <= a for a, b in zip(self.ages, self.ages[1:], strict=False)) or self.ages[0] <= 0:
            raise ValueError("calibration ages must be positive and increasing")

    def at(self, age: float) -> tuple[float, float]:
        log_ages = np.log(np.asarray(self.ages))
        where = float(np.log(max(age, 1.0)))
        return (
            float(np.interp(where, log_ages, self.scales)),
            float(np.interp(where, log_ages, self.n_stars)),
        )


# The package's estimator as published: no scaling, n* = 100 in the denominator.
UNCALIBRATED = Calibration(ages=(1.0,), scales=(1.0,), n_stars=(N_STAR,))

# Fitted by ``python -m bench.eval_reach --fit`` on the 140 SEISMIC Twitter cascades of
# shared/data/cascades/seismic_tideh_subset (2011, each > 2,000 retweets; final = size at 7 days).
# The scale corrects the model's age-dependent bias (> 1 early, < 1 late: the kernel's heavy
# tail counts reshares after day 7). n*_fit = 0: see fit_scale. bench/eval_reach.py refits it
# per fold and reports only out-of-fold errors. Refit per platform on Vigie's own mention logs:
# these cascades are much larger than typical brand mentions.
TWITTER_2011 = Calibration(
    ages=(300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0),
    scales=(1.08, 1.585, 1.259, 1.166, 1.0, 0.736, 0.341),
    n_stars=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
)
DEFAULT_CALIBRATION = TWITTER_2011


@dataclass(frozen=True)
class ReachFeatures:
    """The calibration-independent parts of a prediction, so calibrations can be fitted cheaply."""

    observed: int
    remaining: float  # p̂ · Σ_{t_i <= t} n_i (1 - Φ(t - t_i)): first-generation reshares to come
    infectiousness: float

    def predict(self, scale: float = 1.0, n_star: float = N_STAR) -> ReachPrediction:
        predicted = final_sizes(
            np.array([self.observed], dtype=np.float64),
            np.array([self.remaining]),
            np.array([self.infectiousness]),
            scale,
            n_star,
        )
        branching = self.infectiousness * N_STAR
        return ReachPrediction(
            observed=self.observed,
            predicted_final=float(predicted[0]),
            infectiousness=self.infectiousness,
            branching=branching,
            explosive=branching >= 1.0,
        )


def final_sizes(
    observed: FloatArray,
    remaining: FloatArray,
    infectiousness: FloatArray,
    scale: float,
    n_star: float,
) -> FloatArray:
    """Vectorised N̂ = R + scale · remaining · amplification (amplification capped)."""
    denominator = np.maximum(1.0 - infectiousness * n_star, 1.0 / MAX_AMPLIFICATION)
    amplification = np.where(infectiousness * N_STAR >= 1.0, MAX_AMPLIFICATION, 1.0 / denominator)
    return observed + scale * remaining * amplification


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
    """p̂_t: triangle-weighted recent reshares over triangle-weighted exposure.

    Inputs are sorted by time with the original post first; ``weights`` count events per row.
    """
    if at <= 0 or times.size < 2:
        return 0.0
    window = _window(times, weights, at)
    exposure = float(np.sum(weights * followers * kernel_integral(times, at, window)))
    reshares = times[1:]
    inside = (reshares >= at - window) & (reshares < at)
    recent = float(np.sum(weights[1:][inside] * (1.0 - (at - reshares[inside]) / window)))
    return recent / exposure if recent > 0 and exposure > 0 else 0.0


def seismic_features(
    times: FloatArray, followers: FloatArray, weights: FloatArray, observe: float
) -> ReachFeatures:
    """Observed count, first-generation remaining reshares and p̂ at ``observe`` (sorted input)."""
    if not (np.isfinite(observe) and observe > 0):
        raise ValueError(f"observe must be a positive number of seconds, got {observe!r}")
    seen = times <= observe
    times, followers, weights = times[seen], followers[seen], weights[seen]
    infectiousness = estimate_infectiousness(times, followers, weights, observe)
    exposure = float(np.sum(weights * followers * memory_ccdf(observe - times)))
    return ReachFeatures(
        observed=round(float(weights[1:].sum())),
        remaining=infectiousness * exposure,
        infectiousness=infectiousness,
    )


def calibrated(
    features: ReachFeatures, observe: float, calibration: Calibration | None
) -> ReachPrediction:
    """Apply ``calibration`` at age ``observe`` (None: the package's uncalibrated estimator)."""
    scale, n_star = (calibration or UNCALIBRATED).at(observe)
    return features.predict(scale, n_star)


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
    """Pseudo-events (times, followers, weights): each poll's increment at mid-interval."""
    times, weights, last_at, last_count = [0.0], [1.0], 0.0, 0
    for at, count in sorted((float(a), int(c)) for a, c in observations if a <= observe):
        if at < 0 or count < last_count:
            raise ValueError(f"counts must not decrease and times must be >= 0 (at {at:g} s)")
        if count > last_count:
            times.append((last_at + at) / 2.0)
            weights.append(float(count - last_count))
        last_at, last_count = at, count
    followers = np.full(len(times), float(reshare_followers))
    followers[0] = float(author_followers)
    return np.asarray(times), followers, np.asarray(weights)


def predict_from_counts(
    observations: Sequence[tuple[float, int]],
    author_followers: float,
    observe: float,
    *,
    reshare_followers: float = N_STAR,
    calibration: Calibration | None = DEFAULT_CALIBRATION,
) -> ReachPrediction:
    """Predict the final reshare count from polled cumulative counts ``(seconds, reshares)``.

    For count-only sources (Reddit, HN, Mastodon ``reblogs_count``, X ``public_metrics``):
    each poll's increment counts as that many reshares at the middle of its interval, each by
    a user with ``reshare_followers`` followers (research note §A3.2, step 2).
    """
    times, followers, weights = count_events(
        observations, author_followers, observe, reshare_followers
    )
    features = seismic_features(times, followers, weights, observe)
    return calibrated(features, observe, calibration)


# Scale grid for fit_scale: 0.1 to 10, log-spaced (about 8 % steps).
SCALE_GRID = np.exp(np.linspace(np.log(0.1), np.log(10.0), 61))


def fit_scale(features: Sequence[ReachFeatures], finals: Numbers, n_star: float = 0.0) -> float:
    """The scale minimising the mean absolute percentage error on the given cascades.

    Fit on training cascades only (bench/eval_reach.py does 5-fold CV). Explosive cascades are
    left out: their number is the capped value by contract, not an estimate to calibrate.
    ``n_star`` defaults to 0 because fitting it jointly on the SEISMIC subset picked about 0
    at 1 h and elsewhere merely traded it against the scale.
    """
    observed = np.array([f.observed for f in features], dtype=np.float64)
    remaining = np.array([f.remaining for f in features])
    infectiousness = np.array([f.infectiousness for f in features])
    final = np.maximum(np.asarray(finals, dtype=np.float64), 1.0)  # APE is undefined at 0
    keep = infectiousness * N_STAR < 1.0
    if not keep.any():
        return 1.0
    losses = [
        np.mean(
            np.abs(final_sizes(observed, remaining, infectiousness, s, n_star) - final)[keep]
            / final[keep]
        )
        for s in SCALE_GRID
    ]
    return float(SCALE_GRID[int(np.argmin(losses))])
