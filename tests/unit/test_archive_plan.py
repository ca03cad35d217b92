"""Cutting archive pages: the whole-list plan and the streaming Cutter agree,
and the Cutter gives each page out as soon as it is certain."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Collection
from datetime import datetime, timedelta

import pytest

from aggregator import curate
from aggregator.models import Story
from aggregator.publish import Cutter, plan
from tests.factories import T0, stored, topic


def story(n: int) -> Story:
    """Story n, n hours before T0 (higher n: older)."""
    return Story(uid=f"s{n}", entry=stored(n, age_hours=n), source_title="A", source_link=None)


def numbers(stories: list[Story]) -> list[int]:
    return [s.entry.id for s in stories]


def test_pages_are_cut_from_the_oldest_end_and_each_is_newest_first() -> None:
    pending = [story(n) for n in range(1, 21)]  # newest first
    result = plan(pending, max_items=5, page_size=3, cutoff=None)
    assert [numbers(p) for p in result.pages] == [
        [18, 19, 20], [15, 16, 17], [12, 13, 14], [9, 10, 11], [6, 7, 8],
    ]  # fmt: skip
    assert numbers(result.current) == [1, 2, 3, 4, 5]


def test_expired_stories_leave_by_themselves_under_max_items() -> None:
    pending = [story(n) for n in (1, 2, 3, 30, 31)]
    result = plan(pending, max_items=10, page_size=4, cutoff=T0 - timedelta(days=1))
    # A short page: stories within max_age stay, however few the expired ones.
    assert [numbers(p) for p in result.pages] == [[30, 31]]
    assert numbers(result.current) == [1, 2, 3]
    # More expired stories than a page: full pages, then the short rest.
    pending = [story(n) for n in (1, 25, 26, 27, 28, 29)]
    result = plan(pending, max_items=10, page_size=2, cutoff=T0 - timedelta(days=1))
    assert [numbers(p) for p in result.pages] == [[28, 29], [26, 27], [25]]
    assert numbers(result.current) == [1]


def test_over_max_items_a_page_is_full_even_past_the_expired_stories() -> None:
    pending = [story(n) for n in (1, 2, 3, 4, 30)]
    result = plan(pending, max_items=4, page_size=3, cutoff=T0 - timedelta(days=1))
    assert [numbers(p) for p in result.pages] == [[3, 4, 30]]
    assert numbers(result.current) == [1, 2]


def reference_plan(
    pending: list[Story], max_items: int, page_size: int, cutoff: datetime | None
) -> tuple[list[list[int]], list[int]]:
    """The rule as written in publish/archive.py's docstring, over the whole list."""
    size = max(1, min(page_size, max_items))
    rest = list(reversed(pending))  # oldest first
    pages = []
    while rest:
        if len(rest) > max_items:
            take = size
        else:
            expired = [cutoff is not None and s.entry.sort_date < cutoff for s in rest[:size]]
            take = len(list(itertools.takewhile(bool, expired)))
            if not take:
                break
        pages.append(numbers(list(reversed(rest[:take]))))
        rest = rest[take:]
    return pages, numbers(list(reversed(rest)))


@pytest.mark.parametrize("seed", range(60))
def test_streaming_cutter_equals_the_whole_list_rule(seed: int) -> None:
    rng = random.Random(seed)
    ages = sorted(rng.sample(range(1, 200), rng.randint(0, 40)))
    pending = [story(n) for n in ages]  # newest first
    if seed % 3 == 0:
        # A story is dated by its published member, which may be older or newer
        # than the first one the store orders stories by.
        pending = [dataclasses.replace(s, entry=stored(s.entry.id, age_hours=rng.randint(1, 200)))
                   for s in pending]  # fmt: skip
    max_items, page_size = rng.randint(1, 40), rng.randint(1, 15)
    hours = rng.choice([None, rng.randint(1, 200)])
    cutoff = None if hours is None else T0 - timedelta(hours=hours)
    cutter = Cutter(max_items=max_items, page_size=page_size, cutoff=cutoff)
    pages: list[list[Story]] = []
    for added, s in enumerate(reversed(pending), 1):  # oldest first
        pages += cutter.add(s)
        # Pages come out as soon as they are certain: never more than max_items held.
        assert added - sum(map(len, pages)) <= max_items
    last = cutter.finish()
    expected_pages, expected_current = reference_plan(pending, max_items, page_size, cutoff)
    assert [numbers(p) for p in pages + last.pages] == expected_pages
    assert numbers(last.current) == expected_current
    whole = plan(pending, max_items=max_items, page_size=page_size, cutoff=cutoff)
    assert [numbers(p) for p in whole.pages] == expected_pages
    assert numbers(whole.current) == expected_current


def test_walk_unarchived_keeps_the_order_given_and_asks_for_archived_uids_per_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(curate, "WALK_CHUNK", 3)
    oil = curate.compile_topic(topic("oil", query="oil"), {})
    gas = curate.compile_topic(topic("gas", query="gas", min_age=timedelta(hours=2)), {})
    # Oldest first; 7 and 8 form one story (8 joined 7).
    entries = [
        stored(n, title=f"oil gas {n}", age_hours=10 - n) for n in range(1, 7)
    ] + [stored(7, title="oil 7", age_hours=3), stored(8, story_id=7, title="gas 8", age_hours=1),
         stored(9, title="gas 9", age_hours=0)]  # fmt: skip
    asked: list[tuple[str, list[int]]] = []

    def archived(slug: str, ids: Collection[int]) -> Collection[str]:
        asked.append((slug, sorted(ids)))
        return {curate.story_uid(entries[1])} if slug == "oil" else set()

    found = list(curate.walk_unarchived([oil, gas], entries, now=T0, sources={}, archived=archived))
    assert [(slug, s.entry.id) for slug, s in found] == [
        ("oil", 1), ("gas", 1), ("gas", 2), ("oil", 3), ("gas", 3), ("oil", 4), ("gas", 4),
        ("oil", 5), ("gas", 5), ("oil", 6), ("gas", 6), ("oil", 7), ("gas", 8),
    ]  # fmt: skip
    # Story 7 is gas's through its member 8, the first that matches; story 9 is
    # newer than gas's min_age and not about oil. Oil's story 2 is archived.
    assert asked == [
        ("oil", [1, 2, 3]), ("gas", [1, 2, 3]), ("oil", [4, 5, 6]), ("gas", [4, 5, 6]),
        ("oil", [7, 9]), ("gas", [7, 9]),
    ]  # fmt: skip
