"""Reply drafts composed from a brand's playbook, in the mention's language, within a limit.

One mention gives one draft per variant of its theme (``VARIANTS`` in ``templates.py``):
complaints get ``apologetic``, ``informative`` and ``dm`` (take it to private messages),
misinformation ``informative`` and ``dm``, praise ``thanks`` and ``pass_on``; a crisis gets a
holding ``statement``. Every draft fits the platform's limit and holds no banned phrase; a
variant that cannot is left out, with the reason in :class:`Composed`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.config.playbook import Playbook
from bot.drafts.addressing import addressee_of, as_published
from bot.drafts.limits import Limit, fit
from bot.drafts.specifics import Specifics, specifics_of
from bot.drafts.templates import (
    ANONYMOUS_GREETINGS,
    DEFAULTS,
    GREETINGS,
    ISSUES,
    LANGUAGE_NAMES,
    MASTODON_GREETINGS,
    REFERENCE_NOUNS,
    STATEMENTS,
    VARIANTS,
    Segment,
    filled,
    formal_english,
    french_spacing,
    parse,
    render,
)
from bot.drafts.themes import THEMES, about_own_account, theme_of
from bot.text import fold

if TYPE_CHECKING:
    from bot.model import LanguageGuess

logger = logging.getLogger(__name__)

# What no draft may say, whatever the brand: clichés that read as a brush-off, telling an upset
# customer to calm down, and admissions or guarantees that only the legal team may give.
BUILT_IN_BANNED = (
    "apologize for any inconvenience",
    "apologise for any inconvenience",
    "sorry for any inconvenience",
    "your call is important to us",
    "calm down",
    "we are liable",
    "we accept liability",
    "we guarantee",
    "la gêne occasionnée",
    "calmez-vous",
    "nous reconnaissons notre responsabilité",
    "nous garantissons",
)
MIN_DETECTABLE = 20  # shorter texts are not checked for their language: too few words to tell
_HANDLE_OR_LINK = re.compile(r"https?://\S+|(?<!\w)[@#][\w.@-]+|\bu/\w+")
_PLACEHOLDER = re.compile(r"\{\w*\}")
# a stand-in a language model left: "[Your name]", "[link]",
# "[]"; a footnote or a number ("[1]", "[2 h]") and a markdown link ("[status](https://…)",
# which Reddit shows as a link) are left alone
_BRACKETED = re.compile(r"\[[^\[\]\n\d]{0,40}\](?!\()")


@dataclass(frozen=True)
class DraftText:
    variant: str
    language: str
    theme: str
    text: str
    notes: tuple[str, ...] = ()  # what a reviewer should know: a fallback language, a cut


@dataclass(frozen=True)
class LeftOut:
    """A variant that could not be made valid, and why."""

    variant: str
    language: str
    theme: str
    reason: str


@dataclass(frozen=True)
class Composed:
    drafts: tuple[DraftText, ...]
    left_out: tuple[LeftOut, ...] = ()


class DraftError(ValueError):
    """A draft that cannot be made to fit or to avoid the banned phrases."""


class _Detector(Protocol):
    def detect(self, text: str, preferred: Sequence[str] = ()) -> LanguageGuess: ...


def detect_with(detector: _Detector, preferred: Sequence[str] = ()) -> Callable[[str], str]:
    """``check``'s ``detect_language`` from a ``bot.language.LanguageDetector``."""
    return lambda text: detector.detect(text, preferred).code


def banned_phrases(playbook: Playbook) -> tuple[str, ...]:
    """The built-in banned phrases and the brand's own."""
    return tuple(dict.fromkeys([*BUILT_IN_BANNED, *playbook.banned_phrases]))


def _normal(text: str) -> str:
    return " ".join(fold(text.replace("\u2019", "'")).split())


def _banned_in(text: str, banned: Sequence[str]) -> list[str]:
    normal = _normal(text)
    return [
        phrase
        for phrase in banned
        if phrase.strip()
        and re.search(rf"(?<!\w){re.escape(_normal(phrase))}(?!\w)", normal) is not None
    ]


