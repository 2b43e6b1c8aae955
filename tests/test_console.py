"""The console platform prints notices about Vigie itself (a source in trouble), which carry no
incident card, instead of failing on them for ever."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.accounts import own_accounts
from bot.config.schema import ConsoleSettings
from bot.incidents.model import Intent, IntentKind
from bot.model import Author, LanguageGuess, Mention, Negativity, ScoredMention, Sentiment
from handlers.console import ConsolePlatform


def notice(n: int, text: str) -> Intent:
    return Intent(
        key=f"notice-{n}",
        incident_id=0,
        kind=IntentKind.NOTICE,
        platform="console",
        channel="#social",
        created_at=datetime(2026, 3, 10, tzinfo=UTC),
        text=text,
        card={},
    )


async def test_a_notice_prints_its_text() -> None:
    out = io.StringIO()
    platform = ConsolePlatform(ConsoleSettings(), {}, Console(file=out, width=120))
    trouble = notice(1, "Source reddit is in trouble (HTTP 503); Vigie keeps retrying.")
    assert await platform.deliver(trouble, None) == "notice-1"
    assert "Source reddit is in trouble" in out.getvalue()


def _scored(handle: str, text: str) -> ScoredMention:
    at = datetime(2026, 3, 10, tzinfo=UTC)
    mention = Mention("demo", handle, text, at, author=Author(handle))
    negativity = Negativity(0.9, Sentiment.NEGATIVE, -0.7, ("apology",))
    language = LanguageGuess("en", 1.0)
    return ScoredMention(mention, ("kestrel-mobile",), ("kestrel",), language, negativity, at)


def test_the_brands_own_posts_are_not_shown_as_complaints() -> None:
    """An apology from the brand's own account reads negative ('sorry', 'outage'): it is the
    brand speaking, so the negative view leaves it out and the full view marks it OWN."""
    own = {"kestrel-mobile": own_accounts(["@kestrelmobile"])}
    apology = _scored("kestrelmobile", "We're sorry about today's outage, service is back")
    complaint = _scored("pat", "Kestrel outage again, awful")
    out = io.StringIO()
    negative_only = ConsolePlatform(ConsoleSettings(), {}, Console(file=out, width=200), own)
    negative_only.show([apology, complaint])
    assert "awful" in out.getvalue()
    assert "sorry" not in out.getvalue()
    out = io.StringIO()
    everything = ConsolePlatform(ConsoleSettings(show="all"), {}, Console(file=out, width=200), own)
    everything.show([apology])
    assert "OWN" in out.getvalue()
    assert "NEG" not in out.getvalue()


def test_the_summary_counts_the_brands_own_posts_apart() -> None:
    own = {"kestrel-mobile": own_accounts(["@kestrelmobile"])}
    out = io.StringIO()
    names = {"kestrel-mobile": "Kestrel Mobile"}
    platform = ConsolePlatform(ConsoleSettings(), names, Console(file=out, width=120), own)
    platform.show(
        [_scored("kestrelmobile", "We're sorry about the outage"), _scored("pat", "awful")]
    )
    platform.summary()
    [row] = [line for line in out.getvalue().splitlines() if line.startswith("│ Kestrel Mobile")]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["Kestrel Mobile", "1", "0", "0", "1"]
    assert "Own posts" in out.getvalue()


def test_a_brand_name_with_brackets_is_printed_as_written_in_the_summary() -> None:
    """Brand names are text, not Rich markup: '[/x]' once crashed the end-of-run summary."""
    out = io.StringIO()
    names = {"kestrel-mobile": "Kestrel [/x] [bold]Mobile"}
    platform = ConsolePlatform(ConsoleSettings(), names, Console(file=out, width=120), {})
    platform.show([_scored("pat", "awful")])
    platform.summary()
    assert "Kestrel [/x] [bold]Mobile" in out.getvalue()


async def test_escape_sequences_in_a_stored_mention_or_a_notice_never_reach_the_terminal() -> None:
    """Intake cleans mentions; one stored before that, or a notice, is printed inert: its
    control characters shown as U+FFFD, its line breaks kept."""
    out = io.StringIO()
    platform = ConsolePlatform(ConsoleSettings(show="all"), {}, Console(file=out, width=300))
    platform.show([_scored("ev\x1b[8mhidden", "kestrel down \x1b]0;PWNED\x07\x1b[2J\x9b fake")])
    notice = Intent(
        key="notice-2",
        incident_id=0,
        kind=IntentKind.NOTICE,
        platform="console",
        channel="#social",
        created_at=datetime(2026, 3, 10, tzinfo=UTC),
        text="Source x is in trouble (\x1b[31mred\x1b[0m)",
        card={},
    )
    await platform.deliver(notice, None)
    printed = out.getvalue()
    assert not {"\x1b", "\x07", "\x9b"} & set(printed)
    assert "@ev\ufffd[8mhidden" in printed
    assert "kestrel down \ufffd]0;PWNED\ufffd[2J\ufffd fake" in printed  # rich drops BEL
    assert "(\ufffd[31mred\ufffd[0m)" in printed


def test_a_closed_output_is_said_once_and_the_console_goes_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``vigie run | head -c 1``: rich answers a broken pipe with ``SystemExit(1)``, which
    stopped the service abruptly from the intake's sink. Printing is best effort now."""
    stdout = (tmp_path / "stdout").open("w")  # what rich sends to /dev/null on a broken pipe
    monkeypatch.setattr(sys, "stdout", stdout)
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    out = os.fdopen(write, "w")
    platform = ConsolePlatform(ConsoleSettings(show="all"), {}, Console(file=out, width=200))
    complaint = _scored("pat", "Kestrel outage again, awful")
    try:
        with caplog.at_level(logging.WARNING, logger="handlers.console"):
            platform.show([complaint])  # raised SystemExit(1)
            platform.show([complaint])
            trouble = notice(1, "Source reddit is in trouble")
            assert asyncio.run(platform.deliver(trouble, None)) == "notice-1"
            platform.summary()
    finally:
        with suppress(OSError):
            out.close()
        stdout.close()
    assert platform.closed
    said = [r for r in caplog.records if "output is closed" in r.getMessage()]
    assert len(said) == 1


