"""Numbers people and buttons hand us (an incident, a draft, a page): ASCII digits, in range."""

from __future__ import annotations

MAX_ID = 2**53 - 1  # what JSON and SQLite both carry exactly


def parse_id(text: str) -> int | None:
    """The positive number ``text`` spells in ASCII digits, or None ("²", "-1", 20 digits…)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
