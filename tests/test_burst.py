"""Burst detector on constructed series, the detect-bursts CSV file, and the shared figures."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.spread.burst import BurstDetector, BurstReading, BurstSettings, detect_series
from bot.spread.burst_file import detect_bursts_file

MENTION_VOLUME = Path(__file__).resolve().parents[2] / "shared" / "data" / "mention_volume"
DAY = 288  # five-minute bins


def poisson(mean: float, bins: int, seed: int = 7) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).poisson(mean, bins)]


def feed(detector: BurstDetector, counts: list[float]) -> list[BurstReading]:
    return [detector.update(c) for c in counts]


def episodes(readings: list[BurstReading]) -> int:
    flags = [r.burst for r in readings]
    return sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))


@pytest.mark.parametrize("mean", [0.3, 3.0, 40.0, 800.0])
def test_flat_poisson_noise_gives_almost_no_alarms(mean: float) -> None:
    # a warm start at the true level: the cold start itself is tested below
    detector = BurstDetector(BurstSettings(prior_rate_per_hour=mean * 12))
    readings = feed(detector, poisson(mean, 7 * DAY))
    assert episodes(readings) <= 1
    assert max(r.surprise for r in readings) < 10


@pytest.mark.parametrize("mean", [0.5, 3.0, 50.0, 2000.0])
def test_flat_poisson_noise_in_hourly_bins_gives_almost_no_alarms(mean: float) -> None:
    settings = replace(BurstSettings.hourly(), prior_rate_per_hour=mean)
    readings = feed(BurstDetector(settings), poisson(mean, 60 * 24))
    assert episodes(readings) <= 1
    assert max(r.surprise for r in readings) < 10


@pytest.mark.parametrize("mean", [2.0, 20.0, 500.0])
def test_injected_surge_is_detected_within_two_bins(mean: float) -> None:
    detector = BurstDetector()
    quiet = feed(detector, poisson(mean, 3 * DAY))
    surge = feed(detector, [mean * 10 + 20] * 6)  # ten times the usual volume
    assert not any(r.burst for r in quiet[DAY:])
    assert surge[0].burst or surge[1].burst


def test_surprise_is_comparable_across_volumes() -> None:
    surprises = []
    for mean in (5.0, 50.0, 500.0):
        detector = BurstDetector()
        feed(detector, poisson(mean, 2 * DAY))
        surprises.append(detector.update(mean * 8).surprise)
    assert max(surprises) < 2.5 * min(surprises)


def test_a_new_big_brand_is_one_burst_then_its_own_baseline() -> None:
    settings = BurstSettings()
    readings = feed(BurstDetector(settings), poisson(500.0, DAY))
    assert readings[0].burst
    assert episodes(readings) == 1
    assert sum(r.burst for r in readings) <= settings.bins(settings.max_burst_hours) + 1


def test_decisions_are_strictly_online() -> None:
    past = poisson(20.0, DAY + 40)
    futures = [poisson(20.0, 60, seed=1), [400.0] * 60, [0.0] * 60]
    runs = [feed(BurstDetector(), past + future) for future in futures]
    assert runs[0][: len(past)] == runs[1][: len(past)] == runs[2][: len(past)]
    assert runs[0][len(past) :] != runs[1][len(past) :]


def test_cold_start_hourly_bins_register_fifty_complaints() -> None:
    detector = BurstDetector(BurstSettings.hourly())
    assert detector.update(50).burst


def test_cold_start_five_minute_bins_register_fifty_complaints_an_hour() -> None:
    readings = feed(BurstDetector(), [4.0, 4.0, 5.0, 4.0])
    assert readings[0].burst or readings[1].burst


def test_a_week_of_silence_then_fifty_complaints_an_hour_registers() -> None:
    detector = BurstDetector()
    silent = feed(detector, [0.0] * (7 * DAY))
    surge = feed(detector, [4.0, 5.0, 4.0, 4.0])
    assert not any(r.burst for r in silent)
    assert any(r.burst for r in surge[:2])


def test_a_single_mention_after_silence_is_not_a_burst() -> None:
    detector = BurstDetector()
    feed(detector, [0.0] * DAY)
    assert not detector.update(1.0).burst


def test_baseline_is_frozen_during_a_burst() -> None:
    detector = BurstDetector()
    before = feed(detector, poisson(20.0, 2 * DAY))[-1].baseline
    incident = feed(detector, [300.0] * 36)  # three hours, shorter than max_burst_hours
    after = detector.update(20.0)
    assert all(r.burst for r in incident)
    assert len({r.baseline for r in incident}) == 1
    assert incident[0].baseline == pytest.approx(before, rel=0.1)
    assert after.baseline == pytest.approx(before, rel=0.1)


def test_a_burst_longer_than_the_limit_becomes_the_new_level() -> None:
    settings = BurstSettings()
    detector = BurstDetector(settings)
    feed(detector, poisson(20.0, 2 * DAY))
    shifted = feed(detector, poisson(200.0, settings.bins(settings.max_burst_hours) + 24))
    assert shifted[0].burst
    assert not shifted[-1].burst
    assert shifted[-1].baseline > 100


def test_a_brand_that_spikes_every_few_hours_needs_a_bigger_spike() -> None:
    counts = poisson(20.0, 6 * DAY)
    for i in range(0, len(counts), 48):
        counts[i] += 400.0  # twenty times the usual, every four hours
    bursty = BurstDetector()
    readings = feed(bursty, counts)
    assert episodes(readings[:DAY]) == 1  # the first ones are news
    assert episodes(readings[2 * DAY :]) == 0  # then they are this brand's normal
    quiet = BurstDetector()
    feed(quiet, poisson(20.0, 3 * DAY))
    assert quiet.update(420.0).burst
    assert not bursty.update(420.0).burst


@pytest.mark.parametrize("mean", [0.5, 2.0, 20.0])
def test_a_sustained_fivefold_surge_registers_within_the_hour(mean: float) -> None:
    detector = BurstDetector()
    feed(detector, poisson(mean, 4 * DAY))
    surge = feed(detector, [mean * 5] * 12)
    assert any(r.burst for r in surge)


def overdispersed(mean: float, bins: int, seed: int = 7) -> list[float]:
    """Negative-binomial counts of size 10, like the Twitter series' local noise."""
    rng = np.random.default_rng(seed)
    return [float(v) for v in rng.poisson(rng.gamma(10.0, mean / 10.0, bins))]


