"""What one mention is about, as a playbook theme: the reply drafts are written per theme.

Cues are regular expressions over accent-folded, lower-cased text without links or @handles
(so French cues are written without accents), English always and French as well for French
mentions. They are about customer care in general: carriers, banks, shops and software as much
as airlines. When cues of several themes are found, the theme with the most wins; ties go to
the earlier theme in ``_PRIORITY`` (the more specific ask: a refund over the cancellation that
caused it). Misinformation comes last: "your agent said the refund was processed, that's not
true" disputes a promise about a concrete problem, which is what the reply should be about.
"""

from __future__ import annotations

import re

from bot.text import fold

THEMES = (
    "delay",
    "cancellation",
    "refund",
    "outage",
    "product_defect",
    "rude_service",
    "misinformation",
    "praise",
    "general",
)
_PRIORITY = (
    "refund",
    "cancellation",
    "outage",
    "delay",
    "product_defect",
    "rude_service",
    "misinformation",
)

# What can have an outage. "Down", "not working" or "crashed" are an outage only in a text that
# names one of these: a share price is down too, and a promo code is not working.
_SERVICE_EN = (
    r"(?:network|signal|site|website|app|application|(?<!customer )service|server|internet"
    r"|wi-?fi|broadband|fib(?:re|er)|connection|coverage|[345]g|lte|data|online|platform|system)"
)
_SERVICE_FR = (
    r"(?:reseau|signal|site|appli|application|serveur|internet|wi-?fi|box|fibre|connexion"
    r"|[345]g|donnees|data|plateforme)"
)
# cues that count for an outage only beside a service word, and not about one's own password
# or code ("can't log in, I forgot my password")
_OUTAGE_IF_SERVICE = {
    "en": (
        r"\b(?:is|are|it'?s|that'?s|still|went|goes|been|all) down\b",
        r"\bdown (?:again|since|too)\b",
        r"\bnot (?:loading|working|connecting|responding)\b",
        r"\btim(?:ing|es|ed) out\b",
        r"\b(?:won'?t|doesn'?t|can'?t|cannot) (?:load|connect|log ?in|sign ?in|open)\b",
        r"\bcrash(?:ed|es|ing)\b",
    ),
    "fr": (
        r"\b(?:ne )?(?:marche|fonctionne) (?:plus|pas)\b",
        r"\bimpossible de (?:se connecter|me connecter|acceder)\b",
        r"\binaccessible\b",
        r"\bplante\b",
    ),
}
_OWN_ACCOUNT = re.compile(
    r"\bpassword\b|\bmot de passe\b|\b(?:promo|discount|voucher|coupon|gift|promotion)"
    r"(?:al)? ?codes?\b|\bcoupons?\b|\bcode promo\b|\blog(?:s|ged)? (?:me |us |everyone )?out\b"
    r"|\b(?:me|se|nous) reconnecter\b|\bdeconnect\w*"
)

