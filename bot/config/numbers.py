"""Numbers in ``app.yaml``: a number, or text that reads as one (``port: ${PORT:-8080}`` is text
once substituted), never ``true`` or ``false``. Pydantic takes a boolean as 1 or 0, and YAML reads
``yes``, ``no``, ``on`` and ``off`` as booleans, so ``port: on`` would listen on port 1."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got {str(value).lower()} "
            "(YAML reads yes, no, on and off as true and false)"
        )
    return value


Integer = Annotated[int, BeforeValidator(not_a_boolean)]
Number = Annotated[float, BeforeValidator(not_a_boolean)]
