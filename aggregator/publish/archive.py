"""Which stories stay in a topic's current document and which move into new
RFC 5005 archive pages. Pure: stories and limits in, pages and the rest out.

A page, once cut, is never recut: the pipeline records its stories in the
database and no story is ever planned twice. Pages are cut from the oldest
end (by the store's stable order: sort date, then id). While the current
document is over `max_items`, its oldest `page_size` stories make the next
page; otherwise, while its oldest story is older than `max_age`, the leading
run of expired stories does (at most `page_size` of them, so such a page may
be short), and a story within max_age never leaves for its age. So every story
is in exactly one document, the current document holds at most max_items,
and a page is full unless max_age forced it out early.

`Cutter` takes the stories oldest first and gives each page out as soon as it
is certain, holding at most about max_items stories: a backlog of any size is
cut in constant memory. `plan` is the same rule over a whole list.
"""

from __future__ import annotations

import itertools
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
        self._run = 0  # how many of the held stories, from the oldest, are expired

    def add(self, story: Story) -> list[list[Story]]:
        """Take the next story (none older may follow); return the pages now certain."""
        if self._run == len(self._held) and self._expired(story):
            self._run += 1
        self._held.append(story)
        return self._cut(final=False)

    def finish(self) -> Plan:
        """No more stories: the last pages, and what the current document keeps."""
        pages = self._cut(final=True)
        current = list(reversed(self._held))
        self._held.clear()
        self._run = 0
        return Plan(current=current, pages=pages)

    def _cut(self, *, final: bool) -> list[list[Story]]:
        pages: list[list[Story]] = []
        while self._held:
            if len(self._held) > self._max_items:
                # More than max_items held: more remain in all, so the oldest page
                # goes whatever follows.
                pages.append(self._take(self._size))
            elif self._run >= self._size or (final and self._run):
                # Expired stories leave by themselves. A short run waits for the end
                # unless it fills a page: more stories could still push the document
                # over max_items, which cuts a full page instead.
                pages.append(self._take(min(self._run, self._size)))
            else:
                break
        return pages

    def _take(self, count: int) -> list[Story]:
        page = [self._held.popleft() for _ in range(count)]
        page.reverse()
        if count <= self._run:
            self._run -= count
        else:  # a max_items page took fresh stories too: the next run starts anew
            self._run = sum(1 for _ in itertools.takewhile(self._expired, self._held))
        return page

    def _expired(self, story: Story) -> bool:
        return self._cutoff is not None and story.entry.sort_date < self._cutoff


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
