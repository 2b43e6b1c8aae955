"""Language detection (fastText) and negativity (VADER, vaderSentiment-fr)."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as LibraryVader

from bot.complaints import CueMatcher, clean
from bot.language import UNDETERMINED, LanguageDetector
from bot.model import LanguageGuess, Sentiment
from bot.negativity import NegativityScorer, Vader, label_for
from bot.text import has_letter

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AIRLINE_TWEETS = SHARED_DATA / "airline_tweets" / "Tweets.csv"
GROUND_TRUTH = SHARED_DATA / "vader_groundtruth"

ENGLISH_COMPLAINT = "My flight was cancelled and nobody helped, worst service ever"
FRENCH_COMPLAINT = "Je suis furieux, mon vol est annulé et personne ne répond. C'est nul."
# fastText ranks English first (about 0.37) and French second (about 0.21).
MIXED_SHORT = "merci united"


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(("en", "fr"))


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


# Language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("My flight was cancelled and nobody at the desk would help me", "en"),
        (ENGLISH_COMPLAINT, "en"),
        ("Mon vol a été annulé et personne ne veut m'aider", "fr"),
        (FRENCH_COMPLAINT, "fr"),
    ],
)
def test_english_and_french_detected(detector: LanguageDetector, text: str, code: str) -> None:
    guess = detector.detect(text)
    assert guess.code == code
    assert guess.supported is True
    assert guess.confidence > 0.9


def test_shouted_english_is_english(detector: LanguageDetector) -> None:
    guess = detector.detect("THIS AIRLINE IS THE WORST EVER")
    assert guess.code == "en"
    assert guess.confidence > 0.9


def test_multiline_text(detector: LanguageDetector) -> None:
    assert detector.detect("Mon vol a été annulé\net personne ne veut m'aider").code == "fr"


def test_preferred_language_wins_when_a_close_second(detector: LanguageDetector) -> None:
    # fastText ranks Spanish first (about 0.21) and English second (about 0.20)
    text = "Kestrel lmfao"
    assert detector.detect(text).code == "es"
    guess = detector.detect(text, preferred=("en",))
    assert guess.code == "en"
    assert 0 < guess.confidence < detector.detect(text).confidence


def test_an_unsure_top_guess_with_its_own_scorer_yields_to_the_brand_language(
    detector: LanguageDetector,
) -> None:
    """ "merci united": English at 0.37, but the text raised French more above the model's
    answer for no text: for a French brand it is French (bot.language's rules)."""
    assert detector.detect(MIXED_SHORT, preferred=("fr",)).code == "fr"
    assert detector.detect(MIXED_SHORT, preferred=("en",)).code == "en"


def test_preferred_language_far_behind_does_not_win(detector: LanguageDetector) -> None:
    english = "My flight was cancelled and nobody at the desk would help me"
    assert detector.detect(english, preferred=("fr",)).code == "en"
    french = "Mon vol a été annulé et personne ne veut m'aider"
    assert detector.detect(french, preferred=("en",)).code == "fr"


def test_a_weak_top_guess_yields_only_to_a_language_listed_before_it(
    detector: LanguageDetector,
) -> None:
    """ "merci united": a weak English guess stands for a brand of English then French, and
    yields to French, which the text raised as much, for a brand of French then English."""
    assert detector.detect(MIXED_SHORT, preferred=("en", "fr")).code == "en"
    assert detector.detect(MIXED_SHORT, preferred=("fr", "en")).code == "fr"


@pytest.mark.parametrize("text", ["😡😡😡", "🙂 👍", "", "   ", "12345 !!! :-)"])
def test_text_without_letters_is_undetermined(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == LanguageGuess(UNDETERMINED, 0.0, supported=False)


def test_other_language_is_detected_but_unsupported(detector: LanguageDetector) -> None:
    guess = detector.detect("Das ist ein schlechter Flug und ich bin sehr wütend")
    assert guess.code == "de"
    assert guess.supported is False


def test_supported_languages_come_from_the_constructor() -> None:
    english_only = LanguageDetector(("en",))
    guess = english_only.detect("Mon vol a été annulé et personne ne veut m'aider")
    assert guess.code == "fr"
    assert guess.supported is False


def test_detect_many_is_detect_for_each(detector: LanguageDetector) -> None:
    texts = [ENGLISH_COMPLAINT, FRENCH_COMPLAINT, MIXED_SHORT, "😡😡😡", ""]
    for preferred in ((), ("fr",), ("en", "fr")):
        expected = [detector.detect(text, preferred) for text in texts]
        assert detector.detect_many(texts, preferred) == expected


@pytest.mark.parametrize(
    "text", ["", " ", "12 !!", "abc", "@x", "😡", "😡 é", "½ ²", "Ⅻ", "日本", "\u00aa", "ǅ"]
)
def test_has_letter_is_any_letter(text: str) -> None:
    assert has_letter(text) is any(char.isalpha() for char in text)


def test_declared_language(detector: LanguageDetector) -> None:
    assert detector.known("FR-ca") == LanguageGuess("fr", 1.0, supported=True)
    assert detector.known("en") == LanguageGuess("en", 1.0, supported=True)
    assert detector.known("de") == LanguageGuess("de", 1.0, supported=False)


# Negativity


def test_english_complaint_is_negative(scorer: NegativityScorer) -> None:
    result = scorer.score(ENGLISH_COMPLAINT, LanguageGuess("en", 0.99))
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.compound < -0.05
    assert 0.5 < result.score <= 1


@pytest.mark.parametrize(
    ("text", "code", "at_most"),
    [
        ("I love this airline, the crew was great and friendly!", "en", 0.1),
        ("Merci pour votre aide, service excellent !", "fr", 0.3),
    ],
)
def test_positive_text_scores_low(
    scorer: NegativityScorer, text: str, code: str, at_most: float
) -> None:
    result = scorer.score(text, LanguageGuess(code, 0.99))
    assert result.sentiment is Sentiment.POSITIVE
    assert result.score < at_most
    assert result.compound > 0.05


def test_french_praise_of_a_flight(scorer: NegativityScorer) -> None:
    # vaderSentiment-fr's "vol" is a theft; a customer's is a flight (CARE_HOMONYMS)
    result = scorer.score(
        "Merci beaucoup, équipage adorable et vol parfait", LanguageGuess("fr", 1)
    )
    assert result.sentiment is Sentiment.POSITIVE


def test_neutral_text(scorer: NegativityScorer) -> None:
    result = scorer.score("The flight leaves at nine from gate 12", LanguageGuess("en", 0.99))
    assert result.sentiment is Sentiment.NEUTRAL
    assert result.score < 0.5


def test_french_text_uses_the_french_lexicon(scorer: NegativityScorer) -> None:
    french = scorer.score(FRENCH_COMPLAINT, LanguageGuess("fr", 0.99))
    assert french.sentiment is Sentiment.NEGATIVE
    assert french.score > 0.3
    # The English lexicon does not know these words: the French result is not VADER-en's.
    english = scorer.score(FRENCH_COMPLAINT, LanguageGuess("en", 0.99))
    assert english.sentiment is Sentiment.NEUTRAL
    assert english.score < 0.5


def test_more_negative_text_scores_higher(scorer: NegativityScorer) -> None:
    en = LanguageGuess("en", 0.99)
    mild = scorer.score("The flight was a bit late", en)
    strong = scorer.score("Horrible, disgusting, the worst airline ever, I hate you", en)
    assert strong.score > mild.score


@pytest.mark.parametrize("code", ["de", UNDETERMINED, ""])
def test_unsupported_language_is_neutral_with_a_reason(scorer: NegativityScorer, code: str) -> None:
    result = scorer.score(
        "Das ist schlecht, ich hasse es. Horrible, worst ever!", LanguageGuess(code, 0.9)
    )
    assert result.sentiment is Sentiment.NEUTRAL
    assert result.score == 0
    assert result.compound == 0
    assert result.reasons == (f"language '{code}' not scored",)


def test_scorer_languages(scorer: NegativityScorer) -> None:
    assert set(scorer.languages) == {"en", "fr"}


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (-0.9, Sentiment.NEGATIVE),
        (-0.05, Sentiment.NEGATIVE),
        (-0.04, Sentiment.NEUTRAL),
        (0.0, Sentiment.NEUTRAL),
        (0.04, Sentiment.NEUTRAL),
        (0.05, Sentiment.POSITIVE),
        (0.9, Sentiment.POSITIVE),
    ],
)
def test_label_thresholds(compound: float, label: Sentiment) -> None:
    assert label_for(compound) is label


