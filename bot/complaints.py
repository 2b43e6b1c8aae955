"""Customer-care cues: the complaint patterns plain VADER misses, in readable named groups.

"Flight delayed 3 hours, no info from staff" has no negative word for VADER, yet every comms team
reads it as a complaint. Each group below is a list of regular expressions over lower-cased text
with @handles and links removed (``clean``); the complaint model (``complaint_model.py``) weighs
how many of each group a mention has. Groups are about customer care in general, not one industry.
The French phrases for the same groups are in ``french_model.py``.

A problem that is denied is no problem: in the groups of ``NEGATABLE_GROUPS`` a cue right after a
negation in the same clause ("no delays", "wasn't cancelled", "can't complain") is not counted,
and neither is a fault in the same clause as words saying it is over (``RESOLVED``: "service
restored after the outage"). A problem denied a few words on ("haven't had an outage since",
"not one dropped call") is praise made of a denial, as "no hassle" is.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from bot.text import TYPEWRITER_MARKS

# "thanks", as people write it when they are in a hurry
_THANKS = r"(?:thanks?|thank you|thx|thnx|thanx)"
# since when a problem has lasted: a point in time ("since Monday", "since the 4th", "since 9"),
# not a year ("since 2015" is a customer's loyalty)
_SINCE_WHEN = (
    r"since (?:(?:last|this) )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|yesterday|morning|night|weekend|week|jan(?:uary)?|feb(?:ruary)?|march|april|june|july"
    r"|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|the \d"
    r"|(?!(?:19|20)\d\d\b)\d)"
)

# A problem denied a few words on: "haven't had an outage", "never had a single issue", "not one
# dropped call", "didn't have any problems". The negation, "had" or "have", then "a", "one" or
# "any": not "such" ("never had such bad service") and not what is missing ("haven't had a reply",
# "haven't had signal"), nor a problem left unsolved ("haven't had one issue resolved").
_PROBLEM_WORD = (
    r"(?:issues?|problems?|complaints?|outages?|glitch(?:es)?|hiccups?|faults?|bugs?|errors?"
    r"|crash(?:es)?|delays?|hassles?|breakdowns?|cancell?ations?"
    r"|(?:dropped|delayed|cancell?ed|lost|missed|damaged|bad|rude) \w+)"
)
_UNSOLVED = r"\b(?! (?:resolved|fixed|solved|sorted|answered|handled|addressed|dealt)\b)"
_DENIED_PROBLEM_TAIL = (
    r" (?:a|an|one|any|even one)(?: single)? (?:\w+ )?" + _PROBLEM_WORD + _UNSOLVED
)
_DENIED_PROBLEM = (
    r"\b(?:haven'?t|hasn'?t|hadn'?t|have not|has not|had not|didn'?t|did not|never|not)"
    r" (?:once |ever )?(?:had|have)" + _DENIED_PROBLEM_TAIL,
    # without "had", only a count denies: "not one dropped call"; "not a phone problem, it's
    # your network" puts the problem elsewhere
    r"\bnot (?:one|even one|a single) (?:\w+ )?" + _PROBLEM_WORD + _UNSOLVED,
)

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
        r"(?=\d)(?<!in )(?<!within )(?<!under )(?<!only )(?<!just )(?<![\d.,])"
        r"\b\d+(?:[.,]\d+)?\s*\+?\s*(?:hours?|hrs?|minutes?|mins?|days?|weeks?|months?)\b",
        r"\b(?:two|three|four|five|six|several|many) (?:hours|days|weeks)\b",
        # when a problem started, without "still": "ticket open since Jan 3", "sitting in the depot
        # since the 4th", "no signal since Monday", "hasn't moved since Friday". A state, then a
        # point in time (not a year): "a member since 2015", "using it since March, love it" or
        # "haven't had an issue since May" is none
        r"\b(?:open|opened|pending|unresolved|outstanding|sitting|offline|disconnected)\b"
        rf"[^.,;:!?]{{0,25}}? {_SINCE_WHEN}",
        rf"\b(?:nothing|no signal|no service|no internet|no power|no wifi|no wi-fi|no connection"
        rf"|no water|no heating|no tv) {_SINCE_WHEN}",
        rf"\b(?:hasn'?t|haven'?t|hadn'?t|has not|have not|had not) (?:been )?(?!had\b)\w+"
        rf" {_SINCE_WHEN}",
        # nothing done for a while: "tracking hasn't updated in 9 days" (not "haven't had an issue
        # in 3 years")
        r"\b(?:has|have|had)(?:n'?t| not) (?:been )?(?!had\b)\w+ (?:in|for) (?:over |more than )?"
        r"\d+ (?:hours|days|weeks|months)\b",
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
        # a fault that repeats, in the words of any app or device ("keeps logging me out")
        r"\bkeeps? (?:crashing|freezing|dropping|buffering|disconnecting|restarting|rebooting"
        r"|glitching|lagging|failing|logging (?:me )?out|kicking me out|cutting out)\b",
        r"\b(?:spins?|spinning|loads?|loading|buffers?|buffering) forever\b",
        r"\bfroze\b",
        r"\bfrozen\b",
    ),
    "lost": (
        r"\blost\b",
        r"\bmissing\b",
        r"\bdamaged\b",
        r"\bwhere(?: is|'?s) my\b",
        # the wrong thing delivered: "ordered vegetarian, got chicken", "someone else's order"
        r"\b(?:ordered|booked|paid for|asked for|requested)\b[^.,;:!?]{1,30}?(?:,| but| and)"
        r" (?:instead )?(?:got|received|was given|were given|was sent|they sent)\b"
        r"(?! (?:it|them|there|here|home|back|upgraded|a (?:lovely|great|free)|my order)\b)",
        r"\bsomeone else'?s\b",
        r"\bnot (?:what|the one|the \w+) (?:i|we) (?:ordered|booked|paid for|asked for)\b",
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
        r"\b(?:taken|debited|billed|deducted|paid) twice\b",
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
        r"\bbad\b",
        r"\bawful\b",
        r"\bhad one job\b",
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
        rf"\b{_THANKS} (?:a lot |so much |again )?for (?:nothing|ruining|wasting|losing|leaving"
        r"|making|ignoring|the (?:delay|wait|runaround))\b",
        # "great job delaying my flight": the praise is sarcastic when its own clause names a
        # problem within a few words. Only "great job" is the sarcastic phrase: the look-ahead
        # leaves the rest ("lost", or the "no" of "no complaints") to the other groups. A "no"
        # that denies a problem ("no issues", "no-fee", "never disappoints") is sincere praise.
        r"\bgreat job\b(?=[^.,;:!?()\"]{0,40}?"
        r"\b(?:(?:not|no|never)\b(?![- ](?:any |a single )?(?:issues?|problems?|complaints?"
        r"|hassle|fuss|fees?|worries|wait\w*|delays?|doubt|disappoint\w*|let ?down)\b)"
        r"|delay\w*|cancel\w*|los(?:t|e|es|ing)|wait\w*)\b)",
        # not "thank you so much for"
        r"(?<!thank you )(?<!thanks )(?<!thx )(?<!thnx )(?<!thanx )\bso much for\b",
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
        r"\b(?:thanks|thank you|thankful|thx|thnx|thanx|tysm)\b",  # flat: literal prefixes
        r"\bappreciat\w*",
        r"\bkudos\b",
        r"\bshout ?out\b",
        r"\bcheers\b",
    ),
    "praise": (
        r"\b(?:great|awesome|amazing|excellent|best|love|loved|lovely|fantastic|wonderful"
        r"|perfect|smooth|friendly|helpful|nice|fun|good)\b",
        # a problem denied is praise ("no hassle", "can't complain"): the words a complaint is
        # made of, said of a service that gave none
        r"\b(?:no |zero |without any |without a )(?:hassles?|fuss|questions asked|complaints"
        r"|issues|problems|hitch|worries)\b",
        *_DENIED_PROBLEM,
        r"\bhassle[- ]free\b",
        r"\bnot looking back\b",
        r"\b(?:can't complain|cant complain|not complaining)\b",
        r"\b(?:legends?|lifesaver|top notch|spot on|nailed it|seamless\w*|flawless\w*)\b",
        r"\babove and beyond\b",
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
# Problem groups whose cue a negation just before denies: "not delayed", "no errors", "nothing
# lost", "no complaints". Not the others: "no refund" and "don't ignore me" are still complaints.
NEGATABLE_GROUPS = ("waiting", "cancelled", "not_working", "lost", "bad_service")
# Words that deny what follows them; also any word ending in "n't" (after ``clean``).
NEGATORS = frozenset(
    (
        "not", "no", "never", "without", "zero", "cannot", "nor", "dont", "didnt", "doesnt",
        "isnt", "wasnt", "werent", "arent", "wont", "cant", "couldnt", "wouldnt", "shouldnt",
        "havent", "hasnt", "hadnt", "aint",
    )
)  # fmt: skip
# The negations the complaint model counts (besides words ending in "n't")
NEGATION_WORDS = frozenset(("not", "no", "never", "cannot", "nothing", "nobody", "none"))
# How many words before a cue a negation reaches: "wasn't delayed", "no more delays"
NEGATION_REACH = 2
# Emoji that carry a verdict on their own; VADER reads few of them.
NEGATIVE_EMOJI = frozenset("😡🤬😠👎💩😤😞😢😭🙄😒😩😫🤦💔😾☹🙁😣😖")
POSITIVE_EMOJI = frozenset("👍❤😍🙏😊🥰👏🎉💯😀😃😄😁🙌💙💚💜🤩☺🙂✨")

# with the spaces after it, so that removing one leaves words one space apart
_HANDLE_OR_LINK = re.compile(r"(?:https?://\S+|@\w+)\s*")
# where a clause ends: a negation before it does not reach a cue after it ("no, delayed again")
_CLAUSE_MARKS = frozenset('.,;:!?()"')
# a character a word boundary (\b) counts as part of a word
_WORD_CHAR = re.compile(r"\w")
# "not only late but rude": an intensifier, not a denial
_NOT_A_DENIAL = frozenset(("only", "just"))
# A fault in the same clause as words saying it is over is news of a fix, not a complaint:
# "service restored after the outage", "login errors resolved". Not across a clause or a "but":
# "they say it's resolved but my router is still down".
RESOLVED = r"\b(?:resolved|restored|fixed|back (?:up|online|to normal)|is over|working again)\b"
_CLAUSE_END = re.compile(r"[.,;:!?()\"]|\bbut\b")


def clean(text: str) -> str:
    """Lower-cased text without @handles and links, which carry no sentiment.

    Apostrophes are straight (\u2019 \u2018 \u02bc are '), hyphens plain (\u2010 \u2011 are -) and
    words one space apart, as the cues are written: "thanks @brand for nothing" and
    "thanks\nfor nothing" read as "thanks for nothing".
    """
    cleaned = _HANDLE_OR_LINK.sub(" ", text).lower()
    if not cleaned.isascii():
        cleaned = cleaned.translate(TYPEWRITER_MARKS)
    # a line break, a tab or a non-ASCII space is not printable
    if "  " in cleaned or not cleaned.isprintable():
        return " ".join(cleaned.split())
    return cleaned.strip()


def _phrase_pattern(phrase: str) -> str:
    """A brand's own cue phrase as a regex over ``clean`` text: written as the text is (lower
    case, straight apostrophes, words one space apart), with a word boundary at an edge only where
    the phrase has a word character ("no signal!" or "#kestreldown" could never match otherwise).
    """
    written = clean(phrase)
    start = r"\b" if _WORD_CHAR.match(written[0]) else ""
    end = r"\b" if _WORD_CHAR.match(written[-1]) else ""
    return f"{start}{re.escape(written)}{end}"


def negated_before(text: str, start: int, negators: frozenset[str] = NEGATORS) -> bool:
    """Whether a negation among the ``NEGATION_REACH`` words before ``text[start:]`` denies it.

    The words must be in the same clause: "not delayed" and "no more delays" are denials, "no,
    delayed" is not.
    """
    words = text[max(0, start - 40) : start].rsplit(maxsplit=NEGATION_REACH)[-NEGATION_REACH:]
    following = ""
    for word in reversed(words):  # the nearest first
        if word[-1] in _CLAUSE_MARKS:
            return False
        word = word.lstrip('("')
        if (word in negators or word.endswith("n't")) and following not in _NOT_A_DENIAL:
            return True
        following = word
    return False


def _denied(text: str, start: int, matched: str, negators: frozenset[str]) -> bool:
    """Whether a negation just before denies the cue ``matched`` at ``start`` ("no delays").

    A cue that is a negation itself ("doesn't work", "never again") is never denied.
    """
    if start == 0 or not matched.strip():
        return False
    first = matched.split(maxsplit=1)[0]
    if first in negators or first.endswith("n't"):
        return False
    return negated_before(text, start, negators)


_QUANTIFIERS = "?*{"
_METACHARACTERS = "\\()[]{}?*+|.^$"
# lookbehinds and a look-ahead for a digit: the compiled cue checks them where a prefix is found
_LOOKAROUND = re.compile(r"^\(\?(?:<[!=][^)]*|=\\d)\)")
_ASCII_DIGITS = "0123456789"
_DIGIT = re.compile(r"\d")


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


def _without_lookarounds(pattern: str) -> str:
    while match := _LOOKAROUND.match(pattern):
        pattern = pattern[match.end() :]
    return pattern


def _literal_prefixes(pattern: str) -> list[str]:
    """Texts one of which starts every match; [] when some match could start otherwise.

    Lookarounds and a leading word boundary are skipped (the compiled regex still checks them),
    a leading alternation '(?:great|awesome)' gives one prefix per alternative, and a leading
    digit gives the ten ASCII digits (rare enough in mentions to be cheap).
    """
    body = _without_lookarounds(pattern).removeprefix(r"\b")
    if body.startswith(r"\d"):
        return list(_ASCII_DIGITS)  # and the other decimal digits: see _Scanner
    if body.startswith("(?:"):
        close = body.find(")")
        alternatives = body[3:close].split("|")
        if close < 0 or any("(" in alternative for alternative in alternatives):
            return []
        prefixes = [_literal_prefix(alternative) for alternative in alternatives]
        return prefixes if all(len(prefix) >= 2 for prefix in prefixes) else []
    prefix = _literal_prefix(body)
    return [prefix] if len(prefix) >= 2 else []


# a cue: group index, compiled regex, starts at a word boundary, set apart
_Cue = tuple[int, re.Pattern[str], bool, bool]
# a candidate cue: (start, -end, group index, matched text); sorted, leftmost then longest first
_Candidate = tuple[int, int, int, str]


class _Scanner:
    """Finds every group's cues in one pass of an Aho-Corasick automaton over literal prefixes.

    A regex alternation of ~150 cues tries each one at every word boundary; here the automaton
    (C speed) finds where a cue could start and only that cue's regex is tried there. A cue
    anchored at the start of the text is tried there once; the few with no literal prefix go
    through one small regex. Groups in ``apart`` (sarcasm) are found in the same pass but kept in
    a list of their own, since the other groups are looked for in the text without them.
    """

    def __init__(
        self, patterns: Mapping[str, list[str]], order: Sequence[str], apart: Sequence[str] = ()
    ) -> None:
        self._automaton = ahocorasick.Automaton()
        by_prefix: dict[str, list[_Cue]] = {}
        others: tuple[list[str], list[str]] = ([], [])
        self._anchored: list[tuple[int, re.Pattern[str], bool]] = []
        self._digit_led: tuple[_Cue, ...] = ()
        for index, group in enumerate(order):
            set_apart = group in apart
            for pattern in patterns.get(group, ()):
                if pattern.startswith("^"):
                    self._anchored.append((index, re.compile(pattern), set_apart))
                    continue
                prefixes = _literal_prefixes(pattern)
                if not prefixes:
                    kind = others[set_apart]
                    kind.append(f"(?P<g{index}_{len(kind)}>{pattern})")
                    continue
                # a word boundary where the cue starts is checked before its regex is tried
                body = _without_lookarounds(pattern)
                bounded = body.startswith(r"\b")
                compiled = re.compile(pattern.removeprefix(r"\b"))
                cue = (index, compiled, bounded, set_apart)
                for prefix in dict.fromkeys(prefixes):
                    by_prefix.setdefault(prefix, []).append(cue)
                if body.removeprefix(r"\b").startswith(r"\d"):
                    self._digit_led += (cue,)
        for prefix, cues in by_prefix.items():
            self._automaton.add_word(prefix, (len(prefix), tuple(cues)))
        self._automaton.make_automaton()
        self._others = tuple(
            (set_apart, re.compile("|".join(kind))) for set_apart, kind in enumerate(others) if kind
        )

    def candidates(self, text: str) -> tuple[list[_Candidate], list[_Candidate]]:
        """Every cue match, overlaps included: the groups' own, then those set apart."""
        found: tuple[list[_Candidate], list[_Candidate]] = ([], [])
        starts = [(last - length + 1, cues) for last, (length, cues) in self._automaton.iter(text)]
        if self._digit_led and not text.isascii():
            # the automaton knows the ASCII digits; '\d' also matches the other decimal digits
            digits = _DIGIT.finditer(text)
            starts += [(m.start(), self._digit_led) for m in digits if not m.group().isascii()]
        for start, cues in starts:
            for group, compiled, bounded, set_apart in cues:
                if bounded and start > 0:
                    before = text[start - 1]
                    if before.isalnum() or before == "_":  # no word boundary before the cue
                        continue
                match = compiled.match(text, start)
                if match:
                    found[set_apart].append((start, -match.end(), group, match.group(0)))
        for group, compiled, set_apart in self._anchored:
            match = compiled.match(text)
            if match:
                found[set_apart].append((0, -match.end(), group, match.group(0)))
        for set_apart, others in self._others:
            for match in others.finditer(text):
                group = int(str(match.lastgroup)[1:].split("_")[0])
                found[set_apart].append((match.start(), -match.end(), group, match.group(0)))
        return found