_EN: dict[str, tuple[str, ...]] = {
    "delay": (
        r"\bdelay(?:ed|s|ing)?\b",
        r"\b(?:running |still |so |very |always |hours? |days? |weeks? )late\b",
        # a late payment fee or charge is a charge, not a delay
        r"\blate (?:again|delivery|arrival|departure|train|bus|flight"
        r"|payment(?! (?:fees?|charges?|penalt)))\b",
        r"\b(?:arrive[sd]?|arriving|came|delivered|shipped) late\b",
        r"\btaking forever\b",
        r"\bstill (?:waiting|not (?:arrived|here|delivered|shipped))\b",
        r"\b(?:hasn'?t|has not|haven'?t|have not|never) (?:arrived|shipped|been delivered)\b",
        r"\bon hold for\b",
        r"\bwhere(?: is|'?s) my\b",
    ),
    "cancellation": (r"\bcancel+(?:ed|led|ing|lation|lations)\b", r"\bcalled off\b"),
    "refund": (
        r"\brefund\w*",
        r"\b(?:double|over|wrongly|twice)[- ]?charg\w*",
        r"\bcharged (?:me )?(?:twice|two times|again|for nothing)\b",
        r"\bmoney back\b",
        r"\breimburse\w*",
        r"\bchargeback\b",
        r"\bunauthori[sz]ed (?:charge|payment|transaction)s?\b",
    ),
    "outage": (
        r"\boutage\w*",
        r"\bno (?:signal|service|internet|connection|network|coverage|data)\b",
        r"\b(?:error|server) (?:5\d\d|error)\b",
        rf"\b{_SERVICE_EN}s? (?:(?:is|are|was|were|went|goes|still|been|all|now|seems) )*down\b",
        r"\bdown (?:again )?for (?:me|us|anyone|everyone|everybody)\b",
        r"\bdown everywhere\b",
    ),
    "product_defect": (
        r"\bbroken\b",
        r"\bbroke (?:after|within|in)\b",
        r"\bdefect\w*",
        r"\bfaulty\b",
        r"\bdamaged\b",
        r"\bcracked\b",
        r"\bstopped working\b",
        r"\b(?:poor|bad|cheap) quality\b",
        r"\bfell apart\b",
        r"\bmalfunction\w*",
        r"\bdead on arrival\b",
    ),
    "rude_service": (
        r"\brude(?:r|st|ly|ness)?\b",  # not "rudeboy"
        r"\bhung up\b",
        r"\bignor(?:ed|es|ing) (?:me|us|my|our|customers|their customers)\b",
        r"\b(?:still|keep|keeps|just|always|never stop) ignoring\b",
        r"\bunhelpful\b",
        r"\bunprofessional\b",
        r"\bdisrespect\w*",
        r"\b(?:yelled|shouted|laughed) at\b",
        r"\btreated (?:me|us) (?:like|badly|poorly)\b",
        r"\b(?:customer service|staff|agent|support) (?:is|was|were) (?:awful|terrible|useless)\b",
    ),
    "misinformation": (
        r"\bfake (?:news|story|post|claim|screenshot|account|tweet|video|photo|review|quote)s?\b",
        r"\b(?:this|that|it) (?:is|was|'?s) fake\b",
        r"\b(?:that'?s|this is|it'?s) (?:not true|false|a lie)\b",
        r"\brumou?rs?\b",
        r"\bhoax\w*",
        r"\bmisleading\b",
        r"\b(?:mis|dis)information\b",
        r"\bfalse (?:claim|information|report|rumou?r|news|story|advert\w*)s?\b",
        r"\bdebunk\w*",
    ),
}
_FR: dict[str, tuple[str, ...]] = {
    "delay": (
        r"\bretards?\b",
        r"\ben retard\b",
        r"\bretarde(?:e|s|es)?\b",
        r"\btoujours (?:pas (?:recu|livre|arrive)|en attente)\b",
        r"\b(?:pas|jamais) (?:encore )?(?:recu|arrive|livre)e?s?\b",
        r"\bou (?:est|en est) ma\b",
        r"\bca fait \w+ (?:jours|semaines|heures)\b",
    ),
    # not the infinitive: "je veux annuler" is the customer's wish, as a bare "cancel" in English
    "cancellation": (r"\bannul(?:e|ee|es|ees|ation|ations)\b",),
    "refund": (
        r"\brembours\w*",
        r"\bdebite?e?s? (?:deux fois|2 fois|a tort)\b",
        r"\bpreleve?e?s? (?:deux fois|2 fois|a tort)\b",
        r"\bprelevement\w* (?:en double|a tort)\b",
        r"\bfactur\w* (?:deux fois|en double|a tort)\b",
    ),
    "outage": (
        r"\bpannes?\b",
        r"\bplus de (?:reseau|connexion|internet|service|signal|4g|5g)\b",
        r"\b(?:pas|zero|aucun) (?:de )?(?:reseau|connexion|internet|signal)\b",
        r"\bcoupure\w*",
        rf"\b{_SERVICE_FR}s? (?:(?:est|sont|encore|toujours) )*(?:hs|en rade|down)\b",
    ),
    "product_defect": (
        r"\bcasse(?:e|s|es)?\b",
        r"\bdefectueu(?:x|se|ses)\b",
        r"(?<!\bpar )\bdefaut\w*",  # not "par défaut" (by default)
        r"\babime(?:e|s|es)?\b",
        r"\bendommage(?:e|s|es)?\b",
        r"\bne s'allume (?:plus|pas)\b",
    ),
    "rude_service": (
        r"\bimpoli\w*",
        r"\bmal (?:recu|reçu|accueilli|parle)e?s?\b",
        r"\bmeprisant\w*",
        r"\bdesagreable\w*",
        r"\bm'a raccroche\b",
        r"\braccroche au nez\b",
        r"\b(?:m'|nous )ignor(?:e|ent|ez)\b",
        r"\bignore(?:e|s|es)? par\b",
        r"\bignor\w* (?:mes|nos) (?:messages?|mails?|e-?mails?|appels?|demandes?|relances?)\b",
        r"\bmal poli\w*",
    ),
    "misinformation": (
        r"\bc'est faux\b",
        r"\brumeurs?\b",
        r"\bintox\b",
        r"\bfake news\b",
        r"\bfausses? (?:information|nouvelle|rumeur|annonce)s?\b",
        r"\bdesinformation\b",
        r"\btrompeu(?:r|se)\b",
        r"\bcanular\w*",
    ),
}
_POSITIVE = re.compile(
    r"\b(?:thanks?|thank you|kudos|love[ds]?|great|awesome|amazing|excellent|brilliant|best"
    r"|fantastic|wonderful|perfect|smooth|friendly|helpful|impressed|shout ?out|well done"
    r"|merci|bravo|super|genial|excellent(?:e|s)?|parfait\w*|top|adore|aime|ravie?s?"
    r"|impeccable|efficace\w*|sympa\w*)\b"
)
_HANDLE_OR_LINK = re.compile(r"https?://\S+|@[\w.]+")


