"""The deliverer on a real SQLite outbox, with small fake platforms standing in for the network;
and the file platform, whose idempotency keys make delivery to a file exactly once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import handlers.file_output as file_output
from bot.delivery import PER_CHANNEL, Deliverer, DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.file_output import FilePlatform
from storage.outbox import card_ref, enqueue, mark_sending
from storage.writer import Writer

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OPEN, UPDATE, THREAD, RESOLVE = (
    IntentKind.OPEN,
    IntentKind.UPDATE,
    IntentKind.THREAD,
    IntentKind.RESOLVE,
)


def intent(
    key: str,
    kind: IntentKind = THREAD,
    *,
    incident: int = 1,
    platform: str = "fake",
    channel: str = "#alerts",
    text: str = "",
) -> Intent:
    return Intent(
        key=key,
        incident_id=incident,
        kind=kind,
        platform=platform,
        channel=channel,
        created_at=T0,
        text=text or f"{kind.value} of incident {incident}",
        card={"title": f"Incident #{incident}", "risk": 50},
        mention="@oncall" if kind is OPEN else "",
    )


class FakeClock:
    """A wall clock that only moves when told: retries fall due without real waiting."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A platform that records what it is asked; ``errors[key]`` are raised first, in order."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str | None]] = []  # (key, card_ref) per success
        self.calls: list[str] = []  # every deliver call, failed ones included
        self.finds: list[str] = []
        self.found: dict[str, str] = {}  # what find answers (the platform "already has it")
        self.errors: dict[str, list[Exception]] = {}
        self.slow: dict[str, float] = {}  # key -> seconds a delivery takes

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        self.calls.append(intent.key)
        if self.slow.get(intent.key):
            await asyncio.sleep(self.slow[intent.key])
        if self.errors.get(intent.key):
            raise self.errors[intent.key].pop(0)
        self.delivered.append((intent.key, card_ref))
        if intent.kind is UPDATE and card_ref:
            return card_ref  # an edit answers with the card it edited, as the platforms do
        return f"ref-{intent.key}"

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        self.finds.append(intent.key)
        return self.found.get(intent.key)

    def sent_keys(self) -> list[str]:
        return [key for key, _ in self.delivered]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "vigie.db")
    yield writer
    writer.close()


async def put(writer: Writer, *intents: Intent) -> None:
    def work(db: Any) -> None:
        with db.atomic():
            for item in intents:
                enqueue(db, item)

    await writer.run(work)


async def rows(writer: Writer) -> dict[str, dict[str, Any]]:
    """Outbox rows by key."""
    return await writer.run(
        lambda db: {
            row["key"]: row
            for row in db.query(
                "SELECT id, key, state, attempts, next_attempt_at, last_error, ref "
                "FROM outbox ORDER BY id"
            )
        }
    )


async def states(writer: Writer) -> dict[str, str]:
    return {key: row["state"] for key, row in (await rows(writer)).items()}


async def simulate_crash_mid_delivery(writer: Writer, key: str) -> None:
    """What a crash between 'about to call the platform' and 'it answered' leaves behind."""
    row = (await rows(writer))[key]
    await writer.run(lambda db: mark_sending(db, row["id"]))


# --- order, supersede, card refs -------------------------------------------------------------


async def test_items_go_out_in_id_order_within_each_channel(writer: Writer) -> None:
    platform = Recorder()
    platform.slow["a1"] = 0.05  # a slow first delivery does not let a later one overtake it
    queued = [
        intent("a1", OPEN, channel="#a"),
        intent("b1", OPEN, channel="#b", incident=2),
        intent("a2", THREAD, channel="#a"),
        intent("a3", THREAD, channel="#a", incident=3),
        intent("b2", THREAD, channel="#b", incident=2),
        intent("a4", THREAD, channel="#a"),
    ]
    await put(writer, *queued)
    deliverer = Deliverer(writer, {"fake": platform})

    assert await deliverer.flush(30) == 0

    keys = platform.sent_keys()
    assert [k for k in keys if k.startswith("a")] == ["a1", "a2", "a3", "a4"]
    assert [k for k in keys if k.startswith("b")] == ["b1", "b2"]
    assert sorted(keys) == sorted(i.key for i in queued)
    assert set((await states(writer)).values()) == {"sent"}
    assert deliverer.delivered == len(queued)


