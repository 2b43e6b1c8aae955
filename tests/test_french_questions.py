"""French questions to a brand: requests are not complaints, complaint-questions still are.

The French model learns from political tweets, where a question is rhetorical and mostly
negative; ``bot/french_model.py`` reads a mention's questions and problems the customer-care way.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest

from bot import complaint_model
from bot.complaints import CUE_GROUPS, CueMatcher, clean
from bot.french_model import (
    CARE_HOMONYMS,
    FRENCH_CUE_GROUPS,
    MODEL_PATH,
    FrenchModel,
    care_feature_names,
    french_cues,
    read_care,
)
from bot.model import LanguageGuess, Sentiment
from bot.negativity import NegativityScorer, _french_polarity

FR = LanguageGuess("fr", 0.99)
# customer-care questions and complaints written for this check, never used to fit anything
CHECK_SET = Path(__file__).parent / "data" / "french_care_check.tsv"


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


@pytest.fixture(scope="module")
def matcher() -> CueMatcher:
    return french_cues()


@pytest.mark.parametrize(
    "text",
    [
        "@kestrelmobile bonjour, comment on active la messagerie vocale visuelle ? merci d'avance",
        "Quelqu'un sait si @kestrelmobile fait la portabilité sans frais ?"
        " Je veux garder mon numéro",
        "@brand comment je peux changer mon adresse de facturation ?",
        "Bonjour, pouvez-vous me dire si la livraison est gratuite ?",
        "salut, quelqu'un sait où trouver le code PUK ?",
        "#kestrelmobile la boutique de Lyon 2 ouvre à quelle heure le mardi ?",
    ],
)
def test_a_french_question_naming_no_problem_is_not_negative(
    scorer: NegativityScorer, text: str
) -> None:
    result = scorer.score(text, FR)
    assert result.sentiment is not Sentiment.NEGATIVE
    assert result.score < 0.4


@pytest.mark.parametrize(
    "text",
    [
        "pourquoi ma facture a encore augmenté ??",
        "@kestrelmobile pourquoi je n'ai toujours pas de réseau ??",
        "c'est normal que l'appli ne marche plus depuis la mise à jour ?",
        "@brand ça fait deux semaines que j'attends ma box, c'est une blague ?",
        "vous pouvez m'expliquer pourquoi on m'a prélevé deux fois ?",
        "@kestrelmobile toujours pas de connexion, c'est une panne générale ?",
    ],
)
def test_a_french_complaint_put_as_a_question_is_negative(
    scorer: NegativityScorer, text: str
) -> None:
    assert scorer.score(text, FR).sentiment is Sentiment.NEGATIVE


def test_french_sarcastic_thanks_is_no_thanks(scorer: NegativityScorer) -> None:
    result = scorer.score("@ratp ligne 13 en panne, encore. Merci pour rien.", FR)
    assert result.sentiment is Sentiment.NEGATIVE


def test_the_check_set() -> None:
    """Half requests, half complaints (a third of them questions): at most a few misread."""
    with CHECK_SET.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    assert len(rows) >= 40
    scorer = NegativityScorer()
    right = sum(
        (scorer.score(row["text"], FR).sentiment is Sentiment.NEGATIVE)
        == (row["expected"] == "complaint")
        for row in rows
    )
    assert right / len(rows) >= 0.9


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("comment on active la messagerie ?", True),
        ("bonjour, je voudrais changer de forfait", True),  # a request without a question mark
        ("pourquoi ma facture a encore augmenté ?", False),  # exasperation
        ("la box est en panne, vous pouvez m'aider ?", False),  # a problem
        ("super service, merci", False),  # no question, no request
    ],
)
def test_a_plain_request(matcher: CueMatcher, text: str, plain: bool) -> None:
    assert read_care(text, matcher).plain_request is plain


@pytest.mark.parametrize(
    ("text", "group", "example"),
    [
        ("3h de panne et 40 min d'attente", "duration", "3h de panne"),
        ("ça fait 5 jours que je n'ai plus internet", "duration", "ça fait 5 jours"),
        ("depuis 6 mois, ça tourne nickel", "duration", ""),  # a duration names no problem
        ("livré en 2 jours, service 24h/24", "duration", ""),
        ("des panneaux solaires", "not_working", ""),
        ("encore une panne", "not_working", "panne"),
        ("pas de retard, rien à signaler", "waiting", ""),  # denied
        ("toujours en retard", "waiting", "retard"),
        ("portabilité sans frais ?", "money", ""),  # free of charge
        ("j'attends mon remboursement", "money", "remboursement"),
        ("merci pour rien", "sarcasm", "merci pour rien"),
        ("merci d'avance", "gratitude", ""),  # a request's politeness
    ],
)
def test_french_cues(matcher: CueMatcher, text: str, group: str, example: str) -> None:
    assert matcher.find(clean(text)).examples[matcher.groups.index(group)] == example


def test_french_phrases_cover_the_shared_groups() -> None:
    assert list(FRENCH_CUE_GROUPS) == list(CUE_GROUPS)
    with pytest.raises(ValueError, match="cover exactly the groups"):
        CueMatcher(phrases={"waiting": (r"\bretard\b",)})


def test_care_homonyms_are_read_without_sentiment() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = _french_polarity(care_senses=False)
        care = _french_polarity()
    for word in CARE_HOMONYMS:
        # each is a word the library scores (so leaving it out changes something)...
        assert library(word)["compound"] != 0, word
        # ...and the scorer does not
        assert care(word)["compound"] == 0, word
    assert library("portabilité sans frais")["compound"] < 0  # "sans" denies "fresh"
    assert care("portabilité sans frais")["compound"] == 0


def test_the_care_weights_are_the_english_models() -> None:
    """``bench/train_french.py`` copies them: retrain French after retraining English."""
    english = json.loads(complaint_model.MODEL_PATH.read_text("utf-8"))
    french = json.loads(MODEL_PATH.read_text("utf-8"))["care"]
    assert french["features"] == care_feature_names()
    columns = [english["features"].index(name) for name in care_feature_names()]
    assert french["coefficients"] == [[row[c] for c in columns] for row in english["coefficients"]]


def test_weights_without_matching_care_features_are_refused() -> None:
    weights = json.loads(MODEL_PATH.read_text("utf-8"))
    weights["care"]["features"] = weights["care"]["features"][:-1]
    with pytest.raises(ValueError, match="care weights"):
        FrenchModel(lambda text: {"neg": 0, "neu": 1, "pos": 0, "compound": 0}, {}, weights)
