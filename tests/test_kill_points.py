"""SIGKILL at random points, restart, repeat: a property over many kill points.

The service runs as a subprocess replaying the demo story (``demo/mentions.jsonl``) with the
file platform as its delivery target, so every delivery is a countable JSON line carrying its
outbox key. A seeded random generator picks where each run dies: after a random delay (start-up
and migrations included), after N stored mentions, after N delivered lines, or while an outbox
item is under way. After the kills a last run finishes the story, and then:

- every mention is stored exactly once, and the stored set is a clean run's (no gaps);
- every outbox item went out exactly once (one line per key in the file, matching the outbox),
  and nothing is left pending, under way or failed;
- ``incidents --json`` is byte-for-byte the clean run's;
- the database passes ``PRAGMA integrity_check`` after every kill.

``VIGIE_FAULT_ROUNDS`` sets the kills per test (default 3; e.g. 40 for a longer run) and
``VIGIE_FAULT_SEED`` the seed (the kill log is printed when an assertion fails).
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.conftest import write_config
from tests.test_outbox_crash import DEMO, KESTREL, delivered_lines, outbox, read

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("VIGIE_FAULT_ROUNDS", "3"))
SEED = int(os.environ.get("VIGIE_FAULT_SEED", "20260310"))
RECORDS = sum(1 for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip())
# The demo's six hours of event time at 10,800x: about two seconds of replay per whole run, so
# kills land between the many small commits (a mention at a time) and mid-delivery.
REPLAY_SPEED = 10_800
GUARD = int(RECORDS * 0.85)  # replay kills stop here: the rest is read by the last run
LIVE = ("pending", "sending")


class IncidentsDiffer(AssertionError):
    """The incidents after the kills are not the clean run's."""


def configure(folder: Path, *, speed: float, pace: float) -> Path:
    return write_config(
        folder,
        [{"type": "replay", "name": "demo", "path": str(DEMO), "speed": speed}],
        brands=[KESTREL],
        http={"enabled": False},
        storage={"path": "vigie.db", "batch_size": 10},
        platforms={"file": {"path": str(folder / "out.jsonl"), "pace_seconds": pace}},
        incidents={"targets": {"team": {"platform": "file", "channel": "#alerts"}}},
    )


@dataclass
class Outcome:
    """What a finished story left behind: the facts the property compares."""

    mentions: Counter[tuple[str, str]]
    brand_rows: int
    outbox: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    incidents: str


