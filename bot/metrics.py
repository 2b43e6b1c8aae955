"""Prometheus metrics of one Vigie process, in a registry of its own (tests build many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(
            "vigie_mentions_received",
            "Mentions heard, per source.",
            ["source"],
            registry=self.registry,
        )
        self.malformed = Counter(
            "vigie_mentions_malformed",
            "Records skipped as malformed, per source.",
            ["source"],
            registry=self.registry,
        )
        self.matched = Counter(
            "vigie_mentions_matched",
            "Mentions about a brand, per brand.",
            ["brand"],
            registry=self.registry,
        )
        self.scored = Counter(
            "vigie_mentions_scored",
            "Mentions scored, per sentiment.",
            ["sentiment"],
            registry=self.registry,
        )
        self.stored = Counter(
            "vigie_mentions_stored", "Mentions newly stored.", registry=self.registry
        )
        self.duplicates = Counter(
            "vigie_mentions_duplicate", "Mentions already stored, ignored.", registry=self.registry
        )
        self.failed = Counter(
            "vigie_pipeline_errors",
            "Mentions the pipeline failed on (stored unscored) or that could not be stored.",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "vigie_queue_depth", "Mentions waiting for the pipeline.", registry=self.registry
        )
        self.store_latency = Histogram(
            "vigie_store_latency_seconds",
            "Time to write one batch to storage.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "vigie_webhook_requests",
            "Webhook requests by outcome.",
            ["source", "status"],
            registry=self.registry,
        )

        self.source_up = Gauge(
            "vigie_source_up",
            "1 while a source works, 0 while it is in trouble (retrying).",
            ["source"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "vigie_notifications",
            "Outbox deliveries by platform and outcome (sent, retried, failed, superseded).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.outbox_oldest_due = Gauge(
            "vigie_outbox_oldest_due_seconds",
            "How long the oldest notification due to go out has waited (0: none waits).",
            registry=self.registry,
        )
        self.tick_failures = Counter(
            "vigie_tick_failures",
            "Ticks of the incident clock (waits, reminders, calm periods) that failed.",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
