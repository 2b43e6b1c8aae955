"""Text normalisation shared by matching and scoring: case- and accent-insensitive forms."""

from __future__ import annotations

import re
import unicodedata

_ASCII_LETTER = re.compile("[A-Za-z]")
# Typographic apostrophes (a phone keyboard's default) read as the typewriter one.
APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc", "'"))
# After case folding: apostrophes, letters that do not decompose into a base letter and an accent
# ('ø' is not 'o' plus a mark), and characters that change nothing a reader sees: variation
# selectors (U+FE00..FE0F: emoji or text style of the character before them), zero-width spaces
# and joiners, the word joiner, the byte-order mark and soft hyphens (copy pasted from web pages).
_INVISIBLE: dict[str, None] = dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_FOLDED = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'",
        "ø": "o", "ł": "l", "\u0131": "i", "đ": "d", "ħ": "h", "æ": "ae", "œ": "oe",
        **{chr(code): None for code in range(0xFE00, 0xFE10)},
        **_INVISIBLE,
    }
)  # fmt: skip
# Kana voicing marks are part of the letter ('ガ' is not 'カ'), not an accent.
_KANA_MARKS = frozenset("\u3099\u309a")


def fold(text: str) -> str:
    """Case- and accent-folded text with single spaces: 'Crème  BRÛLÉE' -> 'creme brulee'.

    Curly apostrophes (\u2019 \u2018 \u02bc) become straight ones, every run of whitespace (a line
    break included) one space, variation selectors go, and so does the outer whitespace.
    """
    folded = text.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded.translate(_FOLDED))
        folded = "".join(
            char for char in decomposed if not unicodedata.combining(char) or char in _KANA_MARKS
        )
        # styled capitals (mathematical bold K, U+1D40A) have no lower case of their own: NFKD
        # makes them plain ones
        folded = folded.casefold()
    return " ".join(folded.split())


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def is_cjk(char: str) -> bool:
    """Chinese, Japanese or Korean script: written without spaces between words."""
    code = ord(char)
    return (
        0x1100 <= code <= 0x11FF  # hangul jamo (what NFKD makes of hangul syllables)
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3130 <= code <= 0x318F  # hangul compatibility jamo
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xA960 <= code <= 0xA97F  # hangul jamo extended-A
        or 0xAC00 <= code <= 0xD7FF  # hangul syllables, jamo extended-B
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
    )


def joins_word(before: str, after: str) -> bool:
    """Whether two adjacent characters belong to the same word.

    Both must be word characters and neither CJK: Chinese and Japanese put no space between
    words and Korean attaches particles to nouns ('小米手机', 'Kestrelは最悪', '삼성은'), so a CJK
    character always starts or ends a word as far as matching is concerned.
    """
    if not (is_word_char(before) and is_word_char(after)):
        return False
    return (before.isascii() and after.isascii()) or not (is_cjk(before) or is_cjk(after))


def has_letter(text: str) -> bool:
    """Whether any character is a letter; ASCII text (most of it) is searched at C speed."""
    if text.isascii():
        return _ASCII_LETTER.search(text) is not None
    return any(char.isalpha() for char in text)
