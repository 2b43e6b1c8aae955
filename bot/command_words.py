"""The words of a chat command line, as people type them on a keyboard or a phone.

Double quotes group words ("Acme Air"), straight or curly as phones write them (“Acme Air”);
an apostrophe is text (it's, o'brien, c'est). ``join_words`` writes words back so that
``split_words`` reads the same words again (the "Next page" hint).
"""

from __future__ import annotations

QUOTES = frozenset('"“”„‟')


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
