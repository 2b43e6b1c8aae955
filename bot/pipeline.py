"""The pure, synchronous path of one mention: match brands -> language -> negativity (on the
text with the brand names that would sway it masked, ``bot.brand_mask``).

No I/O here: a mention in, a scored mention out (or ``None`` when it is not about our brands).
``judge`` needs only the text, so worker processes are sent texts, not whole mentions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.brand_mask import BrandMask
from bot.complaints import CueMatcher
from bot.language import LanguageDetector
from bot.matching import BrandMatch, BrandMatcher
from bot.model import Brand, LanguageGuess, Mention, ScoredMention, Verdict
from bot.negativity import NegativityScorer


class Pipeline:
    def __init__(
        self,
        brands: Sequence[Brand],
        detector: LanguageDetector,
        scorer: NegativityScorer,
    ) -> None:
        self.matcher = BrandMatcher(brands)
        self.detector = detector
        self.scorer = scorer
        self._languages = {brand.slug: brand.languages for brand in brands}
        self.mask = BrandMask(brands, scorer.sways)
        self._cues = {
            brand.slug: CueMatcher(self._masked_cues(brand)) for brand in brands if brand.cues
        }

    def _masked_cues(self, brand: Brand) -> dict[str, tuple[str, ...]]:
        """The brand's cue phrases as the masked text reads ("best buy refund" for Best Buy:
        "@brand refund", read as "refund"); one that was nothing but a masked term is dropped.
        Only the brand's own terms are masked, as in a text that names it: another brand's name
        in a phrase stays where that brand is not named (an exclusion ruled it out)."""
        return {
            group: tuple(self.mask(phrase, brand.terms) for phrase in phrases)
            for group, phrases in brand.cues
        }

    @classmethod
    def for_brands(cls, brands: Sequence[Brand]) -> Pipeline:
        scorer = NegativityScorer()
        return cls(brands, LanguageDetector(scorer.languages), scorer)

    def process(self, mention: Mention, received_at: datetime) -> ScoredMention | None:
        verdict = self.judge(mention.text, mention.language)
        return None if verdict is None else ScoredMention.of(mention, verdict, received_at)

    def judge(self, text: str, declared_language: str = "") -> Verdict | None:
        """The verdict on one text, or None when it mentions none of the brands."""
        outcome = self.judge_many([(text, declared_language)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def judge_many(self, tasks: Sequence[tuple[str, str]]) -> list[Verdict | Exception | None]:
        """Verdicts on many texts (text, declared language), in order; a text that fails gives
        its exception. Stage by stage (match all, then detect all languages, then score), since
        fastText runs twice as fast when its tables stay in the CPU cache between calls."""
        outcomes: list[Verdict | Exception | None] = [None] * len(tasks)
        matched: list[tuple[int, list[BrandMatch]]] = []
        for index, (text, _) in enumerate(tasks):
            try:
                matches = self.matcher.match(text)
            except Exception as error:
                outcomes[index] = error
                continue
            if matches:
                matched.append((index, matches))
        languages: dict[int, LanguageGuess] = {}
        for index, matches in matched:
            text, declared = tasks[index]
            try:
                brands = tuple(match.brand for match in matches)
                languages[index] = self._language(text, declared, brands)
            except Exception as error:
                outcomes[index] = error
        for index, matches in matched:
            if index not in languages:
                continue
            try:
                outcomes[index] = self._verdict(tasks[index][0], matches, languages[index])
            except Exception as error:
                outcomes[index] = error
        return outcomes

    def _verdict(self, text: str, matches: list[BrandMatch], language: LanguageGuess) -> Verdict:
        brands = tuple(match.brand for match in matches)
        # the first matched brand that adds its own complaint phrases lends them
        cues = next((self._cues[slug] for slug in brands if slug in self._cues), None)
        terms = tuple(term for match in matches for term in match.terms)
        return Verdict(
            brands=brands,
            matched_terms=terms,
            language=language,
            negativity=self.scorer.score(self.mask(text, terms), language, cues),
        )

    def _language(self, text: str, declared: str, brands: tuple[str, ...]) -> LanguageGuess:
        """The declared language when it says one ('en_US', 'eng'), else the detector's guess
        ('und', 'zxx' or nothing declared), preferring the brands' languages when close."""
        preferred = tuple(dict.fromkeys(code for slug in brands for code in self._languages[slug]))
        return self.detector.guess(text, declared, preferred)