def test_a_lone_five_minute_spike_must_be_larger_than_a_lasting_one() -> None:
    past = overdispersed(20.0, 4 * DAY)
    lone = feed(BurstDetector(), [*past, 100.0, *[20.0] * 5])[len(past) :]
    lasting = feed(BurstDetector(), [*past, *[100.0] * 6])[len(past) :]  # half an hour
    assert not any(r.burst for r in lone)
    assert any(r.burst for r in lasting)


def rising(start: float, end: float, hours: int, seed: int = 3) -> list[float]:
    """Poisson counts whose mean goes from ``start`` to ``end`` over ``hours``."""
    bins = hours * 12
    means = [start + (end - start) * i / bins for i in range(bins)]
    return [float(v) for v in np.random.default_rng(seed).poisson(means)]


def daily_cycle(mean: float, bins: int, seed: int = 7) -> list[float]:
    """Overdispersed counts whose mean swings between 0.4 and 1.6 times ``mean`` over a day."""
    rng = np.random.default_rng(seed)
    means = mean * (1.0 + 0.6 * np.sin(2 * np.pi * np.arange(bins) / DAY))
    return [float(v) for v in rng.poisson(rng.gamma(10.0, means / 10.0))]


@pytest.mark.parametrize("mean", [2.0, 20.0, 200.0])
def test_a_threefold_rise_over_an_afternoon_registers(mean: float) -> None:
    detector = BurstDetector()
    feed(detector, overdispersed(mean, 7 * DAY))
    assert any(r.burst for r in feed(detector, rising(mean, 3 * mean, 6)))


def test_the_slow_rise_is_caught_by_the_long_window() -> None:
    # no hour of the rise is sudden enough for the bin and the hour alone
    past, rise = overdispersed(200.0, 7 * DAY), rising(200.0, 600.0, 6)
    without = BurstDetector(replace(BurstSettings(), long_magnitude=1e9))
    feed(without, past)
    assert not any(r.burst for r in feed(without, rise))


@pytest.mark.parametrize("mean", [2.0, 20.0, 200.0])
def test_a_daily_cycle_is_not_a_burst(mean: float) -> None:
    settings = BurstSettings(prior_rate_per_hour=mean * 12)
    readings = feed(BurstDetector(settings), daily_cycle(mean, 14 * DAY))
    assert episodes(readings[DAY:]) == 0


