"""Customer-care patterns with no negative word, in any industry's words: the wrong thing
delivered, a problem dated by when it started, and in French a problem denied ("pas de souci"),
which is praise."""

from __future__ import annotations

import pytest

from bot.complaints import CueMatcher, clean
from bot.french_model import french_cues
from bot.model import LanguageGuess, Sentiment
from bot.negativity import NegativityScorer

EN = LanguageGuess("en", 0.99)
FR = LanguageGuess("fr", 0.99)


@pytest.fixture(scope="module")
def scorer() -> NegativityScorer:
    return NegativityScorer()


def _groups(text: str, matcher: CueMatcher) -> dict[str, str]:
    hits = matcher.find(clean(text))
    return {
        group: found for group, found in zip(matcher.groups, hits.examples, strict=True) if found
    }


@pytest.mark.parametrize(
    "text",
    [
        "ordered the large pizza, got a small one",
        "booked a sea-view room but got one facing the car park",
        "paid for the premium plan, got the basic features",
        "they sent me someone else's parcel",
        "my new card went to someone elses address",
        "this is not what I ordered",
    ],
)
def test_the_wrong_thing_delivered_is_a_complaint(scorer: NegativityScorer, text: str) -> None:
    result = scorer.score(text, EN)
    assert result.sentiment is Sentiment.NEGATIVE
    assert any(reason.startswith("lost: ") for reason in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "ordered on Monday, got it on Tuesday, great service",
        "ordered a hoodie, got it in two days",
        "booked a table and got a lovely window seat",
    ],
)
def test_getting_what_was_ordered_is_no_wrong_item(text: str) -> None:
    assert "lost" not in _groups(text, CueMatcher())


@pytest.mark.parametrize(
    "text",
    [
        "support ticket open since March 2",
        "no internet since Tuesday",
        "my parcel has been sitting in the depot since the 4th",
        "the claim has been pending since last week",
        "the status page hasn't changed in 6 hours",
    ],
)
def test_a_problem_dated_by_when_it_started_is_a_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    result = scorer.score(text, EN)
    assert result.sentiment is Sentiment.NEGATIVE
    assert any(reason.startswith("duration: ") for reason in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "been a loyal customer since 2012 and love it",
        "a member since 2015, the app keeps getting better",
        "using the new app since last week, really smooth",
        "haven't had a dropped call since Monday, nice",
        "haven't had a problem in 3 months, impressed",
    ],
)
def test_loyalty_since_a_date_is_no_complaint(scorer: NegativityScorer, text: str) -> None:
    assert scorer.score(text, EN).sentiment is not Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "dossier ouvert depuis le 3 janvier",
        "plus de connexion depuis lundi",
        "colis bloqué au dépôt depuis hier",
        "demande de remboursement en cours depuis 15 jours",
    ],
)
def test_a_french_problem_dated_by_when_it_started_is_a_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    result = scorer.score(text, FR)
    assert result.sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "on m'a livré un pull qui n'est pas celui que j'ai commandé",
        "reçu la commande de quelqu'un d'autre",
    ],
)
def test_the_wrong_thing_delivered_is_a_french_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    assert "lost" in _groups(text, french_cues())
    assert scorer.score(text, FR).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "le technicien est venu, pas de souci",
        "livraison rapide, aucun souci",
        "installation sans problème",
        "rien à redire sur le service client",
        "aucun problème avec la nouvelle box",
        "aucun souci depuis mars, je recommande",
    ],
)
def test_a_denied_problem_is_french_praise_not_a_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    assert scorer.score(text, FR).sentiment is not Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "pas de souci pour l'installation, mais toujours pas de réseau depuis",
        "aucun problème jusqu'à hier, maintenant la box ne marche plus",
    ],
)
def test_a_french_denied_problem_beside_a_real_one_is_still_a_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    assert scorer.score(text, FR).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "@brand mon forfait inclut-il les appels vers le Canada ?",
        "est-ce que la carte fonctionne aussi pour les retraits à l'étranger ?",
        "les nouvelles offres fibre sont disponibles à partir de quand ?",
        "@brand la garantie couvre-t-elle un écran fissuré ?",
    ],
)
def test_a_plain_french_question_is_neutral(scorer: NegativityScorer, text: str) -> None:
    """A customer's question is read with the weights learned on customer mentions, not those
    of the rhetorical questions of political tweets, which lean to a verdict either way."""
    assert scorer.score(text, FR).sentiment is Sentiment.NEUTRAL


@pytest.mark.parametrize(
    "text",
    [
        "pourquoi ma facture a encore augmenté ??",
        "c'est normal que la box ne marche plus depuis hier ?",
    ],
)
def test_a_french_question_naming_a_problem_is_still_negative(
    scorer: NegativityScorer, text: str
) -> None:
    assert scorer.score(text, FR).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "Payment processing restored after a morning outage, the bank says",
        "the login outage is resolved, thanks for your patience",
        "the streaming outage is over and everything is back online",
    ],
)
def test_an_incident_said_to_be_over_is_no_complaint(scorer: NegativityScorer, text: str) -> None:
    """A fault in the same clause as its resolution is news of a fix, not a complaint."""
    assert scorer.score(text, EN).sentiment is not Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "they say the outage is resolved but my router is still down",
        "outage resolved? the app still crashes every time I open it",
        "fixed my billing error, now the app is broken",
    ],
)
def test_a_fault_beside_a_claimed_fix_is_still_a_complaint(
    scorer: NegativityScorer, text: str
) -> None:
    assert scorer.score(text, EN).sentiment is Sentiment.NEGATIVE


def test_a_french_incident_said_to_be_over_is_no_complaint(scorer: NegativityScorer) -> None:
    assert scorer.score("panne réparée, le réseau est rétabli", FR).sentiment is not (
        Sentiment.NEGATIVE
    )
