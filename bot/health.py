"""What ``GET /healthz`` says: the service's state for a load balancer and for people.

``degraded`` when a source failed, storage is failing, the incident clock is failing, or new
mentions cannot be filed into incidents; a chat platform in trouble is reported but keeps the
status ``ok`` (the outbox holds the notifications meanwhile). HTTP 503 only when this instance
cannot store or file what it receives (``accepting`` false): a feed that is down elsewhere must
not get the instance taken out of a load balancer, which would stop its webhooks and chat
buttons too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import SourceState
    from bot.delivery import Deliverer
    from bot.incidents.desk import IncidentDesk
    from bot.intake import Intake

FILING_FAILING_SECONDS = 300.0
"""/healthz is degraded this long after a batch of new mentions could not be filed at all (the
engine is broken): mentions kept unfiled alone (one it can never file) leave it 200."""
REMIND_SECONDS = 300.0
"""A fault that persists is logged again, in one short line, at most this often."""
_DISTINCT = 20
"""Distinct errors of one run of failures logged in full, at most (then only reminders)."""


class Fault:
    """A failure that may come back at every try (the incident clock, a locked database, the
    outbox): its traceback is logged once per distinct error, then a short line at most every
    ``REMIND_SECONDS`` while it lasts, and one line with the count when it is over (as the
    polling sources report trouble once, not in a loop). It also says what /healthz shows."""

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        trace: bool = True,
        remind_seconds: float = REMIND_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.what = what
        self.log = log
        self.trace = trace  # the traceback helps (a bug), or not (a locked database)
        self.remind_seconds = remind_seconds
        self.monotonic = monotonic
        self.wall = wall
        self.error: str | None = None  # the last failure, while failures go on; None: it works
        self.since: float | None = None  # wall time of the first failure in a row
        self.at: float | None = None  # wall time of the last failure
        self.count = 0  # failures in a row
        self._said: set[str] = set()  # the errors of this run of failures logged in full
        self._said_at = 0.0  # monotonic: when the last line was logged

    def failed(self, error: BaseException, then: str = "") -> None:
        """One more failure; ``then`` says what happens next ("retrying at the next tick")."""
        said = f"{type(error).__name__}: {error}"[:300]
        now = self.monotonic()
        after = f"; {then}" if then else ""
        if said not in self._said and len(self._said) < _DISTINCT:
            self._said.add(said)
            self.log.error(
                "%s failed: %s%s", self.what, said, after, exc_info=error if self.trace else None
            )
            self._said_at = now
        elif now - self._said_at >= self.remind_seconds:
            self.log.error(
                "%s still fails (%d times in a row): %s%s", self.what, self.count + 1, said, after
            )
            self._said_at = now
        self.at = self.wall()
        if not self.count:
            self.since = self.at
        self.count += 1
        self.error = said

    def ok(self) -> None:
        """It worked: the failures are over (said once, with their count)."""
        if self.count:
            self.log.info("%s works again, after %d failure(s) in a row", self.what, self.count)
        self.error = self.since = self.at = None
        self.count = 0
        self._said.clear()

    def shown(self) -> dict[str, Any]:
        """What /healthz says of it: ``error`` None while it works."""
        if self.error is None:
            return {"error": None}
        return {
            "error": self.error,
            "since": _iso(self.since),
            "last": _iso(self.at),
            "failures": self.count,
        }


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def filing_fails(desk: IncidentDesk) -> bool:
    failed_at = desk.fresh_failed_at
    return failed_at is not None and time.monotonic() - failed_at < FILING_FAILING_SECONDS


def health_report(
    sources: Mapping[str, SourceState],
    intake: Intake,
    desk: IncidentDesk,
    deliverer: Deliverer,
    clock: Fault | None = None,
) -> dict[str, Any]:
    """``clock``: the incident clock's failures (its ticks), which make the status degraded
    while they last (no wait, reminder or calm period is judged meanwhile), HTTP 200 still:
    mentions are stored and filed."""
    failing = [name for name, s in sources.items() if s.state in ("failed", "degraded")]
    ticking = clock is None or clock.error is None
    trouble = deliverer.errors
    # stored mentions not filed into incidents: nothing is lost, but no alert comes of them;
    # degraded only while new mentions cannot be filed, so that one mention the engine
    # can never file does not get the instance pulled (and all intake stopped) for good
    unfiled = desk.unfiled
    accepting = not (intake.storage_error or filing_fails(desk))
    return {
        "status": "degraded" if failing or not accepting or not ticking else "ok",
        "accepting": accepting,
        "queue": {"depth": intake.depth, "capacity": intake.capacity},
        "storage": {"error": intake.storage_error},
        "incident_clock": clock.shown() if clock is not None else {"error": None},
        "mentions": {
            "unfiled": unfiled,
            **({"filing_error": desk.filing_error} if unfiled else {}),
            "unscored": intake.unscored,
            "not_stored": intake.failed,
        },
        "notifications": {
            "delivered": deliverer.delivered,
            "failed": deliverer.failed,
            "oldest_due_seconds": round(deliverer.oldest_due_seconds(), 1),
            **({"errors": dict(trouble)} if trouble else {}),
            **({"faults": faults} if (faults := deliverer.faults()) else {}),
            **({"last_failure": gave_up} if (gave_up := deliverer.last_failure) else {}),
            **(
                {"settle_failed": settled, "settle_error": deliverer.settle_error}
                if (settled := deliverer.settle_failed)
                else {}
            ),
        },
        "sources": {
            name: {"state": s.state, **({"error": s.error} if s.error else {})}
            for name, s in sources.items()
        },
    }
