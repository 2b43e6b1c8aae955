"""The French negativity model: vaderSentiment-fr's scores and plain-language signals, weighed,
read the way customer mentions are.

vaderSentiment-fr alone reads negation badly ("rien à redire" is praise). A multinomial logistic
regression over its scores, punctuation, negation, common function and discourse words ("pas",
"encore", "toujours", "enfin") and the plain signals of ``french_signals.py`` (emoji, "mdr",
"nuuul", a sentiment word after a negation, ...) corrects much of that. Words such as "merci" are
left out on purpose: in the political tweets the model learns from they are mostly sarcastic, in a
customer's mention mostly not. Weights in ``bot/data/french_model.json``, trained by
``bench/train_french.py`` on the DEFT 2017 tweets, with cross-validated figures in its output.

Those tweets are not customer mentions, and two of their habits do not carry over:

- Their questions are rhetorical and mostly negative ("Et rien pour le climat ?"); a question to a
  brand is mostly a request. A question or request that names no problem and shows no exasperation
  ("comment on active la messagerie ?") is read without the question evidence they taught (the
  question mark and the interrogative words), and a plain question with the English model's
  weights for a question naming no problem (``question``, ``question_without_problem``), learned on
  customer mentions. "Pourquoi ma facture a encore augmenté ??" keeps the tweets' reading.
- They name few customer problems. The problems a mention names (waiting, cancelled, not working,
  ...: the cue groups of ``complaints.py``, in French phrases below) add the weights the English
  complaint model learned on customer mentions for naming problems at all (``has_problem``) and for
  how many (``problem_cues``), copied into the weights file. Not its weights for each group: those
  say how its English phrases read beside its other English-only features (its "again" cue beside
  the word "again", "so much for" that is often thanks, "refund" in a question), not what the
  French phrases of the group mean; a problem the French phrases name counts the same in any group.
  As in English, the problems found are the mention's reasons, and a problem denied is praise:
  "pas de souci", "aucun problème", "rien à redire" are read without their negation and problem
  word, which the tweets taught as a complaint's (not beside a real problem, nor in a question).

vaderSentiment-fr's lexicon is general French: ``CARE_HOMONYMS`` are words whose customer-care
sense carries no sentiment ("vol" is a flight, not a theft; "frais" are fees, not fresh; a
"dossier ouvert" is pending, not open-minded), which the scorer leaves out of it.
"""

from __future__ import annotations

import json
import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.complaint_model import CLASSES, Chances, CueReasons, Judgement, softmax
from bot.complaints import CueMatcher, clean
from bot.french_signals import SIGNAL_NAMES, signals

MODEL_PATH = Path(__file__).parent / "data" / "french_model.json"
_FUNCTION_WORDS = (
    "je j me mon ma mes tu vous votre vos nous notre on il elle ils ce cette ça c est pas ne plus"
    " jamais rien encore toujours déjà aussi très trop mais car parce que qui quoi pourquoi comment"
    " quand où si bien mal tout tous"
    # discourse and announcement words: how a tweet is put, not what it is about
    " enfin heureusement malheureusement hélas bref même seulement juste non oui bon ah oh bah"
    " voilà quel quelle faut doit devrait contre pour avec sans nouveau nouvelle premier première"
)
FUNCTION_WORDS = tuple(_FUNCTION_WORDS.split())
_FUNCTION_INDEX = {word: index for index, word in enumerate(FUNCTION_WORDS)}
_WORDS = re.compile(r"[a-zàâçéèêëîïôûùüÿœ']+")
_NEGATIONS = frozenset(("ne", "n'", "pas", "jamais", "rien", "aucun", "aucune", "personne"))
_HANDLE_OR_LINK = re.compile(r"https?://\S+|@\w+")
_CAP = 3
# vaderSentiment-fr's lexicon words (accents removed, as it stores them) whose customer-care sense
# is another word with no sentiment: a flight, fees, a baggage allowance or deductible, "activates",
# "d'avance", "deux fois", "prise en charge", a price, a file or a shop "ouvert" (open: still
# pending, or open for business), a "nouvelle" offer (new, not a news item).
CARE_HOMONYMS = (
    "vol", "vols", "frais", "franchise", "active", "avance", "fois", "charge", "prix",
    "ouvert", "ouverte", "ouverts", "ouvertes", "nouveau", "nouvelle", "nouveaux", "nouvelles",
)  # fmt: skip
# What makes a question of a tweet for the model: not evidence in a plain request.
_QUESTION_EVIDENCE = (
    "question",
    "word_pourquoi",
    "word_comment",
    "word_quand",
    "word_où",
    "word_quoi",
)