def outcome(config: Path) -> Outcome:
    folder = config.parent
    with closing(sqlite3.connect(folder / "vigie.db")) as conn:
        mentions = Counter(conn.execute("SELECT source, native_id FROM mentions").fetchall())
        brand_rows = int(conn.execute("SELECT COUNT(*) FROM mention_brands").fetchone()[0])
    output = folder / "out.jsonl"
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    listing = io.StringIO()
    with redirect_stdout(listing):
        assert main(["incidents", "-c", str(config), "--status", "all", "--json"]) == 0
    return Outcome(mentions, brand_rows, outbox(folder / "vigie.db"), lines, listing.getvalue())


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The story told once, without a kill, in this process."""
    folder = tmp_path_factory.mktemp("clean")
    config = configure(folder, speed=0, pace=0)
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    return outcome(config)


# -- the killed runs ---------------------------------------------------------------------------


@dataclass
class Progress:
    """What another process sees of a run: records read, mentions stored, the outbox, lines."""

    records: int
    stored: int
    items: list[dict[str, Any]]
    lines: int

    @property
    def under_way(self) -> bool:
        return any(item["state"] == "sending" for item in self.items)


def progress(folder: Path) -> Progress:
    database = folder / "vigie.db"
    records = stored = 0
    if database.exists():
        try:
            with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
                row = conn.execute("SELECT position FROM cursors WHERE source = 'demo'").fetchone()
                records = json.loads(row[0])["records"] if row else 0
                stored = int(conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            pass
    return Progress(records, stored, outbox(database), delivered_lines(folder / "out.jsonl"))


Trigger = Callable[[Progress, float], bool]  # (what is seen, seconds since start) -> kill now


@dataclass
class Kills:
    """The kill log of one test, printed when an assertion fails."""

    seed: int
    log: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"seed {self.seed}; kills:\n" + "\n".join(self.log)


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-c", str(config), "--exit-when-idle"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def run_and_kill(config: Path, what: str, trigger: Trigger, kills: Kills) -> bool:
    """Start a run and SIGKILL it when ``trigger`` says; False if it ended first."""
    folder, log = config.parent, config.parent / "log"
    process = start(config, log)
    started = time.monotonic()
    try:
        while not trigger(seen := progress(folder), time.monotonic() - started):
            if process.poll() is not None:
                assert process.returncode == 0, f"{kills}\n{read(log)}"
                kills.log.append(f"{what}: the run ended first ({seen})")
                return False
            assert time.monotonic() - started < 90, f"never triggered: {what}\n{kills}"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    after = progress(folder)
    kills.log.append(
        f"{what}: killed at {after.records} records, {after.stored} stored, "
        f"{after.lines} lines, {sum(i['state'] in LIVE for i in after.items)} live"
    )
    assert integrity(folder / "vigie.db") == "ok", kills
    return True


def integrity(database: Path) -> str:
    if not database.exists():
        return "ok"
    with closing(sqlite3.connect(database)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def finish(config: Path, kills: Kills) -> None:
    """The last run, at full speed: it reads the rest of the story and empties the outbox. What
    its shutdown could not deliver in time (a retry not yet due, a loaded machine) is said in
    its log and goes out at the next start, as the README promises: one more start then, noted
    in the kills' log, and every check still holds (once, nothing lost)."""
    configure(config.parent, speed=0, pace=0)
    for attempt in range(2):
        final = start(config, config.parent / "log")
        assert final.wait(120) == 0, f"{kills}\n{read(config.parent / 'log')}"
        live = sum(item["state"] in LIVE for item in progress(config.parent).items)
        if not live:
            return
        kills.log.append(f"final run {attempt + 1}: {live} item(s) left for the next start")


# -- the property ---------------------------------------------------------------------------------


def check_exactly_once(after: Outcome, clean: Outcome, kills: Kills) -> None:
    twice = {key: n for key, n in after.mentions.items() if n > 1}
    assert not twice, f"stored more than once: {twice}\n{kills}"
    assert set(after.mentions) == set(clean.mentions), f"mentions differ\n{kills}"
    assert after.brand_rows == clean.brand_rows, kills

    states = Counter(item["state"] for item in after.outbox)
    assert set(states) <= {"sent", "superseded"}, f"{states}\n{kills}"
    written = Counter(line["key"] for line in after.lines)
    repeated = {key: n for key, n in written.items() if n > 1}
    assert not repeated, f"delivered more than once: {repeated}\n{kills}"
    sent = {item["key"]: item for item in after.outbox if item["state"] == "sent"}
    assert set(written) == set(sent), f"the file and the outbox disagree\n{kills}"
    for line in after.lines:  # a delivery recovered after a kill keeps the ref the file has
        assert sent[line["key"]]["ref"] == line["ref"], kills
    assert incident_keys(clean) <= incident_keys(after), f"notifications lost\n{kills}"


def check_same_incidents(after: Outcome, clean: Outcome, kills: Kills) -> None:
    if after.incidents != clean.incidents:
        raise IncidentsDiffer(
            f"incidents --json differs from the clean run's:\n{after.incidents}\n"
            f"clean:\n{clean.incidents}\n{kills}"
        )
    if incident_keys(after) != incident_keys(clean):
        raise IncidentsDiffer(f"other incident notifications than the clean run's\n{kills}")


def incident_keys(story: Outcome) -> set[str]:
    """The incidents' own notifications (reply drafts depend on batch boundaries: see
    ``test_batch_boundaries_do_not_change_the_drafts_proposed``)."""
    return {item["key"] for item in story.outbox if item["key"].startswith("incident-")}


