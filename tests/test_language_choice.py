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


def test_a_top_guess_with_its_own_scorer_stands_unless_unsure_and_not_raised_by_the_text(
    detector: LanguageDetector,
) -> None:
    # fastText: French 0.34, Italian 0.19, English 0.11; French has its own scorer and the text
    # raised it far more than English above the model's answer for no text (fr 0.053, en 0.125)
    assert detector.detect("Kestrel merci", preferred=("en",)).code == "fr"
    # English 0.37, French 0.21: an unsure English guess, French raised 3.9x, English 3.0x
    assert detector.detect("merci united", preferred=("fr",)).code == "fr"
    assert detector.detect("merci united", preferred=("en",)).code == "en"
    # a confident guess with a scorer stands against a configured language
    assert detector.detect(ENGLISH, preferred=("fr",)).code == "en"
    assert detector.detect(FRENCH, preferred=("en",)).code == "fr"
    sure = [(0.6, "__label__en"), (0.3, "__label__fr")]
    assert detector._choose(sure, ("fr",), LONG) == ("en", 0.6)
    # unsure: French wins when the text raised it at least as much as English
    raised = [(0.3, "__label__en"), (0.13, "__label__fr")]  # en 2.4x, fr 2.45x
    assert detector._choose(raised, ("fr",), LONG) == ("fr", 0.13)
    not_raised = [(0.3, "__label__en"), (0.12, "__label__fr")]  # fr 2.26x
    assert detector._choose(not_raised, ("fr",), LONG) == ("en", 0.3)


def test_a_configured_language_needs_a_good_share_of_an_unscored_top_guess(
    detector: LanguageDetector,
) -> None:
    far_behind = [(0.8, "__label__no"), (0.2, "__label__en")]
    assert detector._choose(far_behind, ("en",), LONG) == ("no", 0.8)
    close = [(0.6, "__label__es"), (0.3, "__label__en")]
    assert detector._choose(close, ("en",), LONG) == ("en", 0.3)


def test_a_short_text_reads_as_a_configured_language_unless_the_model_is_all_but_certain(
    detector: LanguageDetector,
) -> None:
    # fastText: Spanish 0.47, English 0.08
    guess = detector.detect("Kestrel thank you :-)", preferred=("en",))
    assert guess.code == "en"
    assert 0 < guess.confidence < 0.1
    unsure = [(0.44, "__label__es"), (0.08, "__label__fr"), (0.05, "__label__en")]
    assert detector._choose(unsure, ("en",), "Kestrel thank you") == ("en", 0.05)
    assert detector._choose(unsure, ("en",), LONG) == ("es", 0.44)
    # A word or two is a dictionary look-up: 'gracias' (es 0.85), 'danke' (de 0.33, English
    # fourth), 'nul' (ro 0.96, French not among the guesses) all read as the configured language
    assert detector.detect("Kestrel gracias", preferred=("en",)).code == "en"
    assert detector.detect("Kestrel danke", preferred=("en",)).code == "en"
    assert detector.detect("Kestrel nul", preferred=("fr",)) == LanguageGuess("fr", 0.0)
    sure = [(0.995, "__label__es"), (0.001, "__label__en")]
    assert detector._choose(sure, ("en",), "a b") == ("es", 0.995)
    assert detector._choose([(0.6, "__label__es"), (0.1, "__label__en")], ("en",), "a b") == (
        "en",
        0.1,
    )
    # a longer text in another language stands
    assert detector.detect("Kestrel muchas gracias por nada", preferred=("en",)).code == "es"


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
