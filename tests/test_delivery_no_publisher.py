"""A reply whose source cannot publish at this start fails at once; if an earlier start was
already publishing it, the failure says it may have been published (never "nothing was sent")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.delivery import Deliverer
from bot.incidents.model import IntentKind
from storage.writer import Writer
from tests.test_delivery import FakeClock, intent, put, rows, simulate_crash_mid_delivery


class Recording:
    def __init__(self) -> None:
        self.settled: dict[str, str | None] = {}

    def settle(self, db: Any, item: Any, ref: str, error: str | None) -> None:
        self.settled[item.intent.key] = error

    def unsettled(self, db: Any) -> list[Any]:
        return []


async def test_a_publication_an_earlier_start_was_sending_may_have_been_published(
    tmp_path: Path,
) -> None:
    writer = Writer(tmp_path / "vigie.db")
    try:
        fresh = replace(intent("fresh", platform="source:gone"), kind=IntentKind.PUBLISH)
        begun = replace(intent("begun", platform="source:gone"), kind=IntentKind.PUBLISH)
        await put(writer, fresh, begun)
        await simulate_crash_mid_delivery(writer, "begun")  # the earlier start had a publisher
        settler = Recording()

        deliverer = Deliverer(writer, {}, wall=FakeClock(), settler=settler)
        assert await deliverer.deliver_due() is None

        stored = await rows(writer)
        assert {key: row["state"] for key, row in stored.items()} == {
            "fresh": "failed",
            "begun": "failed",
        }
        for said in (stored["begun"]["last_error"], settler.settled["begun"]):
            assert said is not None
            assert "nothing was sent" not in said
            assert "may have been published" in said
            assert "by hand" in said
        for said in (stored["fresh"]["last_error"], settler.settled["fresh"]):
            assert said is not None
            assert said.endswith("nothing was sent")
    finally:
        writer.close()