def _base(code: str) -> str:
    return re.split(r"[-_]", code.strip().lower())[0]


def _name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _length_problems(text: str, limit: Limit, author: str) -> list[str]:
    """Why the text as published does not fit, naming the author's handle when Vigie adds it."""
    published = as_published(text, limit.platform, author)
    problems = limit.problems(published)
    if published == text:
        return problems
    added = published[: len(published) - len(text)].strip()
    return [
        f"{problem}, counting the “{added}” put in front to notify the author"
        for problem in problems
    ]


def check(
    text: str,
    *,
    limit: Limit,
    language: str,
    banned: Sequence[str],
    author: str = "",
    detect_language: Callable[[str], str] | None = None,
) -> list[str]:
    """What is wrong with a draft, in words a reviewer reads; [] when nothing is. Its length
    is that of the text as published in reply to ``author`` (:func:`as_published`)."""
    if not text.strip():
        return ["is empty"]
    problems = _length_problems(text, limit, author)
    problems += [f"contains the banned phrase “{phrase}”" for phrase in _banned_in(text, banned)]
    problems += [f"still has the placeholder {name}" for name in _PLACEHOLDER.findall(text)]
    if detect_language is not None:
        found = other_language(text, language, detect_language)
        if found:
            problems.append(f"is in {found}, not {_base(language)}")
    return problems


def stand_ins(text: str) -> list[str]:
    """A language model's stand-ins left in its text ("[Your name]", "[]"): problems for a
    generated variant, which one click would publish (a person's own brackets, "[EN]", "[sic]",
    are theirs)."""
    return [f"still has the stand-in {name}" for name in _BRACKETED.findall(text)]


def other_language(text: str, language: str, detect_language: Callable[[str], str]) -> str:
    """The language ``text`` reads as when it is not ``language`` (a base code such as "en");
    "" when it is, or when its prose (handles and links aside) is too short to tell."""
    prose = " ".join(_HANDLE_OR_LINK.sub(" ", text).split())
    if len(prose) <= MIN_DETECTABLE:
        return ""
    found = _base(detect_language(prose))
    return "" if found in ("", "und", _base(language)) else found


def _reference(specifics: Specifics, language: str) -> str:
    if not specifics.order:
        return ""
    noun = REFERENCE_NOUNS.get(language, {}).get(specifics.order_kind, "")
    return f"{noun} {specifics.order}" if noun else specifics.order


def _greeting(playbook: Playbook, language: str, addressee: str, platform: str) -> str:
    if not addressee:
        return ANONYMOUS_GREETINGS.get(language, {}).get(playbook.tone, "")
    greetings = MASTODON_GREETINGS if platform == "mastodon" else GREETINGS
    greeting = greetings.get(language, {}).get(playbook.tone, "{author}")
    return greeting.replace("{author}", addressee)


def _values(
    playbook: Playbook,
    brand_name: str,
    *,
    language: str,
    author: str,
    specifics: Specifics,
    platform: str,
) -> dict[str, str]:
    addressee = addressee_of(author, platform)
    return {
        "greeting": _greeting(playbook, language, addressee, platform),
        "author": addressee,
        "brand": brand_name,
        "order": _reference(specifics, language),
        "flight": specifics.flight,
        "product": specifics.product,
        "contact": playbook.contact,
        "status_page": playbook.status_page or "",
        "sign_off": playbook.sign_off_in(language),
    }


def _in_tone(built_in: str, language: str, tone: str) -> str:
    """A built-in template in the playbook's tone (the brand's own are taken as written)."""
    return formal_english(built_in) if language == "en" and tone == "formal" else built_in


def _typeset(template: str, language: str) -> str:
    """Any template with its language's spacing: French spaces before ? ! ; and :."""
    return french_spacing(template) if language == "fr" else template


