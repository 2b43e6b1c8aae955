"""The console platform prints notices about Vigie itself (a source in trouble), which carry no
incident card, instead of failing on them for ever."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from bot.config.schema import ConsoleSettings
from bot.incidents.model import Intent, IntentKind
from handlers.console import ConsolePlatform


async def test_a_notice_prints_its_text() -> None:
    out = io.StringIO()
    platform = ConsolePlatform(ConsoleSettings(), {}, Console(file=out, width=120))
    notice = Intent(
        key="notice-1",
        incident_id=0,
        kind=IntentKind.NOTICE,
        platform="console",
        channel="#social",
        created_at=datetime(2026, 3, 10, tzinfo=UTC),
        text="Source reddit is in trouble (HTTP 503); Vigie keeps retrying.",
        card={},
    )
    assert await platform.deliver(notice, None) == "notice-1"
    assert "Source reddit is in trouble" in out.getvalue()