def _kept(candidates: list[_Candidate]) -> list[tuple[int, int, str]]:
    """(start, group index, matched text) of non-overlapping cues, leftmost first, then longest."""
    if len(candidates) == 1:
        start, _, group, matched = candidates[0]
        return [(start, group, matched)]
    candidates.sort()
    kept, reached = [], 0
    for start, negative_end, group, matched in candidates:
        if start >= reached:
            kept.append((start, group, matched))
            reached = -negative_end
    return kept


@dataclass(frozen=True, slots=True)
class CueHits:
    counts: tuple[int, ...]  # per group, in ``CueMatcher.groups`` order
    examples: tuple[str, ...]  # the first phrase found per group ("" when none)
    literal: str  # the text with sarcastic phrases blanked: "thanks" in them is not thanks
    denied: int = 0  # problem cues left out because a negation denies them ("no delays")


class CueMatcher:
    """Every group's cues, found in one scan; ``extra`` adds phrases to groups (from app.yaml).

    ``phrases`` and ``negators`` are another language's for the same groups (``CUE_GROUPS``'s
    names, in its order): the groups are concepts, their wording is a language's. ``denials``:
    more words that make a praise phrase a denied problem, but deny no cue after them;
    ``resolved``: the words that say a fault is over (``RESOLVED``).
    """

    def __init__(
        self,
        extra: Mapping[str, Sequence[str]] | None = None,
        phrases: Mapping[str, Sequence[str]] = CUE_GROUPS,
        negators: frozenset[str] = NEGATORS,
        denials: frozenset[str] = frozenset(),
        resolved: str = RESOLVED,
    ) -> None:
        self.groups = tuple(CUE_GROUPS)
        if set(phrases) != set(self.groups):
            raise ValueError(f"cue phrases must cover exactly the groups {', '.join(self.groups)}")
        patterns = {group: list(phrases[group]) for group in self.groups}
        self._negators = negators
        # the words that make a praise phrase a denied problem: the negators, and words that deny
        # only in a set phrase ("rien à redire") and so deny no cue after them
        self._denials = negators | denials
        for group, own in (extra or {}).items():
            if group not in patterns:
                raise ValueError(f"unknown cue group {group!r}; known: {', '.join(self.groups)}")
            patterns[group] += [_phrase_pattern(phrase) for phrase in own if clean(phrase)]
        self._kind_words = {self.groups.index("gratitude"), self.groups.index("praise")}
        self.problem_indices = tuple(self.groups.index(group) for group in PROBLEM_GROUPS)
        # per-group values -> those of the problem groups
        self.problem_counts: Callable[[Sequence[int]], tuple[int, ...]] = operator.itemgetter(
            *self.problem_indices
        )
        self.gratitude_index = self.groups.index("gratitude")
        self._sarcasm_index = self.groups.index("sarcasm")
        self._negatable = frozenset(self.groups.index(group) for group in NEGATABLE_GROUPS)
        self._praise_index = self.groups.index("praise")
        self._not_working_index = self.groups.index("not_working")
        self._resolved = re.compile(resolved)
        self._scanner = _Scanner(patterns, self.groups, apart=("sarcasm",))

    def find(self, cleaned: str) -> CueHits:
        """Sarcasm first; the other groups in the text without the sarcastic phrases.

        A cue of a negatable group right after a negation is left out ("no delays").
        """
        found, sarcasm = self._scanner.candidates(cleaned)
        counts = [0] * len(self.groups)
        examples = [""] * len(self.groups)
        literal = cleaned
        sarcastic = _kept(sarcasm) if sarcasm else []
        if sarcastic:
            literal = _blanked(cleaned, [(start, len(matched)) for start, _, matched in sarcastic])
            found, _ = self._scanner.candidates(literal)
            counts[self._sarcasm_index] = len(sarcastic)
            examples[self._sarcasm_index] = sarcastic[0][2].strip()
        if not found:
            return CueHits(tuple(counts), tuple(examples), _spaced(literal, bool(sarcastic)))
        denied = 0
        not_kind: list[tuple[int, int]] = []
        denials: list[tuple[int, str]] = []  # praise made of a denial, judged after the loop
        for start, index, matched in _kept(found):
            if index in self._negatable and _denied(literal, start, matched, self._negators):
                denied += 1
                continue
            if index == self._not_working_index and self._over(literal, start):
                continue
            if index == self._praise_index:
                if _denies(matched, self._denials):
                    denials.append((start, matched))
                    continue
                if _denied(literal, start, matched, self._negators):
                    continue  # "not seamless", "far from flawless" is no praise
            if sarcastic and index in self._kind_words:
                # beside "so much for next-day delivery", "thanks a lot" is not thanks
                not_kind.append((start, len(matched)))
                continue
            counts[index] += 1
            examples[index] = examples[index] or matched.strip()
        if (
            denials
            and not any(map(counts.__getitem__, self.problem_indices))
            and "?" not in literal
        ):
            # "no hassle", "not looking back": praise made of a denial; its negation is no
            # complaint's, and VADER would read it as one ("not looking back, best" is "not ...
            # best" to it): counted as praise, kept from VADER. Not beside a problem or in a
            # question ("no issues getting a refund... just kidding", "no problems until
            # today, now nothing works", "no issues getting through? I wish"): read as before
            for start, matched in denials:
                counts[self._praise_index] += 1
                examples[self._praise_index] = examples[self._praise_index] or matched.strip()
                denied += _negation_words(matched)
                not_kind.append((start, len(matched)))
        if not_kind:  # blanked after the loop: the negations above read the text as it was
            literal = _spaced(_blanked(literal, not_kind), True)
        return CueHits(tuple(counts), tuple(examples), _spaced(literal, bool(sarcastic)), denied)

    def _over(self, text: str, start: int) -> bool:
        """Whether the clause around ``text[start:]`` says the fault is over ("outage resolved")."""
        if not self._resolved.search(text):
            return False
        begin = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
        after = _CLAUSE_END.search(text, start)
        return bool(self._resolved.search(text, begin, after.start() if after else len(text)))


def _negation_words(phrase: str) -> int:
    """How many words of ``phrase`` the complaint model counts as negations
    (``NEGATION_WORDS`` and words ending in "n't"): only those are taken off its count."""
    return sum(word in NEGATION_WORDS or word.endswith("n't") for word in phrase.split())


def _denies(phrase: str, negators: frozenset[str]) -> bool:
    """Whether ``phrase`` holds a word that denies (``NEGATORS``; "can't" is "cant" to them)."""
    return any(word.replace("'", "") in negators for word in phrase.split())


def _blanked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each (start, length) span made spaces: every other word stays where it was
    (cues found later are at the same offsets) and no word is cut into ("fun" in "refund")."""
    parts, reached = [], 0
    for start, length in sorted(spans):
        begin, end = max(start, reached), start + length
        if end > begin:
            parts += [text[reached:begin], " " * (end - begin)]
            reached = end
    parts.append(text[reached:])
    return "".join(parts)


def _spaced(literal: str, blanked: bool) -> str:
    """Words one space apart again, as ``clean`` leaves them, once phrases have been blanked."""
    return " ".join(literal.split()) if blanked else literal