def _template(
    playbook: Playbook, theme: str, variant: str, wanted: str
) -> tuple[str, str, tuple[str, ...]] | None:
    """(language, template, notes): the mention's language, else the default, else English."""
    for language in dict.fromkeys([wanted, playbook.default_language, "en"]):
        template = playbook.templates.get(theme, {}).get(language, {}).get(variant)
        if template is None:
            template = DEFAULTS.get(language, {}).get(theme, {}).get(variant)
            if template is not None:
                template = _in_tone(template, language, playbook.tone)
        if template is None:
            continue
        template = _typeset(template, language)
        if language == wanted:
            return language, template, ()
        if wanted in ("", "und"):
            return language, template, (f"language unknown: drafted in {_name(language)}",)
        note = f"no {_name(wanted)} template for '{theme}': drafted in {_name(language)}"
        return language, template, (note,)
    return None


def _described(limits: Sequence[Limit]) -> str:
    """'X's 280 weighted characters, Bluesky's 300 graphemes and Reddit's 10,000 characters'."""
    names = [limit.describe() for limit in limits]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _shaped(
    segments: tuple[Segment, ...], values: dict[str, str], limits: Sequence[Limit]
) -> tuple[str, tuple[str, ...]]:
    """The filled template within every one of ``limits`` (a reply has one; a statement one
    per platform it may be pasted on): sign-off dropped first, then optional segments from the
    last, then words cut by :func:`fit` ("" when even that fails). The text is as published on
    the first limit's platform."""
    kept = list(filled(segments, values))
    addressee = values.get("author", "")

    def text_of(parts: list[Segment]) -> str:
        return as_published(render(tuple(parts), values), limits[0].platform, addressee)

    def too_long(text: str) -> list[Limit]:
        return [limit for limit in limits if not limit.fits(text)]

    text = text_of(kept)
    binding = too_long(text)  # the limits the notes name
    optional = [index for index in reversed(range(len(kept))) if kept[index].optional]
    signs = [index for index in optional if "sign_off" in kept[index].names]
    droppable = signs + [index for index in optional if index not in signs]
    notes: list[str] = []
    dropped: list[Segment] = []
    while too_long(text) and droppable:
        dropped.append(kept[droppable.pop(0)])
        gone = (
            set(range(len(kept)))
            - set(droppable)
            - {index for index, segment in enumerate(kept) if not segment.optional}
        )
        text = text_of([segment for index, segment in enumerate(kept) if index not in gone])
    if any("sign_off" in segment.names for segment in dropped):
        notes.append(f"dropped the sign-off to fit {_described(binding)}")
    others = sum("sign_off" not in segment.names for segment in dropped)
    if others:
        notes.append(f"left out {others} optional part(s) to fit {_described(binding)}")
    cut = False
    while text and too_long(text):  # each cut is shorter, so this ends
        text = fit(text, too_long(text)[0])
        cut = True
    if cut and text:
        notes.append(f"shortened to fit {_described(binding)}")
    return text, tuple(notes)


def theme_for(text: str, language: str, negative: bool, hint: str | None) -> str:
    """The mention's own theme; the incident's ``hint`` only for a complaint whose text says
    too little to tell ("2 hours. two. hours."). A question about one's password in an outage
    is still about the password, and a neutral remark calls for no apology for the outage."""
    own = theme_of(text, language, negative)
    if own != "general" or not hint or not negative or about_own_account(text):
        return own
    return hint


