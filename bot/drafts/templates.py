"""Reply templates: their small syntax, and the default text in English and French.

Syntax: ``{name}`` is a placeholder; ``[...]`` is an optional segment, left out when a
placeholder inside it is empty ("[ about {order}]" when the mention names no order) and the
first thing given up when the reply is too long (segments with ``{sign_off}`` first, then the
others from the last). Segments do not nest; braces and brackets have no other use.

The defaults are written for the warm tone with English contractions; the formal tone writes
them out ("we are", "thank you") and greets with "Hello". French always says "vous".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.drafts.themes import THEMES

REPLY_PLACEHOLDERS = (
    "greeting",
    "author",
    "brand",
    "order",
    "flight",
    "product",
    "contact",
    "status_page",
    "sign_off",
)
STATEMENT_PLACEHOLDERS = ("brand", "issue", "contact", "status_page", "sign_off")
# may be empty, so only allowed inside [...] (contact and status page: unless the playbook has
# them; greeting: in a language without greeting words, see ``empty_in``)
OPTIONAL_PLACEHOLDERS = frozenset(
    {"author", "order", "flight", "product", "contact", "status_page", "sign_off"}
)

_TOKEN = re.compile(r"\{(\w*)\}|[\[\]{}]")


class TemplateError(ValueError):
    """A template that does not follow the syntax."""


@dataclass(frozen=True)
class Segment:
    text: str
    optional: bool
    names: tuple[str, ...]  # the placeholders in it, in order


def parse(template: str) -> tuple[Segment, ...]:
    """The template's segments, in order; :class:`TemplateError` names what is wrong."""
    segments: list[Segment] = []
    names: list[str] = []
    start, optional = 0, False

    def close(end: int, next_start: int, now_optional: bool) -> None:
        nonlocal start, optional, names
        if template[start:end]:
            segments.append(Segment(template[start:end], optional, tuple(names)))
        start, optional, names = next_start, now_optional, []

    for match in _TOKEN.finditer(template):
        token = match.group()
        if match.group(1):
            names.append(match.group(1))
        elif token == "[":
            if optional:
                raise TemplateError(f"optional segments do not nest: '[' at {match.start()}")
            close(match.start(), match.end(), True)
        elif token == "]":
            if not optional:
                raise TemplateError(f"']' at {match.start()} closes no '['")
            close(match.start(), match.end(), False)
        else:
            raise TemplateError(f"{token!r} at {match.start()} is not a placeholder like {{brand}}")
    if optional:
        raise TemplateError("a '[' is never closed")
    close(len(template), len(template), False)
    return tuple(segments)


def validate(template: str, allowed: Collection[str], may_be_empty: Collection[str]) -> None:
    """Refuse unknown placeholders, and those that may be empty outside ``[...]``."""
    for segment in parse(template):
        for name in segment.names:
            if name not in allowed:
                raise TemplateError(
                    f"unknown placeholder {{{name}}}; known: "
                    + ", ".join(f"{{{known}}}" for known in allowed)
                )
            if name in may_be_empty and not segment.optional:
                raise TemplateError(
                    f"{{{name}}} can be empty{_WHY_EMPTY.get(name, '')}, so it must be inside "
                    f"an optional segment [...]{_EXAMPLE.get(name, '')}"
                )


def empty_in(language: str) -> frozenset[str]:
    """The reply placeholders that may be empty in ``language``'s templates besides
    :data:`OPTIONAL_PLACEHOLDERS`: {greeting} where there are no greeting words for it (it is
    then the author's handle alone, and empty when the author has none)."""
    return frozenset() if language in GREETINGS else frozenset({"greeting"})


def render(segments: tuple[Segment, ...], values: Mapping[str, str]) -> str:
    """The segments with placeholders filled, spaces tidied."""
    text = "".join(
        re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), ""), segment.text)
        for segment in segments
    )
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r" +([,.])", r"\1", text).strip()


def filled(segments: tuple[Segment, ...], values: Mapping[str, str]) -> tuple[Segment, ...]:
    """The segments to render: optional ones whose placeholders are all filled, and the rest."""
    return tuple(
        segment
        for segment in segments
        if not segment.optional or all(values.get(name) for name in segment.names)
    )