# since when a problem has lasted: a point in time ("depuis lundi", "depuis le 3"), or days and
# weeks after a state that says it is pending ("en cours depuis 12 jours")
_DEPUIS_WHEN = (
    r"depuis (?:(?:le |ce |cette )?(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|hier"
    r"|matin|soir|week-end|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre"
    r"|novembre|décembre)\b|le \d|la semaine dernière|le mois dernier|\d+ (?:jours|semaines)\b)"
)

# The cue groups of ``complaints.py`` in French: customer care in general, not one industry.
FRENCH_CUE_GROUPS: dict[str, tuple[str, ...]] = {
    "waiting": (
        r"\bretard(?:s|é|ée|és|ées)?\b",
        r"\ben attente\b",
        r"\b(?:j'attends|on attend|j'ai attendu|d'attendre|à attendre)\b",
        r"\battente\b",
        r"\btoujours (?:pas|rien|aucun\w*|en attente)\b",
        r"\bbloqu(?:é|ée|és|ées)\b",
        r"\bcoinc(?:é|ée|és|ées)\b",
        r"\binterminable\w*",
    ),
    "duration": (
        # how long a problem lasts ("3h de panne", "40 min d'attente", "ça fait 5 jours que"), not
        # any duration: "depuis 6 mois, ça tourne nickel" is praise
        r"(?<![\d.,])\b\d+(?:[.,]\d+)?\s*(?:h|heures?|min|minutes?|jours?|semaines?|mois)"
        r" (?:d'attente|de retard|de panne|sans|que|qu'|à attendre)",
        r"\b(?:ça fait|au bout d'|au bout de) ?(?:\d+(?:[.,]\d+)?\s*|une |deux |trois |plusieurs )"
        r"(?:h|heures?|min|minutes?|jours?|semaines?|mois)\b",
        r"\b(?:deux|trois|quatre|cinq|six|plusieurs) (?:heures|jours|semaines|mois)"
        r" (?:d'attente|de retard|de panne|sans|que|qu')",
        # when a problem started: a state, then a point in time ("dossier ouvert depuis le 3
        # janvier", "rien reçu depuis lundi", "en cours depuis 12 jours"), not any time ("depuis 6
        # mois, ça tourne nickel"), a customer's loyalty ("j'utilise l'appli depuis lundi, top") or
        # a problem denied ("aucun souci depuis mars")
        rf"\b(?:ouvert|ouverte|ouverts|ouvertes|en cours)\b[^.,;:!?]{{0,25}}? {_DEPUIS_WHEN}",
        rf"\b(?:rien reçu|rien eu) {_DEPUIS_WHEN}",
        rf"\bn'(?:a|ai|ont|est|sont) (?:pas|plus|rien) \w+ {_DEPUIS_WHEN}",
    ),
    "cancelled": (r"\bannul(?:é|ée|és|ées|ation|ations)\b", r"\bsupprim(?:é|ée|és|ées)\b"),
    "unreachable": (
        r"\bpersonne ne\b",
        r"\baucune? (?:réponse|retour|nouvelles?|information|infos?|explication|aide|contact)\b",
        r"\b(?:pas|sans) (?:de )?(?:réponse|retour|nouvelles|explication)\b",
        r"\binjoignable\w*",
        r"\braccroch\w*",
        r"\bjamais (?:rappel\w*|répondu)\b",
        r"\bignor(?:e|é|ée|ez|ent)\b",
        r"\brépond\w* (?:pas|plus|jamais)\b",
    ),
    "not_working": (
        r"\b(?:marche|fonctionne|capte|charge|démarre|s'allume|s'ouvre)\w* (?:pas|plus|jamais)\b",
        r"\bne (?:marche|fonctionne|capte)\w*",
        r"\bn'(?:arrive|ouvre|accepte|affiche)\w* (?:pas|plus|jamais)\b",
        r"\bpannes?\b",
        r"\bplant(?:e|é|ée|ent|age)\b",
        r"\b(?:bug|beug)(?:ue|gue|ué|s)?\b",
        r"\bcoup(?:é|ée|és|ées|ure|ures)\b",
        r"\bhors service\b",
        r"\bimpossible de\b",
        r"\berreur\b",
        r"\bcass(?:é|ée|és|ées)\b",
        r"\b(?:pas|plus) (?:de |d')?(?:réseau|connexion|internet|signal|service|courant"
        r"|électricité|tonalité)\b",
        r"\bdéfectu\w*",
    ),
    "lost": (
        r"\bperdu\w*",
        r"\bdisparu\w*",
        r"\bintrouvable\w*",
        r"\bendommag\w*",
        r"\babîm\w*",
        r"\b(?:jamais|pas|toujours pas) (?:reçu|arrivé\w*|livré\w*)",
        r"\bmanqu(?:e|ent|ant|ante|ants|antes)\b",
        r"\boù (?:est|sont|en est) (?:mon|ma|mes)\b",
        # the wrong thing delivered: "pas celui que j'ai commandé", "la commande de quelqu'un
        # d'autre", "la mauvaise taille"
        r"\b(?:pas|plus) (?:celui|celle|ce|ceux|celles) (?:que|qu')\s?(?:j'ai|on a|nous avons)"
        r" (?:commandé|réservé|payé|demandé)\w*",
        r"\bde quelqu'un d'autre\b",
        r"\bmauvaise? (?:article|taille|couleur|commande|produit|colis|adresse|modèle|pointure"
        r"|pièce|chambre)\b",
    ),
    "money": (
        # not "frais": "sans frais" (free of charge) is everyday commercial wording
        r"\brembours\w*",
        r"\bfactur(?:é|ée|és|ées)\b",
        r"\bsurfactur\w*",
        r"\bprélev\w*",
        r"\bdébit(?:é|ée|és|ées)\b",
        r"\bdédommag\w*",
        r"\bindemnis\w*",
        r"\bgeste commercial\b",
    ),
    "bad_service": (
        r"\bnul(?:le|s|les)?\b",
        r"\bhont(?:e|eux|euse)\b",
        r"\binadmissible\b",
        r"\binacceptable\b",
        r"\binsupportable\b",
        r"\bscandal\w*",
        r"\blamentable\b",
        r"\bpathétique\b",
        r"\bridicule\b",
        r"\bpénible\b",
        r"\bdéçu\w*",
        r"\bdécevant\w*",
        r"\bdéception\b",
        r"\bmarre\b",
        r"\bras[- ]le[- ]bol\b",
        r"\barnaqu\w*",
        r"\bescroc\w*",
        r"\bvoleurs?\b",
        r"\bincompéten\w*",
        r"\bpire\b",
        r"\bhorrible\b",
        r"\bcatastroph\w*",
        r"\bn'importe quoi\b",
        r"\bvous (?:vous )?moquez\b",
        r"\bplus jamais\b",
        r"\bune blague\b",
        r"\bgalère\w*",
        r"\bénerv\w*",
        r"\bfurieu\w*",
        r"\bplainte\b",
        r"\bréclamation\b",
        r"\b(?:j'en peux plus|jpp)\b",
        r"\bsérieusement\b",
        r"\bça commence à bien faire\b",
    ),
    "sarcasm": (
        r"\bmerci (?:pour|de) rien\b",
        r"\bmerci du cadeau\b",
        r"\b(?:bravo|super|génial),? (?:encore|une fois de plus)\b",
    ),
    "repetition": (
        r"\bencore une fois\b",
        r"\bune fois de plus\b",
        r"\bencore (?:un|une|des)\b",
        r"\bcomme d'hab(?:itude)?\b",
        r"\bà chaque fois\b",
        r"\btous les (?:jours|matins|soirs)\b",
        r"\bénième\b",
        r"\bde nouveau\b",
    ),
    "exasperation": (
        r"\bpourquoi\b",
        r"\bcomment (?:c'est|est-ce|ça se fait|se fait-il)\b",
        r"\bc'est normal\b",
        r"\bc'est quoi (?:ce|cette|le problème)\b",
        r"\bqu'est-ce qui se passe\b",
        r"\bcombien de temps\b",
        r"\bjusqu'à quand\b",
        r"\bvous comptez\b",
        r"\bsérieux\s*\?",
        r"\?\?+",
        r"!!+",
    ),
    "gratitude": (r"\bmerci\b(?! d'avance| par avance)", r"\bremerci\w*", r"\bchapeau\b"),
    "praise": (
        r"\b(?:super|génial|géniale|excellent\w*|parfait\w*|top|adorable|agréable|efficace"
        r"|rapide|sympa|impeccable|formidable|merveilleu\w*|bravo|ravi\w*|satisfait\w*|content\w*)\b",
        # a problem denied is praise ("pas de souci", "rien à redire"), as in English
        r"\b(?:pas de|pas un|aucun|aucune|sans|zéro) (?:souci|soucis|problème|problèmes|hic"
        r"|accroc|réclamation|regrets?)\b",
        r"\brien à (?:redire|reprocher|signaler|dire)\b",
    ),
    "request": (
        r"^\s*(?:bonjour|bonsoir|salut|hello|coucou|bjr|slt)\b",
        r"^\s*(?:est-ce|comment|quel|quelle|quels|quelles|où|quand|combien|peut-on|puis-je"
        r"|y a-t-il|faut-il|avez-vous|vous avez)\b",
        r"\best-ce (?:que|qu')",
        r"\b(?:pouvez|pourriez)-vous\b",
        r"\bpeut-on\b",
        r"\bpuis-je\b",
        r"\by a-t-il\b",
        r"\bs'il (?:vous|te) pla[iî]t\b",
        r"\b(?:svp|stp)\b",
        r"\bmerci (?:d'|par )avance\b",
        r"\bquelqu'un (?:sait|saurait|a|connaît)\b",
        r"\bje (?:voudrais|souhaite|souhaiterais|cherche à)\b",
        r"\bj'aimerais\b",
        r"\bcomment (?:on|je|faire|activer|changer|modifier)\b",
        r"\b(?:en|par) (?:dm|mp)\b",
        r"\bbesoin d'(?:aide|infos?|informations?)\b",
        r"\bpetite question\b",
    ),
}
# Words that deny the cue just after them ("pas de retard", "sans problème", "aucune panne").
FRENCH_NEGATORS = frozenset(("pas", "sans", "aucun", "aucune", "jamais", "ni", "zéro", "non"))
# Words that deny only in a set phrase of praise ("rien à redire"), not a cue after them ("rien ne
# marche" is a complaint)
FRENCH_DENIALS = frozenset(("rien",))
# Words that say a fault is over ("panne réparée", "service rétabli"): see ``complaints.RESOLVED``
FRENCH_RESOLVED = (
    r"\b(?:résolu|résolue|résolus|rétabli|rétablie|rétablis|réparé|réparée|réparés|a repris"
    r"|de retour|fonctionne à nouveau|remarche)\b"
)

