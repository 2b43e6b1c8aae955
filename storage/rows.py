"""Reading stored JSON into domain dataclasses across versions.

A row written by a newer Vigie of the same schema version (a field added without a schema
bump, read after a rollback) may carry fields this version does not know: they are left out,
with a warning once per type and field, rather than crash every start. A field this version
added and the row lacks takes its default (the dataclass must give one).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
_warned: set[tuple[str, str]] = set()


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """``cls(**fields)`` without the fields ``cls`` does not have."""
    known = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [name for name in fields if name not in known]
    for name in unknown:
        if (cls.__name__, name) not in _warned:
            _warned.add((cls.__name__, name))
            logger.warning(
                "stored %s rows carry %r, unknown to this version (written by a newer Vigie?): "
                "left out",
                cls.__name__,
                name,
            )
    return cls(**{name: value for name, value in fields.items() if name in known})