def test_a_short_spike_does_not_hold_the_long_window_in_a_burst() -> None:
    detector = BurstDetector()
    feed(detector, overdispersed(20.0, 4 * DAY))
    readings = feed(detector, [600.0] * 3 + overdispersed(20.0, 12 * 12, seed=9))
    assert readings[0].burst
    assert not any(r.burst for r in readings[24:])  # over within two hours, not six


def test_a_version_2_state_is_upgraded_without_a_cold_start() -> None:
    detector = BurstDetector()
    feed(detector, overdispersed(50.0, 3 * DAY))
    state = json.loads(json.dumps(detector.state()))
    del state["swings"]["long"], state["swings"]["shadow_long"]
    state["version"], state["recent"] = 2, state["recent"][-12:]
    upgraded = BurstDetector.from_state(state)
    assert not any(r.burst for r in feed(upgraded, overdispersed(50.0, DAY, seed=5)))
    assert any(r.burst for r in feed(upgraded, [500.0] * 12))


def test_a_huge_incident_raises_the_bar_for_a_while_not_for_weeks() -> None:
    detector = BurstDetector()
    feed(detector, poisson(20.0, 2 * DAY))
    assert all(r.burst for r in feed(detector, [3000.0] * 3))  # 150 times the usual
    state = detector.state()

    def flagged(after_hours: int, surge: list[float]) -> bool:
        later = BurstDetector.from_state(state)
        feed(later, poisson(20.0, after_hours * 12, seed=after_hours))
        return any(r.burst for r in feed(later, surge))

    lone_spike, fivefold_hour = [400.0], [100.0] * 12
    assert not flagged(2, lone_spike)
    assert flagged(4 * 24, lone_spike)
    assert flagged(12, fivefold_hour)


def test_hourly_bins_use_the_one_hour_bar() -> None:
    counts = [*overdispersed(40.0, 14 * 24), 200.0, 90.0, 40.0]
    hourly = BurstSettings.hourly()
    readings = feed(BurstDetector(hourly), counts)
    unused = feed(BurstDetector(replace(hourly, bin_magnitude=1000.0)), counts)
    assert readings == unused
    assert readings[-3].burst


def test_state_round_trip_continues_identically() -> None:
    counts = poisson(15.0, 2 * DAY) + [200.0] * 5 + poisson(15.0, DAY, seed=3)
    whole = feed(BurstDetector(), counts)
    for cut in (10, 2 * DAY + 2, len(counts) - 5):
        first = BurstDetector()
        head = feed(first, counts[:cut])
        state = json.loads(json.dumps(first.state()))
        tail = feed(BurstDetector.from_state(state), counts[cut:])
        assert head + tail == whole


def test_state_of_another_version_is_refused() -> None:
    state = BurstDetector().state()
    state["version"] = 999
    with pytest.raises(ValueError, match="version"):
        BurstDetector.from_state(state)


