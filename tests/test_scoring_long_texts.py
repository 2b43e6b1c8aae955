"""Scoring time grows with the length of a text, not with its square.

A mention can be a long Reddit post or a pasted log; with ``worker_count: 0`` scoring runs on the
event loop. vaderSentiment-fr lower-cased the whole word list again for each lexicon word (200,000
characters took 100 s), VADER's "but" rule scanned the scores again for each score, the sarcastic
"great job" cue scanned the rest of the text at each "great job". No timing is asserted: the
suite's timeout is the guard, and these texts took minutes before.
"""

from __future__ import annotations

import csv
import random
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from bot.model import LanguageGuess, Negativity
from bot.negativity import FrenchVader, NegativityScorer, _french_library

FRENCH_TWEETS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "french_tweets"
    / "deft2017_umsab_french.csv"
)  # fmt: skip
EN = LanguageGuess("en", 1.0)
FR = LanguageGuess("fr", 1.0)
LENGTH = 200_000


def _long(base: str) -> str:
    return (base * (LENGTH // len(base) + 1))[:LENGTH]


def _random_words(words: str, seed: int) -> str:
    rng = random.Random(seed)
    vocabulary = words.split()
    return " ".join(rng.choice(vocabulary) for _ in range(LENGTH // 3))[:LENGTH]


def test_long_texts_score_in_linear_time() -> None:
    scorer = NegativityScorer()
    french = _long(
        "mon vol est encore en retard, personne ne répond, merci pour rien @kestrel pourquoi ?? "
        "pas terrible, vraiment nul et décevant, jamais content "
    )
    english = _random_words(
        "a the not no delay delayed but so very good bad never kind of least at cancel lost"
        " thanks great another ! ? 😡 👍 n't without doubt",
        seed=1,
    )
    results = [
        scorer.score(french, FR),
        scorer.score(_random_words("pas jamais très nul bien super mais rien 😡 génial", 2), FR),
        scorer.score(english, EN),
        scorer.score(_long("great job "), EN),
        scorer.score(_long("so much for thanks great "), EN),
    ]
    for result in results:
        assert isinstance(result, Negativity)
        assert 0 <= result.score <= 1


# vaderSentiment-fr, reimplemented to run in linear time: every score must be the library's


@pytest.fixture(scope="module")
def library() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _french_library()


def _assert_same_scores(library: Any, texts: list[str]) -> None:
    fast = FrenchVader(library)
    for text in texts:
        expected, got = library.polarity_scores(text), fast.polarity_scores(text)
        # repr: the same floats, down to the sign of a zero
        assert repr(got) == repr(expected), text


@pytest.mark.shared_data
def test_french_scores_are_the_librarys_on_the_french_tweets(library: Any) -> None:
    if not FRENCH_TWEETS.exists():
        pytest.skip(f"shared data set not present: {FRENCH_TWEETS}")
    with FRENCH_TWEETS.open(encoding="utf-8", newline="") as file:
        texts = [row["text"] for row in csv.DictReader(file)]
    handles = re.compile(r"https?://\S+|@\w+")
    _assert_same_scores(library, texts + [handles.sub(" ", text) for text in texts])


def test_french_scores_are_the_librarys_where_its_rules_meet(library: Any) -> None:
    """Random sentences dense in what vaderSentiment-fr's rules look at: boosters, negations,
    words never negated, "no", "least", "kind of", idioms, capitals, punctuation, apostrophes,
    emoticons and emoji."""
    from vaderSentiment_fr import vaderSentiment as rules_of

    rules = [
        *rules_of.BOOSTER_DICT, *rules_of.NEGATE, *rules_of.NO_NEGATE,
        *(word for phrase in rules_of.SPECIAL_CASES for word in phrase.split()),
        "no", "No", "or", "nor", "least", "at", "very", "kind", "of", "NUL", "Génial", "TRÈS",
        "n'est", "d'accord", "l'avion", "'", "!", "?", "...", "..", ":)", "😡", "🙂", "x😍y",
    ]  # fmt: skip
    rng = random.Random(7)
    words = rules + rng.sample(sorted(library.lexicon), 300)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(10_000)]
    _assert_same_scores(library, texts)
