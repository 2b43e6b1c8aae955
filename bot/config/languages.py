"""Language codes in ``app.yaml``, read as the language detector gives them: 'fra', 'fr-FR' and
'fr_FR' mean 'fr', so a brand's languages and its playbook's name the same language alike."""

from __future__ import annotations

import re

from bot.language import declared_code


def language_code(code: str) -> str:
    """The two-letter code; a three-letter code without one (ceb, yue, haw: the detector knows
    them) stays. Anything else is refused."""
    short = declared_code(code) or (code if re.fullmatch(r"[a-z]{3}", code) else "")
    if not short:
        raise ValueError(f"{code!r} is not an ISO 639-1 language code such as 'en' or 'fr'")
    return short