Polarity = Callable[[str], Mapping[str, float]]


def feature_names() -> list[str]:
    return [
        "vader_neg", "vader_neu", "vader_pos", "vader_compound", "vader_compound_squared",
        "question", "exclamation", "length", "negations", "hashtags", *SIGNAL_NAMES,
        *(f"word_{word}" for word in FUNCTION_WORDS),
    ]  # fmt: skip


def care_feature_names() -> list[str]:
    """The English complaint model's features that ``read_care`` measures in French, in the same
    sense: how many problems a mention names, and whether it names any; and a question that names
    none (with its plain "question" weight, the pair the English model has for it)."""
    return ["problem_cues", "has_problem", "question", "question_without_problem"]


def features(
    text: str, polarity: Polarity, lexicon: Mapping[str, float]
) -> tuple[list[float], float]:
    """The feature vector of ``text`` and vaderSentiment-fr's compound; ``lexicon`` is the one
    ``polarity`` reads."""
    cleaned = _HANDLE_OR_LINK.sub(" ", text)
    vader = polarity(cleaned)
    compound = float(vader["compound"])
    words = [0.0] * len(FUNCTION_WORDS)
    negations = 0
    found = _WORDS.findall(cleaned.lower())
    for word, count in Counter(found).items():
        index = _FUNCTION_INDEX.get(word)
        if index is not None:
            words[index] = 2.0 if count > 1 else 1.0
        if word in _NEGATIONS or word.startswith("n'"):
            negations += count
    vector = [
        float(vader["neg"]), float(vader["neu"]), float(vader["pos"]), compound, compound**2,
        float("?" in text), float("!" in text), min(len(cleaned), 560) / 140,
        float(min(negations, _CAP)), min(text.count("#"), _CAP) / _CAP,
        *signals(text, found, lexicon), *words,
    ]  # fmt: skip
    return vector, compound


