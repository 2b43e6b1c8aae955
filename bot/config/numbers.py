"""Numbers in ``app.yaml``: a number, or text that reads as one (``port: ${PORT:-8080}`` is text
once substituted), never ``true`` or ``false``. Pydantic takes a boolean as 1 or 0, and YAML reads
``yes``, ``no``, ``on`` and ``off`` as booleans, so ``port: on`` would listen on port 1.

A decimal number is finite (YAML reads ``.inf`` and ``.nan``) and at most :data:`MAX_NUMBER`: most
are seconds, and a time that far away overflows the dates it is added to."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BeforeValidator

TEN_YEARS_DAYS = 3650
"""The longest duration a setting may name: no real timer runs longer, and a longer one (such as
``999999999d``) would overflow the dates it is added to."""
MAX_NUMBER = TEN_YEARS_DAYS * 86_400
"""The largest decimal setting: ten years in seconds."""


def not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got {str(value).lower()} "
            "(YAML reads yes, no, on and off as true and false)"
        )
    return value


def finite_number(value: object) -> object:
    """Before pydantic's own checks (``ge=0`` says nothing useful of ``.nan``); text such as
    ``${PACE:-1}`` substituted is read as pydantic would read it."""
    value = not_a_boolean(value)
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return value  # pydantic says it is not a number
    if number is None:
        return value
    if not math.isfinite(number):
        raise ValueError(
            f"expected a finite number, got {number} (YAML reads .inf and .nan as infinity and "
            "not-a-number)"
        )
    if abs(number) > MAX_NUMBER:
        raise ValueError(f"{number:g} is too large: at most {MAX_NUMBER:,} (ten years in seconds)")
    return value


Integer = Annotated[int, BeforeValidator(not_a_boolean)]
Number = Annotated[float, BeforeValidator(finite_number)]
