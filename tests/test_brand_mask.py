"""A brand's name is not what a mention says about it: "Best Buy cancelled my order" is a
complaint, "Liquid Death arrived, love it" is not one, whatever VADER makes of "best", "death"."""

from __future__ import annotations

import pytest

from bot.brand_mask import PLACEHOLDER, BrandMask
from bot.model import Brand, Sentiment
from bot.negativity import NegativityScorer
from bot.pipeline import Pipeline

BRANDS = [
    Brand(name="Best Buy", slug="bestbuy", hashtags=("#BestBuy",)),
    Brand(name="Liquid Death", slug="liquiddeath"),
    Brand(name="No Frills", slug="nofrills"),
    Brand(name="Nature's Best", slug="naturesbest"),
    Brand(
        name="Kestrel",
        slug="kestrel",
        keywords=("kestrel down",),
        cues=(("not_working", ("kestrel blackout",)),),
    ),
    Brand(name="United", slug="united", aliases=("United Airlines",), hashtags=("#united",)),
    Brand(name="Fail Safe", slug="failsafe", cues=(("money", ("fail safe surcharge",)),)),
    Brand(name="Free", slug="free", languages=("fr", "en")),
]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline.for_brands(BRANDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Best Buy cancelled my order", Sentiment.NEGATIVE),
        ("Best Buy never answered my email", Sentiment.NEGATIVE),
        ("#BestBuy cancelled my order and kept the money", Sentiment.NEGATIVE),
        ("Nature\u2019s Best lost my order", Sentiment.NEGATIVE),
        ("Liquid Death arrived today", Sentiment.NEUTRAL),
        ("Liquid Death \U0001f60d", Sentiment.POSITIVE),  # a brand name is no evidence
        ("Fail Safe shipped my parcel", Sentiment.NEUTRAL),
        ("No Frills great prices", Sentiment.POSITIVE),  # "no" negated "great"
        ("No Frills has nice staff", Sentiment.POSITIVE),
        ("#united lost my bag", Sentiment.NEGATIVE),
        ("United Airlines lost my bag, still no answer", Sentiment.NEGATIVE),
        ("Free a encore coupé internet, toujours pas de connexion", Sentiment.NEGATIVE),
    ],
)
def test_a_brand_name_does_not_sway_what_the_mention_says(
    pipeline: Pipeline, text: str, expected: Sentiment
) -> None:
    verdict = pipeline.judge(text)
    assert verdict is not None
    assert verdict.negativity.sentiment is expected, verdict.negativity


def test_the_brand_names_that_would_sway_a_score_are_the_ones_masked(pipeline: Pipeline) -> None:
    """Not "Kestrel" (no sentiment), nor a keyword that is the name and the author's words
    ("kestrel down", "United Airlines": the name within is masked where it sways)."""
    assert pipeline.mask.terms == (
        *("Best Buy", "Liquid Death", "No Frills", "Nature's Best", "United", "#united"),
        *("Fail Safe", "Free"),
    )


def test_a_keyword_holding_the_name_keeps_the_author_s_words(pipeline: Pipeline) -> None:
    verdict = pipeline.judge("kestrel down again in Leeds")
    assert verdict is not None
    assert verdict.negativity.sentiment is Sentiment.NEGATIVE
    assert any("down" in reason for reason in verdict.negativity.reasons)


def test_the_reasons_and_matched_terms_are_the_mention_s_own(pipeline: Pipeline) -> None:
    """The card's explanation never blames the brand's own name ("negative wording")."""
    verdict = pipeline.judge("Liquid Death restocked at my store")
    assert verdict is not None
    assert verdict.matched_terms == ("Liquid Death",)
    assert verdict.negativity.reasons == ()
    complaint = pipeline.judge("Liquid Death is awful now, still waiting for a refund")
    assert complaint is not None
    assert complaint.negativity.sentiment is Sentiment.NEGATIVE
    assert not any(PLACEHOLDER in reason for reason in complaint.negativity.reasons)


def test_a_brand_s_cue_phrases_still_match_with_or_without_a_masked_name(
    pipeline: Pipeline,
) -> None:
    kept = pipeline.judge("Kestrel blackout in the whole town")  # "Kestrel" says nothing
    masked = pipeline.judge("Fail Safe surcharge on my bill")  # "Fail Safe" is masked
    assert kept is not None
    assert masked is not None
    assert any("kestrel blackout" in reason for reason in kept.negativity.reasons)
    assert any("surcharge" in reason for reason in masked.negativity.reasons)


def test_only_where_the_text_names_the_brand() -> None:
    mask = BrandMask(BRANDS, NegativityScorer().sways)
    assert mask("BEST  BUY is the best", ["Best Buy"]) == f"{PLACEHOLDER} is the best"
    assert mask("the bestbuyer was best", ["Best Buy"]) == "the bestbuyer was best"
    assert mask("Kestrel is the best", ["Kestrel"]) == "Kestrel is the best"
    assert mask("No Frills and Best Buy") == f"{PLACEHOLDER} and {PLACEHOLDER}"


def test_every_configured_spelling_of_a_swaying_term_is_masked() -> None:
    """The matcher names the first spelling of terms that fold alike; the text may use another."""
    brand = Brand(name="Le Bon Marché", slug="lbm", aliases=("Le Bon Marche",), languages=("fr",))
    pipeline = Pipeline.for_brands([brand])
    for text in ("le bon marche m'a livré", "Le Bon Marché m'a livré"):
        verdict = pipeline.judge(text)
        assert verdict is not None
        assert pipeline.mask(text, verdict.matched_terms) == f"{PLACEHOLDER} m'a livré"


def test_a_brand_s_cue_phrase_keeps_another_brand_s_name() -> None:
    """Free is not named here (its exclusion masks it), so "free" stays in the text and in
    Kestrel's cue phrase alike."""
    pipeline = Pipeline.for_brands(
        [
            Brand(name="Free", slug="free", languages=("fr", "en"), exclude=("free upgrade",)),
            Brand(name="Kestrel", slug="kestrel", cues=(("money", ("free upgrade refused",)),)),
        ]
    )
    verdict = pipeline.judge("Kestrel free upgrade refused again")
    assert verdict is not None
    assert verdict.brands == ("kestrel",)
    assert any("free upgrade refused" in reason for reason in verdict.negativity.reasons)
