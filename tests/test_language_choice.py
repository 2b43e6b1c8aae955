"""Which language a mention is read in: declared codes as sources send them, and the brand's
configured languages against the detector's guesses."""

from __future__ import annotations

import pytest

from bot.language import UNDETERMINED, LanguageDetector, declared_code
from bot.model import Brand, LanguageGuess
from bot.pipeline import Pipeline

ENGLISH = "My flight was cancelled and nobody at the desk would help me"
FRENCH = "Mon vol a été annulé et personne ne veut m'aider"
LONG = "one two three four five six"  # more words than a short text


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(("en", "fr"))


# Declared languages


@pytest.mark.parametrize(
    ("declared", "code"),
    [
        ("en_US", "en"),
        ("EN-gb", "en"),
        ("eng", "en"),
        ("English", "en"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("fr_CA", "fr"),
        ("French", "fr"),
        ("de-AT", "de"),
        ("und", ""),
        ("zxx", ""),
        ("mul", ""),
        ("deu", ""),
        ("klingon", ""),
    ],
)
def test_declared_code(declared: str, code: str) -> None:
    assert declared_code(declared) == code


def test_a_declared_language_in_any_common_spelling_is_scored(detector: LanguageDetector) -> None:
    for declared in ("en_US", "eng", "English"):
        assert detector.known(declared) == LanguageGuess("en", 1.0, supported=True)
    assert detector.known("fre") == LanguageGuess("fr", 1.0, supported=True)
    assert detector.known("de_DE") == LanguageGuess("de", 1.0, supported=False)


@pytest.mark.parametrize("declared", ["und", "zxx", "mis", "unknown"])
def test_an_undetermined_declaration_is_no_declaration(
    detector: LanguageDetector, declared: str
) -> None:
    assert detector.known(declared) == LanguageGuess(UNDETERMINED, 0.0, supported=False)
    assert detector.guess(ENGLISH, declared).code == "en"
    assert detector.guess(FRENCH, declared, preferred=("en",)).code == "fr"


def test_a_readable_declaration_is_trusted(detector: LanguageDetector) -> None:
    assert detector.guess(FRENCH, "en_US") == LanguageGuess("en", 1.0, supported=True)
    assert detector.guess(ENGLISH, "") == detector.detect(ENGLISH)


# Configured languages against the detector's guesses


def test_a_top_guess_with_its_own_scorer_stands(detector: LanguageDetector) -> None:
    # fastText: French 0.34, Italian 0.19, English 0.11; French has its own scorer
    assert detector.detect("Kestrel merci", preferred=("en",)).code == "fr"
    # English 0.37, French 0.21
    assert detector.detect("merci united", preferred=("fr",)).code == "en"


def test_a_configured_language_needs_a_good_share_of_an_unscored_top_guess(
    detector: LanguageDetector,
) -> None:
    far_behind = [(0.8, "__label__no"), (0.2, "__label__en")]
    assert detector._choose(far_behind, ("en",), LONG) == ("no", 0.8)
    close = [(0.6, "__label__es"), (0.3, "__label__en")]
    assert detector._choose(close, ("en",), LONG) == ("en", 0.3)


def test_a_short_text_without_a_confident_guess_reads_as_a_configured_language(
    detector: LanguageDetector,
) -> None:
    # fastText: Spanish 0.47, English 0.08
    guess = detector.detect("Kestrel thank you :-)", preferred=("en",))
    assert guess.code == "en"
    assert 0 < guess.confidence < 0.1
    unsure = [(0.44, "__label__es"), (0.08, "__label__fr"), (0.05, "__label__en")]
    assert detector._choose(unsure, ("en",), "Kestrel thank you") == ("en", 0.05)
    assert detector._choose(unsure, ("en",), LONG) == ("es", 0.44)
    # a confident guess, or a configured language the detector does not consider, stands
    assert detector.detect("Kestrel gracias", preferred=("en",)).code == "es"
    assert detector.detect("Kestrel danke", preferred=("en",)).code == "de"
    assert detector._choose([(0.6, "__label__es"), (0.1, "__label__en")], ("en",), "a b") == (
        "es",
        0.6,
    )


@pytest.mark.parametrize("declared", ["und", "zxx", "en_US", "eng", ""])
def test_the_pipeline_scores_what_a_source_declares_vaguely(declared: str) -> None:
    """'und' (X's 'undetermined') runs the detector; 'en_US' and 'eng' are English."""
    pipeline = Pipeline.for_brands([Brand("Kestrel Mobile", "kestrel-mobile")])
    verdict = pipeline.judge("Kestrel Mobile app crashed again, totally useless", declared)
    assert verdict is not None
    assert verdict.language.code == "en"
    assert verdict.negativity.score > 0.5


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Kestrel: no signal since 9am", "en"),
        ("@kestrelmobile no signal since 9:30pm, any news?", "en"),
        ("pas de réseau depuis 9h15", "fr"),
    ],
)
def test_clock_times_do_not_make_a_text_unreadable(
    detector: LanguageDetector, text: str, language: str
) -> None:
    # fastText alone reads 'no signal since 9am' as Esperanto (0.91)
    assert detector.detect(text, ("en", "fr")).code == language
