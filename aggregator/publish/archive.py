"""Which stories stay in a topic's current document and which move into new
RFC 5005 archive pages. Pure: stories and limits in, pages and the rest out.

A page, once cut, is never recut: the pipeline records its stories in the
database and no story is ever planned twice. Pages are cut from the oldest
end (by the store's stable order: sort date, then id), `page_size` stories at
a time, only while the current document is over `max_items` or its oldest
story is older than `max_age`. So every story is in exactly one document, the
current document holds at most max_items, and a page is full unless max_age
forced it out early.

`Cutter` takes the stories oldest first and gives each page out as soon as it
is certain, holding at most about max_items stories: a backlog of any size is
cut in constant memory. `plan` is the same rule over a whole list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.models import Story


@dataclass(frozen=True, slots=True)
class Plan:
    current: list[Story]  # newest first
    pages: list[list[Story]]  # new archive pages, oldest page first, each newest first


class Cutter:
    """Archive pages cut from a topic's unarchived stories as they arrive, oldest first."""

    def __init__(self, *, max_items: int, page_size: int, cutoff: datetime | None) -> None:
        self._max_items = max_items
        self._size = max(1, min(page_size, max_items))
        self._cutoff = cutoff
        self._held: deque[Story] = deque()  # oldest first

    def add(self, story: Story) -> list[list[Story]]:
        """Take the next story (none older may follow); return the pages now certain."""
        self._held.append(story)
        return self._cut(final=False)

    def finish(self) -> Plan:
        """No more stories: the last pages, and what the current document keeps."""
        pages = self._cut(final=True)
        current = list(reversed(self._held))
        self._held.clear()
        return Plan(current=current, pages=pages)

    def _cut(self, *, final: bool) -> list[list[Story]]:
        pages: list[list[Story]] = []
        held = self._held
        while held:
            # More than max_items held: more remain in all, so the oldest page goes
            # whatever follows. An expired oldest story forces its page out, but
            # only once the page is full (or nothing more comes).
            expired = self._cutoff is not None and held[0].entry.sort_date < self._cutoff
            if len(held) <= self._max_items and not (
                expired and (final or len(held) >= self._size)
            ):
                break
            page = [held.popleft() for _ in range(min(self._size, len(held)))]
            page.reverse()
            pages.append(page)
        return pages


def plan(
    pending: Sequence[Story], *, max_items: int, page_size: int, cutoff: datetime | None
) -> Plan:
    """`pending`: the topic's stories not yet archived, newest first."""
    cutter = Cutter(max_items=max_items, page_size=page_size, cutoff=cutoff)
    pages: list[list[Story]] = []
    for story in reversed(pending):
        pages += cutter.add(story)
    last = cutter.finish()
    return Plan(current=last.current, pages=pages + last.pages)