# VADER, reimplemented for speed: every score must be the library's, to the bit


@pytest.fixture(scope="module")
def library() -> LibraryVader:
    return LibraryVader()


def _assert_same_scores(library: LibraryVader, texts: list[str]) -> None:
    vader = Vader(library)
    for text in texts:
        expected, got = library.polarity_scores(text), vader(text)
        # repr: the same floats, down to the sign of a zero
        assert repr(got) == repr(expected), text


@pytest.mark.shared_data
@pytest.mark.slow
def test_vader_scores_are_the_librarys_on_the_airline_tweets(library: LibraryVader) -> None:
    if not AIRLINE_TWEETS.exists():
        pytest.skip(f"shared data set not present: {AIRLINE_TWEETS}")
    with AIRLINE_TWEETS.open(encoding="utf-8", newline="") as file:
        texts = [row["text"] for row in csv.DictReader(file)]
    matcher = CueMatcher()
    # as written, and as the complaint model reads them: cleaned, sarcasm blanked
    _assert_same_scores(library, texts + [matcher.find(clean(text)).literal for text in texts])


def _ground_truth() -> Iterator[str]:
    for path in sorted(GROUND_TRUTH.glob("*_GroundTruth.txt")):
        with path.open(encoding="utf-8-sig") as file:
            for line in file:
                row = line.rstrip("\r\n").split("\t")
                if len(row) >= 3:
                    yield row[2]


@pytest.mark.shared_data
@pytest.mark.slow
def test_vader_scores_are_the_librarys_on_vaders_ground_truth(library: LibraryVader) -> None:
    texts = list(_ground_truth())
    if len(texts) < 10_000:
        pytest.skip(f"shared data set not present: {GROUND_TRUTH}")
    _assert_same_scores(library, texts + [clean(text) for text in texts])


def test_vader_scores_are_the_librarys_where_its_rules_meet(library: LibraryVader) -> None:
    """Random sentences dense in what VADER's rules look at: boosters, negations, "no", "but",
    "least", "kind of", idioms, capitals, punctuation, emoticons and emoji."""
    rules = [
        *BOOSTER_DICT, *NEGATE, *(word for phrase in SPECIAL_CASES for word in phrase.split()),
        "but", "BUT", "least", "at", "very", "no", "No", "or", "nor", "kind", "of", "so", "this",
        "without", "doubt", "never", "GOOD", "Bad", "great", "HATE", "love", "LOVE", "good.",
        "bad!!", "!", "?", "??", "!!!!", ":)", ":-(", ":D", "😡", "🙂", "x😍y", "plane", "the",
    ]  # fmt: skip
    rng = random.Random(7)
    words = rules + rng.sample(sorted(library.lexicon), 200)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    _assert_same_scores(library, texts)