# written out in the formal tone, whatever the case: "You'll" as "You will"
_FORMAL = {
    "can't": "cannot",
    "won't": "will not",
    "shan't": "shall not",
    "let's": "let us",
    "i'm": "I am",
    "thanks": "thank you",
    "for the heads-up": "for letting us know",
}
_FORMAL_S = ("it", "that", "what", "there", "here", "who", "where", "how")  # 's is "is"
_FORMAL_ENDINGS = {"n't": " not", "'re": " are", "'ve": " have", "'ll": " will", "'d": " would"}
_FORMAL_WORD = re.compile(
    r"\b(?:"
    + "|".join(map(re.escape, _FORMAL))
    + "|(?:"
    + "|".join(_FORMAL_S)
    + r")'s|\w+n't|\w+'(?:re|ve|ll|d))(?!\w)",
    re.IGNORECASE,
)


def _written_out(word: str) -> str:
    lower = word.lower()
    if lower in _FORMAL:
        full = _FORMAL[lower]
    elif lower.endswith("'s"):
        full = lower[:-2] + " is"
    else:
        ending = next(end for end in _FORMAL_ENDINGS if lower.endswith(end))
        full = lower[: -len(ending)] + _FORMAL_ENDINGS[ending]
    return full[0].upper() + full[1:] if word[0].isupper() else full


def formal_english(template: str) -> str:
    """A default English template in the formal tone: no contractions, "thank you"."""
    plain = template.replace("\u2019", "'")
    return _FORMAL_WORD.sub(lambda match: _written_out(match.group()), plain)


# French puts a narrow no-break space before ? ! ; and a no-break space before :
_FRENCH_SPACE = re.compile(r"[ \u00a0\u202f]*([?!;:])(?=\s|$|[\]\[{])")


def french_spacing(template: str) -> str:
    """A French template with French spacing before ? ! ; and : (not inside a link or time:
    only punctuation that ends a word group gets it)."""

    def spaced(match: re.Match[str]) -> str:
        mark = match.group(1)
        return ("\u00a0" if mark == ":" else "\u202f") + mark

    return _FRENCH_SPACE.sub(spaced, template)


# {greeting} by language and tone: with the author's handle, without it when the author has
# none (a web page's, a machine id's), and on Mastodon starting with the handle so that it
# notifies. In any other language {greeting} is the handle alone ("@ana"), or empty.
GREETINGS = {
    "en": {"warm": "Hi {author},", "formal": "Hello {author},"},
    "fr": {"warm": "Bonjour {author},", "formal": "Bonjour {author},"},
    "de": {"warm": "Hallo {author},", "formal": "Guten Tag {author},"},
    "es": {"warm": "Hola {author},", "formal": "Hola {author},"},
    "it": {"warm": "Ciao {author},", "formal": "Buongiorno {author},"},
    "nl": {"warm": "Hoi {author},", "formal": "Beste {author},"},
    "pt": {"warm": "Olá {author},", "formal": "Olá {author},"},
}
MASTODON_GREETINGS = {
    code: {tone: "{author} " + text.replace(" {author}", "") for tone, text in tones.items()}
    for code, tones in GREETINGS.items()
}
ANONYMOUS_GREETINGS = {
    "en": {"warm": "Hi there,", "formal": "Hello,"},
    "fr": {"warm": "Bonjour,", "formal": "Bonjour,"},
    "de": {"warm": "Hallo,", "formal": "Guten Tag,"},
    "es": {"warm": "Hola,", "formal": "Hola,"},
    "it": {"warm": "Ciao,", "formal": "Buongiorno,"},
    "nl": {"warm": "Hoi,", "formal": "Hallo,"},
    "pt": {"warm": "Olá,", "formal": "Olá,"},
}
# why a placeholder can be empty, and how to write it, for the error that says so
_WHY_EMPTY = {
    "author": " (it is empty when the author is known only by a machine id, such as a Bluesky "
    "DID or an X numeric id, or not at all, as on a web page)",
    "greeting": " (Vigie has greeting words in "
    + ", ".join(GREETINGS)
    + " only; in other languages it is the author's handle alone, empty when there is none)",
}
_EXAMPLE = {
    "author": ': write "Thanks[ {author}]!" rather than "Thanks {author}!"',
    "greeting": ': write "[{greeting} ]" or your own greeting, such as "Hej[ {author}],"',
}
# what a reference is called in a reply: {order} is "order A1234", "commande 12345"
REFERENCE_NOUNS = {
    "en": {
        "order": "order",
        "booking": "booking",
        "case": "case",
        "reference": "reference",
        "parcel": "parcel",
    },
    "fr": {
        "order": "commande",
        "booking": "réservation",
        "case": "dossier",
        "reference": "référence",
        "parcel": "colis",
    },
}
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
}

_SIGN = "[\n{sign_off}]"
_EN_CONTACT = "[ You can also reach us at {contact}.]"
_FR_CONTACT = "[ Vous pouvez aussi nous joindre via {contact}.]"

DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "delay": {
            "apologetic": "{greeting} we're really sorry for the wait[ on {order}]"
            "[ on flight {flight}][ with your {product}]. We know your time matters, and we're "
            "looking into what's holding things up." + _SIGN,
            "informative": "{greeting} thanks for letting us know. [You'll find the latest "
            "updates at {status_page}. ]We're checking where things stand[ with {order}]"
            "[ for flight {flight}] and will get back to you here." + _SIGN,
            "dm": "{greeting} sorry about the delay. Could you send us a DM[ about {order}]? "
            "We'll look into it personally and keep you updated." + _EN_CONTACT + _SIGN,
        },
        "cancellation": {
            "apologetic": "{greeting} we're very sorry about the cancellation"
            "[ of flight {flight}][ ({order})]. We know it upsets your plans, and we want to "
            "help you sort out what comes next." + _SIGN,
            "informative": "{greeting} thanks for reaching out about the cancellation"
            "[ of flight {flight}][ ({order})]. [Updates are posted at {status_page}. ]"
            "We'll go through your options with you, such as rescheduling or a refund where "
            "it applies." + _SIGN,
            "dm": "{greeting} sorry your plans were disrupted. Please send us a DM"
            "[ about {order}] and we'll work through your options together." + _EN_CONTACT + _SIGN,
        },
        "refund": {
            "apologetic": "{greeting} we're sorry about the trouble with your payment"
            "[ for {order}]. We understand how stressful money problems are, and we want to "
            "put this right." + _SIGN,
            "informative": "{greeting} thanks for raising this. We'll check what happened with "
            "the payment[ for {order}] and explain the next steps here.[ More help: {contact}.]"
            + _SIGN,
            "dm": "{greeting} sorry about this. So we can look into your payment safely, please "
            "send us a DM[ about {order}], and never share card details publicly."
            + _EN_CONTACT
            + _SIGN,
        },
        "outage": {
            "apologetic": "{greeting} we're sorry for the disruption[ to {product}]. We know how "
            "frustrating this is, and our team is working to get things back to normal." + _SIGN,
            "informative": "{greeting} thanks for the heads-up. [Follow the latest at "
            "{status_page}. ]Our team is investigating[ the problem with {product}], and "
            "we'll share news here as soon as we have it." + _SIGN,
            "dm": "{greeting} sorry you're having trouble[ with {product}]. Could you DM us "
            "where you are and what you see on screen? It helps us check whether it's local to "
            "you." + _EN_CONTACT + _SIGN,
        },
        "product_defect": {
            "apologetic": "{greeting} we're sorry about the problem with your[ {product}]"
            " purchase[ ({order})]. That's not the quality we stand for, and we'd like to "
            "make it right." + _SIGN,
            "informative": "{greeting} thanks for telling us[ about your {product}]. If it "
            "arrived damaged or stopped working, a repair, replacement or refund may be "
            "possible; we'll check the options for you.[ Help: {contact}]" + _SIGN,
            "dm": "{greeting} sorry about this. Could you DM us a photo of the problem"
            "[ and your {order}]? We'll take it from there." + _EN_CONTACT + _SIGN,
        },
        "rude_service": {
            "apologetic": "{greeting} we're sorry about how you were treated. Everyone deserves "
            "to be listened to with respect, and we'll share your feedback with the team "
            "involved." + _SIGN,
            "informative": "{greeting} thank you for telling us. Feedback like this helps us "
            "improve how we treat customers at {brand}; we'd like to hear what happened so we "
            "can follow up properly.[ You can reach us at {contact}.]" + _SIGN,
            "dm": "{greeting} we're sorry to hear this, and we'd like to look into it. Could you "
            "DM us when and where it happened[ and your {order}]? We'll follow up with the team "
            "directly." + _EN_CONTACT + _SIGN,
        },
        "misinformation": {
            "informative": "{greeting} thanks for checking with us: verified updates from "
            "{brand} are only on our official channels[, such as {status_page}], and we're happy "
            "to answer questions directly.[ You can reach us at {contact}.]" + _SIGN,
            "dm": "{greeting} thanks for flagging this. We're happy to share what we know: "
            "send us a DM[ or write to {contact}] and we'll answer your questions directly."
            + _SIGN,
        },
        "praise": {
            "thanks": "{greeting} thank you so much for the kind words[ about {product}]! "
            "We're really glad to hear it." + _SIGN,
            "pass_on": "{greeting} this made our day, thank you! We'll pass your message on to "
            "the {brand} team[ behind {product}]." + _SIGN,
        },
        "general": {
            "apologetic": "{greeting} we're sorry to hear things haven't gone well"
            "[ with your {product}]. We'd like to understand what happened and help put it "
            "right." + _SIGN,
            "informative": "{greeting} thanks for reaching out[ about your {product}]. "
            "[You'll find the latest updates at {status_page}. ]Tell us a little more here "
            "and we'll point you in the right direction." + _SIGN,
            "dm": "{greeting} we'd like to help. Could you send us a DM with a few details"
            "[ about {order}]? We'll take a look and get back to you." + _EN_CONTACT + _SIGN,
        },
    },
    "fr": {
        "delay": {
            "apologetic": "{greeting} nous sommes vraiment désolés pour cette attente"
            "[ concernant votre {order}][ sur le vol {flight}][ avec votre {product}]. Nous "
            "savons que votre temps est précieux et nous cherchons ce qui bloque." + _SIGN,
            "informative": "{greeting} merci de nous avoir prévenus. [Vous trouverez les "
            "dernières informations sur {status_page}. ]Nous vérifions où en sont les choses"
            "[ pour votre {order}][ sur le vol {flight}] et revenons vers vous ici." + _SIGN,
            "dm": "{greeting} désolés pour ce retard. Pouvez-vous nous écrire en message privé"
            "[ au sujet de votre {order}] ? Nous suivrons votre demande personnellement."
            + _FR_CONTACT
            + _SIGN,
        },
        "cancellation": {
            "apologetic": "{greeting} nous sommes vraiment désolés pour cette annulation"
            "[ du vol {flight}][ ({order})]. Nous savons que cela bouleverse vos projets "
            "et nous voulons vous aider pour la suite." + _SIGN,
            "informative": "{greeting} merci de nous avoir écrit au sujet de cette annulation"
            "[ du vol {flight}][ ({order})]. [Les mises à jour sont publiées sur "
            "{status_page}. ]Nous allons voir avec vous les solutions possibles, comme un "
            "report ou un remboursement selon les cas." + _SIGN,
            "dm": "{greeting} désolés pour ce contretemps. Écrivez-nous en message privé"
            "[ avec votre {order}] et nous chercherons ensemble la meilleure solution."
            + _FR_CONTACT
            + _SIGN,
        },
        "refund": {
            "apologetic": "{greeting} nous sommes désolés pour ce problème de paiement"
            "[ concernant votre {order}]. Nous comprenons que ce soit stressant et nous voulons "
            "régler cela." + _SIGN,
            "informative": "{greeting} merci de nous l'avoir signalé. Nous allons vérifier ce qui "
            "s'est passé avec le paiement[ de votre {order}] et vous expliquer ici les "
            "prochaines étapes.[ Plus d'aide : {contact}]" + _SIGN,
            "dm": "{greeting} désolés pour ce souci. Pour vérifier votre paiement en toute "
            "sécurité, écrivez-nous en message privé[ avec votre {order}], et ne partagez "
            "jamais vos coordonnées bancaires publiquement." + _FR_CONTACT + _SIGN,
        },
        "outage": {
            "apologetic": "{greeting} nous sommes désolés pour cette interruption"
            "[ de {product}]. Nous savons à quel point c'est pénible, et nos équipes "
            "travaillent au retour à la normale." + _SIGN,
            "informative": "{greeting} merci pour votre signalement. [Suivez l'incident sur "
            "{status_page}. ]Nos équipes analysent le problème[ touchant {product}] et nous "
            "partagerons des nouvelles ici dès que possible." + _SIGN,
            "dm": "{greeting} désolés pour ces difficultés[ avec {product}]. Pouvez-vous nous "
            "indiquer en message privé votre secteur et ce qui s'affiche ? Cela nous aidera à "
            "voir si le problème est local." + _FR_CONTACT + _SIGN,
        },
        "product_defect": {
            "apologetic": "{greeting} nous sommes désolés pour ce problème[ avec votre "
            "{product}][ ({order})]. Ce n'est pas la qualité que nous voulons vous offrir, et "
            "nous tenons à arranger les choses." + _SIGN,
            "informative": "{greeting} merci de nous avoir signalé ce problème[ avec votre "
            "{product}]. Si le produit est arrivé abîmé ou ne fonctionne plus, une réparation, "
            "un échange ou un remboursement peut être possible ; nous vérifions les options "
            "pour vous.[ Aide : {contact}]" + _SIGN,
            "dm": "{greeting} désolés pour ce souci. Pouvez-vous nous envoyer en message privé "
            "une photo du problème[ et votre {order}] ? Nous nous occupons de la suite."
            + _FR_CONTACT
            + _SIGN,
        },
        "rude_service": {
            "apologetic": "{greeting} nous sommes désolés pour l'accueil que vous avez reçu. "
            "Chacun mérite d'être écouté avec respect, et nous transmettrons votre retour à "
            "l'équipe concernée." + _SIGN,
            "informative": "{greeting} merci de nous en avoir parlé. Ce type de retour aide "
            "{brand} à améliorer son service ; nous aimerions savoir ce qui s'est passé pour "
            "pouvoir y donner suite.[ Vous pouvez nous joindre via {contact}.]" + _SIGN,
            "dm": "{greeting} nous sommes désolés de lire cela et nous aimerions examiner ce qui "
            "s'est passé. Pouvez-vous nous indiquer en message privé quand et où cela a eu lieu"
            "[ ainsi que votre {order}] ? Nous ferons le suivi directement avec l'équipe."
            + _FR_CONTACT
            + _SIGN,
        },
        "misinformation": {
            "informative": "{greeting} merci de vous renseigner auprès de nous : les informations "
            "vérifiées de {brand} sont publiées uniquement sur nos canaux officiels[, notamment "
            "{status_page}], et nous répondons volontiers à vos questions.[ Vous pouvez nous "
            "joindre via {contact}.]" + _SIGN,
            "dm": "{greeting} merci de nous l'avoir signalé. Nous répondrons volontiers à vos "
            "questions : écrivez-nous en message privé[ ou à {contact}]." + _SIGN,
        },
        "praise": {
            "thanks": "{greeting} merci beaucoup pour ce gentil message[ sur {product}] ! "
            "Nous sommes ravis que cela vous plaise." + _SIGN,
            "pass_on": "{greeting} votre message nous fait très plaisir, merci ! Nous le "
            "transmettons à l'équipe {brand}[ qui s'occupe de {product}]." + _SIGN,
        },
        "general": {
            "apologetic": "{greeting} nous sommes désolés que les choses ne se soient pas bien "
            "passées[ avec votre {product}]. Nous aimerions comprendre ce qui s'est passé et "
            "vous aider à y remédier." + _SIGN,
            "informative": "{greeting} merci de nous avoir contactés[ au sujet de votre "
            "{product}]. [Vous trouverez les dernières informations sur {status_page}. ]"
            "Dites-nous-en un peu plus ici et nous vous orienterons." + _SIGN,
            "dm": "{greeting} nous aimerions vous aider. Pouvez-vous nous écrire en message "
            "privé avec quelques détails[ sur votre {order}] ? Nous reviendrons vers vous dès "
            "que possible." + _FR_CONTACT + _SIGN,
        },
    },
}

