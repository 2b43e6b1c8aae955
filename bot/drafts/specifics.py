"""The specifics a reply can name: an order or case reference, a flight, a product.

Each is read only where the text makes it plain, since a wrong number in a public reply is
worse than none: a reference follows a word such as "order", "booking", "case", "commande" or
"dossier" and holds a digit (or is an upper-case code after "ref", "#" or "n°"). A reference is
never a quantity (a number with a unit of measure or a currency: "100GB", "12 mm", "15%") nor
personal: e-mail addresses are read as links are, not at all, and a number of digits only
(spaces, dots and dashes between groups aside) of 9 digits or more is not echoed, since it may
as well be a phone number, or at 13 to 19 digits a payment card (the length
:mod:`bot.drafts.screening` takes for a phone number, too). A flight is an
upper-case two-character airline code and 1-4 digits shortly after "flight", "vol" or "vuelo"
(a bare "AF1234" may as well be a model or an error code), kept as written, and never a time,
an amount or a duration; a product is one the brand lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# e-mail addresses first: "order12345@mail.example" is nobody's order
_HANDLE_OR_LINK = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|@[\w.]+")

# reference word (any case) -> kind of reference
_KINDS = {
    "order": "order",
    "purchase": "order",
    "commande": "order",
    "booking": "booking",
    "reservation": "booking",
    "réservation": "booking",
    "confirmation": "booking",
    "pnr": "booking",
    "case": "case",
    "ticket": "case",
    "claim": "case",
    "complaint": "case",
    "incident": "case",
    "dossier": "case",
    "réclamation": "case",
    "reclamation": "case",
    "ref": "reference",
    "réf": "reference",
    "reference": "reference",
    "référence": "reference",
    "tracking": "parcel",
    "parcel": "parcel",
    "package": "parcel",
    "shipment": "parcel",
    "colis": "parcel",
    "suivi": "parcel",
}
_KIND_WORDS = "|".join(sorted(_KINDS, key=len, reverse=True))
_REFERENCE = re.compile(
    rf"(?<!\w)(?P<kind>{_KIND_WORDS})\.?"
    r"(?:\s+(?P<word>number|num|nr|no\.?|id|code|ref(?:erence)?\.?|numéro|numero|de suivi"
    r"|de (?:commande|réservation|reservation|dossier)))?"
    r"\s*(?P<marker>n°|nº|no\.|#|:)?\s*#?\s*"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9-]{2,19})(?![\w-])",
    re.IGNORECASE,
)
# the rest of a number written in groups: " 1111 1111 1111" after "4111"
_MORE_DIGITS = re.compile(r"(?:[ .-]\d+)+(?!\w)")
MOST_DIGITS = 8  # a longer number of digits only may be a phone number or a payment card
# units of measure and currencies: after a number, with or without a space
_UNITS = (
    r"[kmgt]i?b|[kmg]bps|[kmg]?hz|mah|k?wh|kw|[mck]m|kg|mg|lbs?|oz|[mc]l|ft|mph|eur|usd|gbp"
    r"|euros?|dollars?|hrs?|hours?|heures?|min(?:ute)?s?|days?|jours?|weeks?|semaines?|months?"
    r"|mois"
)
# also only right after the digits: short symbols that are words too ("to", "go", "m", "s")
_GLUED_UNITS = r"[kmgt]i?o|[gmlhsvw]"
_QUANTITY = re.compile(rf"\d+(?:{_UNITS}|{_GLUED_UNITS})", re.IGNORECASE)
_UNIT_AFTER = re.compile(rf"\s?(?:[%€$£°]|(?:{_UNITS})(?![^\W_]))", re.IGNORECASE)
_DATE = re.compile(r"^(?:\d{4}-\d{1,2}(?:-\d{1,2})?|\d{1,2}-\d{1,2}-\d{2,4})$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")

_CODE = r"(?P<code>[A-Z][A-Z0-9]|[0-9][A-Z])"
_NUMBER = r"(?P<number>\d{1,4})"
# not the start of a time, an amount, a size or a duration: "UA 12:30", "LA 2 hours", "X1 5 kg"
_NOT_A_QUANTITY = (
    r"(?![\w:.,/]\d|\s*(?:h\b|hrs?\b|hours?\b|heures?\b|min\w*|days?\b|jours?\b|weeks?\b"
    r"|am\b|pm\b|kg\b|gb\b|go\b|mb\b|%|€|\$|£|x\b|inch|pouces?\b))"
)
_FLIGHT_NEAR_WORD = re.compile(
    r"(?<!\w)(?:[Ff]light|FLIGHT|[Vv]ol|VOL|[Vv]uelo|VUELO|[Ff]lt)\b"
    r"(?:\s+(?:number|no\.?|n°|numéro|número|#))?[^.!?\n]{0,30}?"
    rf"(?<![\w-]){_CODE}\s?{_NUMBER}\b{_NOT_A_QUANTITY}"
)
# two characters that are never an airline in everyday text
_NOT_AIRLINES = frozenset(
    {"AM", "PM", "UK", "US", "EU", "TV", "PC", "ID", "OK", "NO", "GB", "MB", "KB", "TB", "HD",
     "PS", "MP", "CO", "ST", "RT", "NR", "FY", "NY", "LA"}
)  # fmt: skip


@dataclass(frozen=True)
class Specifics:
    """What a mention names; "" for what it does not."""

    order: str = ""  # the reference itself: "A1234"
    order_kind: str = ""  # order, booking, case, reference or parcel
    flight: str = ""  # "UA1234"
    product: str = ""  # as the brand spells it


_CODES = frozenset({"ref", "réf", "reference", "référence", "pnr", "confirmation"})


def _echoed(text: str, match: re.Match[str]) -> bool:
    """Whether a reply may repeat the reference: not a quantity, nor a long number of digits
    only (counting the groups that follow it: "4111 1111 1111 1111")."""
    ref: str = match["id"]
    rest = text[match.end() :]
    if _QUANTITY.fullmatch(ref) or _UNIT_AFTER.match(rest):
        return False
    more = _MORE_DIGITS.match(rest)
    number = ref + (more.group() if more else "")
    if re.fullmatch(r"[\d .-]+", number) is None:
        return True
    return sum(char.isdigit() for char in number) <= MOST_DIGITS


def _reference(text: str) -> re.Match[str] | None:
    for match in _REFERENCE.finditer(text):
        ref, marked = match["id"], bool(match["marker"] or match["word"])
        has_digit = any(char.isdigit() for char in ref)
        if not has_digit and not (
            ref.isupper() and 5 <= len(ref) <= 8 and (marked or match["kind"].lower() in _CODES)
        ):
            continue  # "order status", "booking confirmation"
        if _DATE.match(ref) or (_YEAR.match(ref) and not marked):
            continue  # "booking 2026-03-01", "case 2024"
        if has_digit and len(ref) < 4:
            continue  # "ticket 20 minutes ago"
        if not _echoed(text, match):
            continue  # "package 100GB", "reference 4111 1111 1111 1111"
        return match
    return None


def _flight(text: str) -> str:
    """A code after "flight", "vol" or "vuelo", as written: a bare "E1001" or "SM9005" is as
    likely an error code or a model number."""
    for match in _FLIGHT_NEAR_WORD.finditer(text):
        if match["code"] not in _NOT_AIRLINES:
            return f"{match['code']}{match['number']}"
    return ""


def _product(text: str, products: Sequence[str]) -> str:
    found: tuple[int, int, str] | None = None  # (start, -length, name): leftmost, then longest
    for name in products:
        if not name.strip():
            continue
        match = re.search(rf"(?<!\w){re.escape(name.strip())}(?!\w)", text, re.IGNORECASE)
        if match and (found is None or (match.start(), -len(name)) < found[:2]):
            found = (match.start(), -len(name), name.strip())
    return found[2] if found else ""


def specifics_of(text: str, products: Sequence[str] = ()) -> Specifics:
    """The order reference, flight and product ``text`` names, without links or @handles."""
    plain = _HANDLE_OR_LINK.sub(" ", text)
    reference = _reference(plain)
    if reference is None:
        order = kind = ""
    else:
        order, kind = reference["id"], _KINDS[reference["kind"].lower()]
        # "order AB1234" is not also a flight
        plain = plain[: reference.start()] + " " + plain[reference.end() :]
    return Specifics(order, kind, _flight(plain), _product(plain, products))
