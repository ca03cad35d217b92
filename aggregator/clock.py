"""The one real clock. Everything else takes `now` or a clock callable, so tests
can pass their own."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