def compose(
    playbook: Playbook,
    brand_name: str,
    *,
    text: str,
    author: str,
    language: str,
    limit: Limit,
    theme: str | None = None,
    negative: bool = True,
    hint: str | None = None,
) -> Composed:
    """Every variant of the mention's theme, and those left out with the reason. ``theme``
    imposes one; ``hint`` (an incident's) is only taken up as :func:`theme_for` says."""
    for given in (theme, hint):
        if given is not None and given not in THEMES:
            raise ValueError(f"unknown theme {given!r}; known: {', '.join(THEMES)}")
    theme = theme or theme_for(text, language, negative, hint)
    specifics = specifics_of(text, playbook.products)
    wanted = _base(language)
    banned = banned_phrases(playbook)
    drafts: list[DraftText] = []
    left_out: list[LeftOut] = []
    for variant in VARIANTS[theme]:
        if variant == "apologetic" and theme == "general" and not negative:
            continue  # a question or a neutral remark calls for no apology
        chosen = _template(playbook, theme, variant, wanted)
        if chosen is None:
            continue
        draft_language, template, notes = chosen
        values = _values(
            playbook,
            brand_name,
            language=draft_language,
            author=author,
            specifics=specifics,
            platform=limit.platform,
        )
        body, shaping = _shaped(parse(template), values, [limit])
        problems = check(body, limit=limit, language=draft_language, banned=banned)
        if not body:
            problems = [f"does not fit {limit.describe()} even shortened"]
        if problems:
            left_out.append(LeftOut(variant, draft_language, theme, "; ".join(problems)))
        else:
            drafts.append(DraftText(variant, draft_language, theme, body, notes + shaping))
    return Composed(tuple(drafts), tuple(left_out))


def compose_replies(
    playbook: Playbook,
    brand_name: str,
    *,
    text: str,
    author: str,
    language: str,
    limit: Limit,
    theme: str | None = None,
    negative: bool = True,
    hint: str | None = None,
) -> list[DraftText]:
    """The reply drafts of :func:`compose`; variants left out are logged."""
    composed = compose(
        playbook,
        brand_name,
        text=text,
        author=author,
        language=language,
        limit=limit,
        theme=theme,
        negative=negative,
        hint=hint,
    )
    for item in composed.left_out:
        logger.info(
            "%s: draft %s/%s (%s) left out: %s",
            brand_name,
            item.theme,
            item.variant,
            item.language,
            item.reason,
        )
    return list(composed.drafts)


def compose_statement(
    playbook: Playbook,
    brand_name: str,
    *,
    language: str,
    theme: str,
    limit: Limit | Sequence[Limit],
) -> DraftText:
    """A public holding statement for a crisis about ``theme``, within ``limit`` or every one
    of several (each platform it may be pasted on); :class:`DraftError` when the brand's
    template cannot be made valid."""
    limits = [limit] if isinstance(limit, Limit) else list(limit)
    if not limits:
        raise ValueError("a holding statement needs at least one length limit")
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
    notes: list[str] = []
    issue_theme = theme if theme in ISSUES["en"] else "general"
    if issue_theme != theme:
        notes.append(f"no holding statement for '{theme}': worded as a general problem")
    wanted = _base(language)
    for draft_language in dict.fromkeys([wanted, playbook.default_language, "en"]):
        template = playbook.statement.get(draft_language)
        if template is None and draft_language in STATEMENTS:
            template = _in_tone(STATEMENTS[draft_language], draft_language, playbook.tone)
        if template is not None:
            break
    assert template is not None  # English is built in
    template = _typeset(template, draft_language)
    if draft_language != wanted:
        notes.append(f"no {_name(wanted)} statement: drafted in {_name(draft_language)}")
    values = {
        "brand": brand_name,
        "issue": ISSUES.get(draft_language, {}).get(issue_theme, ""),
        "contact": playbook.contact,
        "status_page": playbook.status_page or "",
        "sign_off": playbook.sign_off_in(draft_language),
    }
    text, shaping = _shaped(parse(template), values, limits)
    banned = banned_phrases(playbook)
    problems = check(text, limit=limits[0], language=draft_language, banned=banned)
    problems += [problem for other in limits[1:] for problem in other.problems(text)]
    if not text:
        problems = [f"does not fit {_described(limits)} even shortened"]
    if problems:
        raise DraftError(f"the {draft_language} holding statement " + "; ".join(problems))
    return DraftText("statement", draft_language, theme, text, (*notes, *shaping))