async def test_an_output_nobody_reads_blocks_only_the_printing_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``vigie run | less`` left on its first page: the pipe fills and printing blocks. It
    blocked the event loop (every source, webhook and channel); now lines wait, then are
    dropped, and the loop goes on."""
    monkeypatch.setattr("handlers.console.BACKLOG", 5)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
    with open(fifo, "w") as out:  # noqa: ASYNC230 - a FIFO with a reader opens at once
        platform = ConsolePlatform(
            ConsoleSettings(), {}, Console(file=out, width=200), background=True
        )
        try:
            for n in range(40):  # far more than a pipe holds
                await asyncio.wait_for(platform.deliver(notice(n, "y" * 3000), None), 5)
            assert platform.dropped > 0
            assert "not being read" in caplog.text
        finally:
            for _ in range(1000):  # read it all: the printing thread ends its writes
                with suppress(BlockingIOError):
                    os.read(reader, 1 << 16)
                if not platform.waiting:
                    break
                await asyncio.sleep(0.01)
            os.close(reader)


async def test_the_summary_waits_for_the_lines_before_it() -> None:
    out = io.StringIO()
    platform = ConsolePlatform(ConsoleSettings(), {}, Console(file=out, width=120), background=True)
    for n in range(50):
        await platform.deliver(notice(n, f"notice number {n}"), None)
    platform.summary()
    assert "notice number 49" in out.getvalue()


async def test_a_burst_faster_than_the_output_loses_no_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue full while the printing thread prints: the service waits for it, as when it
    printed itself; lines are dropped only when nothing is printed for a while."""
    monkeypatch.setattr("handlers.console.BACKLOG", 5)
    out = io.StringIO()
    platform = ConsolePlatform(ConsoleSettings(), {}, Console(file=out, width=120), background=True)
    for n in range(300):
        await platform.deliver(notice(n, f"notice number {n}"), None)
    platform.summary()
    assert platform.dropped == 0
    assert all(f"notice number {n}\n" in out.getvalue() for n in range(300))
