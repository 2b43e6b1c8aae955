"""The console platform: with no Slack or Teams configured, Vigie tells the terminal.

Printing is best effort: once the output is closed (``vigie run | head``, a terminal gone), it
is said once in the log and the console goes quiet; the service goes on. The service prints
from a thread of its own (``background``): an output nobody reads for a while (``| less`` left
on its first page) fills the pipe and blocks that thread only; what comes meanwhile waits in a
bounded queue, past which lines are dropped (said once), never the service.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from bot.accounts import is_own
from bot.config.schema import ConsoleSettings
from bot.incidents.model import Incident, Intent, IntentKind, topic_label
from bot.model import ScoredMention, Sentiment
from bot.sanitize import printable

_STYLE = {
    Sentiment.NEGATIVE: "bold red",
    Sentiment.NEUTRAL: "dim",
    Sentiment.POSITIVE: "green",
}
_MAX_TEXT = 220
OWN = "own"  # the summary column of the brands' own posts (never complaints)

logger = logging.getLogger(__name__)
BACKLOG = 10_000
"""Lines waiting to be printed, at most. Past it the service waits for the printing thread
while that thread prints (a burst printed faster than a terminal takes it: no line is lost,
as when the service printed itself), and drops lines only when it has printed nothing for
``STALLED_SECONDS`` (an output nobody reads; said once)."""
STALLED_SECONDS = 2.0
DRAIN_SECONDS = 5.0
"""How long the summary at exit waits for the lines still waiting to be printed."""


def compact_count(number: int) -> str:
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(number)


def inert(line: Text) -> Text:
    """``line`` with each control character (but line breaks and tabs) shown in place, as a
    space when it separates words (a carriage return, a form feed) and as U+FFFD otherwise:
    mentions are cleaned on intake, but one stored before, a notice or a card field must not
    drive the terminal either. The length stays, and so do the styles."""
    plain = line.plain
    shown = printable(plain, "\ufffd")
    if shown is not plain:
        line.plain = shown
    return line


def render_mention(scored: ScoredMention, brand_names: dict[str, str], own: bool = False) -> Text:
    """One mention as one or two lines of styled text; ``own``: the brand's own account posted
    it (shown OWN, never as a complaint)."""
    mention = scored.mention
    label = scored.negativity.sentiment
    text = " ".join(mention.text.split())
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"
    line = Text()
    line.append(mention.created_at.strftime("%Y-%m-%d %H:%M "), style="cyan")
    line.append(", ".join(brand_names.get(b, b) for b in scored.brands), style="bold")
    if own:
        line.append("  OWN     ", style="bold blue")
    else:
        line.append(
            f"  {label.value[:3].upper()} {scored.negativity.score:.2f}", style=_STYLE[label]
        )
    line.append(f"  {scored.language.code}", style="magenta")
    author = mention.author
    if author.handle:
        line.append(f"  @{author.handle}", style="yellow")
        if author.followers:
            line.append(f" ({compact_count(author.followers)} followers)", style="dim")
    if scored.negativity.reasons and label is Sentiment.NEGATIVE and not own:
        line.append(f"  ({'; '.join(scored.negativity.reasons)})", style="dim")
    line.append(f"\n    {text}")
    if mention.url:
        line.append(f"\n    {mention.url}", style="blue underline")
    return line


_BADGE = {
    IntentKind.OPEN: ("NEW", "bold white on red"),
    IntentKind.UPDATE: ("UPDATE", "bold black on yellow"),
    IntentKind.THREAD: ("  ↳", "bold"),
    IntentKind.RESOLVE: ("RESOLVED", "bold white on green"),
    IntentKind.NOTICE: ("NOTICE", "bold black on cyan"),
}


def render_intent(intent: Intent) -> Text:
    """One notification as a line or two: what happened to which incident, and for whom."""
    card = intent.card
    badge, style = _BADGE[intent.kind]
    line = Text()
    line.append(f"{badge} ", style=style)
    line.append(f" {intent.channel}", style="cyan")
    if intent.mention:
        line.append(f" {intent.mention}", style="yellow")
    if intent.kind is IntentKind.NOTICE:
        line.append(f"  {intent.text}")
        return line
    if intent.kind is IntentKind.THREAD or intent.kind is IntentKind.RESOLVE:
        line.append(f"  #{card['incident']} {intent.text}")
        return line
    status = card["status"] if card["status"] != "open" else ""
    line.append(f"  #{card['incident']} {card['brand']} ", style="bold")
    about = "" if card["topic"] == "storm" else f"{card['topic']} "
    theme = f"({str(card['theme']).replace('_', ' ')}) " if card["theme"] else ""
    line.append(f"{about}{theme}")
    line.append(f"{str(card['level']).upper()} risk {card['risk']}", style="bold red")
    line.append(f"  {card['mentions']} mentions {status}".rstrip())
    if card["acknowledged_by"]:
        line.append(f"  ack: {card['acknowledged_by']}", style="green")
    if intent.kind is IntentKind.OPEN:
        line.append(f"\n    {str(card['explanation']).split(': ', 1)[-1]}", style="dim")
    return line


def render_drafts(intent: Intent) -> Text:
    """A set of reply drafts: what they answer, and the first variant's text."""
    card = intent.card
    line = Text()
    line.append("DRAFTS ", style="bold black on white")
    line.append(f" {intent.channel}", style="cyan")
    line.append(f"  {intent.text}")
    drafts = card.get("drafts") or []
    if drafts:
        first = drafts[0]
        more = f" (+{len(drafts) - 1} more)" if len(drafts) > 1 else ""
        text = str(first["text"]).replace("\n", "\n    ")  # a sign-off line stays indented
        line.append(f"\n    [{first['variant']}, {first['language']}] {text}{more}")
    return line


