"""What `aggregator status`, `status --json` and the daemon's /status report.

One snapshot, built from the configuration and the database, as plain JSON
values, so the table, the JSON and the HTTP answer can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.config import Config
from aggregator.credentials import redact, redact_text
from aggregator.models import SourceState
from aggregator.schedule import due_at
from aggregator.store import Store


@dataclass(frozen=True, slots=True)
class ConfigStatus:
    """The daemon's view of config.toml: what it runs on, and why not the file."""

    path: str
    loaded_at: datetime  # when the configuration in use was read
    error: str | None = None  # the file's current problem; None: the file is what runs
    last_reload_successful: bool = True
    last_reload_at: datetime | None = None  # the last attempt, good or bad

    @property
    def stale(self) -> bool:
        return self.error is not None


def condition(state: SourceState | None, enabled: bool) -> tuple[str, datetime | None]:
    """(state word, since when): disabled, new, ok, failing or retired."""
    if not enabled:
        return "disabled", None
    if state is not None and state.retired_at is not None:
        return "retired", state.retired_at
    if state is None or state.last_fetch is None:
        return "new", None
    if state.error_count == 0:
        return "ok", state.last_success
    return "failing", state.failing_since or state.last_success


def snapshot(
    config: Config,
    store: Store,
    now: datetime,
    *,
    config_status: ConfigStatus | None = None,
    cycle_error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    states = store.source_states()
    topic_stats = store.topic_stats()
    cycle = store.last_cycle()
    sources = []
    for sid, source in config.sources.items():
        state = states.get(sid)
        word, since = condition(state, source.enabled)
        s = state or SourceState(sid, source.url)
        sources.append(
            {
                "id": sid,
                "url": redact(source.url),
                "effective_url": redact(s.effective_url) if s.effective_url else None,
                "enabled": source.enabled,
                "state": word,
                "failing_since": _iso(since) if word in ("failing", "retired") else None,
                "last_fetch": _iso(s.last_fetch),
                "last_success": _iso(s.last_success),
                "last_status": s.last_status,
                "last_error": (
                    redact_text(s.last_error, [source.url, s.effective_url or ""])
                    if s.error_count and s.last_error
                    else None
                ),
                "errors_in_a_row": s.error_count,
                "new_entries_last_fetch": s.new_entries,
                "total_entries": s.total_entries,
                "next_fetch": (
                    _iso(due_at(s, config.source_interval(source))) if source.enabled else None
                ),
            }
        )
    topics = []
    for slug, topic in config.topics.items():
        stats = topic_stats.get(slug)
        topics.append(
            {
                "slug": slug,
                "title": topic.title,
                "items": stats.items if stats else None,
                "newest_item": _iso(stats.newest) if stats else None,
                "last_publish": _iso(stats.published) if stats else None,
            }
        )
    return {
        "now": _iso(now),
        "config": _config(config_status),
        "cycle_error": cycle_error,
        "last_cycle": None
        if cycle is None
        else {
            "started": _iso(cycle.started),
            "duration_seconds": round(cycle.duration, 3),
            "sources_fetched": cycle.sources,
            "sources_failed": cycle.failed,
            "new_entries": cycle.new_entries,
        },
        "sources": sources,
        "topics": topics,
    }


def _config(status: ConfigStatus | None) -> Mapping[str, Any] | None:
    if status is None:
        return None
    return {
        "path": status.path,
        "stale": status.stale,
        "error": status.error,
        "loaded_at": _iso(status.loaded_at),
        "last_reload_successful": status.last_reload_successful,
        "last_reload_at": _iso(status.last_reload_at),
    }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")
