"""The console platform: with no Slack or Teams configured, Vigie tells the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.config.schema import ConsoleSettings
from bot.model import ScoredMention, Sentiment
from bot.spread.brand_risk import BinRisk

_STYLE = {
    Sentiment.NEGATIVE: "bold red",
    Sentiment.NEUTRAL: "dim",
    Sentiment.POSITIVE: "green",
}
_MAX_TEXT = 220


def compact_count(number: int) -> str:
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(number)


def render_mention(scored: ScoredMention, brand_names: dict[str, str]) -> Text:
    """One mention as one or two lines of styled text."""
    mention = scored.mention
    label = scored.negativity.sentiment
    text = " ".join(mention.text.split())
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"
    line = Text()
    line.append(mention.created_at.strftime("%Y-%m-%d %H:%M "), style="cyan")
    line.append(", ".join(brand_names.get(b, b) for b in scored.brands), style="bold")
    line.append(f"  {label.value[:3].upper()} {scored.negativity.score:.2f}", style=_STYLE[label])
    line.append(f"  {scored.language.code}", style="magenta")
    author = mention.author
    if author.handle:
        line.append(f"  @{author.handle}", style="yellow")
        if author.followers:
            line.append(f" ({compact_count(author.followers)} followers)", style="dim")
    if scored.negativity.reasons and label is Sentiment.NEGATIVE:
        line.append(f"  ({'; '.join(scored.negativity.reasons)})", style="dim")
    line.append(f"\n    {text}")
    if mention.url:
        line.append(f"\n    {mention.url}", style="blue underline")
    return line


class ConsolePlatform:
    """Prints the mentions worth a look as they are stored, and a summary at the end."""

    def __init__(
        self, settings: ConsoleSettings, brand_names: dict[str, str], console: Console
    ) -> None:
        self.settings = settings
        self.brand_names = brand_names
        self.console = console
        self._counts: Counter[tuple[str, str]] = Counter()

    def show(self, batch: Sequence[ScoredMention]) -> None:
        for scored in batch:
            for brand in scored.brands:
                self._counts[(brand, scored.negativity.sentiment.value)] += 1
            if self._wanted(scored):
                self.console.print(render_mention(scored, self.brand_names), highlight=False)

    def show_risk(self, bin_risk: BinRisk) -> None:
        """A brand's hour worth a look: its risk and why."""
        name = self.brand_names.get(bin_risk.brand, bin_risk.brand)
        style = "bold white on red" if bin_risk.risk.score >= 60 else "bold black on yellow"
        line = Text()
        line.append(f"{bin_risk.start:%Y-%m-%d %H:%M}-{bin_risk.end:%H:%M} ", style="cyan")
        line.append(f" RISK {bin_risk.risk.score} ", style=style)
        line.append(f" {name}{' (burst)' if bin_risk.burst else ''}: ", style="bold")
        line.append(bin_risk.risk.explanation.split(": ", 1)[-1])
        self.console.print(line, highlight=False)

    def summary(self, highest: dict[str, BinRisk] | None = None) -> None:
        if highest:
            for slug, bin_risk in highest.items():
                name = self.brand_names.get(slug, slug)
                self.console.print(
                    f"Highest risk for {name}: {bin_risk.risk.explanation} "
                    f"({bin_risk.start:%Y-%m-%d %H:%M})",
                    highlight=False,
                )
        if not self._counts:
            return
        table = Table(title="Mentions stored this run")
        table.add_column("Brand")
        for sentiment in Sentiment:
            table.add_column(sentiment.value.capitalize(), justify="right")
        for slug, name in self.brand_names.items():
            counts = [self._counts[(slug, sentiment.value)] for sentiment in Sentiment]
            if any(counts):
                table.add_row(name, *(str(count) for count in counts))
        self.console.print(table)

    def _wanted(self, scored: ScoredMention) -> bool:
        if self.settings.show == "none":
            return False
        if self.settings.show == "all":
            return True
        return (
            scored.negativity.sentiment is Sentiment.NEGATIVE
            and scored.negativity.score >= self.settings.min_negativity
        )