class ConsolePlatform:
    """Prints the mentions worth a look as they are stored, and a summary at the end."""

    def __init__(
        self,
        settings: ConsoleSettings,
        brand_names: dict[str, str],
        console: Console,
        own: Mapping[str, frozenset[str]] | None = None,
        *,
        background: bool = False,
    ) -> None:
        """``background``: print from a daemon thread of its own (the service; see above)."""
        self.settings = settings
        self.brand_names = brand_names
        self.console = console
        self.own = dict(own or {})  # each brand's own accounts: their posts are not complaints
        self._counts: Counter[tuple[str, str]] = Counter()
        self._shown: dict[int, tuple[object, ...]] = {}
        self.closed = False  # the output was closed: nothing more is printed
        self.dropped = 0  # lines dropped while the output was not read (background only)
        self._printed_at = time.monotonic()  # when the printing thread last printed a line
        self._backlog: queue.Queue[tuple[RenderableType, bool | None]] | None = None
        if background:
            self._backlog = queue.Queue(BACKLOG)
            threading.Thread(target=self._printing, name="vigie-console", daemon=True).start()

    def show(self, batch: Sequence[ScoredMention]) -> None:
        for scored in batch:
            handle = scored.mention.author.handle
            for brand in scored.brands:  # the brand's own posts are counted apart: an apology
                mine = is_own(handle, self.own.get(brand, frozenset()))  # reads negative
                self._counts[(brand, OWN if mine else scored.negativity.sentiment.value)] += 1
            own = self._own(scored)
            if self._wanted(scored, own):
                self._print(render_mention(scored, self.brand_names, own))

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        """Print a notification. A terminal cannot edit a card, so an update prints only when
        the level or status changed; counts and risk are in the next line that does print."""
        card = intent.card
        if intent.part:  # reply drafts: shown once; deciding on them takes Slack or Teams
            if intent.kind is IntentKind.OPEN:
                self._print(render_drafts(intent))
            return card_ref or intent.key
        if intent.kind is IntentKind.NOTICE:  # about Vigie itself: no incident, no card
            self._print(render_intent(intent))
            return intent.key
        state = (card["level"], card["status"], card["acknowledged_by"], card["snoozed_until"])
        if intent.kind is IntentKind.UPDATE and self._shown.get(card["incident"]) == state:
            return card_ref or intent.key
        self._shown[card["incident"]] = state
        self._print(render_intent(intent))
        return card_ref or intent.key

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None  # a terminal keeps no record: after a crash, a line may print twice

    def summary(self, incidents: Sequence[Incident] = ()) -> None:
        for incident in incidents:
            name = self.brand_names.get(incident.brand, incident.brand)
            history = " -> ".join(f"{c.level} {c.at:%d %b %H:%M}" for c in incident.levels)
            self._print(
                Text(
                    f"Incident #{incident.id} {name} {topic_label(incident.topic)}: "
                    f"{incident.status.value}, peak risk {incident.peak_risk}, "
                    f"{incident.mention_count} mentions ({history})"
                )
            )
        if self._counts:
            self._out(self._table())
        self.drain()

    def _table(self) -> Table:
        table = Table(title="Mentions stored this run")
        table.add_column("Brand")
        columns = [sentiment.value for sentiment in Sentiment]
        if any(kind == OWN for _, kind in self._counts):
            columns.append(OWN)
        for column in columns:
            title = "Own posts" if column == OWN else column.capitalize()
            table.add_column(title, justify="right")
        for slug, name in self.brand_names.items():
            counts = [self._counts[(slug, column)] for column in columns]
            if any(counts):
                table.add_row(Text(name), *(str(count) for count in counts))  # not markup
        return table

    @property
    def waiting(self) -> int:
        """Lines waiting to be printed (background), the one being printed included."""
        return self._backlog.unfinished_tasks if self._backlog is not None else 0

    def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait (at most ``seconds``) for the lines still waiting to be printed (background)."""
        deadline = time.monotonic() + seconds
        while self.waiting:
            if self.closed:
                return
            if time.monotonic() > deadline:
                logger.warning(
                    "%d console lines were not printed: its output is not read", self.waiting
                )
                return
            time.sleep(0.01)

    def _print(self, line: Text) -> None:
        self._out(inert(line), highlight=False)

    def _out(self, what: RenderableType, *, highlight: bool | None = None) -> None:
        """Print, best effort: now, or by the printing thread (``background``)."""
        if self.closed:
            return
        if self._backlog is None:
            self._write(what, highlight)
            return
        try:
            self._backlog.put_nowait((what, highlight))
            return
        except queue.Full:
            pass
        try:
            if time.monotonic() - self._printed_at < STALLED_SECONDS:
                self._backlog.put((what, highlight), timeout=STALLED_SECONDS)
                return
        except queue.Full:
            pass
        self.dropped += 1
        if self.dropped == 1:
            logger.warning(
                "the console's output is not being read (%d lines wait, none printed for %.0f s):"
                " lines are dropped until it is; Vigie goes on",
                BACKLOG,
                STALLED_SECONDS,
            )

    def _printing(self) -> None:
        assert self._backlog is not None
        while True:
            what, highlight = self._backlog.get()
            try:
                if not self.closed:
                    self._write(what, highlight)
                    self._printed_at = time.monotonic()
            except SystemExit as error:  # not rich's broken pipe: a thread cannot exit for it
                self._close(error)
            except Exception:  # a renderable that cannot print: the thread must go on
                logger.exception("printing to the console failed")
            finally:
                self._backlog.task_done()

    def _write(self, what: RenderableType, highlight: bool | None) -> None:
        """Print. A closed output (a broken pipe: rich then exits with ``SystemExit``, once its
        output is sent to /dev/null) or another error writing is logged once; the console is
        quiet from then on and the service goes on."""
        try:
            self.console.print(what, highlight=highlight)
        except SystemExit as error:
            if not self.console.quiet:
                raise  # not rich's broken pipe (it makes its console quiet first)
            self._close(error)
        except OSError as error:
            self._close(error)

    def _close(self, error: BaseException) -> None:
        self.closed = True
        self.console.quiet = True
        reason = "a broken pipe" if isinstance(error, SystemExit) else f"{error}"
        logger.warning(
            "the console's output is closed (%s): mentions and notifications are no longer "
            "printed there; Vigie goes on (the other platforms, storage, /healthz)",
            reason,
        )

    def _own(self, scored: ScoredMention) -> bool:
        handle = scored.mention.author.handle
        return any(is_own(handle, self.own.get(brand, frozenset())) for brand in scored.brands)

    def _wanted(self, scored: ScoredMention, own: bool) -> bool:
        if self.settings.show == "none":
            return False
        if self.settings.show == "all":
            return True
        return not own and (
            scored.negativity.sentiment is Sentiment.NEGATIVE
            and scored.negativity.score >= self.settings.min_negativity
        )
