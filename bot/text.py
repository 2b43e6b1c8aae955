"""Text normalisation shared by matching and scoring: case- and accent-insensitive forms."""

from __future__ import annotations

import re
import unicodedata

_ASCII_LETTER = re.compile("[A-Za-z]")
APOSTROPHES = "'\u2019\u2018\u02bc\u00b4\u2032\u02b9`"
"""The typewriter apostrophe and what is typed for it: curly ones (a phone keyboard's default),
the modifier letter apostrophe, and marks that look like one ('McDonald\u00b4s' with an acute
accent, a prime, a modifier prime, a backtick)."""
# Apostrophes read as the typewriter one, and so do the two hyphens that are only ever hyphens
# (U+2010, and U+2011 that keeps "Wi\u2011Fi" on one line).
TYPEWRITER_MARKS = str.maketrans(
    {**dict.fromkeys(APOSTROPHES[1:], "'"), **dict.fromkeys("\u2010\u2011", "-")}
)


def _a_digit_raised_or_lowered(char: str) -> bool:
    """A superscript or subscript digit ('²', '₂'): part of names ('O₂', 'H₂O', 'A³'), kept as
    its digit."""
    kind, _, digit = unicodedata.decomposition(char).partition(" ")
    return kind in ("<super>", "<sub>") and chr(int(digit, 16)).isdigit()


def _number_forms_and_symbols() -> str:
    """Characters that NFKD would spell out as letters or digits glued to the word they follow:
    every number form (category No: '①', '½', '❶', which would read as part of a word too) but
    a superscript or subscript digit ('O₂' is the brand O2; a footnote 'Kestrel¹' is rarer)
    and every symbol that expands into several characters with an ASCII letter or digit among
    them ('™' -> 'tm', '℠', '№', '㎏'). Symbols that stand for one letter ('Ⓚ', '🄺': the
    letters of fancy-font posts) and CJK squares ('㍿' -> '株式会社') keep their reading.
    Planes 2 and above hold ideographs, tags and private use only.
    """
    found = []
    for code in range(0x20000):
        char = chr(code)
        category = unicodedata.category(char)
        if (category == "No" and not _a_digit_raised_or_lowered(char)) or (
            category == "So"
            and len(spelled := unicodedata.normalize("NFKD", char)) > 1
            and any(part.isascii() and part.isalnum() for part in spelled)
        ):
            found.append(char)
    return "".join(found)


# After case folding: apostrophes, letters that do not decompose into a base letter and an accent
# ('ø' is not 'o' plus a mark), dashes that stand for a hyphen (U+2010..2013, the minus sign,
# small and full-width hyphen-minus: NFKD makes U+2011 a U+2010, never '-'), characters that
# change nothing a reader sees: variation selectors (U+FE00..FE0F: emoji or text style of the
# character before them), joiners inside words (ZWJ in emoji, ZWNJ in Persian and Indic words),
# the word joiner, the byte-order mark and soft hyphens (copy pasted from web pages); the zero
# width space is a space (a line-break opportunity: Thai, Khmer and Myanmar mark words with it),
# and so are number forms and multi-letter symbols (``_number_forms_and_symbols``: 'Kestrel™').
_INVISIBLE: dict[str, None] = dict.fromkeys("\u200c\u200d\u2060\ufeff\u00ad")
_FOLDED = str.maketrans(
    {
        **dict.fromkeys(APOSTROPHES[1:], "'"),
        "ø": "o", "ł": "l", "\u0131": "i", "đ": "d", "ħ": "h", "æ": "ae", "œ": "oe",
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d", "-"),
        **{chr(code): None for code in range(0xFE00, 0xFE10)},
        **_INVISIBLE,
        **dict.fromkeys("\u200b" + _number_forms_and_symbols(), " "),
    }
)  # fmt: skip


def _spaceless_marks() -> frozenset[str]:
    """Combining marks of Thai, Lao, Myanmar and Khmer: tone marks, vowel signs below, viramas.
    They are part of the syllable, not accents, and these scripts are matched inside running
    text (``is_spaceless``), where dropping them would confuse words."""
    blocks = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF))
    return frozenset(
        chr(code)
        for first, last in blocks
        for code in range(first, last + 1)
        if unicodedata.combining(chr(code))
    )


