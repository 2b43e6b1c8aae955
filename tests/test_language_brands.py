"""The language of a mention for a brand of several languages, in the brand's order, and of a
text whose words are spaced with no-break or ideographic spaces."""

from __future__ import annotations

import pytest

from bot.language import LanguageDetector
from bot.model import Brand
from bot.negativity import NegativityScorer
from bot.pipeline import Pipeline


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


@pytest.fixture(scope="module")
def detector(scorer: NegativityScorer) -> LanguageDetector:
    return LanguageDetector(scorer.languages)


def _pipeline(
    detector: LanguageDetector, scorer: NegativityScorer, languages: tuple[str, ...]
) -> Pipeline:
    return Pipeline([Brand(name="Kestrel", slug="kestrel", languages=languages)], detector, scorer)


@pytest.mark.parametrize(
    "text",
    [
        "Kestrel: super nul",  # ro 0.76, en 0.07: no configured language raised
        "vol annulé Kestrel",  # en 0.20 (1.6x its share for no text), fr 0.11 (2.1x)
        "Kestrel arnaque",  # en 0.25 (2.0x), fr 0.24 (4.5x)
    ],
)
def test_a_short_french_complaint_is_french_for_a_brand_of_french_then_english(
    detector: LanguageDetector, scorer: NegativityScorer, text: str
) -> None:
    verdict = _pipeline(detector, scorer, ("fr", "en")).judge(text)
    assert verdict is not None
    assert verdict.language.code == "fr", verdict.language
    assert verdict.negativity.score > 0.5, verdict.negativity


@pytest.mark.parametrize(
    "text",
    [
        "Kestrel lost my bag again, third time this year",
        "My flight with Kestrel was cancelled and nobody helps",
    ],
)
def test_english_stays_english_for_a_brand_of_french_then_english(
    detector: LanguageDetector, scorer: NegativityScorer, text: str
) -> None:
    verdict = _pipeline(detector, scorer, ("fr", "en")).judge(text)
    assert verdict is not None
    assert verdict.language.code == "en"


def test_a_weak_english_guess_stands_for_a_brand_of_english_then_french(
    detector: LanguageDetector,
) -> None:
    """The brand's order is its prior: a weak guess yields only to a language listed first."""
    assert detector.detect("vol annulé Kestrel", ("en", "fr")).code == "en"
    assert detector.detect("vol annulé Kestrel", ("fr", "en")).code == "fr"


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009", "\u3000"])
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kestrel lost my bag again, third time this year", "en"),
        ("My flight with Kestrel was cancelled and nobody helps", "en"),
        ("Mon vol Kestrel a été annulé et personne ne répond", "fr"),
    ],
)
def test_words_spaced_with_unicode_spaces_read_as_with_plain_ones(
    detector: LanguageDetector, space: str, text: str, code: str
) -> None:
    guess = detector.detect(text.replace(" ", space), (code,))
    assert guess.code == code, guess
    assert guess.confidence == pytest.approx(detector.detect(text, (code,)).confidence)
