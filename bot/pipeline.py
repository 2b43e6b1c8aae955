"""The pure, synchronous path of one mention: match brands -> language -> negativity.

No I/O here: a mention in, a scored mention out (or ``None`` when it is not about our brands).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.language import LanguageDetector
from bot.matching import BrandMatcher
from bot.model import Brand, LanguageGuess, Mention, ScoredMention
from bot.negativity import NegativityScorer


class Pipeline:
    def __init__(
        self,
        brands: Sequence[Brand],
        detector: LanguageDetector,
        scorer: NegativityScorer,
        now: Callable[[], datetime],
    ) -> None:
        self.matcher = BrandMatcher(brands)
        self.detector = detector
        self.scorer = scorer
        self.now = now
        self._languages = {brand.slug: brand.languages for brand in brands}

    def process(self, mention: Mention) -> ScoredMention | None:
        matches = self.matcher.match(mention.text)
        if not matches:
            return None
        brands = tuple(match.brand for match in matches)
        language = self._language(mention, brands)
        return ScoredMention(
            mention=mention,
            brands=brands,
            matched_terms=tuple(term for match in matches for term in match.terms),
            language=language,
            negativity=self.scorer.score(mention.text, language),
            received_at=self.now(),
        )

    def _language(self, mention: Mention, brands: tuple[str, ...]) -> LanguageGuess:
        if mention.language:
            return self.detector.known(mention.language)
        preferred = tuple(dict.fromkeys(code for slug in brands for code in self._languages[slug]))
        return self.detector.detect(mention.text, preferred)
