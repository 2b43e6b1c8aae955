"""Predicted final reach (SEISMIC port): constructed cascades, file round trip, real data."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad  # type: ignore[import-untyped]
from scipy.stats import norm  # type: ignore[import-untyped]

from bot.spread.reach import (
    DEFAULT_CALIBRATION,
    FEATURES,
    HORIZON,
    KERNEL_C,
    KERNEL_CUTOFF,
    KERNEL_THETA,
    MAX_AMPLIFICATION,
    MAX_INFECTIOUSNESS,
    N_STAR,
    TWITTER_2011,
    TWITTER_2011_COUNTS,
    Calibration,
    FloatArray,
    ReachFeatures,
    kernel_integral,
    load_calibrations,
    memory_ccdf,
    predict_final_size,
    predict_from_counts,
    truncated_median,
)
from bot.spread.reach_file import predict_reach_file

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUBSET = SHARED_DATA / "cascades" / "seismic_tideh_subset"
FLOORLESS = DEFAULT_CALIBRATION.without_floor()
CALIBRATIONS = [
    pytest.param(None, id="package"),
    pytest.param(DEFAULT_CALIBRATION, id="default"),
    pytest.param(FLOORLESS, id="floorless"),
]


def steady(
    count: int, spacing: float, followers: float = 200.0, root: float = 50_000.0
) -> tuple[list[float], list[float]]:
    """A root post plus ``count`` reshares every ``spacing`` seconds."""
    times = [0.0] + [spacing * (i + 1) for i in range(count)]
    return times, [root] + [followers] * count


def simulate(rng: np.random.Generator, p: float, root: float) -> tuple[FloatArray, FloatArray]:
    """A cascade drawn from the SEISMIC model itself: Poisson(p·n_i) children per sharer."""
    times, followers = [np.zeros(1)], [np.array([root])]
    parents_t, parents_n = times[0], followers[0]
    while parents_t.size and sum(t.size for t in times) < 100_000:
        children = rng.poisson(p * parents_n)
        parents_t = np.repeat(parents_t, children) + kernel_sample(rng, int(children.sum()))
        parents_n = rng.lognormal(np.log(N_STAR) - 1.125, 1.5, parents_t.size)  # mean 100
        times.append(parents_t)
        followers.append(parents_n)
    t, n = np.concatenate(times), np.concatenate(followers)
    order = np.argsort(t, kind="stable")
    return t[order], n[order]


def kernel_sample(rng: np.random.Generator, size: int) -> FloatArray:
    u = rng.random(size)
    tail = KERNEL_C * KERNEL_CUTOFF ** (1 + KERNEL_THETA) / KERNEL_THETA
    late = (tail / np.maximum(1.0 - u, 1e-300)) ** (1.0 / KERNEL_THETA)
    return np.where(u < KERNEL_C * KERNEL_CUTOFF, u / KERNEL_C, late)


def test_kernel_ccdf_matches_the_research_note_table() -> None:
    ages = np.array([300.0, 3600.0, 21600.0, 86400.0, 604800.0])
    assert np.round(memory_ccdf(ages), 2).tolist() == [0.81, 0.46, 0.30, 0.22, 0.14]


@pytest.mark.parametrize(("at", "window"), [(3600.0, 1800.0), (500.0, 300.0), (30000.0, 7200.0)])
def test_kernel_integral_matches_numerical_quadrature(at: float, window: float) -> None:
    def phi(age: float) -> float:
        if age < 0:
            return 0.0
        return KERNEL_C if age < KERNEL_CUTOFF else KERNEL_C * (age / KERNEL_CUTOFF) ** -1.2314843

    shares = np.linspace(0.0, at * 1.05, 37)
    for share, closed in zip(shares, kernel_integral(shares, at, window), strict=True):
        lower = max(share, at - window)
        expected = 0.0
        if lower < at:
            expected = quad(
                lambda s, t0=share: phi(s - t0) * (1 - (at - s) / window),
                lower,
                at,
                points=[share + KERNEL_CUTOFF] if lower < share + KERNEL_CUTOFF < at else None,
            )[0]
        assert closed == pytest.approx(expected, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("calibration", CALIBRATIONS)
def test_only_events_at_or_before_observe_are_used(calibration: Calibration | None) -> None:
    times, followers = steady(60, 60.0)  # reshares up to 3600 s
    early = predict_final_size(times, followers, 1800.0, calibration=calibration)
    truncated = predict_final_size(times[:31], followers[:31], 1800.0, calibration=calibration)
    assert early == truncated
    assert early.observed == 30  # the reshare exactly at 1800 s counts


@pytest.mark.parametrize("calibration", CALIBRATIONS)
def test_more_early_reshares_predict_a_larger_final_size(calibration: Calibration | None) -> None:
    times, followers = steady(40, 60.0)
    more_times, more_followers = steady(80, 30.0)
    few = predict_final_size(times, followers, 2400.0, calibration=calibration)
    many = predict_final_size(more_times, more_followers, 2400.0, calibration=calibration)
    assert many.observed > few.observed
    assert many.predicted_final > few.predicted_final


@pytest.mark.parametrize("calibration", CALIBRATIONS)
def test_prediction_is_finite_and_at_least_observed(calibration: Calibration | None) -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        size = int(rng.integers(1, 400))
        times = np.concatenate(([0.0], np.sort(rng.exponential(3000.0, size))))
        followers = rng.lognormal(5.0, 2.0, size + 1)
        for observe in (1.0, 300.0, 3600.0, 86400.0):
            prediction = predict_final_size(times, followers, observe, calibration=calibration)
            assert math.isfinite(prediction.predicted_final)
            assert prediction.predicted_final >= prediction.observed


def test_a_cascade_observed_to_its_end_predicts_about_its_size() -> None:
    times, followers = steady(500, 120.0)  # last reshare at ~17 h
    for calibration in (None, FLOORLESS):
        prediction = predict_final_size(times, followers, 60 * 86400.0, calibration=calibration)
        assert prediction.observed == 500
        assert prediction.predicted_final == pytest.approx(500, rel=0.05)
        assert not prediction.explosive
    # At the 7-day horizon "final" is what has been seen, or the floor the table assumes.
    at_horizon = predict_final_size(times, followers, HORIZON)
    assert at_horizon.predicted_final == pytest.approx(DEFAULT_CALIBRATION.floor)
    big_times, big_followers = steady(3000, 60.0)
    big = predict_final_size(big_times, big_followers, HORIZON)
    assert big.predicted_final == pytest.approx(3000)


def test_the_default_calibration_assumes_its_training_floor() -> None:
    """Fitted on cascades that all ended above 2,000: it never predicts less; floorless may."""
    times, followers = steady(3, 600.0, root=300.0)
    assert DEFAULT_CALIBRATION.floor == 2000.0
    assert predict_final_size(times, followers, 3600.0).predicted_final >= 2000.0
    assert predict_final_size(times, followers, 3600.0, calibration=FLOORLESS).predicted_final < 100


def test_a_supercritical_cascade_is_flagged_explosive_with_a_finite_capped_value() -> None:
    # 300 reshares in 10 minutes from a 2,000-follower account: p̂·n* far above 1.
    times, followers = steady(300, 2.0, followers=150.0, root=2_000.0)
    prediction = predict_final_size(times, followers, 600.0)
    assert prediction.explosive
    assert prediction.branching >= 1.0
    assert math.isfinite(prediction.predicted_final)
    assert prediction.predicted_final > 5 * prediction.observed
    calm = predict_final_size(*steady(10, 60.0, root=100_000.0), 600.0)
    assert not calm.explosive
    assert calm.branching < 1.0


def test_on_cascades_drawn_from_the_model_the_package_estimator_is_accurate() -> None:
    rng = np.random.default_rng(3)
    errors: list[float] = []
    while len(errors) < 30:
        times, followers = simulate(rng, rng.uniform(0.002, 0.007), 100_000.0)
        if times.size > 50:
            prediction = predict_final_size(times, followers, 3600.0, calibration=None)
            errors.append(abs(prediction.predicted_final - (times.size - 1)) / (times.size - 1))
    assert float(np.median(errors)) <= 0.2


def test_the_count_only_variant_equals_events_at_mid_interval() -> None:
    polls = [(600.0, 10), (1200.0, 30), (1800.0, 30), (2400.0, 45)]
    times = [0.0] + [300.0] * 10 + [900.0] * 20 + [2100.0] * 15
    followers = [40_000.0] + [N_STAR] * 45
    for calibration in (None, DEFAULT_CALIBRATION, FLOORLESS, TWITTER_2011_COUNTS):
        counted = predict_from_counts(polls, 40_000, 2400.0, calibration=calibration)
        expected = predict_final_size(times, followers, 2400.0, calibration=calibration)
        assert counted.observed == expected.observed == 45
        assert counted.predicted_final == pytest.approx(expected.predicted_final, rel=1e-9)
        assert counted.infectiousness == pytest.approx(expected.infectiousness, rel=1e-9)


def test_the_count_only_variant_uses_polls_up_to_observe_and_grows_with_counts() -> None:
    polls = [(600.0, 10), (1200.0, 30), (1800.0, 40)]
    base = predict_from_counts(polls, 40_000, 1800.0)
    assert predict_from_counts([*polls, (2400.0, 900)], 40_000, 1800.0) == base
    busier = predict_from_counts([(600.0, 20), (1200.0, 60), (1800.0, 80)], 40_000, 1800.0)
    assert busier.predicted_final > base.predicted_final >= base.observed == 40


def test_a_count_that_drops_is_taken_as_its_running_maximum() -> None:
    """A deleted reblog used to raise; its dip and recovery are no reshares either way."""
    dipped = [(600.0, 10), (1200.0, 30), (1500.0, 25), (1800.0, 30), (2400.0, 45)]
    held = [(600.0, 10), (1200.0, 30), (1500.0, 30), (1800.0, 30), (2400.0, 45)]
    for calibration in (None, TWITTER_2011_COUNTS):
        prediction = predict_from_counts(dipped, 40_000, 2400.0, calibration=calibration)
        assert prediction == predict_from_counts(held, 40_000, 2400.0, calibration=calibration)
        assert prediction.observed == 45


@pytest.mark.parametrize("before_observe", [1.0, 0.01, 1e-4])
def test_a_lone_late_reshare_of_an_unseen_post_is_bounded_and_flagged(
    before_observe: float,
) -> None:
    """An original nobody could see (0 followers) and one reshare just before ``observe``:
    the package's ratio said p̂ = 800 and 3.2 million reshares (3.2e8 at 0.1 ms)."""
    times, followers = [0.0, 600.0 - before_observe], [0.0, 200.0]
    prediction = predict_final_size(times, followers, 600.0, calibration=None)
    assert prediction.infectiousness <= MAX_INFECTIOUSNESS
    assert prediction.explosive
    assert 1 < prediction.predicted_final <= 1 + MAX_AMPLIFICATION * 200.0