async def test_a_waiting_retry_holds_back_the_rest_of_its_channel_only(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    platform.errors["a1"] = [DeliveryError("timeout")]
    await put(writer, intent("a1", OPEN, channel="#a"), intent("a2", channel="#a"))
    await put(writer, intent("b1", OPEN, channel="#b", incident=2))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)

    due = await deliverer.deliver_due()

    assert platform.sent_keys() == ["b1"]  # a2 may not overtake a1, #b is not held up
    assert due == clock.now + 1
    clock.now = due
    assert await deliverer.deliver_due() is None
    assert platform.sent_keys() == ["b1", "a1", "a2"]


async def test_an_update_is_superseded_by_a_later_edit_of_the_same_card(writer: Writer) -> None:
    await put(
        writer,
        intent("1-open", OPEN, channel="#a"),
        intent("1-update-a", UPDATE, channel="#a"),  # a later update follows: superseded
        intent("1-thread", THREAD, channel="#a"),
        intent("1-update-b", UPDATE, channel="#a"),  # the resolve follows: superseded
        intent("2-update", UPDATE, channel="#a", incident=2),  # another incident's card
        intent("1-resolve", RESOLVE, channel="#a"),
        intent("1-update-other-channel", UPDATE, channel="#b"),  # another card of incident 1
        intent("3-update", UPDATE, channel="#a", incident=3),
        intent("3-thread", THREAD, channel="#a", incident=3),  # a thread message replaces nothing
    )
    platform = Recorder()
    deliverer = Deliverer(writer, {"fake": platform})

    assert await deliverer.flush(30) == 0

    assert [k for k in platform.sent_keys() if k != "1-update-other-channel"] == [
        "1-open",
        "1-thread",
        "2-update",
        "1-resolve",
        "3-update",
        "3-thread",
    ]
    assert "1-update-other-channel" in platform.sent_keys()
    assert {k for k, s in (await states(writer)).items() if s != "sent"} == {
        "1-update-a",
        "1-update-b",
    }
    assert (await states(writer))["1-update-a"] == "superseded"
    assert (await rows(writer))["1-update-a"]["attempts"] == 0


async def test_the_ref_of_an_open_card_goes_with_its_edits_and_threads(writer: Writer) -> None:
    await put(
        writer,
        intent("1-open", OPEN, channel="#a"),
        intent("1-update", UPDATE, channel="#a"),
        intent("1-thread", THREAD, channel="#a"),
        intent("1-thread-b", THREAD, channel="#b"),  # no card of incident 1 in #b
        intent("2-thread", THREAD, channel="#a", incident=2),  # incident 2 has no card
    )
    platform = Recorder()
    assert await Deliverer(writer, {"fake": platform}).flush(30) == 0

    refs = dict(platform.delivered)
    assert refs == {
        "1-open": None,
        "1-update": "ref-1-open",
        "1-thread": "ref-1-open",
        "1-thread-b": None,
        "2-thread": None,
    }
    assert (await rows(writer))["1-open"]["ref"] == "ref-1-open"
    assert await writer.run(lambda db: card_ref(db, 1, "fake", "#a")) == "ref-1-open"
    assert await writer.run(lambda db: card_ref(db, 1, "fake", "#b")) is None

    # stored, not remembered: a deliverer started later (after a restart) still knows the card
    await put(writer, intent("1-resolve", RESOLVE, channel="#a"))
    again = Recorder()
    assert await Deliverer(writer, {"fake": again}).flush(30) == 0
    assert again.delivered == [("1-resolve", "ref-1-open")]


# --- failures and retries --------------------------------------------------------------------