@dataclass(frozen=True, slots=True)
class CareReading:
    """A French mention in customer-care terms."""

    problems: tuple[float, ...]  # the care features, in ``care_feature_names`` order
    plain_request: bool  # a question or request naming no problem, showing no exasperation
    # with sarcasm or a problem denied, the text without it ("merci pour rien" is no thanks, "pas
    # de souci" no complaint)
    literal: str | None
    examples: tuple[str, ...] = ()  # the first phrase found per cue group ("" when none)
    complains: bool = False  # a problem or sarcasm cue: the words say something negative


def french_cues() -> CueMatcher:
    return CueMatcher(
        phrases=FRENCH_CUE_GROUPS,
        negators=FRENCH_NEGATORS,
        denials=FRENCH_DENIALS,
        resolved=FRENCH_RESOLVED,
    )


def read_care(text: str, matcher: CueMatcher) -> CareReading:
    """The problems ``text`` names, counted as the English model counts them, and whether it is a
    plain request."""
    cleaned = clean(text)
    hits = matcher.find(cleaned)
    counts = [min(count, _CAP) for count in hits.counts]
    problems = float(sum(counts[index] for index in matcher.problem_indices))
    groups = matcher.groups
    asking = "?" in text or counts[groups.index("request")] > 0
    plain = asking and not problems and not counts[groups.index("exasperation")]
    # without the sarcastic phrases, and without a denied problem that is praise ("pas de souci"):
    # its negation and its problem word are no complaint's
    literal = hits.literal if hits.literal != cleaned else None
    complains = problems > 0 or counts[groups.index("sarcasm")] > 0
    # a plain question: read with the English weights of a question naming no problem, in place
    # of the tweets' question evidence (``FrenchModel.chances``)
    question = float(plain and "?" in text)
    care = (min(problems, 5.0), float(problems > 0), question, question)
    return CareReading(care, plain, literal, hits.examples, complains)


