"""One risk number, 0..100, with the sentence a person can check.

Risk adds five capped parts, each saying one thing a comms team weighs:

- **burst** (35): how surprising this window's negative volume is against the brand's own
  baseline (the burst detector's surprise; 5 is its alarm threshold);
- **volume** (15): how many more negative mentions there are than the brand's usual, beyond its
  noise (1,000 more in the window is the cap): a busy brand's ordinary hour is no storm, however
  many complaints it holds (counted at all, 200 an hour with their usual reach put it at the
  watch level);
- **negativity** (20): how negative they are on average;
- **reach** (15): the largest audience among their authors (a few million followers is the cap);
- **virality** (15): the largest number of reposts, the larger of predicted final and observed
  (about 3,000 is the cap); the sentence names the one that counts. Where a site spreads posts
  by votes instead (Reddit's score, Hacker News points), a post's upvotes count the same way,
  and the sentence says "upvoted", not "reposted".

The weights are a judgement, written down so it can be argued with; the tests pin the order of
constructed situations rather than the exact numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WEIGHTS = {"burst": 35.0, "volume": 15.0, "negativity": 20.0, "reach": 15.0, "virality": 15.0}
SURPRISE_SCALE = 5.0  # the burst detector's default alarm threshold: 63% of the burst part
VOLUME_CAP_LOG10 = 3.0  # 1,000 negative mentions in the window
REACH_CAP_LOG10 = 6.5  # about 3 million followers
VIRALITY_CAP_LOG10 = 3.5  # about 3,000 predicted reposts
INFLUENCER_REACH = 0.8  # a known influencer counts as about 200,000 followers at least
MIN_USUAL = 0.5  # a usual volume below this per window is "usually none": a ratio would be noise
MIN_REPOSTS = 10  # fewer reposts are not worth a word
NOISE_SDS = 2.0  # the volume part counts what is beyond this many Poisson deviations of the usual


@dataclass(frozen=True, slots=True)
class RiskInputs:
    window: str  # "1 h"
    negative: int  # negative mentions in the window
    usual: float  # the brand's usual count per window (a long-run mean, not the last hour's)
    surprise: float  # burst surprise, >= 0
    mean_negativity: float  # 0..1 over the negative mentions
    top_author: str = ""
    top_followers: int = 0
    top_is_influencer: bool = False  # listed in app.yaml `influencers`: reach counts as large
    predicted_reposts: float = 0.0  # largest predicted final reposts of a post in the window
    reposts: int = 0  # largest reposts observed so far
    votes: int = 0  # largest upvotes (Reddit score, Hacker News points) observed so far


@dataclass(frozen=True, slots=True)
class Risk:
    score: int
    explanation: str
    parts: dict[str, float]


def _capped_log(value: float, cap_log10: float) -> float:
    return min(1.0, math.log10(1.0 + max(0.0, value)) / cap_log10)


def reach_fraction(followers: int, influencer: bool) -> float:
    """How far one post reaches, 0..1: its followers (log-scaled), or at least
    ``INFLUENCER_REACH`` for a listed influencer. The hour's top post is the one reaching
    farthest by this measure (a listed influencer with 40 followers is not above an account
    with 2.5M), so the explanation names the post that drives the score."""
    return max(_capped_log(followers, REACH_CAP_LOG10), INFLUENCER_REACH if influencer else 0.0)


def assess(inputs: RiskInputs) -> Risk:
    if inputs.negative <= 0:
        return Risk(0, f"0: no negative mention in the last {inputs.window}", {})
    fractions = {
        "burst": 1.0 - math.exp(-max(0.0, inputs.surprise) / SURPRISE_SCALE),
        "volume": _capped_log(_excess(inputs.negative, inputs.usual), VOLUME_CAP_LOG10),
        "negativity": min(1.0, max(0.0, inputs.mean_negativity)),
        "reach": reach_fraction(inputs.top_followers, inputs.top_is_influencer),
        "virality": _capped_log(
            max(inputs.predicted_reposts, inputs.reposts, inputs.votes), VIRALITY_CAP_LOG10
        ),
    }
    parts = {name: round(WEIGHTS[name] * fraction, 1) for name, fraction in fractions.items()}
    score = min(100, round(sum(parts.values())))
    return Risk(score, f"{score}: {_because(inputs)}", parts)


def _excess(negative: int, usual: float) -> float:
    """The negative mentions beyond the usual and its Poisson noise (two standard deviations):
    a busy brand's hour a little above its mean is no larger a storm."""
    usual = max(0.0, usual)
    return max(0.0, negative - usual - NOISE_SDS * math.sqrt(usual))


def _because(inputs: RiskInputs) -> str:
    plural = "s" if inputs.negative != 1 else ""
    said = f"{inputs.negative:,} negative mention{plural} in {inputs.window}"
    if inputs.negative >= 2 * inputs.usual:
        if inputs.usual >= MIN_USUAL:
            said += f", {inputs.negative / inputs.usual:.0f}x the usual"
        else:
            said += ", where there are usually none"
    if inputs.top_author and (inputs.top_followers > 0 or inputs.top_is_influencer):
        said += (
            f"; top post by @{inputs.top_author} ({people_count(inputs.top_followers)} followers"
        )
        said += ", known influencer)" if inputs.top_is_influencer else ")"
    return said + _virality(inputs)


def _virality(inputs: RiskInputs) -> str:
    """What drives the virality part: the largest of the predicted final reposts, the reposts
    seen and the upvotes seen (the earlier wins a tie)."""
    largest = max(inputs.predicted_reposts, inputs.reposts, inputs.votes)
    if largest < MIN_REPOSTS:
        return ""
    if inputs.predicted_reposts == largest and inputs.predicted_reposts > inputs.reposts:
        return f"; predicted to reach {inputs.predicted_reposts:,.0f} reposts"
    if inputs.reposts == largest:
        return f"; reposted {inputs.reposts:,} times"
    return f"; upvoted {inputs.votes:,} times"


def people_count(count: int) -> str:
    """A follower count as people say it: 950, 2.2k, 1M (999,950 is 1M, not 1000k)."""
    if count < 1_000:
        return str(count)
    for limit, suffix in ((1_000, "k"), (1_000_000, "M"), (1_000_000_000, "B")):
        text = f"{count / limit:.1f}"  # the unit is chosen after rounding
        if float(text) < 1_000 or suffix == "B":
            break
    return text.rstrip("0").rstrip(".") + suffix