async def test_a_retryable_error_is_retried_with_exponential_backoff(writer: Writer) -> None:
    clock = FakeClock()
    start = clock.now
    platform = Recorder()
    platform.errors["k"] = [DeliveryError(f"busy {n}") for n in range(3)]
    await put(writer, intent("k", OPEN))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)

    due = await deliverer.deliver_due()
    assert due == start + 1
    row = (await rows(writer))["k"]
    # still 'sending': the failed attempt may have gone out, the next one asks the platform first
    assert (row["state"], row["attempts"], row["next_attempt_at"]) == ("sending", 1, start + 1)
    assert row["last_error"] == "busy 0"

    # not due yet: not tried
    clock.now = start + 0.5
    assert await deliverer.deliver_due() == start + 1
    assert platform.calls == ["k"]

    waits = []
    while due is not None:
        waits.append(due - clock.now)
        clock.now = due
        due = await deliverer.deliver_due()
    assert waits == [0.5, 2, 4]  # 1 s (half of it waited above), then 2 s, then 4 s
    assert platform.calls == ["k"] * 4
    row = (await rows(writer))["k"]
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 4, "")


async def test_backoff_is_capped_by_max_backoff_seconds(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    platform.errors["k"] = [OSError("network down") for _ in range(5)]  # any error is retryable
    await put(writer, intent("k"))
    deliverer = Deliverer(
        writer, {"fake": platform}, max_backoff_seconds=3, wall=clock, monotonic=clock
    )

    waits = []
    while (due := await deliverer.deliver_due()) is not None:
        waits.append(due - clock.now)
        clock.now = due
    assert waits == [1, 2, 3, 3, 3]
    assert (await states(writer)) == {"k": "sent"}


@pytest.mark.parametrize(("retry_after", "wait"), [(30.0, 30.0), (0.2, 1.0)])
async def test_retry_after_is_honoured_when_longer_than_the_backoff(
    writer: Writer, retry_after: float, wait: float
) -> None:
    clock = FakeClock()
    start = clock.now
    platform = Recorder()
    platform.errors["k"] = [DeliveryError("rate limited", retry_after=retry_after)]
    await put(writer, intent("k"))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)

    assert await deliverer.deliver_due() == start + wait
    assert (await rows(writer))["k"]["next_attempt_at"] == start + wait
    clock.now = start + wait - 0.01
    assert await deliverer.deliver_due() == start + wait
    assert platform.calls == ["k"]
    clock.now = start + wait
    assert await deliverer.deliver_due() is None
    assert platform.sent_keys() == ["k"]


async def test_a_non_retryable_error_fails_the_item_and_later_ones_still_go(
    writer: Writer,
) -> None:
    clock = FakeClock()
    platform = Recorder()
    platform.errors["1-open"] = [DeliveryError("channel_not_found", retryable=False)]
    await put(
        writer, intent("1-open", OPEN), intent("1-thread"), intent("2-open", OPEN, incident=2)
    )
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)

    assert await deliverer.deliver_due() is None  # nothing left waiting: no retry planned

    assert platform.sent_keys() == ["1-thread", "2-open"]
    assert platform.delivered[0] == ("1-thread", None)  # the card was never posted
    row = (await rows(writer))["1-open"]
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert "channel_not_found" in row["last_error"]
    assert await deliverer.deliver_due() is None
    assert platform.calls.count("1-open") == 1


async def test_max_attempts_gives_up(writer: Writer) -> None:
    clock = FakeClock()
    platform = Recorder()
    platform.errors["k"] = [DeliveryError(f"5xx #{n}") for n in range(10)]
    await put(writer, intent("k"), intent("after"))
    deliverer = Deliverer(writer, {"fake": platform}, max_attempts=3, wall=clock, monotonic=clock)

    while (due := await deliverer.deliver_due()) is not None:
        clock.now = due

    assert platform.calls == ["k", "k", "k", "after"]
    row = (await rows(writer))["k"]
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", 3, "5xx #2")
    assert (await states(writer))["after"] == "sent"


