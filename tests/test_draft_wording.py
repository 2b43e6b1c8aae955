"""What the drafts say: each mention's own theme, no verdict on a claim, no conceded misconduct,
French spacing and a formal tone written out in full."""

from __future__ import annotations

import re

import pytest

from bot.config.playbook import Playbook
from bot.drafts.compose import compose, compose_replies, compose_statement
from bot.drafts.limits import limit_for
from bot.drafts.templates import DEFAULTS, STATEMENTS, formal_english, french_spacing
from bot.drafts.themes import THEMES, theme_of

PLAYBOOK = Playbook(
    sign_off={"en": "- Kestrel care team", "fr": "- L'équipe Kestrel"},
    contact="kestrel.example/help",
    status_page="https://status.kestrel.example",
)
PLATFORMS = ["mastodon", "bluesky", "reddit", "x", "web"]


def _themes(text: str, language: str = "en", hint: str | None = None) -> set[str]:
    drafts = compose_replies(
        PLAYBOOK, "Kestrel", text=text, author="ana", language=language,
        limit=limit_for("x"), hint=hint,
    )  # fmt: skip
    return {draft.theme for draft in drafts}


# --- each mention its own theme ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "theme"),
    [
        ("@pixelpauline kestrel support hung up on me too lol", "en", "rude_service"),
        ("Charged €49.99 for a service I didn't get. How do I request a refund?", "en", "refund"),
        ("Je veux un remboursement, pas des excuses.", "fr", "refund"),
    ],
)
def test_a_mention_keeps_its_own_theme_in_an_outage_incident(
    text: str, language: str, theme: str
) -> None:
    assert _themes(text, language, hint="outage") == {theme}


def test_the_incidents_theme_is_taken_only_when_the_text_says_too_little() -> None:
    assert _themes("@kestrelmobile 2 hours. two. hours.", hint="outage") == {"outage"}
    assert _themes("11h et toujours rien à Lyon.", "fr", hint="outage") == {"outage"}
    # about the author's own login, not the outage the incident is about
    assert _themes(
        "l'appli Kestrel me demande de me reconnecter tous les matins, c'est normal ?",
        "fr",
        hint="outage",
    ) == {"general"}


def test_a_neutral_mention_is_not_given_the_incidents_theme() -> None:
    composed = compose(
        PLAYBOOK, "Kestrel", text="What are your opening hours tomorrow?", author="ana",
        language="en", limit=limit_for("x"), negative=False, hint="cancellation",
    )  # fmt: skip
    assert [draft.variant for draft in composed.drafts] == ["informative", "dm"]
    assert {draft.theme for draft in composed.drafts} == {"general"}


def test_an_unknown_hint_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown theme"):
        _themes("hello", hint="weather")


@pytest.mark.parametrize(
    "text",
    [
        "I can't log in to the Kestrel app, I forgot my password. How do I reset it?",
        "My promo code is not working at checkout @kestrelmobile",
        "The Kestrel share price is down 5% today",
        "Please ignore my previous tweet, Kestrel works again",
        "Sales are down again this quarter",
    ],
)
def test_not_an_outage_nor_rude_service(text: str) -> None:
    assert theme_of(text, "en", negative=True) == "general"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@kestrelmobile is the network down? zero bars in Lyon", "en"),
        ("no signal since 9 in Paris 11e", "en"),
        ("kestrel down for anyone else? 'No service' on my phone", "en"),
        ("Kestrel app won't even open, just spinning. Network AND app down?", "en"),
        ("can't load anything on 4G, wifi calling dead too", "en"),
        ("@kestrelmobile your own website is timing out lol", "en"),
        ("Working from home on kestrel fibre and that's down too.", "en"),
        ("pas de réseau depuis 9h à Lyon, vous aussi ?", "fr"),
        ("zéro réseau chez Kestrel", "fr"),
        ("Service client injoignable, site en rade, appli qui plante", "fr"),
        ("Mobile + fibre en panne, chapeau", "fr"),
    ],
)
def test_outages_named_with_a_service(text: str, language: str) -> None:
    assert theme_of(text, language, negative=True) == "outage"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Kestrel ignored me for three days", "en"),
        ("support keeps ignoring us", "en"),
        ("Kestrel m'ignore depuis une semaine", "fr"),
        ("ignorée par le service client", "fr"),
    ],
)
def test_rude_service_when_the_brand_ignores_the_author(text: str, language: str) -> None:
    assert theme_of(text, language, negative=True) == "rude_service"
    assert theme_of("J'ignore si c'est normal", "fr", negative=True) == "general"


# --- no verdict on a claim, no conceded misconduct --------------------------------------------

