"""Risk: the order of constructed situations, the explanation, and the airline week."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.incidents.groups import BIN, STORM, GroupRisk
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from bot.spread.risk import RiskInputs, assess

QUIET = RiskInputs("1 h", negative=2, usual=2.0, surprise=0.3, mean_negativity=0.6)


def test_nothing_negative_is_no_risk() -> None:
    assert assess(RiskInputs("1 h", 0, 3.0, 0.0, 0.0)).score == 0


def test_a_burst_outranks_the_usual_trickle() -> None:
    burst = RiskInputs("1 h", negative=60, usual=3.0, surprise=12.0, mean_negativity=0.8)
    assert assess(burst).score > assess(QUIET).score + 25


@pytest.mark.parametrize(
    "worse",
    [
        {"surprise": 6.0},
        {"negative": 200},
        {"mean_negativity": 0.95},
        {"top_author": "star", "top_followers": 1_200_000},
        {"top_author": "star", "top_followers": 900, "predicted_reposts": 3000},
    ],
)
def test_each_part_raises_risk(worse: dict[str, Any]) -> None:
    assert assess(replace(QUIET, **worse)).score > assess(QUIET).score


def test_risk_is_capped_and_explained() -> None:
    extreme = RiskInputs(
        "1 h", negative=140, usual=23.0, surprise=50.0, mean_negativity=1.0,
        top_author="x", top_followers=1_200_000, predicted_reposts=3000,
    )  # fmt: skip
    risk = assess(extreme)
    assert 90 <= risk.score <= 100
    assert risk.explanation == (
        f"{risk.score}: 140 negative mentions in 1 h, 6x the usual; "
        "top post by @x (1.2M followers); predicted to reach 3,000 reposts"
    )


def test_a_new_brand_with_a_sudden_storm_registers() -> None:
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    group = GroupRisk(("newco", STORM), start)
    readings = []
    for minute in range(60):  # 60 complaints in the first hour, no history at all
        when = start + timedelta(minutes=minute)
        while group.bin_start + BIN <= when:
            readings.append(group.close())
        group.add(_negative(when), influencer=False)
    readings.append(group.close())
    last = readings[-1]
    assert last.burst
    assert last.risk.score >= 45
    assert "60 negative mentions in 1 h" in last.risk.explanation


def test_quiet_bins_let_the_hour_empty_out() -> None:
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    group = GroupRisk(("quiet", STORM), start)
    group.add(_negative(start), influencer=False)
    readings = [group.close() for _ in range(14)]
    assert readings[0].negative == 1
    assert readings[0].risk.score > 0
    assert [r.risk.score for r in readings[12:]] == [0, 0]  # an hour later, nothing is left


@pytest.mark.slow
def test_the_american_airlines_storm_is_the_riskiest_time_of_the_week(
    airline_tweets: object,
) -> None:
    from bench.eval_risk import airline_risks

    risks = airline_risks()
    top = risks[0]
    assert top.brand == "american"
    pacific = timezone(timedelta(hours=-8))
    assert top.reading.at.astimezone(pacific).date().isoformat() == "2015-02-22"
    others = [r for r in risks if r.brand != "american"]
    assert others[0].reading.risk.score < top.reading.risk.score


def _negative(when: datetime) -> ScoredMention:
    mention = Mention("test", when.isoformat(), "still no refund", when, author=Author("a", "", 10))
    negativity = Negativity(0.9, Sentiment.NEGATIVE, -0.7)
    return ScoredMention(
        mention, ("newco",), ("newco",), LanguageGuess("en", 1.0), negativity, when
    )


def test_a_known_influencer_counts_as_far_reaching() -> None:
    small = replace(QUIET, top_author="critic", top_followers=800)
    known = replace(small, top_is_influencer=True)
    assert assess(known).score > assess(small).score
    assert "(800 followers, known influencer)" in assess(known).explanation


def _after_a_day_at_one_an_hour(quiet_hours: int) -> GroupRisk:
    """A group that had one negative mention an hour for a day, then ``quiet_hours`` of none."""
    group = GroupRisk(("acme", STORM), datetime(2026, 3, 10, tzinfo=UTC))
    for i in range(24 * 12 + quiet_hours * 12):
        group.current.count = 1 if i % 12 == 0 and i < 24 * 12 else 0
        group.current.negativity = 0.8 * group.current.count
        group.close()
    return group


@pytest.mark.parametrize("quiet_hours", [0, 2, 4, 8])
def test_the_usual_is_the_days_level_not_the_last_quiet_hours(quiet_hours: int) -> None:
    """The explanation said 6x, 25x, 100x, then 1602x the usual for the same three mentions:
    its usual had the last hour's memory. A day's memory says about three times, each time."""
    group = _after_a_day_at_one_an_hour(quiet_hours)
    group.current.count, group.current.negativity = 3, 2.4
    explanation = group.close().risk.explanation
    ratio = int(explanation.split(", ")[1].split("x the usual")[0])
    assert 2 <= ratio <= 5, explanation


def test_after_two_silent_days_there_are_usually_none() -> None:
    group = _after_a_day_at_one_an_hour(48)
    group.current.count, group.current.negativity = 1, 0.8
    explanation = group.close().risk.explanation
    assert explanation.endswith("1 negative mention in 1 h, where there are usually none")


@pytest.mark.parametrize(
    ("negative", "usual", "said"),
    [
        (3, 0.5, ", 6x the usual"),
        (1, 1e-9, ", where there are usually none"),  # was "1000000000x the usual"
        (4, 0.3, ", where there are usually none"),
        (3, 2.0, ""),  # not twice the usual: nothing to say
    ],
)
def test_a_ratio_only_against_half_a_mention_or_more(
    negative: int, usual: float, said: str
) -> None:
    risk = assess(RiskInputs("1 h", negative, usual, 0.0, 0.8))
    assert (
        risk.explanation
        == f"{risk.score}: {negative} negative mention"
        + ("s" if negative > 1 else "")
        + f" in 1 h{said}"
    )


def test_volume_counts_the_negative_mentions_above_the_usual() -> None:
    """A busy brand's ordinary hour is no storm: counted at all, 200 complaints with their
    usual reach and reposts put it at the shipped watch level (40) every hour."""
    busy = RiskInputs("1 h", 200, 200.0, 0.0, 0.7, "a", 40_000, reposts=19)
    assert assess(busy).parts["volume"] == 0.0
    assert assess(busy).score < 40 <= assess(replace(busy, usual=0.5)).score
    tripled = replace(busy, negative=600)
    assert assess(busy).score < assess(tripled).score
    assert assess(replace(QUIET, usual=1e-9)).score >= assess(replace(QUIET, usual=50.0)).score


@pytest.mark.parametrize(
    ("predicted", "reposts", "votes", "said"),
    [
        (12.0, 5000, 0, "; reposted 5,000 times"),  # was "predicted to reach 12 reposts"
        (8000.0, 50, 0, "; predicted to reach 8,000 reposts"),
        (0.0, 40, 0, "; reposted 40 times"),
        (9.0, 3, 0, ""),
        (0.0, 0, 50, "; upvoted 50 times"),  # a Reddit score is not a repost
        (20.0, 12, 300, "; upvoted 300 times"),
        (400.0, 12, 300, "; predicted to reach 400 reposts"),
        (0.0, 40, 40, "; reposted 40 times"),
        (0.0, 0, 9, ""),
    ],
)
def test_the_spread_named_is_what_drives_the_score(
    predicted: float, reposts: int, votes: int, said: str
) -> None:
    risk = assess(replace(QUIET, predicted_reposts=predicted, reposts=reposts, votes=votes))
    assert risk.explanation == f"{risk.score}: 2 negative mentions in 1 h{said}"


def test_upvotes_weigh_as_much_as_reposts() -> None:
    by_votes = assess(replace(QUIET, votes=500))
    assert by_votes.score == assess(replace(QUIET, reposts=500)).score > assess(QUIET).score


@pytest.mark.parametrize(
    ("followers", "said"),
    [
        (999, "999"),
        (1_000, "1k"),
        (2_240, "2.2k"),
        (999_949, "999.9k"),
        (999_950, "1M"),  # was "1000k"
        (1_000_000, "1M"),
        (1_250_000, "1.2M"),
        (999_950_000, "1B"),
    ],
)
def test_follower_counts_are_rounded_before_the_unit_is_chosen(followers: int, said: str) -> None:
    risk = assess(replace(QUIET, top_author="star", top_followers=followers))
    assert f"@star ({said} followers)" in risk.explanation


def _one_bin(group: GroupRisk, mentions: list[ScoredMention], influencers: set[str]) -> Any:
    for scored in mentions:
        group.add(scored, influencer=scored.mention.author.handle in influencers)
    return group.close()


def _by(handle: str, followers: int, n: int = 1) -> list[ScoredMention]:
    at = datetime(2026, 3, 10, 8, tzinfo=UTC)
    return [
        replace(
            scored,
            mention=replace(
                scored.mention, native_id=f"{handle}{i}", author=Author(handle, "", followers)
            ),
        )
        for i, scored in enumerate([_negative(at)] * n)
    ]


def test_a_listed_influencer_with_few_followers_does_not_hide_a_larger_account() -> None:
    """Risk counts reach as the larger of followers and the influencer floor, so the top post
    is the one reaching farthest by that measure: one more equally negative mention, from a
    listed influencer with 40 followers, never lowers the risk nor takes the name."""
    crowd = _by("someone", 300, 20) + _by("bignews", 2_500_000)
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    without = _one_bin(GroupRisk(("acme", "#x"), start), crowd, set())
    with_journalist = _one_bin(
        GroupRisk(("acme", "#x"), start), [*crowd, *_by("journalist", 40)], {"journalist"}
    )
    assert with_journalist.risk.score >= without.risk.score
    assert "top post by @bignews (2.5M followers)" in with_journalist.risk.explanation


def test_a_new_topic_judges_its_first_bin_as_its_hour() -> None:
    """A topic's group is new (or forgotten after an idle hour): its hour before was empty, so
    a first bin of three mentions is three in the hour, not 36, the same reading as a group
    that has been quiet for an hour; a storm's first bin (the brand's past is unknown) is
    still a sample of its hour."""
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    quiet = GroupRisk(("acme", "#x"), start)
    for _ in range(12):
        quiet.close()
    known = _one_bin(quiet, _by("a", 10, 3), set())
    new = _one_bin(GroupRisk(("acme", "#x"), start), _by("a", 10, 3), set())
    assert not new.burst
    assert abs(new.risk.score - known.risk.score) <= 3
    storm = _one_bin(GroupRisk(("acme", STORM), start), _by("a", 10, 3), set())
    assert storm.risk.score > new.risk.score
