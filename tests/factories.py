"""Builders for model objects in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.config import TopicConfig
from aggregator.dedup import key_entries
from aggregator.models import ParsedEntry, StoredEntry
from aggregator.store import Store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def stored(
    id: int,
    *,
    story_id: int | None = None,
    source_id: str = "a",
    title: str = "",
    summary: str = "",
    age_hours: float = 0,
    **kwargs: Any,
) -> StoredEntry:
    when = T0 - timedelta(hours=age_hours)
    fields: dict[str, Any] = {
        "id": id,
        "source_id": source_id,
        "key": f"guid:{source_id}-{id}",
        "story_id": story_id if story_id is not None else id,
        "guid": f"{source_id}-{id}",
        "link": f"https://{source_id}.example/{id}",
        "canonical_url": f"https://{source_id}.example/{id}",
        "title": title,
        "summary": summary,
        "content": "",
        "authors": (),
        "categories": (),
        "enclosures": (),
        "published": when,
        "updated": None,
        "first_seen": when,
        "sort_date": when,
    }
    fields.update(kwargs)
    return StoredEntry(**fields)


def topic(slug: str = "t", **kwargs: Any) -> TopicConfig:
    kwargs.setdefault("title", slug.title())
    return TopicConfig(slug=slug, **kwargs)


def parsed(guid: str, title: str, **kwargs: Any) -> ParsedEntry:
    kwargs.setdefault("link", f"https://news.example/{guid}")
    return ParsedEntry(guid=guid, title=title, **kwargs)


def store_wire(store: Store, entries: list[ParsedEntry], at: datetime) -> None:
    """Store `entries` as a 200 from the source "wire" fetched at `at`."""
    store.store_entries(
        "wire", key_entries(entries), now=at, next_fetch=at, status=200, etag=None,
        last_modified=None, body_hash=None, effective_url=None, feed_title="Wire",
        feed_link="https://wire.example/",
    )  # fmt: skip
