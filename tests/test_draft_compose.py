"""Reply drafts from a playbook: themes, specifics, languages, limits, overrides, banned phrases."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from bot.complaints import CUE_GROUPS
from bot.config.playbook import Playbook, ReplyGeneratorSettings
from bot.drafts.compose import (
    BUILT_IN_BANNED,
    DraftError,
    banned_phrases,
    check,
    compose,
    compose_replies,
    compose_statement,
    detect_with,
    stand_ins,
)
from bot.drafts.limits import Limit, limit_for
from bot.drafts.specifics import Specifics, specifics_of
from bot.drafts.templates import DEFAULTS, VARIANTS, TemplateError, parse
from bot.drafts.themes import THEME_OF_COMPLAINT, THEMES, theme_of
from bot.language import LanguageDetector

PLATFORMS = ["mastodon", "bluesky", "reddit", "x", "web"]
FULL = Playbook(
    sign_off={"en": "- Ana, Kestrel care", "fr": "- Ana, service client Kestrel"},
    contact="support@kestrel.example",
    status_page="https://status.kestrel.example",
    products=["Kestrel Fibre", "Kestrel Pro"],
)
# a mention per language naming an order, a flight and a product
SPECIFIC = {
    "en": "Flight UA 1234 and my order #A1234 for the Kestrel Fibre box, what a mess",
    "fr": "Vol AF1234 et ma commande n° 12345 pour la Kestrel Fibre, quelle galère",
}
PLAIN = {"en": "not happy with you today", "fr": "pas content de vous aujourd'hui"}
FRENCH_WORDS = re.compile(r"\b(?:nous|vous|votre|merci|désolés|Bonjour)\b")
ENGLISH_WORDS = re.compile(r"\b(?:we|you|your|thanks|thank|sorry|Hi)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(("en", "fr"))


def _tidy(text: str) -> None:
    """No placeholder or bracket left, no doubled space, no space before a comma or full stop."""
    assert not re.search(r"[{}\[\]]", text), text
    for wrong in ("  ", " ,", " .", "()", "( )"):
        assert wrong not in text, text
    assert text == text.strip()


# --- themes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "theme"),
    [
        ("Parcel still not arrived, 5 days late", "en", "delay"),
        ("My train was delayed again", "en", "delay"),
        ("Ma commande est en retard de 3 jours", "fr", "delay"),
        ("They cancelled my appointment without telling me", "en", "cancellation"),
        ("Rendez-vous annulé au dernier moment", "fr", "cancellation"),
        ("Charged twice for my subscription and no refund", "en", "refund"),
        ("My flight was cancelled and I still want my money back", "en", "refund"),
        ("J'attends toujours mon remboursement", "fr", "refund"),
        ("The banking app is down again", "en", "outage"),
        ("App not loading since this morning", "en", "outage"),
        ("No signal in the whole town", "en", "outage"),
        ("Internet en panne depuis hier", "fr", "outage"),
        ("Le réseau ne marche plus du tout", "fr", "outage"),
        ("Charger arrived broken", "en", "product_defect"),
        ("Faulty screen after two days", "en", "product_defect"),
        ("Écran cassé à la livraison", "fr", "product_defect"),
        ("Produit défectueux, je suis déçu", "fr", "product_defect"),
        ("The agent was so rude and hung up on me", "en", "rude_service"),
        ("Conseiller impoli, j'ai été mal reçu", "fr", "rude_service"),
        ("That rumour about them closing is fake news", "en", "misinformation"),
        ("This screenshot is misleading", "en", "misinformation"),
        ("C'est faux, encore une intox", "fr", "misinformation"),
        ("meh, not sure about this", "en", "general"),
        ("bof", "fr", "general"),
        # disputing what an agent said is about the concrete problem: misinformation loses ties
        (
            "Your agent told me the refund was processed, that's not true, still nothing",
            "en",
            "refund",
        ),
        (
            "You said my internet would be fixed today. That's a lie, still no signal",
            "en",
            "outage",
        ),
        ("Le conseiller m'a dit que le remboursement était fait, c'est faux", "fr", "refund"),
        ("Kestrel's ad is misleading, that's a lie", "en", "misinformation"),
        # the customer's own wish to cancel is not a cancellation by the brand
        ("Je veux annuler mon abonnement et c'est mission impossible", "fr", "general"),
        ("I want to cancel my subscription and nobody answers", "en", "general"),
        ("Ils ont annulé ma commande sans prévenir", "fr", "cancellation"),
        # "par défaut" is "by default", not a defect
        ("Votre appli active la géolocalisation par défaut, c'est scandaleux", "fr", "general"),
        ("Défaut de fabrication sur l'écran", "fr", "product_defect"),
        ("The export feature is rudimentary and the app is slow", "en", "general"),
        ("Spoke so rudely to me, the rudest agent ever", "en", "rude_service"),
        ("Rudeboy on repeat while I wait on hold", "en", "general"),
        ("Charged a late payment fee even though I paid on time", "en", "general"),
    ],
)
def test_theme_of_complaints(text: str, language: str, theme: str) -> None:
    assert theme_of(text, language, negative=True) == theme


def test_theme_of_praise_only_when_not_negative() -> None:
    assert theme_of("Thanks, the support team was great!", "en", negative=False) == "praise"
    assert theme_of("Merci, service impeccable", "fr", negative=False) == "praise"
    assert theme_of("Loved how fast my refund came", "en", negative=False) == "praise"
    assert theme_of("Great, the app is down again", "en", negative=True) == "outage"
    assert theme_of("Is the app down for anyone?", "en", negative=False) == "outage"
    assert theme_of("What time do you open?", "en", negative=False) == "general"


def test_french_cues_only_for_french() -> None:
    assert theme_of("panne", "fr", negative=True) == "outage"
    assert theme_of("panne", "en", negative=True) == "general"


def test_theme_of_complaint_covers_the_cue_groups() -> None:
    assert set(THEME_OF_COMPLAINT) == set(CUE_GROUPS)
    assert set(THEME_OF_COMPLAINT.values()) <= set(THEMES)


# --- specifics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "kind", "flight"),
    [
        ("order #A1234 never came", "A1234", "order", ""),
        ("Order number: 99812 still pending", "99812", "order", ""),
        ("commande n° 12345 pas reçue", "12345", "order", ""),
        ("booking ref XYZ123 lost", "XYZ123", "booking", ""),
        ("booking ref ABCDEF", "ABCDEF", "booking", ""),
        ("dossier 4567 sans réponse", "4567", "case", ""),
        ("support ticket #88123", "88123", "case", ""),
        ("réservation ABC123 annulée", "ABC123", "booking", ""),
        ("my flight UA 1234 is delayed", "", "", "UA1234"),
        ("vol AF1234 annulé", "", "", "AF1234"),
        ("Flight number BA117 stuck", "", "", "BA117"),
        ("vuelo IB 3456 cancelado", "", "", "IB3456"),
        ("flight BA 0117 late again", "", "", "BA0117"),  # as written, leading zero kept
        ("booking ref XYZ123 on flight U2 8011", "XYZ123", "booking", "U28011"),
        ("order 12345678 never came", "12345678", "order", ""),  # 8 digits: still a reference
        ("order 12345B lost, 2 days late", "12345B", "order", ""),
        ("Order 12345 2 days late", "12345", "order", ""),
    ],
)
def test_specifics_found(text: str, order: str, kind: str, flight: str) -> None:
    found = specifics_of(text)
    assert (found.order, found.order_kind, found.flight) == (order, kind, flight)


@pytest.mark.parametrize(
    "text",
    [
        "in order to get help",
        "an order of magnitude worse",
        "my order still hasn't arrived",
        "ORDER STATUS says shipped",
        "case by case",
        "ticket 20 minutes ago",
        "booking 2026-03-01 confirmed",
        "iPhone 15 keeps crashing",
        "COVID19 again",
        "FY2026 results",
        "flight at 10:30 tomorrow",
        "Flight DL 12:30 late",
        "flight to LA 2 hours late",
        "paid $1200 for this",
        "install KB5034441 broke it",
        "PS5 sold out",
        "RTX 4090 too hot",
        "UK 2024 tour",
        "order AB1234",  # a reference, not also a flight
        "@AF1234 https://example.com/order/12345",
        "AF1234 cancelled again",  # a bare code may as well be a model or an error code
        "Box shows error E1001 again",
        "model SM9005 cracked screen",
        # personal numbers a public reply must not repeat: a card, a phone, an e-mail address
        "I paid by card, reference 4111111111111111, still no refund",
        "reference 4111 1111 1111 1111",
        "ref 5500-0000-0000-0004 charged twice",
        "case 07700 900123, call me",
        "ticket 555-123-4567",
        "my order is late, contact me at order12345@gmail.com",
        # quantities
        "My data package 100GB ran out in 2 days",
        "The case 12mm cracked",
        "package 1000 GB gone",
        "commande 1500 € jamais reçue",
    ],
)
def test_specifics_false_positives(text: str) -> None:
    found = specifics_of(text)
    assert found.flight == ""
    if text != "order AB1234":
        assert found.order == ""


def test_specifics_product() -> None:
    products = ["Kestrel Pro", "Kestrel Pro Max", "Fibre"]
    assert specifics_of("my kestrel pro max died", products).product == "Kestrel Pro Max"
    assert specifics_of("Fibre down, and Kestrel Pro too", products).product == "Fibre"
    assert specifics_of("fibreglass case", products).product == ""
    assert specifics_of("nothing here", products) == Specifics()


# --- drafts per theme and language ------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("theme", THEMES)
def test_drafts_per_theme_and_language(
    theme: str, language: str, detector: LanguageDetector
) -> None:
    negative = theme != "praise"
    for platform in PLATFORMS:
        limit = limit_for(platform)
        for mention in (SPECIFIC[language], PLAIN[language]):
            composed = compose(
                FULL,
                "Kestrel",
                text=mention,
                author="ana",
                language=language,
                limit=limit,
                theme=theme,
                negative=negative,
            )
            assert composed.left_out == ()
            variants = [draft.variant for draft in composed.drafts]
            assert variants == list(VARIANTS[theme])
            assert len({draft.text for draft in composed.drafts}) == len(variants)
            for draft in composed.drafts:
                _check_draft(draft.text, language, limit, detector)
                assert (draft.language, draft.theme) == (language, theme)
                _check_specifics(draft.text, mention, DEFAULTS[language][theme][draft.variant])


def _check_draft(text: str, language: str, limit: Limit, detector: LanguageDetector) -> None:
    _tidy(text)
    assert limit.fits(text)
    assert check(text, limit=limit, language=language, banned=BUILT_IN_BANNED) == []
    assert detector.detect(re.sub(r"\S*[@/]\S*", " ", text)).code == language, text
    words = FRENCH_WORDS if language == "fr" else ENGLISH_WORDS
    assert words.search(text), text
    if limit.platform == "mastodon":
        assert text.startswith("@ana ")
    elif limit.platform == "reddit":
        assert "u/ana" in text
        assert "@ana" not in text
    else:
        assert "@ana" in text


def _check_specifics(text: str, mention: str, template: str) -> None:
    named = mention in SPECIFIC.values()
    for placeholder, value in (("order", "12345"), ("flight", "1234"), ("product", "Fibre")):
        if f"{{{placeholder}}}" not in template:
            continue
        value = "A1234" if placeholder == "order" and "A1234" in mention else value
        assert (value in text) == named, (placeholder, text)
    if not named:
        assert not re.search(r"\b(?:order|commande|flight|vol)\b\s*[.,?]", text), text


def test_order_is_named_in_the_drafts_language() -> None:
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="order #A1234 still not here",
        author="ana",
        language="en",
        limit=limit_for("reddit"),
        theme="delay",
    )
    assert "on order A1234" in drafts[0].text
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="dossier 4567 toujours en attente",
        author="ana",
        language="fr",
        limit=limit_for("reddit"),
        theme="delay",
    )
    assert "concernant votre dossier 4567" in drafts[0].text


def test_theme_is_read_from_the_mention() -> None:
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="Charged twice this month!!",
        author="ana",
        language="en",
        limit=limit_for("x"),
    )
    assert {draft.theme for draft in drafts} == {"refund"}
    assert "never share card details" in drafts[2].text


def test_a_neutral_question_gets_no_apology() -> None:
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="What are your opening hours?",
        author="ana",
        language="en",
        limit=limit_for("x"),
        negative=False,
    )
    assert [draft.variant for draft in drafts] == ["informative", "dm"]


def test_defaults_without_contact_status_page_or_sign_off() -> None:
    limit = limit_for("x")
    for theme in THEMES:
        for language in ("en", "fr"):
            drafts = compose_replies(
                Playbook(),
                "Kestrel",
                text=PLAIN[language],
                author="ana",
                language=language,
                limit=limit,
                theme=theme,
            )
            for draft in drafts:
                _tidy(draft.text)
                assert "support@" not in draft.text
                assert "http" not in draft.text
                assert draft.notes == ()


def test_formal_tone() -> None:
    playbook = Playbook(tone="formal")
    drafts = compose_replies(
        playbook,
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("x"),
        theme="outage",
    )
    assert all(draft.text.startswith("Hello @ana,") for draft in drafts)
    assert not any(re.search(r"\w'(?:re|ll|ve|d|s)\b", draft.text) for draft in drafts)
    assert "thank you for letting us know" in drafts[1].text
    warm = compose_replies(
        Playbook(),
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("x"),
        theme="outage",
    )
    assert warm[0].text.startswith("Hi @ana, we're sorry")


def test_no_author() -> None:
    drafts = compose_replies(
        Playbook(),
        "Kestrel",
        text="app down",
        author="",
        language="en",
        limit=limit_for("mastodon"),
        theme="outage",
    )
    assert drafts[0].text.startswith("Hi there, we're sorry")


def test_mastodon_remote_handle_comes_first() -> None:
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="app down",
        author="@ana@mastodon.social",
        language="fr",
        limit=limit_for("mastodon"),
        theme="outage",
    )
    assert all(draft.text.startswith("@ana@mastodon.social Bonjour, ") for draft in drafts)


# --- languages --------------------------------------------------------------------------------


def test_unsupported_language_falls_back_with_a_note() -> None:
    drafts = compose_replies(
        FULL,
        "Kestrel",
        text="Meine Bestellung ist zu spät",
        author="ana",
        language="de",
        limit=limit_for("x"),
        theme="delay",
    )
    assert drafts
    assert all(draft.language == "en" for draft in drafts)
    assert all(
        "no German template for 'delay': drafted in English" in draft.notes for draft in drafts
    )
    french = Playbook(default_language="fr")
    drafts = compose_replies(
        french,
        "Kestrel",
        text="Meine Bestellung ist zu spät",
        author="ana",
        language="de-AT",
        limit=limit_for("x"),
        theme="delay",
    )
    assert all(draft.language == "fr" for draft in drafts)
    assert all(draft.text.startswith("Bonjour @ana,") for draft in drafts)


def test_regional_and_unknown_language_codes() -> None:
    kwargs: dict[str, Any] = {"text": "x", "author": "ana", "limit": limit_for("x")}
    drafts = compose_replies(FULL, "Kestrel", language="fr-CA", theme="delay", **kwargs)
    assert all(draft.language == "fr" and draft.notes == () for draft in drafts)
    drafts = compose_replies(FULL, "Kestrel", language="und", theme="delay", **kwargs)
    assert all("language unknown: drafted in English" in draft.notes for draft in drafts)


def test_an_override_adds_a_language() -> None:
    playbook = Playbook.model_validate(
        {
            "templates": {"delay": {"de": {"dm": "{greeting} bitte schreiben Sie uns eine DM."}}},
            "sign_off": {"de": "- Ana"},
        }
    )
    assert "de" in playbook.languages("delay")
    drafts = compose_replies(
        playbook,
        "Kestrel",
        text="zu spät",
        author="ana",
        language="de",
        limit=limit_for("x"),
        theme="delay",
    )
    by_variant = {draft.variant: draft for draft in drafts}
    assert by_variant["dm"].text == "Hallo @ana, bitte schreiben Sie uns eine DM."
    assert by_variant["dm"].language == "de"
    assert by_variant["dm"].notes == ()
    assert by_variant["apologetic"].language == "en"


# --- overrides --------------------------------------------------------------------------------


def test_overrides_replace_the_defaults() -> None:
    playbook = Playbook.model_validate(
        {
            "contact": "kestrel.example/help",
            "templates": {
                "outage": {
                    "en": {
                        "apologetic": "{greeting} {brand} is sorry[ about {product}]. "
                        "Help: {contact}[\n{sign_off}]"
                    }
                }
            },
        }
    )
    drafts = compose_replies(
        playbook,
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("x"),
        theme="outage",
    )
    assert drafts[0].text == "Hi @ana, Kestrel is sorry. Help: kestrel.example/help"
    assert drafts[1].text.startswith("Hi @ana, thanks for the heads-up.")  # default


SPANISH = {
    "outage": {
        "es": {
            "apologetic": "{greeting} lamentamos la interrupción.",
            "informative": "Gracias[ {author}]! Estamos en ello.",
        }
    }
}


@pytest.mark.parametrize(
    ("platform", "author", "apologetic", "informative"),
    [
        ("x", "ana", "Hola @ana, lamentamos", "Gracias @ana! Estamos"),
        ("x", "123456", "Hola, lamentamos", "Gracias! Estamos"),  # an X numeric id names nobody
        ("web", "", "Hola, lamentamos", "Gracias! Estamos"),
        ("mastodon", "ana@m.social", "@ana@m.social Hola, lamentamos", "Gracias @ana@m.social!"),
    ],
)
def test_a_brands_own_language_is_greeted_and_an_unknown_author_left_out(
    platform: str, author: str, apologetic: str, informative: str
) -> None:
    drafts = compose_replies(
        Playbook.model_validate({"templates": SPANISH}),
        "Kestrel",
        text="Kestrel outage otra vez",
        author=author,
        language="es",
        limit=limit_for(platform),
    )
    texts = {draft.variant: draft.text for draft in drafts if draft.language == "es"}
    assert texts["apologetic"].startswith(apologetic)
    assert texts["informative"].startswith(informative)


def test_author_and_a_greeting_without_words_must_be_optional() -> None:
    with pytest.raises(ValidationError) as error:
        Playbook.model_validate({"templates": {"outage": {"es": {"dm": "Gracias {author}!"}}}})
    assert "{author} can be empty" in str(error.value)
    assert 'write "Thanks[ {author}]!"' in str(error.value)
    with pytest.raises(ValidationError) as error:  # no greeting words in Swedish
        Playbook.model_validate({"templates": {"outage": {"sv": {"dm": "{greeting} hej"}}}})
    assert "{greeting} can be empty" in str(error.value)
    Playbook.model_validate({"templates": {"outage": {"sv": {"dm": "Hej[ {author}]!"}}}})
    Playbook.model_validate({"templates": {"outage": {"de": {"dm": "{greeting} danke!"}}}})


@pytest.mark.parametrize(
    ("playbook", "named"),
    [
        ({"templates": {"delays": {"en": {"dm": "x"}}}}, "'delays'"),
        ({"templates": {"delay": {"en": {"thanks": "x"}}}}, "'thanks'"),
        ({"templates": {"delay": {"en": {"dm": "Hi {ordr}"}}}}, "{ordr}"),
        ({"templates": {"delay": {"klingon": {"dm": "x"}}}}, "'klingon'"),
        ({"templates": {"delay": {"en": {"dm": "about {order}"}}}}, "{order} can be empty"),
        ({"templates": {"delay": {"en": {"dm": "reach {contact}"}}}}, "{contact} can be empty"),
        ({"templates": {"delay": {"en": {"dm": "a [b [c]]"}}}}, "do not nest"),
        ({"templates": {"delay": {"en": {"dm": "a [b"}}}}, "never closed"),
        ({"templates": {"delay": {"en": {"dm": "a b]"}}}}, "closes no"),
        ({"templates": {"delay": {"en": {"dm": "a { b }"}}}}, "not a placeholder"),
        ({"templates": {"delay": {"en": {"dm": " "}}}}, "empty"),
        ({"statement": {"en": "We know about {order}"}}, "{order}"),
        ({"statement": {"de": "Wir wissen von {issue}"}}, "{issue}"),
        ({"tone": "casual"}, "tone"),
        ({"default_language": "klingon"}, "klingon"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_overrides_are_refused(playbook: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as error:
        Playbook.model_validate(playbook)
    assert named in str(error.value)


def test_contact_outside_brackets_is_fine_when_set() -> None:
    Playbook.model_validate(
        {"contact": "help@k.example", "templates": {"delay": {"en": {"dm": "Write {contact}"}}}}
    )


def test_template_syntax() -> None:
    segments = parse("Hi {author}[, about {order}] ok[ {sign_off}]")
    assert [(s.optional, s.names) for s in segments] == [
        (False, ("author",)),
        (True, ("order",)),
        (False, ()),
        (True, ("sign_off",)),
    ]
    with pytest.raises(TemplateError):
        parse("]")


# --- banned phrases and limits ----------------------------------------------------------------


def test_a_banned_phrase_leaves_the_variant_out() -> None:
    playbook = Playbook.model_validate(
        {
            "banned_phrases": ["heads-up"],
            "templates": {
                "outage": {"en": {"dm": "{greeting} We apologise for any  inconvenience."}}
            },
        }
    )
    assert banned_phrases(playbook)[-1] == "heads-up"
    composed = compose(
        playbook,
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("x"),
        theme="outage",
    )
    assert [draft.variant for draft in composed.drafts] == ["apologetic"]
    reasons = {item.variant: item.reason for item in composed.left_out}
    assert reasons["informative"] == "contains the banned phrase “heads-up”"
    assert "apologise for any inconvenience" in reasons["dm"]


def test_check_reports_problems() -> None:
    bluesky = limit_for("bluesky")
    banned = ["we guarantee", "la gêne occasionnée"]
    assert check("", limit=bluesky, language="en", banned=banned) == ["is empty"]
    assert check("a" * 312, limit=bluesky, language="en", banned=banned) == [
        "is 312 graphemes; Bluesky takes 300"
    ]
    assert check("We GUARANTEE it", limit=bluesky, language="en", banned=banned) == [
        "contains the banned phrase “we guarantee”"
    ]
    assert check("Désolés pour la gene occasionnee", limit=bluesky, language="fr", banned=banned)
    assert check("Hello {author}", limit=bluesky, language="en", banned=()) == [
        "still has the placeholder {author}"
    ]
    assert check("guaranteed", limit=bluesky, language="en", banned=["guarantee"]) == []
    # a language model's stand-ins (see the generator's checks); a person's brackets are theirs
    assert stand_ins("Hi @ana, [Your name] will DM you []") == [
        "still has the stand-in [Your name]",
        "still has the stand-in []",
    ]
    assert stand_ins("See note [1], back in [2 h]") == []
    assert check("[EN] Sorry [sic] [...]", limit=bluesky, language="en", banned=()) == []
    assert stand_ins("Updates on [our status page](https://status.k.example)") == []


def test_check_language(detector: LanguageDetector) -> None:
    x = limit_for("x")
    detect = detect_with(detector)
    german = "Hallo @ana, es tut uns sehr leid, dass Ihre Bestellung noch nicht angekommen ist."
    assert check(german, limit=x, language="fr", banned=(), detect_language=detect) == [
        "is in de, not fr"
    ]
    french = "Bonjour @ana, nous sommes désolés pour ce retard, nous regardons cela."
    assert check(french, limit=x, language="fr", banned=(), detect_language=detect) == []
    short = "Danke @ana!"  # too short to tell: not checked
    assert check(short, limit=x, language="fr", banned=(), detect_language=detect) == []
    assert check(german, limit=x, language="de", banned=(), detect_language=lambda _: "und") == []


def test_long_sign_off_and_contact_are_dropped_before_cutting() -> None:
    playbook = Playbook(
        sign_off="- Ana from the Kestrel customer care team, here for you every day from 8am "
        "to 10pm, weekends and public holidays included, whatever you need help with",
        contact="customer-care-escalations@kestrel-mobile-communications.example.com, "
        "or call us on 0800 000 000 any time, or visit any of our shops and ask for a manager",
    )
    x = limit_for("x")
    drafts = compose_replies(
        playbook,
        "Kestrel",
        text=SPECIFIC["en"],
        author="ana",
        language="en",
        limit=x,
        theme="delay",
    )
    assert [draft.variant for draft in drafts] == ["apologetic", "informative", "dm"]
    for draft in drafts:
        assert x.fits(draft.text)
        assert "Ana from" not in draft.text
        assert not draft.text.endswith("…")
        assert f"dropped the sign-off to fit {x.describe()}" in draft.notes
        _tidy(draft.text)
    dm = drafts[2]
    assert "customer-care-escalations" not in dm.text
    assert "left out 1 optional part(s) to fit X's 280 weighted characters" in dm.notes
    # where the room is, both stay
    roomy = compose_replies(
        playbook,
        "Kestrel",
        text=SPECIFIC["en"],
        author="ana",
        language="en",
        limit=limit_for("reddit"),
        theme="delay",
    )
    assert "Ana from" in roomy[2].text
    assert "customer-care-escalations" in roomy[2].text
    assert roomy[2].notes == ()


def test_a_tiny_limit_shortens_or_leaves_out() -> None:
    composed = compose(
        FULL,
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("mastodon", 60),
        theme="outage",
    )
    for draft in composed.drafts:
        assert draft.text.endswith("…")
        assert len(draft.text) <= 60
        assert "shortened to fit Mastodon's 60 characters" in draft.notes
    composed = compose(
        FULL,
        "Kestrel",
        text="app down",
        author="ana",
        language="en",
        limit=limit_for("mastodon", 3),
        theme="outage",
    )
    assert composed.drafts == ()
    assert all("does not fit" in item.reason for item in composed.left_out)


# --- holding statement ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("theme", [theme for theme in THEMES if theme != "praise"])
def test_statement(theme: str, language: str, detector: LanguageDetector) -> None:
    for platform in PLATFORMS:
        limit = limit_for(platform)
        draft = compose_statement(FULL, "Kestrel", language=language, theme=theme, limit=limit)
        assert (draft.variant, draft.language, draft.theme) == ("statement", language, theme)
        _tidy(draft.text)
        assert limit.fits(draft.text)
        assert detector.detect(re.sub(r"\S*[@/]\S*", " ", draft.text)).code == language
        assert "https://status.kestrel.example" in draft.text  # kept: the contact goes first
        cut = any("optional part" in note for note in draft.notes)
        assert ("support@kestrel.example" in draft.text) != cut


def test_statement_fallbacks_and_refusals() -> None:
    x = limit_for("x")
    draft = compose_statement(Playbook(), "Kestrel", language="de", theme="praise", limit=x)
    assert draft.language == "en"
    assert draft.text.startswith("We're aware of reports of a problem affecting some customers.")
    assert "no German statement: drafted in English" in draft.notes
    custom = Playbook.model_validate({"statement": {"en": "{brand} knows. We guarantee a fix."}})
    with pytest.raises(DraftError, match="banned phrase “we guarantee”"):
        compose_statement(custom, "Kestrel", language="en", theme="outage", limit=x)
    formal = compose_statement(
        Playbook(tone="formal"), "Kestrel", language="en", theme="delay", limit=x
    )
    assert formal.text.startswith("We are aware of reports of delays.")


# --- generator settings -----------------------------------------------------------------------


def test_generator_settings() -> None:
    assert not ReplyGeneratorSettings().enabled
    on = ReplyGeneratorSettings(url="http://127.0.0.1:8000/v1/", model="m", api_key="")
    assert on.enabled
    assert on.url == "http://127.0.0.1:8000/v1"
    assert on.api_key is None
    assert not ReplyGeneratorSettings(url="").enabled
    with pytest.raises(ValidationError, match="model"):
        ReplyGeneratorSettings(url="http://127.0.0.1:8000/v1")
    with pytest.raises(ValidationError, match="http"):
        ReplyGeneratorSettings(url="127.0.0.1:8000", model="m")


def test_a_long_unbroken_text_is_read_in_linear_time() -> None:
    """200,000 characters without a space (a pasted blob in a Reddit post or a webhook): the
    e-mail pattern once rescanned the run from every position (minutes here; the writer
    thread, and every stored mention with it, waited). Now a blink; the suite's timeout is
    the guard, with a margin no slow machine eats."""
    blob = "order." * 33_000 + "12345"
    assert specifics_of(blob + " order 12345").order == "12345"
