"""Customer-care cues: the complaint patterns plain VADER misses, in readable named groups.

"Flight delayed 3 hours, no info from staff" has no negative word for VADER, yet every comms team
reads it as a complaint. Each group below is a list of regular expressions over lower-cased text
with @handles and links removed; the complaint model (``complaint_model.py``) weighs how many of
each group a mention has. Groups are about customer care in general, not one industry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from bot.text import is_word_char

CUE_GROUPS: dict[str, tuple[str, ...]] = {
    "waiting": (
        r"\bdelay(?:ed|s|ing)?\b",
        r"\blate(?:r)?\b",
        r"\btaking forever\b",
        r"\bstill (?:waiting|on hold|no|not|nothing|haven'?t|hasn'?t|can'?t|cannot|don'?t"
        r"|didn'?t)\b",
        r"\b(?:been|keep|kept) (?:waiting|trying|calling)\b",
        r"\bon hold\b",
        r"\bwait(?:ing|ed)?\b",
        r"\bstuck\b",
        r"\bstranded\b",
    ),
    "duration": (
        # "3 hours" of waiting, but not "sorted in 10 min": speed is praise
        r"(?=\d)(?<!in )(?<!within )(?<!under )(?<!only )(?<!just )"
        r"\b\d+\s*\+?\s*(?:hours?|hrs?|minutes?|mins?|days?|weeks?|months?)\b",
        r"\b(?:two|three|four|five|six|several|many) (?:hours|days|weeks)\b",
    ),
    "cancelled": (r"\bcancel+(?:ed|led|ing|lation|lations|s)?\b",),
    "unreachable": (
        r"\bno (?:response|reply|answer|one|help|info|information|updates?|call ?back|email"
        r"|communication|explanation|notice|apology)\b",
        r"\bnobody\b",
        r"\bnever (?:heard|answered|responded|replied|got|received|arrived|came|showed)\b",
        r"\bhung up\b",
        r"\bcan'?t (?:get|reach) (?:through|anyone|a)\b",
        r"\bignor(?:e|ed|ing)\b",
        r"\bunanswered\b",
    ),
    "not_working": (
        r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|will not|can'?t|cannot|couldn'?t|isn'?t"
        r"|is not|aren'?t|not|wasn'?t|never) (?:work|load|help|respond|answer|care|fix|open"
        r"|connect|let)\w*",
        r"\bbroken\b",
        r"\bbroke\b",
        r"\bcrash(?:ed|es|ing)?\b",
        r"\berror\b",
        r"\bglitch\w*",
        r"\bbug(?:gy|s)?\b",
        r"\boutage\b",
        r"\bdown\b",
        r"\bfail(?:ed|s|ing|ure)?\b",
    ),
    "lost": (
        r"\blost\b",
        r"\bmissing\b",
        r"\bdamaged\b",
        r"\bwhere(?: is|'?s) my\b",
    ),
    "money": (
        r"\brefund\w*",
        r"\bcharg(?:ed|ing|es)\b",
        r"\bovercharg\w*",
        r"\bdouble[- ]charg\w*",
        r"\bfees?\b",
        r"\bcompensat\w*",
        r"\bvoucher\b",
        r"\bmoney back\b",
        r"\bpay(?:ing)? (?:for|extra)\b",
    ),
    "bad_service": (
        r"\brude\b",
        r"\bunhelpful\b",
        r"\bunprofessional\b",
        r"\bincompeten\w*",
        r"\buseless\b",
        r"\bpathetic\b",
        r"\bjoke\b",
        r"\bclueless\b",
        r"\bworst\b",
        r"\bterrible\b",
        r"\bawful\b",
        r"\bhorrible\b",
        r"\bridiculous\b",
        r"\bunacceptable\b",
        r"\bdisappoint\w*",
        r"\bfrustrat\w*",
        r"\bannoy\w*",
        r"\bcomplain\w*",
        r"\bnever again\b",
        r"\bdisgust\w*",
        r"\bembarrass\w*",
        r"\bshame(?:ful)?\b",
        r"\bmess\b",
        r"\bnightmare\b",
        r"\bsmh\b",
        r"\bwtf\b",
        r"\bugh+\b",
        r"\bseriously\b",
    ),
    "sarcasm": (
        r"\bthanks? (?:a lot |so much |again )?for (?:nothing|ruining|wasting|losing|leaving"
        r"|making|ignoring|the (?:delay|wait|runaround))\b",
        r"\bgreat job\b.*\b(?:not|no|never|delay|cancel|lost|wait)",
        r"(?<!thank you )(?<!thanks )\bso much for\b",  # not "thank you so much for"
        r"\bjust (?:great|perfect|wonderful|lovely)\b",
        r"\b(?:great|fantastic|wonderful),? (?:another|now|just)\b",
    ),
    "repetition": (
        r"\bclassic\b",
        r"\bas usual\b",
        r"\bof course\b",
        r"\byet again\b",
        r"\bagain\b",
        r"\bevery (?:time|single time)\b",
        r"\balways\b",
    ),
    "exasperation": (
        r"\bwhy\b",
        r"\bhow (?:come|is it|can|long)\b",
        r"\bwhat'?s (?:going on|the (?:deal|problem|holdup))\b",
        r"\bwhat happened\b",
        r"\?\?+",
        r"!!+",
    ),
    "gratitude": (
        r"\bthank(?:s| you|ful)\b",
        r"\bappreciat\w*",
        r"\bkudos\b",
        r"\bshout ?out\b",
        r"\bcheers\b",
    ),
    "praise": (
        r"\b(?:great|awesome|amazing|excellent|best|love|loved|lovely|fantastic|wonderful"
        r"|perfect|smooth|friendly|helpful|nice|fun|good)\b",
    ),
    "request": (
        r"^\s*(?:can|could|how|what|when|where|is|are|do|does|will|would|which|who|any)\b",
        r"\bplease\b",
        r"\bpl[sz]\b",
        r"\bdm\b",
        r"\bfollow\b",
        r"\bhelp me\b",
        r"\bany (?:way|chance|update|info)\b",
        r"\bi need\b",
        r"\bhow (?:do|can) i\b",
    ),
}
# Groups that describe a problem; together they say "this is a complaint".
PROBLEM_GROUPS = (
    "waiting", "duration", "cancelled", "unreachable", "not_working", "lost", "money",
    "bad_service", "sarcasm", "repetition",
)  # fmt: skip
# Emoji that carry a verdict on their own; VADER reads few of them.
NEGATIVE_EMOJI = frozenset("😡🤬😠👎💩😤😞😢😭🙄😒😩😫🤦💔😾☹🙁😣😖")
POSITIVE_EMOJI = frozenset("👍❤😍🙏😊🥰👏🎉💯😀😃😄😁🙌💙💚💜🤩☺🙂✨")

_HANDLE_OR_LINK = re.compile(r"https?://\S+|@\w+")


def clean(text: str) -> str:
    """Lower-cased text without @handles and links, which carry no sentiment."""
    return _HANDLE_OR_LINK.sub(" ", text).lower()


_QUANTIFIERS = "?*{"
_METACHARACTERS = "\\()[]{}?*+|.^$"


_LOOKBEHIND = re.compile(r"^\(\?<[!=][^)]*\)")


def _literal_prefix(body: str) -> str:
    """The text every match of ``body`` starts with ("" when none can be read off)."""
    prefix = ""
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and not body[index + 1].isalnum():
            char, index = body[index + 1], index + 1  # an escaped symbol is itself: '\\?'
        elif char in _METACHARACTERS:
            # 'late(?:r)?' starts with 'late', but 'colou?r' only with 'colo'
            return prefix[:-1] if char in _QUANTIFIERS and prefix else prefix
        following = body[index + 1] if index + 1 < len(body) else ""
        if following in _QUANTIFIERS and following:
            return prefix
        prefix += char
        index += 1
    return prefix


def _literal_prefixes(pattern: str) -> list[str]:
    """Texts one of which starts every match; [] when some match could start otherwise.

    Lookbehinds and a leading word boundary are skipped (the compiled regex still checks them),
    and a leading alternation '(?:great|awesome)' gives one prefix per alternative.
    """
    body = pattern
    while match := _LOOKBEHIND.match(body):
        body = body[match.end() :]
    body = body.removeprefix(r"\b")
    if body.startswith("(?:"):
        close = body.find(")")
        alternatives = body[3:close].split("|")
        if close < 0 or any("(" in alternative for alternative in alternatives):
            return []
        prefixes = [_literal_prefix(alternative) for alternative in alternatives]
        return prefixes if all(len(prefix) >= 2 for prefix in prefixes) else []
    prefix = _literal_prefix(body)
    return [prefix] if len(prefix) >= 2 else []


class _Scanner:
    """Finds every group's cues in one pass of an Aho-Corasick automaton over literal prefixes.

    A regex alternation of ~150 cues tries each one at every word boundary; here the automaton
    (C speed) finds where a cue could start and only that cue's regex is tried there. Cues with
    no literal prefix (digits, punctuation, start of text) go through one small regex.
    """

    def __init__(self, patterns: Mapping[str, list[str]], order: Sequence[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        by_prefix: dict[str, list[tuple[int, re.Pattern[str], bool]]] = {}
        others: list[str] = []
        for index, group in enumerate(order):
            for pattern in patterns.get(group, ()):
                prefixes = _literal_prefixes(pattern)
                if not prefixes:
                    others.append(f"(?P<g{index}_{len(others)}>{pattern})")
                    continue
                compiled = re.compile(pattern.removeprefix(r"\b"))
                bounded = pattern.startswith(r"\b")
                for prefix in dict.fromkeys(prefixes):
                    by_prefix.setdefault(prefix, []).append((index, compiled, bounded))
        for prefix, cues in by_prefix.items():
            self._automaton.add_word(prefix, (len(prefix), tuple(cues)))
        self._automaton.make_automaton()
        self._others = re.compile("|".join(others)) if others else None

    def scan(self, text: str) -> list[tuple[int, str]]:
        """(group index, matched text) of non-overlapping cues, leftmost first, then longest."""
        found: list[tuple[int, int, int, str]] = []
        for last, (length, cues) in self._automaton.iter(text):
            start = last - length + 1
            for group, compiled, bounded in cues:
                if bounded and start > 0 and is_word_char(text[start - 1]):
                    continue
                match = compiled.match(text, start)
                if match:
                    found.append((start, -match.end(), group, match.group(0)))
        if self._others is not None:
            for match in self._others.finditer(text):
                group = int(str(match.lastgroup)[1:].split("_")[0])
                found.append((match.start(), -match.end(), group, match.group(0)))
        found.sort()
        kept, reached = [], 0
        for start, negative_end, group, matched in found:
            if start >= reached:
                kept.append((group, matched))
                reached = -negative_end
        return kept


@dataclass(frozen=True, slots=True)
class CueHits:
    counts: tuple[int, ...]  # per group, in ``CueMatcher.groups`` order
    examples: tuple[str, ...]  # the first phrase found per group ("" when none)
    literal: str  # the text with sarcastic phrases blanked: "thanks" in them is not thanks


class CueMatcher:
    """One compiled alternation per group; ``extra`` adds phrases to groups (from app.yaml)."""

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None) -> None:
        self.groups = tuple(CUE_GROUPS)
        patterns = {group: list(CUE_GROUPS[group]) for group in self.groups}
        for group, phrases in (extra or {}).items():
            if group not in patterns:
                raise ValueError(f"unknown cue group {group!r}; known: {', '.join(self.groups)}")
            patterns[group] += [rf"\b{re.escape(phrase.lower())}\b" for phrase in phrases]
        self._sarcasm = _Scanner({"sarcasm": patterns["sarcasm"]}, ["sarcasm"])
        self._kind_words = {self.groups.index("gratitude"), self.groups.index("praise")}
        self.problem_indices = tuple(self.groups.index(group) for group in PROBLEM_GROUPS)
        self.gratitude_index = self.groups.index("gratitude")
        self._scanner = _Scanner({g: p for g, p in patterns.items() if g != "sarcasm"}, self.groups)

    def find(self, cleaned: str) -> CueHits:
        sarcastic = [matched for _, matched in self._sarcasm.scan(cleaned)]
        literal = cleaned
        for matched in sarcastic:
            literal = literal.replace(matched, " ")
        counts = [0] * len(self.groups)
        examples = [""] * len(self.groups)
        sarcasm = self.groups.index("sarcasm")
        counts[sarcasm] = len(sarcastic)
        examples[sarcasm] = sarcastic[0].strip() if sarcastic else ""
        for index, matched in self._scanner.scan(literal):
            if sarcastic and index in self._kind_words:
                # beside "so much for next-day delivery", "thanks a lot" is not thanks
                literal = literal.replace(matched, " ")
                continue
            counts[index] += 1
            examples[index] = examples[index] or matched.strip()
        return CueHits(tuple(counts), tuple(examples), literal)