async def test_an_unconfigured_platform_s_items_wait_untried_for_a_start_that_has_it(
    writer: Writer, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack credentials missing on one start must not fail its whole backlog for good: the
    items wait, untried, and go out once it is configured."""
    platform = Recorder()
    await put(
        writer,
        intent("lost-1", OPEN, platform="slack"),
        intent("lost-2", THREAD, platform="slack"),
        intent("fine", platform="fake"),
    )
    deliverer = Deliverer(writer, {"fake": platform}, wall=FakeClock())

    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert await deliverer.deliver_due() is None  # nothing to wake up for
        assert await deliverer.flush(0.05) == 2  # left: they wait in the outbox
        assert await deliverer.deliver_due() is None

    assert await states(writer) == {"lost-1": "pending", "lost-2": "pending", "fine": "sent"}
    assert {(await rows(writer))[key]["attempts"] for key in ("lost-1", "lost-2")} == {0}
    assert deliverer.failed == 0
    said = [r.getMessage() for r in caplog.records if "'slack'" in r.getMessage()]
    assert len(said) == 1  # once per platform, not once per item or per round
    assert "not configured" in said[0]
    assert "not configured" in deliverer.errors["slack"]  # /healthz shows notifications.errors

    slack = Recorder()  # the next start has the credentials again
    again = Deliverer(writer, {"fake": platform, "slack": slack}, wall=FakeClock())
    assert await again.flush(30) == 0
    assert slack.delivered == [("lost-1", None), ("lost-2", "ref-lost-1")]
    assert "slack" not in again.errors


async def test_a_publication_without_its_publisher_fails_at_once_unlike_a_chat_backlog(
    writer: Writer,
) -> None:
    """A source that cannot publish at this start (token unset, renamed): its replies fail,
    untried, and are settled (the draft shows it, Retry works); chat messages still wait."""
    publish = replace(intent("reply", platform="source:gone"), kind=IntentKind.PUBLISH)
    await put(writer, intent("lost", OPEN, platform="slack"), publish)
    settled: list[tuple[str, str, str | None]] = []

    class Recording:
        def settle(self, db: Any, item: Any, ref: str, error: str | None) -> None:
            settled.append((item.intent.key, ref, error))

        def unsettled(self, db: Any) -> list[Any]:
            return []

    deliverer = Deliverer(writer, {}, wall=FakeClock(), settler=Recording())
    assert await deliverer.deliver_due() is None
    assert await deliverer.deliver_due() is None

    assert await states(writer) == {"lost": "pending", "reply": "failed"}
    [(key, ref, error)] = settled
    assert (key, ref) == ("reply", "")
    assert error is not None
    assert error.startswith("source:gone is not set up to publish at this start")
    assert (await rows(writer))["reply"]["attempts"] == 0
    assert deliverer.failed == 1


# --- crash reconciliation --------------------------------------------------------------------


async def test_an_item_caught_mid_delivery_is_not_sent_again_when_the_platform_has_it(
    writer: Writer,
) -> None:
    await put(writer, intent("1-open", OPEN), intent("1-thread"))
    await simulate_crash_mid_delivery(writer, "1-open")
    platform = Recorder()
    platform.found["1-open"] = "posted-before-the-crash"

    assert await Deliverer(writer, {"fake": platform}).flush(30) == 0

    assert platform.finds == ["1-open"]  # pending items are not looked up
    assert platform.delivered == [("1-thread", "posted-before-the-crash")]
    row = (await rows(writer))["1-open"]
    assert (row["state"], row["ref"]) == ("sent", "posted-before-the-crash")
    assert await writer.run(lambda db: card_ref(db, 1, "fake", "#alerts")) == (
        "posted-before-the-crash"
    )


async def test_an_item_caught_mid_delivery_is_sent_again_when_the_platform_lacks_it(
    writer: Writer,
) -> None:
    await put(
        writer,
        intent("1-open", OPEN),
        intent("1-update-a", UPDATE),
        intent("1-update-b", UPDATE),
    )
    # an update that may have gone out is not superseded: only the platform can tell
    await simulate_crash_mid_delivery(writer, "1-update-a")
    platform = Recorder()

    assert await Deliverer(writer, {"fake": platform}).flush(30) == 0

    assert platform.finds == ["1-update-a"]
    assert platform.sent_keys() == ["1-open", "1-update-a", "1-update-b"]
    row = (await rows(writer))["1-update-a"]
    assert (row["state"], row["attempts"]) == ("sent", 2)


async def test_file_delivery_after_a_crash_is_exactly_once(writer: Writer, tmp_path: Path) -> None:
    """Both sides of the crash window, with the real file platform."""
    path = tmp_path / "out" / "notifications.jsonl"
    await put(writer, intent("went-out", OPEN, platform="file"), intent("did-not", platform="file"))
    await put(writer, intent("never-tried", platform="file"))
    # the first run wrote 'went-out' to the file but died before recording it as sent, and died
    # before 'did-not' reached the file
    await FilePlatform(path).deliver(intent("went-out", OPEN, platform="file"), None)
    await simulate_crash_mid_delivery(writer, "went-out")
    await simulate_crash_mid_delivery(writer, "did-not")

    deliverer = Deliverer(writer, {"file": FilePlatform(path)})
    assert await deliverer.flush(30) == 0

    keys = [record["key"] for record in read_lines(path)]
    assert keys == ["went-out", "did-not", "never-tried"]
    assert set((await states(writer)).values()) == {"sent"}
    assert deliverer.delivered == 2


async def test_an_error_while_looking_an_item_up_does_not_stop_delivery(writer: Writer) -> None:
    class Unreachable(Recorder):
        async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
            raise DeliveryError("connection reset")

    await put(writer, intent("a-open", OPEN, channel="#a"), intent("b-open", OPEN, channel="#b"))
    await simulate_crash_mid_delivery(writer, "a-open")
    platform = Unreachable()
    deliverer = Deliverer(writer, {"fake": platform}, wall=FakeClock())

    await deliverer.deliver_due()

    assert "b-open" in platform.sent_keys()
    assert (await states(writer))["a-open"] in ("pending", "sending")


async def test_failed_lookups_back_off_but_use_up_no_attempt(writer: Writer) -> None:
    """A platform that cannot be looked up after a crash: the waits grow (never every second
    for ever), but a look-up sends nothing, so it uses up none of ``max_attempts``: once the
    platform answers, the item goes out instead of having been given up unposted."""

    class Unreachable(Recorder):
        down = 5

        async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
            self.finds.append(intent.key)
            if self.down:
                self.down -= 1
                raise DeliveryError("connection refused")
            return None

    clock = FakeClock()
    await put(writer, intent("k", OPEN))
    await simulate_crash_mid_delivery(writer, "k")  # attempts = 1
    platform = Unreachable()
    deliverer = Deliverer(writer, {"fake": platform}, max_attempts=2, wall=clock, monotonic=clock)
    waits = []
    while (due := await deliverer.deliver_due()) is not None:
        waits.append(due - clock.now)
        clock.now = due
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]
    row = (await rows(writer))["k"]
    assert (row["state"], row["attempts"]) == ("sent", 2)
    assert len(platform.finds) == 6
    assert platform.sent_keys() == ["k"]


async def test_a_channel_with_a_long_backlog_does_not_hide_another_channel(
    writer: Writer,
) -> None:
    """Hundreds of items waiting for a channel Vigie cannot reach yet, then one for a channel
    it can: that one goes out."""
    clock = FakeClock()
    platform = Recorder()
    stuck = [intent(f"t{n}", channel="#unreachable", incident=n) for n in range(600)]
    platform.errors["t0"] = [DeliveryError("no conversation yet", retry_after=300)]
    await put(writer, *stuck)
    await put(writer, intent("s1", OPEN, channel="#reachable", incident=999))
    deliverer = Deliverer(writer, {"fake": platform}, wall=clock, monotonic=clock)

    await deliverer.deliver_due()

    assert platform.sent_keys() == ["s1"]
    assert await deliverer.flush(0) == 600  # what is left counts the whole backlog


async def test_a_backlog_longer_than_a_round_is_all_delivered(writer: Writer) -> None:
    platform = Recorder()
    await put(writer, *(intent(f"k{n}", incident=n) for n in range(PER_CHANNEL * 2 + 5)))
    deliverer = Deliverer(writer, {"fake": platform}, wall=FakeClock())
    assert await deliverer.flush(30) == 0
    assert len(platform.sent_keys()) == PER_CHANNEL * 2 + 5


# --- pacing and flush ------------------------------------------------------------------------


async def test_pacing_spaces_the_messages_of_one_channel(writer: Writer) -> None:
    pace = 0.05
    platform = Recorder()
    await put(writer, intent("1"), intent("2"), intent("3"))
    deliverer = Deliverer(writer, {"fake": platform}, pace_seconds={"fake": pace}, wall=time.time)

    started = time.monotonic()
    assert await deliverer.flush(30) == 0
    elapsed = time.monotonic() - started

    assert platform.sent_keys() == ["1", "2", "3"]
    # three messages, two pauses; 1 ms of slack for the event loop's timer resolution
    assert elapsed >= 2 * pace - 0.001


async def test_flush_returns_what_is_left(writer: Writer) -> None:
    platform = Recorder()
    assert await Deliverer(writer, {"fake": platform}).flush(5) == 0  # nothing queued

    platform.errors["a1"] = [DeliveryError("slow down", retry_after=3600)]
    await put(writer, intent("a1", channel="#a"), intent("a2", channel="#a"))
    await put(writer, intent("b1", channel="#b"))
    deliverer = Deliverer(writer, {"fake": platform})

    assert await deliverer.flush(0.2) == 2  # a1 waits an hour, a2 waits behind it

    assert platform.sent_keys() == ["b1"]
    assert await states(writer) == {"a1": "sending", "a2": "pending", "b1": "sent"}


# --- the file platform -----------------------------------------------------------------------


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_the_file_platform_appends_one_json_line_per_delivery(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "out.jsonl"
    platform = FilePlatform(path)

    opened = await platform.deliver(intent("k-open", OPEN, text="Panne réseau 📵"), None)
    updated = await platform.deliver(intent("k-update", UPDATE), opened)
    threaded = await platform.deliver(intent("k-thread", THREAD, incident=2), None)

    assert (opened, updated, threaded) == ("k-open", "k-open", "k-thread")
    lines = read_lines(path)
    assert [line["key"] for line in lines] == ["k-open", "k-update", "k-thread"]
    assert [line["ref"] for line in lines] == ["k-open", "k-open", "k-thread"]
    first = lines[0]
    assert first["kind"] == "open"
    assert first["incident"] == 1
    assert first["channel"] == "#alerts"
    assert first["text"] == "Panne réseau 📵"
    assert first["mention"] == "@oncall"
    assert first["card"] == {"title": "Incident #1", "risk": 50}
    assert datetime.fromisoformat(first["at"]) == T0
    assert path.read_bytes().endswith(b"\n")


async def test_the_file_platform_finds_its_keys_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    first = FilePlatform(path)
    assert await first.find(intent("k1", OPEN)) is None  # no file yet
    await first.deliver(intent("k1", OPEN), None)
    await first.deliver(intent("k2", UPDATE), "k1")
    assert await first.find(intent("k2", UPDATE)) == "k1"

    again = FilePlatform(path)
    assert await again.find(intent("k1", OPEN)) == "k1"
    assert await again.find(intent("k2", UPDATE)) == "k1"
    assert await again.find(intent("k3")) is None


async def test_the_file_platform_only_appends_to_a_named_pipe(tmp_path: Path) -> None:
    """A pipe (``/dev/stdout`` piped, a named pipe) is never read back nor sought: reading it
    blocked for good (and shutdown with it); each delivery is one line written to it."""
    fifo = tmp_path / "deliveries.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # someone reads the pipe
    platform = FilePlatform(fifo)
    try:
        assert await asyncio.wait_for(platform.find(intent("k1", OPEN)), 30) is None
        await asyncio.wait_for(platform.deliver(intent("k1", OPEN), None), 30)
        await asyncio.wait_for(platform.deliver(intent("k2", UPDATE), "k1"), 30)
        assert await platform.find(intent("k1", OPEN)) == "k1"  # what this start wrote
        lines = os.read(reader, 1 << 16).decode().splitlines()
    finally:
        with suppress(OSError):  # the old code: unblock its read of the pipe
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        os.close(reader)
    assert [json.loads(line)["key"] for line in lines] == ["k1", "k2"]
    assert fifo.exists()


async def test_the_file_platform_to_a_pipe_nobody_reads_fails_and_is_retried(
    writer: Writer, tmp_path: Path
) -> None:
    fifo = tmp_path / "deliveries.fifo"
    os.mkfifo(fifo)
    await put(writer, intent("k1", OPEN, platform="file"))
    deliverer = Deliverer(writer, {"file": FilePlatform(fifo)})
    assert await asyncio.wait_for(deliverer.deliver_due(), 30) is not None  # a retry waits
    assert (await states(writer))["k1"] in ("pending", "sending")
    assert "OSError" in deliverer.errors["file"]


def cut_line(key: str, text: str, cut_before: str) -> bytes:
    """The start of a delivered line, cut by a crash just before ``cut_before`` (bytes)."""
    line = json.dumps(
        {"card": {}, "key": key, "ref": key, "text": text}, ensure_ascii=False, sort_keys=True
    ).encode()
    return line[: line.index(cut_before.encode())]


async def test_a_line_cut_by_a_crash_is_ignored_and_the_next_one_starts_on_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    await FilePlatform(path).deliver(intent("k1", OPEN), None)
    with path.open("ab") as file:
        file.write(cut_line("k2", "cut short", "short"))

    platform = FilePlatform(path)
    assert await platform.find(intent("k1", OPEN)) == "k1"
    assert await platform.find(intent("k2")) is None
    await platform.deliver(intent("k2"), "k1")
    await platform.deliver(intent("k3"), "k1")

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1])
    assert [json.loads(line)["key"] for line in (lines[0], *lines[2:])] == ["k1", "k2", "k3"]
    restarted = FilePlatform(path)
    assert await restarted.find(intent("k2")) == "k1"
    assert await restarted.find(intent("k3")) == "k1"


async def test_a_line_cut_inside_a_multibyte_character_is_ignored_too(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    await FilePlatform(path).deliver(intent("k1", OPEN), None)
    with path.open("ab") as file:  # the text was "réseau 📵", cut in the middle of the emoji
        file.write(cut_line("k2", "réseau 📵", "📵") + "📵".encode()[:2])

    platform = FilePlatform(path)
    assert await platform.find(intent("k2")) is None
    assert await platform.find(intent("k1", OPEN)) == "k1"
    await platform.deliver(intent("k2", text="réseau 📵"), "k1")
    restarted = FilePlatform(path)
    assert await restarted.find(intent("k1", OPEN)) == "k1"
    assert await restarted.find(intent("k2")) == "k1"


async def test_two_first_lookups_at_once_both_see_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    writing = FilePlatform(path)
    await writing.deliver(intent("k1", OPEN, channel="#a"), None)
    await writing.deliver(intent("k2", OPEN, channel="#b", incident=2), None)

    # the first lookup's thread pauses while reading the file (a big file, a slow disk)
    reading, resume = threading.Event(), threading.Event()

    def slow_loads(text: str) -> Any:
        reading.set()
        resume.wait(10)
        return json.loads(text)

    monkeypatch.setattr(
        file_output,
        "json",
        SimpleNamespace(loads=slow_loads, dumps=json.dumps, JSONDecodeError=json.JSONDecodeError),
    )
    platform = FilePlatform(path)
    first = asyncio.create_task(platform.find(intent("k1", OPEN, channel="#a")))
    second: asyncio.Task[str | None] | None = None
    try:
        assert await asyncio.to_thread(reading.wait, 10)
        second = asyncio.create_task(platform.find(intent("k2", OPEN, channel="#b", incident=2)))
        # a correct lookup waits for the first one; a wrong one answers from the half-read index
        await asyncio.wait([second], timeout=2)
    finally:
        resume.set()
    assert await first == "k1"
    assert await second == "k2"