class FrenchModel:
    def __init__(
        self,
        polarity: Polarity,
        lexicon: Mapping[str, float],
        weights: Mapping[str, Any] | None = None,
    ) -> None:
        """``polarity``: vaderSentiment-fr's scores; ``lexicon``: the lexicon they come from."""
        self.polarity = polarity
        self.lexicon = lexicon
        data = weights if weights is not None else json.loads(MODEL_PATH.read_text("utf-8"))
        if list(data["features"]) != feature_names() or tuple(data["classes"]) != CLASSES:
            raise ValueError("French model weights do not match the features; retrain")
        if list(data["care"]["features"]) != care_feature_names():
            raise ValueError("French model care weights do not match the cue groups; retrain")
        self.coefficients = [list(map(float, row)) for row in data["coefficients"]]
        self.intercepts = list(map(float, data["intercepts"]))
        self.care = [list(map(float, row)) for row in data["care"]["coefficients"]]
        self.cues = french_cues()
        self._reasons = CueReasons(self.cues.groups)
        names = feature_names()
        self._question_evidence = frozenset(names.index(name) for name in _QUESTION_EVIDENCE)

    def has_evidence(self, text: str) -> bool:
        """Whether the words of ``text`` say anything: a problem or sarcasm cue ("toujours pas
        remboursé"), or a vaderSentiment-fr score. A greeting or a "pourquoi" says nothing an
        emoji should give way to ("Bonjour @Kestrel 😡😡" is angry): the French model has no
        emoji feature, so the emoji decides then."""
        if read_care(text, self.cues).complains:
            return True
        return float(self.polarity(_HANDLE_OR_LINK.sub(" ", text))["compound"]) != 0

    def judge(self, text: str) -> Judgement:
        chances, compound, reasons = self.chances(text)
        return Judgement(dict(zip(CLASSES, chances, strict=True)), compound, reasons)

    def chances(self, text: str) -> tuple[Chances, float, tuple[str, ...]]:
        """``judge`` without building a Judgement: the class probabilities, compound, reasons."""
        care = read_care(text, self.cues)
        # as in English, the words are weighed without the sarcastic phrases
        vector, compound = features(
            text if care.literal is None else care.literal, self.polarity, self.lexicon
        )
        if care.plain_request:
            vector = [0.0 if i in self._question_evidence else x for i, x in enumerate(vector)]
        # most features (the words) are 0 in any one mention: weigh only the others
        present = [(i, x) for i, x in enumerate(vector) if x]
        logits = [
            intercept + sum(row[i] * x for i, x in present)
            for row, intercept in zip(self.coefficients, self.intercepts, strict=True)
        ]
        if care.problems[1] or care.problems[2]:  # a problem or a plain question: else all 0
            logits = [
                logit + sum(map(operator.mul, row, care.problems))
                for logit, row in zip(logits, self.care, strict=True)
            ]
        return softmax(logits), compound, self._reasons(care.examples)