@pytest.mark.parametrize(
    ("mu", "sigma", "lower"), [(0.0, 1.0, -5.0), (0.0, 1.0, 0.0), (1.0, 0.5, 2.0)]
)
def test_truncated_median_halves_the_conditional_mass(
    mu: float, sigma: float, lower: float
) -> None:
    median = truncated_median(mu, sigma, lower)
    above = norm.sf(lower, mu, sigma)
    assert norm.sf(median, mu, sigma) == pytest.approx(above / 2.0, rel=1e-9)


def test_truncated_median_is_stable_far_in_the_tail() -> None:
    assert truncated_median(0.0, 1.0, 30.0) == pytest.approx(30.0 + 0.69 / 30.0, abs=1e-3)
    assert truncated_median(0.0, 1.0, 1e6) == 1e6  # no probability left above: the bound
    assert truncated_median(3.0, 0.0, 1.0) == 3.0
    # where P(Y >= lower) is the smallest float, half of it is 0: still the bound, no error
    assert truncated_median(0.0, 1.0, 27.2 * 2**0.5) == pytest.approx(27.2 * 2**0.5, abs=0.1)


def test_a_prediction_days_after_the_post_never_fails() -> None:
    """Days on, the calibration's spread narrows towards nothing: every age between 3 and 4
    days (one of them once fell where the median's tail probability underflows) predicts."""
    times, followers = np.array([0.0, 10.0]), np.array([1000.0, 1000.0])
    for observe in range(249_000, 249_800, 10):
        assert predict_final_size(times, followers, float(observe)).predicted_final >= 1