def _indic_marks() -> frozenset[str]:
    """Viramas and nuktas (Devanagari, Bengali, Tamil...: combining classes 9 and 7): without
    them distinct words merge ('क्या', what, would read 'कया', body; 'राज़', secret, 'राज')."""
    return frozenset(
        chr(code) for code in range(0x20000) if unicodedata.combining(chr(code)) in (7, 9)
    )


# Kana voicing marks are part of the letter ('ガ' is not 'カ'), not an accent; so are the marks of
# the other scripts written without spaces, and Indic viramas and nuktas.
_KEPT_MARKS = frozenset("\u3099\u309a") | _spaceless_marks() | _indic_marks()


def fold(text: str) -> str:
    """Case- and accent-folded text with single spaces: 'Crème  BRÛLÉE' -> 'creme brulee'.

    Apostrophes and their look-alikes (``APOSTROPHES``) become straight ones, dashes used as
    hyphens '-', every run of whitespace (a line break or a zero-width space included) one space,
    and so do number forms and symbols such as '™' ('Kestrel™' -> 'kestrel'); variation
    selectors go, and so does the outer whitespace. Hangul syllables and voiced kana stay whole
    ('기압' does not hold '기아', 'ダ' is not 'タ'), and so do Thai, Lao, Myanmar and Khmer
    syllables and Indic viramas and nuktas.
    """
    folded = text.casefold()
    if "`" in folded:  # the one ASCII apostrophe look-alike: ASCII text skips the table below
        folded = folded.replace("`", "'")
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded.translate(_FOLDED))
        folded = "".join(
            char for char in decomposed if not unicodedata.combining(char) or char in _KEPT_MARKS
        )
        # styled capitals (mathematical bold K, U+1D40A) have no lower case of their own: NFKD
        # makes them plain ones
        folded = folded.casefold()
        if not folded.isascii():
            folded = unicodedata.normalize("NFC", folded)  # hangul syllables, voiced kana
    return " ".join(folded.split())


def is_word_char(char: str) -> bool:
    """A letter, digit, '_' or combining mark: a vowel sign or virama is part of its word
    ('ओला' is not in 'ओलावृष्टि', nor 'ताब' in 'किताब')."""
    return char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M"


def is_spaceless(char: str) -> bool:
    """A script written without spaces between words: Chinese, Japanese, Thai, Lao, Myanmar,
    Khmer."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x31F0 <= code <= 0x31FF  # katakana phonetic extensions
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0xA9E0 <= code <= 0xA9FF  # Myanmar extended-B
        or 0xAA60 <= code <= 0xAA7F  # Myanmar extended-A
        or 0x1780 <= code <= 0x17FF  # Khmer
        or 0x19E0 <= code <= 0x19FF  # Khmer symbols
    )


def is_hangul(char: str) -> bool:
    """Korean script: words between spaces, with particles attached to nouns ('삼성은')."""
    code = ord(char)
    return (
        0xAC00 <= code <= 0xD7AF  # syllables
        or 0x1100 <= code <= 0x11FF  # jamo
        or 0x3130 <= code <= 0x318F  # compatibility jamo
        or 0xA960 <= code <= 0xA97F  # jamo extended-A
        or 0xD7B0 <= code <= 0xD7FF  # jamo extended-B
    )


def joins_word(before: str, after: str) -> bool:
    """Whether two adjacent characters belong to the same word.

    Both must be word characters of one script family: a change between Latin and CJK is a word
    boundary ('Kestrelは最悪'), and Chinese, Japanese or Thai characters (``is_spaceless``) always
    start or end a word as far as matching is concerned, since those languages put no space
    between words ('小米手机').
    Two Hangul syllables do join ('토스트' is not '토스'); a particle after a name is for the
    matcher to allow (``bot.matching``).
    """
    if not (is_word_char(before) and is_word_char(after)):
        return False
    if before.isascii() and after.isascii():
        return True
    if is_spaceless(before) or is_spaceless(after):
        return False
    return is_hangul(before) == is_hangul(after)


def has_letter(text: str) -> bool:
    """Whether any character is a letter; ASCII text (most of it) is searched at C speed."""
    if text.isascii():
        return _ASCII_LETTER.search(text) is not None
    return any(char.isalpha() for char in text)


def cut(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 1)]
    return (head.rsplit(" ", 1)[0] if " " in head[limit // 2 :] else head) + "…"