_DENIALS = re.compile(
    r"not (?:accurate|true|correct)|inaccurate|false|record straight|n'est pas (?:exacte?|vrai)"
    r"|rétablir les faits|fausses?\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_misinformation_drafts_never_say_a_claim_is_false(language: str) -> None:
    for text in (
        "Rumours that Kestrel is being sold to Orange — anyone know?",
        "Kestrel's ad is misleading, the price was wrong",
    ):
        for platform in PLATFORMS:
            drafts = compose_replies(
                PLAYBOOK, "Kestrel", text=text, author="ana", language=language,
                limit=limit_for(platform),
            )  # fmt: skip
            assert {draft.theme for draft in drafts} == {"misinformation"}
            for draft in drafts:
                assert not _DENIALS.search(draft.text), draft.text
    informative = DEFAULTS[language]["misinformation"]["informative"]
    assert ("verified" if language == "en" else "vérifiées") in informative
    statement = compose_statement(
        PLAYBOOK, "Kestrel", language=language, theme="misinformation", limit=limit_for("web")
    )
    assert not _DENIALS.search(statement.text), statement.text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_rude_service_dm_does_not_concede_misconduct(language: str) -> None:
    dm = DEFAULTS[language]["rude_service"]["dm"]
    assert "not okay" not in dm
    assert "pas normal" not in dm
    assert ("look into" if language == "en" else "examiner") in dm


# --- French spacing and the formal tone -------------------------------------------------------


def test_french_spacing() -> None:
    assert french_spacing("Aide : {contact} ? Oui ! Non ; fin") == (
        "Aide\u00a0: {contact}\u202f? Oui\u202f! Non\u202f; fin"
    )
    assert french_spacing("Merci!") == "Merci\u202f!"
    assert french_spacing("https://a.example:8080/x?y=1 à 10:30") == (
        "https://a.example:8080/x?y=1 à 10:30"
    )


@pytest.mark.parametrize("theme", THEMES)
def test_french_drafts_are_spaced_the_french_way_and_fit(theme: str) -> None:
    for platform in PLATFORMS:
        limit = limit_for(platform)
        composed = compose(
            PLAYBOOK, "Kestrel", text="pas content", author="ana", language="fr",
            limit=limit, theme=theme, negative=theme != "praise",
        )  # fmt: skip
        assert composed.left_out == ()
        for draft in composed.drafts:
            assert limit.fits(draft.text)
            assert not re.search(r"(?:^|[^\u00a0\u202f])[?!;]", _prose(draft.text)), draft.text
            assert not re.search(r"[^\u00a0]:(?:\s|$)", _prose(draft.text)), draft.text
    statement = compose_statement(PLAYBOOK, "Kestrel", language="fr", theme=theme, limit=limit)
    assert "\u202f?" in statement.text or "?" not in statement.text


def _prose(text: str) -> str:
    return re.sub(r"\S*(?:https?://|@)\S*", " ", text)


def test_french_spacing_applies_to_a_playbooks_own_template() -> None:
    playbook = Playbook.model_validate(
        {"templates": {"general": {"fr": {"dm": "{greeting} un souci ? Écrivez-nous !"}}}}
    )
    [dm] = [
        draft
        for draft in compose_replies(
            playbook, "Kestrel", text="bof", author="ana", language="fr", limit=limit_for("x")
        )
        if draft.variant == "dm"
    ]
    assert dm.text == "Bonjour @ana, un souci\u202f? Écrivez-nous\u202f!"


_CONTRACTED = re.compile(r"\b\w+['\u2019](?:re|ll|ve|d|m|t)\b|\b(?:it|that|what|there)'s\b", re.I)


def test_formal_english_writes_everything_out() -> None:
    assert formal_english(
        "You'll find it. What's up? We're here, it's fine, we can't, won't, don't. Thanks!"
    ) == ("You will find it. What is up? We are here, it is fine, we cannot, will not, do not. "
          "Thank you!")  # fmt: skip
    assert formal_english("thanks for the heads-up") == "thank you for letting us know"
    assert formal_english("Kestrel's app") == "Kestrel's app"


@pytest.mark.parametrize("theme", THEMES)
def test_formal_drafts_have_no_contraction_or_heads_up(theme: str) -> None:
    formal = Playbook(tone="formal", contact="help.example", status_page="https://s.example")
    composed = compose(
        formal, "Kestrel", text="not happy", author="ana", language="en",
        limit=limit_for("reddit"), theme=theme, negative=theme != "praise",
    )  # fmt: skip
    texts = [draft.text for draft in composed.drafts]
    texts.append(formal_english(STATEMENTS["en"]))
    for text in texts:
        assert not _CONTRACTED.search(text), text
        assert "heads-up" not in text
        assert "thanks" not in text.lower()
