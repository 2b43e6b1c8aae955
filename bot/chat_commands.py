"""The chat command (``/vigie …`` in Slack, a message to the bot in Teams), platform-neutral.

``ChatCommands.answer(text, user, style)`` parses a command line and answers with lines of text
marked up in the platform's ``AnswerStyle`` (Slack mrkdwn, Teams markdown): bold, others' words
made inert, people as the platform shows them; ``code`` spans read the same in both. Queries
read storage on the writer thread; ``silence``, ``unack`` and ``merge`` (``bot.chat_changes``) go
through the same actions and permission check as the buttons.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.chat_changes import IncidentCommands
from bot.chat_paging import MAX_ROWS, PAGE, Page, Window
from bot.clock import Clock
from bot.command_words import (
    CommandError,
    UnclosedQuote,
    Unreadable,
    brands_named,
    incident_number,
    join_words,
    split_words,
)
from bot.command_words import at_most as _at_most
from bot.durations import parse_duration, parse_since
from bot.ids import parse_id
from bot.incidents.control import IncidentControl
from bot.incidents.model import Incident, topic_label
from bot.text import cut
from storage.incidents import audit_of, get_incident, list_incidents
from storage.mentions import find_mentions
from storage.stats import BrandStats, brand_stats
from storage.writer import Writer

MAX_TEXT = 160
MAX_TIMELINE = 30  # entries of an incident's timeline shown, the latest
MAX_ANSWER = 3900  # characters: Slack's answers (Teams' are longer); answers are built to fit
_NOTE_ROOM = 100  # what a timeline keeps for saying what it leaves out
MAX_SILENCE = timedelta(days=90)
SILENCE_MATCHERS = {  # name -> an example
    "brand": "brand:acme",
    "topic": "topic:#recall",
    "author": "author:@someone",
    "source": "source:reddit",
}
MayAct = Callable[[str, str], Awaitable[bool]]  # (user, brand slug) -> allowed

HELP = (
    ("mentions", "[brand] [--negative] [--since 24h] [--until TIME] [page N]: recent mentions"),
    ("incidents", "[open|all] [--before ID] [--until TIME] [page N]: incidents, newest first"),
    ("incident", "ID: one incident's timeline"),
    ("stats", "[brand] [--since 7d]: volume, negative share, incidents, themes, authors"),
    ("unack", "ID: undo an acknowledgement (reminders and escalation apply again)"),
    ("merge", "ID into ID: the first incident's topic goes to the second from now on"),
    (
        "silence",
        "MATCHER… DURATION [reason]: mute for a while, matchers `brand:acme`, "
        "`topic:#recall`, `author:@someone`, `source:reddit`",
    ),
    ("help", ": this list"),
)


@dataclass(frozen=True, slots=True)
class AnswerStyle:
    """How a chat platform writes the parts of an answer."""

    bold: Callable[[str], str]
    text: Callable[[str], str]
    """Words people and sources wrote (topics, handles, reasons): never markup."""
    person: Callable[[str], str]
    """Someone who acted, from their platform id."""
    command: str = ""
    """How people call the bot on this platform (``@Vigie``), when not the slash command."""
    literal: Callable[[str], str] = lambda text: text
    """Vigie's own words quoting what was typed (an error), whole with their ``code`` spans
    (never a fragment inside one): markup characters made text, ``code`` spans kept."""
    limit: int = MAX_ANSWER
    """The longest answer the platform shows, in characters: answers are built to fit it."""


def escape(text: str) -> str:
    """What people and sources wrote never becomes markup (no @channel, no disguised link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MRKDWN = AnswerStyle(bold=lambda text: f"*{text}*", text=escape, person=escape, literal=escape)
"""Slack-like markup without Slack's people: the default, and what tests read."""


def help_text(command: str, style: AnswerStyle) -> str:
    return "\n".join(
        f"{style.bold(f'{command} {name}')}{'' if usage.startswith(':') else ' '}{usage}"
        for name, usage in HELP
    )


class ChatCommands:
    def __init__(
        self,
        writer: Writer,
        control: IncidentControl,
        brands: dict[str, str],
        may_act: MayAct,
        clock: Clock,
        command: str = "/vigie",
        own: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.writer = writer
        self.control = control
        self.brands = brands  # slug -> display name
        self.may_act = may_act
        self.clock = clock
        self.command = command
        # slug -> the brand's own accounts: their posts are never negative mentions or complainers
        self.own = dict(own or {})
        self.changes = IncidentCommands(control, may_act, brands)

    async def answer(self, text: str, user: str, style: AnswerStyle = MRKDWN) -> str:
        """The answer to a command line, at most ``style.limit`` characters (built to fit;
        cut only as a last resort). Subcommand names and fixed values read in any case (phones
        capitalise the first word)."""
        return cut(await self._answer(text, user, style), style.limit)

    async def _answer(self, text: str, user: str, style: AnswerStyle) -> str:
        command = style.command or self.command
        try:
            words = split_words(text)
        except UnclosedQuote as error:
            return f"Cannot read that: {error}. Try `{command} help`."
        name = words[0].casefold() if words else "help"
        if name == "help":
            return help_text(command, style)
        handler = {
            "mentions": self._mentions,
            "incidents": self._incidents,
            "incident": self._incident,
            "stats": self._stats,
            "silence": self._silence,
            "unack": self.changes.unack,
            "unacknowledge": self.changes.unack,
            "merge": self.changes.merge,
        }.get(name)
        if handler is None:
            unknown = style.literal(f"`{words[0]}`")  # the whole quote: a typed ` ends no span
            return f"Unknown command {unknown}.\n" + help_text(command, style)
        try:
            return await handler(words[1:], user, style)
        except Unreadable as error:
            return f"Cannot read that: {style.literal(str(error))}\nSee `{command} help`."
        except CommandError as error:
            return f"{style.literal(str(error))}\nSee `{command} help`."

    # -- subcommands ------------------------------------------------------------------------

    async def _mentions(self, words: list[str], user: str, style: AnswerStyle) -> str:
        options = _Options(words, flags=_NEGATIVE, values=_WINDOW)
        brand = self._one_brand("mentions", options.rest)
        window = self._window(options, "24h")
        rows = await self.writer.read(
            partial(
                find_mentions,
                brand=brand,
                since=window.since,
                until=window.until,
                negative="--negative" in options.flags,
                limit=MAX_ROWS + 1,  # one more: are there more than MAX_ROWS?
                own=self.own,
            )
        )
        lines = [_mention_line(row, style) for row in rows[:MAX_ROWS]]
        narrow = _narrowing(brand, options) if len(rows) > MAX_ROWS else ""
        again = self._again(style, "mentions", *options.rest, *sorted(options.flags), *window.words)
        return Page(lines, options.page, narrow).render(f"Mentions {window.label()}", again)

    async def _incidents(self, words: list[str], user: str, style: AnswerStyle) -> str:
        options = _Options(words, values=frozenset({"--before", "--until"}))
        _at_most("incidents", options.rest, 1)
        which = options.rest[0].casefold() if options.rest else "open"
        if which not in ("open", "all"):
            raise CommandError(f"`incidents {options.rest[0]}`: say `open` or `all`")
        before = _before(options)
        window = Window(None, self._until(options))
        listed = await self.writer.read(partial(list_incidents, only_open=which == "open"))
        incidents = [  # newest first, in the window of page 1, before the last one seen
            i
            for i in reversed(listed)
            if i.opened_at <= window.until and (before is None or i.id < before)
        ]
        lines = [self._incident_line(i, style) for i in incidents]
        below = ["--before", str(before)] if before is not None else []
        again = self._again(style, "incidents", which, *below, *window.words)
        # the next page starts below the last incident shown: one resolved or merged meanwhile
        # moves nothing
        end = options.page * PAGE
        last = ["--before", str(incidents[end - 1].id)] if end < len(incidents) else []
        following = self._again(style, "incidents", which, *last, *window.words) if last else ""
        under = f" before #{before}" if before is not None else ""
        title = (
            f"Incidents ({which}){under} opened until {window.until:%Y-%m-%d %H:%M:%S}, "
            "times in UTC"
        )
        return Page(lines, options.page).render(title, again, following)

    def _incident_line(self, incident: Incident, style: AnswerStyle) -> str:
        return (
            f"{style.bold(f'#{incident.id}')} {self.brands.get(incident.brand, incident.brand)} "
            f"{style.text(topic_label(incident.topic))}: "
            f"{incident.status.value}, "
            f"{incident.level_name}, peak risk {incident.peak_risk}, "
            f"{incident.mention_count} mentions, "
            + " → ".join(f"{c.level} {c.at:%d %b %H:%M}" for c in incident.levels)
        )

    async def _incident(self, words: list[str], user: str, style: AnswerStyle) -> str:
        _at_most("incident", words, 1)
        number = incident_number(words[0]) if words else None
        if number is None:
            raise CommandError("`incident ID`: which incident? For example `incident 12`")
        incident = await self.writer.read(partial(get_incident, incident_id=number))
        if incident is None:
            return f"No incident #{number}."
        audit = await self.writer.read(partial(audit_of, incident_id=number))
        name = self.brands.get(incident.brand, incident.brand)
        # the explanation is stored as "39: why"; named as the CLI names it (`incident ID`)
        risk = f"risk now {style.text(incident.explanation)}\n" if incident.explanation else ""
        into = f" into #{incident.merged_into}" if incident.merged_into is not None else ""
        head = (
            f"{style.bold(f'#{incident.id} {name} {style.text(topic_label(incident.topic))}')}: "
            f"{incident.status.value}{into}, {incident.level_name}, "
            f"peak risk {incident.peak_risk}, {incident.mention_count} mentions\n"
            f"{risk}Timeline, times in UTC:"
        )
        lines = [
            f"`{e.at:%d %b %H:%M}` {style.person(e.actor)}: {e.action} {style.text(e.detail)}"
            for e in audit[-MAX_TIMELINE:]
        ]
        shown = _newest_fitting([line.rstrip() for line in lines], style.limit - len(head))
        if len(audit) > len(shown):
            every = f"`python -m bot incident {incident.id}` shows them all"
            shown.insert(0, f"({len(audit) - len(shown)} earlier entries not shown: {every})")
        return head + "\n" + "\n".join(shown)

    async def _stats(self, words: list[str], user: str, style: AnswerStyle) -> str:
        options = _Options(words, values=frozenset({"--since"}), paged=False, command="stats")
        since = self._since(options.values.get("--since", "7d"))
        brand = self._one_brand("stats", options.rest)
        brands = [brand] if brand else list(self.brands)
        parts = [
            self._stats_part(
                await self.writer.read(
                    partial(brand_stats, brand=brand, since=since, own=self.own)
                ),
                since,
                style,
            )
            for brand in brands
        ]
        kept = len(parts)  # the brands that do not fit are named, to ask for one at a time
        while (
            kept > 1 and len(self._stats_answer(parts[:kept], brands[kept:], style)) > style.limit
        ):
            kept -= 1
        return self._stats_answer(parts[:kept], brands[kept:], style)

    def _stats_answer(self, parts: list[str], left_out: list[str], style: AnswerStyle) -> str:
        """``stats``: the brands' ``parts``, then the names of those ``left_out``, if any."""
        if not left_out:
            return "\n".join(parts)
        names = cut(", ".join(self.brands.get(b, b) for b in left_out), 300)
        ask = f"one at a time with `{style.command or self.command} stats BRAND`"
        return "\n".join([*parts, f"({len(left_out)} more brands, {ask}: {style.text(names)})"])

    def _stats_part(self, stats: BrandStats, since: datetime, style: AnswerStyle) -> str:
        """One brand's lines of ``stats``."""
        themes = ", ".join(f"{t.replace('_', ' ')} ({n})" for t, n in stats.top_themes)
        authors = ", ".join(f"@{style.text(a)} ({n})" for a, n in stats.top_authors)
        return (
            f"{style.bold(self.brands.get(stats.brand, stats.brand))} since "
            f"{since:%Y-%m-%d %H:%M} UTC: {stats.mentions} mentions, {stats.negative} negative "
            f"({stats.negative_share:.0%}); {stats.incidents} incidents open at some time "
            f"in the period\n  top themes of those incidents: {themes or 'none'}\n"
            f"  top authors: {authors or 'none'}"
        )

    async def _silence(self, words: list[str], user: str, style: AnswerStyle) -> str:
        if len(words) < 2:
            raise CommandError("`silence MATCHER… DURATION`, for example `silence author:@x 24h`")
        matcher: dict[str, str] = {}
        duration: timedelta | None = None
        for word in words:  # matchers, then the duration; all after it is the reason
            if _is_duration(word):
                if not matcher:
                    known = ", ".join(f"`{example}`" for example in SILENCE_MATCHERS.values())
                    raise CommandError(
                        f"`silence`: first the matchers ({known}), then the duration, then the "
                        f"reason: `silence author:@x {word} spam`"
                    )
                duration = parse_duration(word.lower())
                break
            name, value = self._matcher(word)
            if name in matcher:
                raise CommandError(f"`silence`: `{name}:` is given twice; say it once")
            matcher[name] = value
        if duration is None:
            raise CommandError("`silence`: for how long? End with a duration such as 2h or 7d")
        reason = words[len(matcher) + 1 :]
        if duration > MAX_SILENCE:
            raise CommandError(
                f"`silence`: at most {MAX_SILENCE.days}d (a forgotten silence hides incidents); "
                "silence again when it ends"
            )
        brand = matcher.get("brand", "*")
        if not await self.may_act(user, brand):
            return "You are not one of the responders allowed to silence this."
        result = await self.control.silence(user, duration, reason=" ".join(reason), **matcher)
        return style.text(result.message)

    # -- helpers --------------------------------------------------------------------------------

    def _matcher(self, word: str) -> tuple[str, str]:
        """A word before a silence's duration: a matcher (``author:@x``) and its value, else
        refused (matchers first, then the duration; the reason only after it)."""
        name, colon, value = word.partition(":")
        name = name.casefold()
        known = ", ".join(f"`{example}`" for example in SILENCE_MATCHERS.values())
        if not colon:
            raise CommandError(
                f"`silence`: {_not_a_duration(word)}; first the matchers ({known}), "
                "then the duration, then the reason"
            )
        if name not in SILENCE_MATCHERS:
            raise CommandError(f"`silence`: there is no matcher `{name}:`; matchers: {known}")
        if not value:
            raise CommandError(
                f"`silence`: `{name}:` has no value; write what it matches right after the "
                f"colon, without a space: `{SILENCE_MATCHERS[name]}`"
            )
        if name == "author" and _CHAT_MARKUP.search(value):
            raise CommandError(
                f"`{word}`: `author:` is who posted, by their handle on the network "
                "(`author:@someone`), not a person in this chat"
            )
        return name, self._brand(value) if name == "brand" else value

    def _brand(self, wanted: str) -> str:
        found = self._find_brand(wanted)
        if found is None:
            known = ", ".join(self.brands)
            raise CommandError(f"no brand {wanted!r}; brands: {known}")
        return found

    def _find_brand(self, wanted: str) -> str | None:
        """The brand ``wanted`` names (as typed on a phone: curly apostrophe, no accents);
        a name that could be several brands is refused, naming them."""
        found = brands_named(wanted, self.brands)
        if len(found) > 1:
            names = ", ".join(f"{self.brands[slug]} ({slug})" for slug in found)
            raise CommandError(f"{wanted!r} could be several brands: {names}; say which")
        return found[0] if found else None

    def _one_brand(self, command: str, rest: list[str]) -> str | None:
        """The brand the words name: one word, or a name with spaces typed without quotes;
        words after a brand are refused, not ignored."""
        if len(rest) > 1 and (found := self._find_brand(" ".join(rest))) is not None:
            return found
        if len(rest) > 1 and self._find_brand(rest[0]) is not None:
            _at_most(command, rest, 1)
        return self._brand(" ".join(rest)) if rest else None

    def _since(self, text: str, now: datetime | None = None) -> datetime:
        """``--since``: a duration back from ``now`` (the service clock) or a time."""
        try:
            return parse_since(_duration_case(text), now or self.clock.now())
        except ValueError as error:
            raise CommandError(str(error)) from None

    def _until(self, options: _Options) -> datetime:
        """``--until``, else now (the service clock); to the second, as the hint writes it."""
        now = self.clock.now().astimezone(UTC)
        until = self._since(options.values["--until"], now) if "--until" in options.values else now
        return until.replace(microsecond=0)

    def _window(self, options: _Options, since: str) -> Window:
        """``--since`` (a duration counts back from ``--until``) to ``--until``."""
        until = self._until(options)
        start = self._since(options.values.get("--since", since), until).replace(microsecond=0)
        if start > until:
            raise CommandError("`--since` is after `--until`")
        return Window(start, until)

    def _again(self, style: AnswerStyle, *words: str) -> str:
        """The command line that reads the same list again: the "Next" hint, less its page."""
        return f"{style.command or self.command} {join_words(list(words))}"


class _Options:
    """``--flag``, ``--name value``, ``page N`` and the rest, from a list of words. A command
    whose answer has no pages (``paged=False``) refuses ``page`` rather than ignore it."""

    def __init__(
        self,
        words: list[str],
        flags: frozenset[str] = frozenset(),
        values: frozenset[str] = frozenset(),
        paged: bool = True,
        command: str = "",
    ) -> None:
        self.flags: set[str] = set()
        self.values: dict[str, str] = {}
        self.rest: list[str] = []
        self.page = 1
        items = iter(words)
        for typed in items:
            word = _option(typed)
            if word in flags:
                self.flags.add(word)
            elif word in values:
                self.values[word] = next(items, "")
            elif word == "page" and not paged:
                raise Unreadable(f"`{command}` answers in one message: it has no `{typed} N`")
            elif word == "page":
                page = parse_id(next(items, ""))
                if page is None or page > 100_000:
                    raise CommandError("`page N`: N is a page number from 1")
                self.page = page
            elif word.startswith("--"):
                known = ", ".join(sorted(flags | values)) or "none"
                raise Unreadable(f"unknown option `{typed}` (options here: {known})")
            else:
                self.rest.append(typed)


_NEGATIVE = frozenset({"--negative"})
_WINDOW = frozenset({"--since", "--until"})
_DASHED = re.compile(r"^[\u2014\u2013](?=\w)")  # an em or en dash, as phones write --
_CHAT_MARKUP = re.compile(r"[<>]")  # a chat's own markup (<@U…>, <at>…): no network's handle


def _option(word: str) -> str:
    """An option or ``page`` as typed on a phone: any case, and ``--`` turned into a dash."""
    dashed = _DASHED.sub("--", word)
    return dashed.casefold() if dashed.startswith("--") or dashed.casefold() == "page" else word


def _is_duration(word: str) -> bool:
    """A duration in any case (``7D``, as a phone capitalises it, is ``7d``)."""
    try:
        parse_duration(word.lower())
    except ValueError:
        return False
    return True


def _newest_fitting(lines: list[str], room: int) -> list[str]:
    """The last of ``lines`` (the newest) that fit in ``room`` characters, one a line, with
    ``_NOTE_ROOM`` left for saying how many are left out."""
    room -= _NOTE_ROOM
    kept: list[str] = []
    for line in reversed(lines):
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return kept[::-1]


def _narrowing(brand: str | None, options: _Options) -> str:
    """How to narrow a list of mentions cut at ``MAX_ROWS``: the options it does not use yet."""
    unused = [
        *(["a brand"] if brand is None else []),
        *(["--negative"] if "--negative" not in options.flags else []),
        "a later --since",
        "an earlier --until",
    ]
    return f"narrow it with {', '.join(unused[:-1])} or {unused[-1]}"


def _before(options: _Options) -> int | None:
    """``--before ID``: incidents numbered below ID (the "Next" hint of ``incidents``)."""
    if "--before" not in options.values:
        return None
    number = incident_number(options.values["--before"])
    if number is None:
        raise CommandError("`--before ID`: ID is an incident number, such as `--before 12`")
    return number


def _not_a_duration(word: str) -> str:
    """Why ``word`` is no duration (:func:`parse_duration`'s words)."""
    try:
        parse_duration(word.lower())
    except ValueError as error:
        return str(error)
    return f"{word!r} is a duration"


def _duration_case(text: str) -> str:
    """``--since``/``--until`` as :func:`parse_since` reads it: a duration in any case made
    lower case (``7D``), a time as typed."""
    return text.lower() if _is_duration(text) else text


def _mention_line(row: dict[str, Any], style: AnswerStyle) -> str:
    text = " ".join(str(row["text"]).split())
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    author = f" @{style.text(row['author_handle'])}" if row.get("author_handle") else ""
    when = str(row["created_at"])[5:16].replace("T", " ")
    return f"`{when}` {row['sentiment'][:3]} {row['negativity']:.2f}{author}: {style.text(text)}"
