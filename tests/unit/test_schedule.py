"""schedule: when a source is fetched next, as tables of inputs and expected delays."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator import schedule

M = timedelta(minutes=1)
H = timedelta(hours=1)
INTERVAL = 30 * M
DATE = "Sat, 28 Nov 2026 12:00:00 GMT"


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({}, None, INTERVAL),  # nothing said: the configured interval
        ({"cache-control": "max-age=7200"}, None, 2 * H),  # asks for longer: honoured
        ({"cache-control": "public, max-age=60"}, None, INTERVAL),  # sooner: never
        ({"cache-control": "max-age=31536000"}, None, 24 * H),  # a year: clamped
        ({"cache-control": 'max-age="5400"'}, None, 90 * M),  # quoted, as some servers do
        ({"cache-control": "max-age=7200", "age": "3600"}, None, H),  # already an hour old
        ({"cache-control": "no-cache, max-age=7200"}, None, INTERVAL),
        ({"cache-control": "max-age=soon"}, None, INTERVAL),  # garbage ignored
        ({"cache-control": "s-maxage=7200"}, None, INTERVAL),  # for shared caches, not us
        ({"expires": "Sat, 28 Nov 2026 15:00:00 GMT", "date": DATE}, None, 3 * H),
        ({"expires": "Sat, 28 Nov 2026 15:00:00 GMT"}, None, INTERVAL),  # no Date: no clock
        ({"expires": "0", "date": DATE}, None, INTERVAL),  # "already expired"
        ({"expires": "Sat, 28 Nov 2026 15:00:00 GMT", "date": DATE,
          "cache-control": "max-age=3600"}, None, H),  # max-age wins over Expires
        ({}, 120, 2 * H),  # RSS <ttl> in minutes
        ({}, 10, INTERVAL),
        ({}, 10**12, 24 * H),  # absurd: clamped, no overflow
        ({"cache-control": "max-age=3600"}, 180, 3 * H),  # the longer of the two
        # An absurd Age (14 or 5,000 digits): stale, no overflow, no ValueError.
        ({"cache-control": "max-age=60", "age": "9" * 14}, None, INTERVAL),
        ({"cache-control": "max-age=60", "age": "9" * 5000}, None, INTERVAL),
        ({"expires": "Sat, 28 Nov 2026 15:00:00 GMT", "date": DATE, "age": "9" * 14}, None,
         INTERVAL),
    ],
)  # fmt: skip
def test_after_success(headers: dict[str, str], ttl: int | None, expected: timedelta) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    floor, next_fetch = schedule.after_success(now, INTERVAL, headers, ttl)
    assert next_fetch - now == expected
    # The floor is the publisher's wish alone: it sets the next fetch when longer.
    assert floor <= next_fetch and (floor == next_fetch) is (expected > INTERVAL)


@pytest.mark.parametrize(
    ("errors", "retry_after", "low", "high"),
    [
        (1, None, 27 * M, 33 * M),  # the interval, jittered
        (2, None, 54 * M, 66 * M),
        (4, None, 216 * M, 264 * M),
        (40, None, 21.6 * H, 26.4 * H),  # capped at 24 h (plus jitter)
        (1, 7200.0, 2 * H, 2 * H),  # Retry-After longer than the backoff: honoured
        (4, 60.0, 216 * M, 264 * M),  # shorter: the backoff stands
        (1, 30 * 86400.0, 7 * 24 * H, 7 * 24 * H),  # a month: clamped to a week
        (1, 0.0, 27 * M, 33 * M),
        (1, 99999999999999.0, 7 * 24 * H, 7 * 24 * H),  # 14 digits: clamped, no overflow
        (1, float("inf"), 7 * 24 * H, 7 * 24 * H),  # 400 digits parse as inf
        (1, float("nan"), 27 * M, 33 * M),
    ],
)
def test_after_failure(
    errors: int, retry_after: float | None, low: timedelta, high: timedelta
) -> None:
    rng = random.Random(7)
    for _ in range(20):
        delay = schedule.after_failure(INTERVAL, errors, rng, retry_after)
        assert low <= delay <= high


def test_jitter_spreads_sources_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {schedule.backoff(INTERVAL, 3, rng) for _ in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize(
    ("tick", "failures", "expected"),
    [
        (M, 1, M),  # the next tick, as before
        (M, 2, 2 * M),
        (M, 4, 8 * M),
        (M, 40, 15 * M),  # capped
        (H, 3, H),  # never less than one tick, however long the tick
    ],
)
def test_cycle_backoff(tick: timedelta, failures: int, expected: timedelta) -> None:
    assert schedule.cycle_backoff(tick, failures) == expected