@pytest.mark.parametrize("count", [-1.0, float("nan"), float("inf")])
def test_impossible_counts_are_refused(count: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        BurstDetector().update(count)


def write_series(path: Path, counts: list[float]) -> Path:
    lines = ["timestamp,value"]
    for i, count in enumerate(counts):
        hour, minute = divmod(i * 5, 60)
        lines.append(f"2015-03-{1 + hour // 24:02d} {hour % 24:02d}:{minute:02d}:00,{count:g}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_file_round_trip(tmp_path: Path) -> None:
    counts = poisson(20.0, 2 * DAY) + [400.0] * 3 + poisson(20.0, 50, seed=2)
    source = write_series(tmp_path / "series.csv", counts)
    target = tmp_path / "out.csv"
    assert detect_bursts_file(source, target) == len(counts)
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "surprise", "burst"]
    assert [float(r["value"]) for r in rows] == counts
    assert {r["burst"] for r in rows} == {"0", "1"}
    expected = list(detect_series(counts, BurstSettings()))
    assert [r["burst"] == "1" for r in rows] == [e.burst for e in expected]
    assert rows[2 * DAY]["burst"] == "1"


def test_a_file_s_first_hour_teaches_its_baseline() -> None:
    """A file's past is unknown: a busy, flat series is no burst at its start (from a quiet
    brand's prior its first six hours were one)."""
    counts = poisson(60.0, 2 * DAY)
    readings = list(detect_series(counts, BurstSettings()))
    assert [r.surprise for r in readings[:12]] == [0.0] * 12
    assert not any(r.burst for r in readings)
    assert any(r.burst for r in feed(BurstDetector(), counts)[:12])  # the cold-start prior's


def test_a_file_with_a_quiet_first_hour_keeps_the_cold_start_prior() -> None:
    """A brand with no history that suddenly gets 50 complaints an hour still registers."""
    counts = [0.0] * 12 + [4.0] * 12
    readings = list(detect_series(counts, BurstSettings()))
    assert any(r.burst for r in readings[12:])
    assert readings[12:] == feed(BurstDetector(), counts)[12:]  # the live detector's decisions


def test_a_file_s_decisions_use_only_earlier_bins() -> None:
    counts = poisson(20.0, DAY) + [300.0] * 6 + poisson(20.0, DAY, seed=3)

    def decisions(values: list[float]) -> list[tuple[float, bool]]:
        return [(r.surprise, r.burst) for r in detect_series(values, BurstSettings())]

    whole = decisions(counts)
    assert any(burst for _, burst in whole)
    for cut in (5, 12, 13, DAY, DAY + 3, len(counts) - 1):
        assert decisions(counts[:cut]) == whole[:cut]


def test_file_bin_width_comes_from_the_timestamps(tmp_path: Path) -> None:
    counts = [1.0, 0.0, 2.0, 1.0, 50.0, 3.0]
    lines = [f"2026-03-10T{hour:02d}:00:00,{count:g}" for hour, count in enumerate(counts)]
    source = tmp_path / "hourly.csv"
    source.write_text("timestamp,value\n" + "\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    detect_bursts_file(source, target)
    with target.open(encoding="utf-8", newline="") as handle:
        flags = [row["burst"] for row in csv.DictReader(handle)]
    expected = feed(BurstDetector(BurstSettings.hourly()), counts)
    assert flags == [str(int(r.burst)) for r in expected]
    assert flags[4] == "1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2015-03-01 00:10:00,abc", "value 'abc' is not a number"),
        ("2015-03-01 00:10:00", "expected 2 columns"),
        ("yesterday,3", "not an ISO 8601 timestamp"),
        ("2015-03-01 00:10:00,-4", "not a count >= 0"),
        ("2015-03-01 00:00:00,4", "goes back 5 minutes"),
    ],
)
def test_malformed_row_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    source = tmp_path / "bad.csv"
    good = "timestamp,value\n2015-03-01 00:00:00,3\n2015-03-01 00:05:00,4\n"
    source.write_text(good + line + "\n2015-03-01 00:15:00,5\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    with pytest.raises(ValueError, match=f"line 4: .*{message}"):
        detect_bursts_file(source, target)
    assert not target.exists()


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("time,count\n2015-03-01 00:00:00,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected the header"):
        detect_bursts_file(source, tmp_path / "out.csv")


@pytest.mark.shared_data
@pytest.mark.slow
def test_default_settings_figures_on_the_labelled_series() -> None:
    if not (MENTION_VOLUME / "anomaly_windows.json").exists():
        pytest.skip(f"shared data set not present: {MENTION_VOLUME}")
    from bench.eval_bursts import detect, load, score

    scores = [score(s, detect(s.values, BurstSettings())) for s in load(MENTION_VOLUME)]
    hits = sum(s.hits for s in scores)
    false_alarms = sum(s.false_alarms for s in scores)
    days = sum(s.days for s in scores)
    # bench/eval_bursts.py, defaults: 13/15 windows, 23 false alarms in 275 series-days
    assert hits >= 13
    assert false_alarms / days <= 0.085


def test_the_usual_hour_keeps_a_days_memory_through_quiet_hours() -> None:
    """What the risk explanation calls "the usual": unlike the sudden criterion's baseline,
    four quiet hours do not make a brand at 12 an hour look silent."""
    detector = BurstDetector(BurstSettings(prior_rate_per_hour=12.0))
    feed(detector, poisson(1.0, DAY))
    usual = detector.usual_window
    assert 9.0 < usual < 15.0
    quiet = feed(detector, [0.0] * 48)
    assert detector.usual_window > 0.85 * usual
    assert quiet[-1].baseline * 12 < 0.2 * usual
