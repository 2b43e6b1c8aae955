"""A mention the pipeline failed on is stored all the same: unscored, neutral, with the reason.

It is never silently dropped (the project's rule: nothing accepted is lost); neutral, it opens no
incident. The reason travels in ``Negativity.reasons`` until it is stored (``storage.unfiled``).
"""

from __future__ import annotations

from datetime import datetime

from bot.model import LanguageGuess, Mention, Negativity, ScoredMention, Sentiment

PREFIX = "unscored: "


def unscored(mention: Mention, error: str, received_at: datetime) -> ScoredMention:
    """A stand-in for the score the pipeline could not give: no brand, neutral, the reason."""
    language = LanguageGuess(mention.language or "und", 0.0, supported=False)
    negativity = Negativity(0.0, Sentiment.NEUTRAL, 0.0, (PREFIX + error,))
    return ScoredMention(mention, (), (), language, negativity, received_at)


def unscored_reason(scored: ScoredMention) -> str | None:
    """Why the mention could not be scored, or None when it was scored."""
    reasons = scored.negativity.reasons
    if reasons and reasons[0].startswith(PREFIX) and not scored.brands:
        return reasons[0][len(PREFIX) :]
    return None
