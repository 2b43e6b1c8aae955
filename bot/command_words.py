"""The words of a chat command line, as people type them on a keyboard or a phone.

Double quotes group words ("Acme Air"), straight or curly as phones write them (“Acme Air”);
an apostrophe is text (it's, o'brien, c'est). ``join_words`` writes words back so that
``split_words`` reads the same words again (the "Next page" hint). Incident numbers read with
or without their ``#`` (``12``, ``#12``), as cards and timelines show them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from bot.ids import parse_id

QUOTES = frozenset('"“”„‟')
# apostrophe look-alikes (curly, modifier letters, accents, prime, full-width), as phones write '
APOSTROPHES = str.maketrans(
    dict.fromkeys("\u2019\u2018\u201b\u02bc\u02b9\u02bb`\u00b4\u2032\uff07", "'")
)


class CommandError(ValueError):
    """A command line that cannot be run; the message says how to write it."""


class Unreadable(CommandError):
    """A command line of the wrong shape: an unknown option, a word too many."""


class UnclosedQuote(ValueError):
    """A quotation mark opened and never closed."""


def split_words(text: str) -> list[str]:
    """The words of ``text``: split at spaces outside double quotes, the quotes removed."""
    words: list[str] = []
    word: list[str] = []
    in_word = quoting = False
    for char in text:
        if char in QUOTES:
            quoting, in_word = not quoting, True
        elif char.isspace() and not quoting:
            if in_word:
                words.append("".join(word))
            word, in_word = [], False
        else:
            word.append(char)
            in_word = True
    if quoting:
        raise UnclosedQuote("a quotation mark is not closed")
    if in_word:
        words.append("".join(word))
    return words


def join_words(words: list[str]) -> str:
    """``words`` as a command line that :func:`split_words` reads back the same."""
    return " ".join(f'"{w}"' if not w or any(c.isspace() for c in w) else w for w in words)


def at_most(command: str, words: list[str], count: int) -> None:
    """Refuse the words after the first ``count`` (never ignore them)."""
    if len(words) > count:
        extra = join_words(words[count:])
        raise Unreadable(f"`{command}` does not take `{extra}`")


def folded(name: str) -> str:
    """A name as compared when typed: NFKC, apostrophe look-alikes as ``'`` (a phone's curly
    one), no case, no accents, single spaces (``SOCIÉTÉ  générale`` is ``societe generale``)."""
    plain = unicodedata.normalize("NFKC", name).translate(APOSTROPHES).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFD", plain) if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).split())


def brands_named(wanted: str, brands: Mapping[str, str]) -> list[str]:
    """The slugs of the brands (slug -> name) ``wanted`` names, the first way that names any:
    by slug (the stable id wins over another brand named the same), by name in any case, by
    either once :func:`folded`. Several when that way is ambiguous."""
    typed = wanted.strip().casefold()
    ways = (
        lambda slug, name: typed == slug.casefold(),
        lambda slug, name: typed == name.casefold(),
        lambda slug, name: folded(wanted) in (folded(slug), folded(name)),
    )
    for names in ways:
        found = [slug for slug, name in brands.items() if names(slug, name)]
        if found:
            return found
    return []


def incident_number(word: str) -> int | None:
    """The incident ``word`` names, as ``12`` or ``#12``; None when it names none."""
    return parse_id(word.removeprefix("#"))
