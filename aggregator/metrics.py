"""Prometheus metrics for /metrics: the only module that imports prometheus_client.

Each daemon owns one CollectorRegistry (no module-level registry), so tests
and several daemons in one process never share counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_CYCLE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.fetches = Counter(
            "aggregator_fetches", "Source fetches by outcome (new, unchanged, "
            "not-modified, or the error kind).", ["outcome"], registry=r,
        )  # fmt: skip
        self.fetch_seconds = Histogram(
            "aggregator_fetch_duration_seconds", "Time to fetch, parse and store one source.",
            buckets=_FETCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.entries = Counter(
            "aggregator_entries", "Entries seen in fetched feeds: new, updated, or duplicate "
            "(already stored as they are).", ["kind"], registry=r,
        )  # fmt: skip
        self.parse_failures = Counter(
            "aggregator_parse_failures", "Fetched documents that were not a usable feed.",
            registry=r,
        )  # fmt: skip
        self.cycle_seconds = Histogram(
            "aggregator_cycle_duration_seconds", "Duration of one fetch-store-publish cycle.",
            buckets=_CYCLE_BUCKETS, registry=r,
        )  # fmt: skip
        self.cycle_failures = Counter(
            "aggregator_cycle_failures", "Cycles that failed as a whole (the database, a bug).",
            registry=r,
        )  # fmt: skip
        self.publish_failures = Counter(
            "aggregator_publish_failures", "Publishes that could not write the feeds.", registry=r
        )
        self.topic_items = Gauge(
            "aggregator_topic_items", "Items in each topic feed.", ["topic"], registry=r
        )
        self.config_ok = Gauge(
            "aggregator_config_last_reload_successful",
            "1 when the last attempt to load config.toml succeeded.", registry=r,
        )  # fmt: skip
        self.config_time = Gauge(
            "aggregator_config_last_reload_success_timestamp_seconds",
            "When config.toml was last loaded successfully (Unix time).", registry=r,
        )  # fmt: skip
        for kind in ("new", "updated", "duplicate"):
            self.entries.labels(kind)  # present from the start, at 0

    def source(
        self, outcome: str, seconds: float, *, new: int, updated: int, duplicate: int
    ) -> None:
        self.fetches.labels(outcome).inc()
        self.fetch_seconds.observe(seconds)
        if outcome == "parse":
            self.parse_failures.inc()
        for kind, count in (("new", new), ("updated", updated), ("duplicate", duplicate)):
            if count:
                self.entries.labels(kind).inc(count)

    def cycle(self, seconds: float) -> None:
        self.cycle_seconds.observe(seconds)

    def cycle_failed(self) -> None:
        self.cycle_failures.inc()

    def publish_failed(self) -> None:
        self.publish_failures.inc()

    def topics(self, items: Mapping[str, int]) -> None:
        self.topic_items.clear()  # a removed topic disappears
        for slug, count in items.items():
            self.topic_items.labels(slug).set(count)

    def config_reload(self, ok: bool, when: datetime) -> None:
        self.config_ok.set(1 if ok else 0)
        if ok:
            self.config_time.set(when.timestamp())

    def render(self) -> tuple[bytes, str]:
        """(body, content type) of the Prometheus text exposition."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
