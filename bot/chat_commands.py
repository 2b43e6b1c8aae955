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
from bot.chat_paging import MAX_ROWS, Page, Window
from bot.clock import Clock
from bot.command_words import (
    CommandError,
    UnclosedQuote,
    Unreadable,
    incident_number,
    join_words,
    split_words,
)
from bot.command_words import at_most as _at_most
from bot.durations import parse_duration, parse_since
from bot.ids import parse_id
from bot.incidents.control import IncidentControl
from bot.incidents.model import topic_label
from storage.incidents import audit_of, get_incident, list_incidents
from storage.mentions import find_mentions
from storage.stats import brand_stats
from storage.writer import Writer

MAX_TEXT = 160
MAX_TIMELINE = 30  # entries of an incident's timeline shown, the latest
MAX_SILENCE = timedelta(days=90)
MayAct = Callable[[str, str], Awaitable[bool]]  # (user, brand slug) -> allowed

HELP = (
    ("mentions", "[brand] [--negative] [--since 24h] [--until TIME] [page N]: recent mentions"),
    ("incidents", "[open|all] [--until TIME] [page N]: incidents and their levels"),
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
        """The answer to a command line. Subcommand names and fixed values read in any case
        (phones capitalise the first word)."""
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
        rows = await self.writer.run(
            partial(
                find_mentions,
                brand=brand,
                since=window.since,
                until=window.until,
                negative="--negative" in options.flags,
                limit=MAX_ROWS,
                own=self.own,
            )
        )
        lines = [_mention_line(row, style) for row in rows]
        again = self._again(style, "mentions", *options.rest, *sorted(options.flags), *window.words)
        return Page(lines, options.page).render(f"Mentions {window.label()}", again)

    async def _incidents(self, words: list[str], user: str, style: AnswerStyle) -> str:
        options = _Options(words, values=frozenset({"--until"}))
        _at_most("incidents", options.rest, 1)
        which = options.rest[0].casefold() if options.rest else "open"
        if which not in ("open", "all"):
            raise CommandError(f"`incidents {options.rest[0]}`: say `open` or `all`")
        window = Window(None, self._until(options))
        listed = await self.writer.run(partial(list_incidents, only_open=which == "open"))
        incidents = [i for i in listed if i.opened_at <= window.until]  # the window of page 1
        lines = [
            f"{style.bold(f'#{i.id}')} {self.brands.get(i.brand, i.brand)} "
            f"{style.text(topic_label(i.topic))}: "
            f"{i.status.value}, "
            f"{i.level_name}, peak risk {i.peak_risk}, {i.mention_count} mentions, "
            + " → ".join(f"{c.level} {c.at:%d %b %H:%M}" for c in i.levels)
            for i in reversed(incidents)
        ]
        again = self._again(style, "incidents", which, *window.words)
        title = f"Incidents ({which}) opened until {window.until:%Y-%m-%d %H:%M:%S}, times in UTC"
        return Page(lines, options.page).render(title, again)

    async def _incident(self, words: list[str], user: str, style: AnswerStyle) -> str:
        _at_most("incident", words, 1)
        number = incident_number(words[0]) if words else None
        if number is None:
            raise CommandError("`incident ID`: which incident? For example `incident 12`")
        incident = await self.writer.run(partial(get_incident, incident_id=number))
        if incident is None:
            return f"No incident #{number}."
        audit = await self.writer.run(partial(audit_of, incident_id=number))
        name = self.brands.get(incident.brand, incident.brand)
        # the explanation is stored as "39: why"; named as the CLI names it (`incident ID`)
        risk = f"risk now {style.text(incident.explanation)}\n" if incident.explanation else ""
        head = (
            f"{style.bold(f'#{incident.id} {name} {style.text(topic_label(incident.topic))}')}: "
            f"{incident.status.value}, {incident.level_name}, "
            f"peak risk {incident.peak_risk}, {incident.mention_count} mentions\n"
            f"{risk}Timeline, times in UTC:"
        )
        shown = audit[-MAX_TIMELINE:]
        lines = [
            f"`{e.at:%d %b %H:%M}` {style.person(e.actor)}: {e.action} {style.text(e.detail)}"
            for e in shown
        ]
        if len(audit) > len(shown):
            lines.insert(0, f"({len(audit) - len(shown)} earlier entries not shown)")
        return head + "\n" + "\n".join(line.rstrip() for line in lines)

    async def _stats(self, words: list[str], user: str, style: AnswerStyle) -> str:
        options = _Options(words, values=frozenset({"--since"}), paged=False, command="stats")
        since = self._since(options.values.get("--since", "7d"))
        brand = self._one_brand("stats", options.rest)
        brands = [brand] if brand else list(self.brands)
        parts = []
        for brand in brands:
            stats = await self.writer.run(
                partial(brand_stats, brand=brand, since=since, own=self.own)
            )
            themes = ", ".join(f"{t.replace('_', ' ')} ({n})" for t, n in stats.top_themes)
            authors = ", ".join(f"@{style.text(a)} ({n})" for a, n in stats.top_authors)
            parts.append(
                f"{style.bold(self.brands.get(brand, brand))} since {since:%Y-%m-%d %H:%M} UTC: "
                f"{stats.mentions} mentions, {stats.negative} negative "
                f"({stats.negative_share:.0%}); {stats.incidents} incidents open at some time "
                f"in the period\n  top themes of those incidents: {themes or 'none'}\n"
                f"  top authors: {authors or 'none'}"
            )
        return "\n".join(parts)

    async def _silence(self, words: list[str], user: str, style: AnswerStyle) -> str:
        if len(words) < 2:
            raise CommandError("`silence MATCHER… DURATION`, for example `silence author:@x 24h`")
        matcher: dict[str, str] = {}
        duration: timedelta | None = None
        reason: list[str] = []
        for word in words:
            name, colon, value = word.partition(":")
            name = name.casefold()
            if colon and name in ("brand", "topic", "author", "source"):
                matcher[name] = self._brand(value) if name == "brand" else value
                if name == "author" and _CHAT_MARKUP.search(value):
                    raise CommandError(
                        f"`{word}`: `author:` is who posted, by their handle on the network "
                        "(`author:@someone`), not a person in this chat"
                    )
            elif duration is None and _is_duration(word):
                try:
                    duration = parse_duration(word.lower())
                except ValueError as error:
                    raise CommandError(f"`silence`: {error}") from None
            else:
                reason.append(word)
        if duration is None:
            raise CommandError("`silence`: for how long? End with a duration such as 2h or 7d")
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

    def _brand(self, wanted: str) -> str:
        found = self._find_brand(wanted)
        if found is None:
            known = ", ".join(self.brands)
            raise CommandError(f"no brand {wanted!r}; brands: {known}")
        return found

    def _find_brand(self, wanted: str) -> str | None:
        for slug, name in self.brands.items():
            if wanted.casefold() in (slug, name.casefold()):
                return slug
        return None

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
