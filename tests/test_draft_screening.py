"""The rules a language model's reply is held to: fixed lists and patterns a comms team can
predict, checked one at a time."""

from __future__ import annotations

import pytest

from bot.config.playbook import Playbook
from bot.drafts.screening import Screen, redacted

PLAYBOOK = Playbook(
    contact="DM @KestrelHelp or write to support@kestrel.example, 0800 123 456",
    status_page="https://status.kestrel.example",
)
SCREEN = Screen.of(PLAYBOOK, author="ana", language="fr", own=frozenset({"kestrelmobile"}))


@pytest.mark.parametrize(
    "text",
    [
        "Nous allons vous rembourser.",
        "Votre remboursement arrive.",
        "Nous vous dédommagerons.",
        "Un dédommagement est prévu.",
        "Le retour est garanti.",
        "C'est notre faute.",
        "Tout sera réparé d\u2019ici 15h.",
        "Tout sera réparé d'ici demain.",
        "We will compensate you.",
        "No compensation yet.",
        "Guaranteed fix.",
        "The ETA is noon.",
        "Fixed by 15:30.",
        "This one is on us.",
        "Back within 24 hours.",
    ],
)
def test_promises_and_admissions_in_english_and_french(text: str) -> None:
    [problem] = SCREEN.problems(text)
    assert problem.startswith("promises or admits too much: “")


@pytest.mark.parametrize(
    "text",
    [
        "Suivez l'état du réseau sur https://status.kestrel.example.",
        "Écrivez à support@kestrel.example ou appelez le 0800 123 456.",
        "Écrivez à @KestrelHelp ou @kestrelmobile, @ana.",
        "Votre commande 12345678 du 10.03.2026 est en route, vers 9 h.",
        "Lisez les conditions, par exemple l'article 3.2 du contrat.",
    ],
)
def test_the_playbooks_own_contacts_and_plain_numbers_pass(text: str) -> None:
    assert SCREEN.problems(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Appelez le +33 6 12 34 56 78.", "contains a phone number"),
        ("Appelez le 0612345678.", "contains a phone number"),
        ("Écrivez à ana@gmail.com.", "contains an e-mail address"),
        ("Voyez www.kestrel-promo.example.", "links to www.kestrel-promo.example, not the"),
        ("Voyez https://status.kestrel.example.evil/x.", "links to https://status.kestrel"),
        ("Demandez à u/helper.", "names u/helper, not the author or the brand"),
        ("Demandez à @ana@evil.example.", "names @ana@evil.example, not the author or"),
    ],
)
def test_links_accounts_and_personal_data_from_elsewhere_are_refused(
    text: str, problem: str
) -> None:
    [found] = SCREEN.problems(text)
    assert found.startswith(problem)


def test_redacted_hides_phone_numbers_and_addresses_only() -> None:
    assert redacted("order 12345678, call 06 12 34 56 78 or mail a.b@c.example") == (
        "order 12345678, call [phone] or mail [e-mail]"
    )