def _compile(cues: dict[str, tuple[str, ...]]) -> dict[str, re.Pattern[str]]:
    return {theme: re.compile("|".join(patterns)) for theme, patterns in cues.items()}


_CUES = {"en": _compile(_EN), "fr": _compile(_FR)}
_SERVICE = {"en": re.compile(rf"\b{_SERVICE_EN}s?\b"), "fr": re.compile(rf"\b{_SERVICE_FR}s?\b")}
_OUTAGE_CUES = {code: re.compile("|".join(cues)) for code, cues in _OUTAGE_IF_SERVICE.items()}

# The complaint-cue groups of ``bot/complaints.py`` (an incident's top cues) as themes: a hint
# when the mention's own text says too little.
THEME_OF_COMPLAINT: dict[str, str] = {
    "waiting": "delay",
    "duration": "delay",
    "cancelled": "cancellation",
    "unreachable": "rude_service",
    "not_working": "outage",
    "lost": "product_defect",
    "money": "refund",
    "bad_service": "general",
    "sarcasm": "general",
    "repetition": "general",
    "exasperation": "general",
    "gratitude": "praise",
    "praise": "praise",
    "request": "general",
}


def _cleaned(text: str) -> str:
    return fold(_HANDLE_OR_LINK.sub(" ", text)).replace("\u2019", "'")


def theme_counts(text: str, language: str) -> dict[str, int]:
    """How many cues of each theme the text has (themes without any are left out)."""
    cleaned = _cleaned(text)
    codes = ["en"]
    if language.lower().startswith("fr") or language in ("", "und"):
        codes.append("fr")
    counts: dict[str, int] = {}
    for code in codes:
        for theme, pattern in _CUES[code].items():
            found = len(pattern.findall(cleaned))
            if found:
                counts[theme] = counts.get(theme, 0) + found
    outage = _outage_in_context(cleaned, codes)
    if outage:
        counts["outage"] = counts.get("outage", 0) + outage
    return counts


def _outage_in_context(cleaned: str, codes: list[str]) -> int:
    """The cues of ``_OUTAGE_IF_SERVICE`` found, when the text names a service at all."""
    if _OWN_ACCOUNT.search(cleaned):
        return 0
    if not any(_SERVICE[code].search(cleaned) for code in codes):
        return 0
    return sum(len(_OUTAGE_CUES[code].findall(cleaned)) for code in codes)


def about_own_account(text: str) -> bool:
    """The author's own password, login or promo code: no service of the brand's is down."""
    return _OWN_ACCOUNT.search(_cleaned(text)) is not None


def theme_of(text: str, language: str, negative: bool) -> str:
    """The playbook theme of one mention; ``negative`` is the pipeline's verdict on it."""
    if not negative and _POSITIVE.search(_cleaned(text)):
        return "praise"
    counts = theme_counts(text, language)
    if not counts:
        return "general"
    return max(_PRIORITY, key=lambda theme: (counts.get(theme, 0), -_PRIORITY.index(theme)))
