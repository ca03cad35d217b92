"""Which stories stay in a topic's current document and which move into new
RFC 5005 archive pages. Pure: stories and limits in, a plan out.

A page, once cut, is never recut: the pipeline records its stories in the
database and no story is ever planned twice. Pages are cut from the oldest
end (by the store's stable order: sort date, then id), `page_size` stories at
a time, only while the current document is over `max_items` or its oldest
story is older than `max_age`. So every story is in exactly one document, the
current document holds at most max_items, and a page is full unless max_age
forced it out early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.models import Story


@dataclass(frozen=True, slots=True)
class Plan:
    current: list[Story]  # newest first
    pages: list[list[Story]]  # new archive pages, oldest page first, each newest first


def plan(
    pending: Sequence[Story], *, max_items: int, page_size: int, cutoff: datetime | None
) -> Plan:
    """`pending`: the topic's stories not yet archived, newest first."""
    size = max(1, min(page_size, max_items))
    oldest_first = list(reversed(pending))
    pages: list[list[Story]] = []
    start = 0
    while start < len(oldest_first):
        remaining = len(oldest_first) - start
        expired = cutoff is not None and oldest_first[start].entry.sort_date < cutoff
        if remaining <= max_items and not expired:
            break
        page = oldest_first[start : start + size]
        pages.append(list(reversed(page)))
        start += len(page)
    return Plan(current=list(reversed(oldest_first[start:])), pages=pages)
