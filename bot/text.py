"""Text normalisation shared by matching and scoring: case- and accent-insensitive forms."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case- and accent-folded text: 'Crème BRÛLÉE' -> 'creme brulee'."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
