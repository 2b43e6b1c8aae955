"""What a language model's reply may not say, on top of the checks every draft passes.

A model copies what it reads and says what it should not: a link or another account from the
post (spam, a competitor), the author's phone number or e-mail address repeated in public, a
refund or a time nobody promised, a sentence in another language. Staff write their own words
and are not held to these rules; a model's variant that breaks one is dropped, and
:mod:`bot.drafts.generator` logs the rule. The rules are fixed word lists and patterns, so a
comms team can tell in advance what is dropped:

- links: only the playbook's ``contact`` and ``status_page``;
- handles: only the author's, exactly as the post gives it (on Mastodon "@user@host"), the
  brand's own accounts, and any the playbook's contact names;
- personal data: no phone number (9 digits or more, 8 after "+") or e-mail address other than
  the playbook's contact;
- promises and liability: :data:`PROMISES`;
- language: every sentence of :data:`SENTENCE_WORDS` words or more reads as the draft's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.accounts import is_own
from bot.config.playbook import Playbook
from bot.drafts.addressing import handle_of
from bot.drafts.compose import other_language

SENTENCE_WORDS = 4  # shorter sentences ("Merci !", a greeting) are too short to tell
_TRAILING = ".,;:!?…)]'\"»”"
_LINK = re.compile(
    r"(?<![\w@./-])(?:(?:https?://|www\.)\S+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
    r"(?![\w@-])(?:/\S*)?)",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@/.])@(\w(?:[\w.-]*\w)?(?:@\w[\w-]*(?:\.[\w-]+)+)?)|\bu/(\w[\w-]*)")
_EMAIL = re.compile(r"(?<![\w@.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d[\d\s().-]{6,}\d(?!\w)")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_TIME = (
    r"(?:\d{1,2}(?:\s*[:h.]\s*\d{2}|\s*h\b|\s*heures?\b|\s*(?:am|pm|a\.m\.|p\.m\.))"
    r"|noon|midnight|tonight|today|tomorrow|(?:the )?end of (?:the )?(?:day|week)|eod"
    r"|midi|minuit|ce soir|demain|(?:la )?fin de (?:la )?(?:journée|semaine))"
)
_DURATION = r"\d+\s*(?:minutes?|min|hours?|heures?|h|days?|jours?)\b"
# promises of money, outcomes or times, and admissions: a person decides those, not a model
PROMISES = (
    r"refund\w*",
    r"compens\w*",
    r"guarant\w*",
    r"eta",
    r"on us",
    r"our fault",
    rf"by {_TIME}",
    rf"within {_DURATION}",
    r"rembours\w*",
    r"d[ée]dommag\w*",
    r"indemni\w*",
    r"garanti\w*",
    r"notre faute",
    rf"d'ici (?:à )?{_TIME}",
    rf"sous {_DURATION}",
)
_PROMISE = re.compile(rf"(?<!\w)(?:{'|'.join(PROMISES)})(?!\w)", re.IGNORECASE)


def _link(found: str) -> str:
    """A link as compared: no scheme, "www.", trailing slash or punctuation, lower case."""
    link = re.sub(r"^(?:https?://)?(?:www\.)?", "", found.rstrip(_TRAILING).lower())
    return link.rstrip("/")


def _digits(found: str) -> str:
    return re.sub(r"\D", "", found)


def _phones(text: str) -> list[str]:
    """The phone numbers in ``text``, as digits only."""
    numbers = []
    for match in _PHONE.finditer(text):
        digits = _digits(match.group())
        if len(digits) >= (8 if match.group().startswith("+") else 9):
            numbers.append(digits)
    return numbers


def redacted(text: str) -> str:
    """``text`` without the e-mail addresses and phone numbers in it, for a log line."""
    text = _EMAIL.sub("[e-mail]", text)
    return _PHONE.sub(lambda m: "[phone]" if _phones(m.group()) else m.group(), text)


@dataclass(frozen=True)
class Screen:
    """The rules for one mention's variants (see the module's doc)."""

    author: str
    language: str
    links: frozenset[str]
    handles: frozenset[str]
    own: frozenset[str]
    emails: frozenset[str]
    phones: frozenset[str]
    sign_off: str = ""
    detect_language: Callable[[str], str] | None = None

    @classmethod
    def of(
        cls,
        playbook: Playbook,
        *,
        author: str,
        language: str,
        own: frozenset[str] = frozenset(),
        detect_language: Callable[[str], str] | None = None,
    ) -> Screen:
        ours = " ".join([playbook.contact, playbook.status_page or ""])
        return cls(
            author=handle_of(author).lower(),
            language=language,
            links=frozenset(_link(m.group()) for m in _LINK.finditer(ours)),
            handles=frozenset(handle for _, handle in _handles(ours)),
            own=own,
            emails=frozenset(m.group().lower() for m in _EMAIL.finditer(ours)),
            phones=frozenset(_phones(ours)),
            sign_off=playbook.sign_off_in(language),
            detect_language=detect_language,
        )

    def problems(self, text: str) -> list[str]:
        """Why a model's ``text`` cannot be a draft, rule by rule; [] when it can."""
        rules = (self._links, self._handles, self._personal, self._promises, self._sentences)
        return [problem for rule in rules for problem in rule(text)]

    def _links(self, text: str) -> list[str]:
        found = dict.fromkeys(m.group().rstrip(_TRAILING) for m in _LINK.finditer(text))
        return [
            f"links to {link}, not the playbook's contact or status page"
            for link in found
            if _link(link) not in self.links
        ]

    def _handles(self, text: str) -> list[str]:
        problems = []
        for shown, handle in dict.fromkeys(_handles(text)):
            if handle in {self.author, *self.handles} or is_own(handle, self.own):
                continue
            if handle == self.author.partition("@")[0]:
                problems.append(f"names {shown}, not the author's full handle @{self.author}")
            else:
                problems.append(f"names {shown}, not the author or the brand")
        return problems

    def _personal(self, text: str) -> list[str]:
        problems = []
        if any(m.group().lower() not in self.emails for m in _EMAIL.finditer(text)):
            problems.append("contains an e-mail address")
        if any(number not in self.phones for number in _phones(text)):
            problems.append("contains a phone number")
        return problems

    def _promises(self, text: str) -> list[str]:
        typed = text.replace("\u2019", "'")  # a typographic apostrophe reads as one
        said = dict.fromkeys(m.group().lower() for m in _PROMISE.finditer(typed))
        quoted = ", ".join(f"“{words}”" for words in said)
        return [f"promises or admits too much: {quoted}"] if said else []

    def _sentences(self, text: str) -> list[str]:
        detect = self.detect_language
        if detect is None or other_language(text, self.language, detect):
            return []  # compose.check says the whole text is in another language
        if self.sign_off:
            text = text.replace(self.sign_off, "\n")
        problems = []
        for sentence in _SENTENCE.split(text):
            if len(sentence.split()) < SENTENCE_WORDS:
                continue
            found = other_language(sentence, self.language, detect)
            if found:
                problems.append(f"has a sentence in {found}, not {self.language}: “{sentence}”")
        return problems


def _handles(text: str) -> list[tuple[str, str]]:
    """The handles ``text`` names ("@ana", "@ana@host", "u/ana"): as written, and as compared
    (without the prefix, in lower case)."""
    return [(m.group(), (m.group(1) or m.group(2)).lower()) for m in _HANDLE.finditer(text)]
