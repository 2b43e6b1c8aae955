"""What ``GET /healthz`` says: the service's state for a load balancer and for people.

``degraded`` when a source failed, storage is failing, or new mentions cannot be filed into
incidents; a chat platform in trouble is reported but keeps the status ``ok`` (the outbox holds
the notifications meanwhile). HTTP 503 only when this instance cannot store or file what it
receives (``accepting`` false): a feed that is down elsewhere must not get the instance taken
out of a load balancer, which would stop its webhooks and chat buttons too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import SourceState
    from bot.delivery import Deliverer
    from bot.incidents.desk import IncidentDesk
    from bot.intake import Intake

FILING_FAILING_SECONDS = 300.0
"""/healthz is degraded this long after a batch of new mentions could not be filed at all (the
engine is broken): mentions kept unfiled alone (one it can never file) leave it 200."""


def filing_fails(desk: IncidentDesk) -> bool:
    failed_at = desk.fresh_failed_at
    return failed_at is not None and time.monotonic() - failed_at < FILING_FAILING_SECONDS


def health_report(
    sources: Mapping[str, SourceState], intake: Intake, desk: IncidentDesk, deliverer: Deliverer
) -> dict[str, Any]:
    failing = [name for name, s in sources.items() if s.state in ("failed", "degraded")]
    trouble = deliverer.errors
    # stored mentions not filed into incidents: nothing is lost, but no alert comes of them;
    # degraded only while new mentions cannot be filed, so that one mention the engine
    # can never file does not get the instance pulled (and all intake stopped) for good
    unfiled = desk.unfiled
    accepting = not (intake.storage_error or filing_fails(desk))
    return {
        "status": "degraded" if failing or not accepting else "ok",
        "accepting": accepting,
        "queue": {"depth": intake.depth, "capacity": intake.capacity},
        "storage": {"error": intake.storage_error},
        "mentions": {
            "unfiled": unfiled,
            **({"filing_error": desk.filing_error} if unfiled else {}),
            "unscored": intake.unscored,
            "not_stored": intake.failed,
        },
        "notifications": {
            "delivered": deliverer.delivered,
            "failed": deliverer.failed,
            **({"errors": dict(trouble)} if trouble else {}),
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