def test_calibration_interpolates_in_log_age_and_ends_at_the_identity() -> None:
    rows = ((1.0, 0.0, 1.0, 0.0, 0.0), (3.0, 0.0, 1.0, 0.0, 0.0))
    calibration = Calibration(ages=(100.0, 10_000.0), coefficients=rows, sigmas=(0.5, 0.3))
    beta, sigma = calibration.at(1000.0)  # halfway in log(age)
    assert beta[0] == pytest.approx(2.0)
    assert sigma == pytest.approx(0.4)
    assert calibration.at(10.0)[0][0] == pytest.approx(1.0)  # clamped below the first age
    beta, sigma = calibration.at(HORIZON)
    assert beta.tolist() == [1.0 if f == "log_observed" else 0.0 for f in FEATURES]
    assert sigma == 0.0
    features = ReachFeatures(
        observed=40, remaining=10.0, infectiousness=0.001, follower_mass=1e4, recent=5.0
    )
    assert calibration.predict(features, 2 * HORIZON) == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ages": (1.0, 2.0), "sigmas": (1.0,)}, "same length"),
        ({"coefficients": ((1.0, 2.0),)}, "coefficient row"),
        ({"ages": (HORIZON,)}, "below HORIZON"),
        ({"sigmas": (-1.0,)}, "must be >= 0"),
    ],
)
def test_a_bad_calibration_is_rejected(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "ages": (60.0,),
        "coefficients": ((0.0, 1.0, 0.0, 0.0, 0.0),),
        "sigmas": (1.0,),
    }
    with pytest.raises(ValueError, match=message):
        Calibration(**(values | kwargs))  # type: ignore[arg-type]