def replay_trigger(rng: random.Random, now: Progress) -> tuple[str, Trigger]:
    """A kill point while the replay still has rows to read (never past ``GUARD``)."""
    kind = rng.choices(["delay", "stored", "under way"], weights=[1, 2, 2])[0]
    if kind == "delay":  # anywhere from start-up (imports, migrations) into the replay
        delay = rng.uniform(0.3, 4.0)
        return f"after {delay:.2f} s", lambda p, t: t >= delay or p.records >= GUARD
    target = rng.randint(now.stored + 1, max(now.stored + 1, GUARD - 10))
    if kind == "stored":
        return f"at {target} stored", lambda p, t: p.stored >= target or p.records >= GUARD
    # mid-delivery: an item marked as being sent, and not one a previous kill left so
    lines = now.lines + 1
    return (
        f"an item under way, {target} stored",
        lambda p, t: (
            p.records >= GUARD or (p.under_way and p.lines >= lines and p.stored >= target)
        ),
    )


@pytest.mark.slow
def test_sigkill_at_random_points_of_a_replay_stores_and_delivers_everything_once(
    tmp_path: Path, clean: Outcome
) -> None:
    rng, kills = random.Random(SEED), Kills(SEED)
    config = configure(tmp_path, speed=REPLAY_SPEED, pace=0.05)
    for _ in range(ROUNDS):
        seen = progress(tmp_path)
        if seen.records >= GUARD:
            break
        what, trigger = replay_trigger(rng, seen)
        run_and_kill(config, what, trigger, kills)
        assert progress(tmp_path).records < RECORDS, f"a kill landed past the replay\n{kills}"
    assert any("killed" in line for line in kills.log), kills
    finish(config, kills)

    after = outcome(config)
    check_exactly_once(after, clean, kills)
    check_same_incidents(after, clean, kills)


@pytest.mark.slow
def test_sigkill_at_random_points_of_outbox_delivery_delivers_every_intent_once(
    tmp_path: Path, clean: Outcome
) -> None:
    rng, kills = random.Random(SEED + 1), Kills(SEED + 1)
    # the story is stored at once; the lines go out one every 0.1 s after it
    config = configure(tmp_path, speed=0, pace=0.1)
    for round_number in range(ROUNDS):
        seen = progress(tmp_path)
        if round_number and not any(item["state"] in LIVE for item in seen.items):
            break  # nothing left to deliver: the rest would be start-up kills
        more = rng.randint(1, 3)  # one at least: not an item left under way before
        mid_line = rng.random() < 0.5

        def trigger(
            p: Progress, t: float, lines: int = seen.lines + more, mid_line: bool = mid_line
        ) -> bool:
            delivering = p.records == RECORDS and p.lines >= lines
            return delivering and (p.under_way or not mid_line)

        what = f"{'under way ' if mid_line else ''}after {more} more lines"
        run_and_kill(config, what, trigger, kills)
    assert any("killed" in line for line in kills.log), kills
    finish(config, kills)

    after = outcome(config)
    check_exactly_once(after, clean, kills)
    check_same_incidents(after, clean, kills)


def test_running_a_consumed_replay_again_changes_nothing(tmp_path: Path, clean: Outcome) -> None:
    config = configure(tmp_path, speed=0, pace=0)
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    first = outcome(config)
    assert first.incidents == clean.incidents  # one uninterrupted run is the clean run
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0  # "shows nothing new"
    again = outcome(config)
    assert again.mentions == first.mentions
    if again.lines != first.lines:
        raise IncidentsDiffer(f"new lines: {again.lines[len(first.lines) :]}")
    check_same_incidents(again, first, Kills(0))


def test_batch_boundaries_do_not_change_the_drafts_proposed(tmp_path: Path, clean: Outcome) -> None:
    # each mention read on its own (speed > 0) and stored in a transaction of its own
    config = configure(tmp_path, speed=1_000_000, pace=0)
    text = config.read_text(encoding="utf-8").replace("batch_size: 10", "batch_size: 1")
    config.write_text(text, encoding="utf-8")
    assert main(["run", "-c", str(config), "--exit-when-idle"]) == 0
    one_by_one = outcome(config)
    assert one_by_one.incidents == clean.incidents  # the incidents themselves agree
    assert incident_keys(one_by_one) == incident_keys(clean)
    assert {item["key"] for item in one_by_one.outbox} == {item["key"] for item in clean.outbox}