# the variants of each theme, in the order drafts are offered
VARIANTS: dict[str, tuple[str, ...]] = {theme: tuple(DEFAULTS["en"][theme]) for theme in THEMES}

STATEMENTS = {
    "en": "We're aware of {issue}. Our team is looking into it now, and we'll post an update "
    "here as soon as we know more.[ Follow updates at {status_page}.]"
    "[ Need help in the meantime? {contact}]" + _SIGN,
    # French runs longer: kept short enough to keep the status page, contact and sign-off on X
    # wherever the English does
    "fr": "Nous avons connaissance de {issue}. Nos équipes sont mobilisées et publieront une "
    "mise à jour ici dès que possible.[ Mises à jour sur {status_page}.]"
    "[ Besoin d'aide ? {contact}]" + _SIGN,
}
# what a holding statement says the reports are about, by theme ({issue})
ISSUES = {
    "en": {
        "delay": "reports of delays",
        "cancellation": "reports of cancellations",
        "refund": "reports of problems with refunds and payments",
        "outage": "reports of an outage affecting some of our services",
        "product_defect": "reports of a problem with one of our products",
        "rude_service": "reports of poor experiences with our customer service",
        "misinformation": "claims circulating online",
        "general": "reports of a problem affecting some customers",
    },
    "fr": {
        "delay": "signalements de retards",
        "cancellation": "signalements d'annulations",
        "refund": "signalements de problèmes de remboursement et de paiement",
        "outage": "signalements d'une panne touchant certains de nos services",
        "product_defect": "signalements d'un problème sur l'un de nos produits",
        "rude_service": "témoignages de clients mal reçus par notre service client",
        "misinformation": "propos qui circulent en ligne",  # "de informations" would not elide
        "general": "signalements d'un problème touchant certains clients",
    },
}