def test_the_shipped_tables_load_and_cover_one_minute_to_three_days() -> None:
    tables = load_calibrations()
    assert tables["events"] == TWITTER_2011 == DEFAULT_CALIBRATION
    assert tables["counts"] == TWITTER_2011_COUNTS
    for table in tables.values():
        assert table.ages[0] <= 60.0
        assert table.ages[-1] >= 3 * 86400.0
        assert table.floor == 2000.0


@pytest.mark.parametrize(
    ("times", "followers", "observe", "message"),
    [
        ([5.0, 10.0], [1.0, 1.0], 60.0, "row 0 must be the original post"),
        ([0.0, 10.0], [1.0], 60.0, "same length"),
        ([0.0, -1.0], [1.0, 1.0], 60.0, "no value may be < 0"),
        ([0.0, 10.0], [1.0, math.nan], 60.0, "finite"),
        ([0.0, 10.0], [1.0, 1.0], 0.0, "observe must be a positive"),
        ([], [], 60.0, "non-empty"),
    ],
)
def test_bad_input_is_rejected(
    times: list[float], followers: list[float], observe: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        predict_final_size(times, followers, observe)


def write_cascades(path: Path, rows: list[tuple[str, str, str]]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cascade_id", "relative_time_seconds", "number_of_followers"])
        writer.writerows(rows)


@pytest.mark.parametrize("name", ["cascades.csv", "cascades.csv.gz"])
def test_file_round_trip(tmp_path: Path, name: str) -> None:
    cascades = {"a": steady(50, 40.0), "b": steady(20, 200.0, root=900.0)}
    rows = [
        (key, f"{t:g}", f"{n:g}")
        for key, (times, followers) in cascades.items()
        for t, n in zip(times, followers, strict=True)
    ]
    rows.reverse()  # any order within a cascade
    write_cascades(tmp_path / name, rows)
    assert predict_reach_file(tmp_path / name, tmp_path / "out.csv", 1800.0) == 2
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["cascade_id"] for row in written] == ["b", "a"]
    for row in written:
        expected = predict_final_size(*cascades[row["cascade_id"]], 1800.0)
        assert int(row["observed"]) == expected.observed
        assert float(row["predicted_final"]) == pytest.approx(expected.predicted_final, abs=0.05)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a", "0", "10"), ("a", "5", "many")], r"line 3: number_of_followers is not a number"),
        ([("a", "0", "10"), ("a", "-5", "3")], r"line 3: relative_time_seconds must be"),
        ([("a", "0", "10"), ("a", "7")], r"line 3: too few fields"),
        ([("a", "3", "10")], r"cascade 'a' has no original post"),
    ],
)
def test_a_malformed_file_names_the_line(
    tmp_path: Path, rows: list[tuple[str, ...]], message: str
) -> None:
    source = tmp_path / "bad.csv"
    write_cascades(source, rows)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        predict_reach_file(source, tmp_path / "out.csv", 600.0)


def test_a_file_without_the_columns_is_rejected(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("id,time\na,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: missing column"):
        predict_reach_file(source, tmp_path / "out.csv", 600.0)


@pytest.mark.shared_data
def test_out_of_fold_error_at_one_hour_on_real_cascades() -> None:
    """The issue's goal: median APE <= 0.25 at 1 h, out of fold (measured 0.228).

    Also better than the count x typical-ratio baseline (0.409) and than guessing the typical
    size (0.293), which on this > 2,000-retweet subset is the bar that matters.
    """
    if not SUBSET.exists():
        pytest.skip(f"shared data set not present: {SUBSET}")
    from bench.eval_reach import evaluate

    result = evaluate(SUBSET, observe_times=(3600.0,))["observe"][3600]
    ours, baseline = result["calibrated_cv"], result["baseline_count_x_ratio"]
    constant, counts = result["constant_median"], result["count_only_cv"]
    assert ours["median_ape"] <= 0.25
    assert ours["median_ape"] < min(baseline["median_ape"], constant["median_ape"])
    assert ours["mean_ape"] < min(baseline["mean_ape"], constant["mean_ape"])
    assert ours["p90_ape"] < min(baseline["p90_ape"], constant["p90_ape"])
    assert counts["median_ape"] < constant["median_ape"]
