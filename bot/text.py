"""Text normalisation shared by matching and scoring: case- and accent-insensitive forms."""

from __future__ import annotations

import re
import unicodedata

_ASCII_LETTER = re.compile("[A-Za-z]")


def fold(text: str) -> str:
    """Case- and accent-folded text: 'Crème BRÛLÉE' -> 'creme brulee'."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def has_letter(text: str) -> bool:
    """Whether any character is a letter; ASCII text (most of it) is searched at C speed."""
    if text.isascii():
        return _ASCII_LETTER.search(text) is not None
    return any(char.isalpha() for char in text)
