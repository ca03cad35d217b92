"""When to fetch a source next: pure decisions from the interval, the error count and
what the publisher asked for. No clock (take `now`), no I/O.

The configured interval is the floor after a success: a publisher can ask us to come
back later (Cache-Control max-age, Expires, RSS <ttl>), never sooner. Every hint is
clamped, so a year-long max-age on a static file or a garbage Retry-After cannot
silence a source for good.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from aggregator.models import SourceState

MAX_BACKOFF = timedelta(hours=24)
MAX_CACHE_HINT = timedelta(hours=24)  # max-age, Expires, <ttl>
MAX_RETRY_AFTER = timedelta(days=7)  # the publisher said it is overloaded: believe it longer

_MAX_AGE_SECONDS = 10**12
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:[,=]|$)", re.IGNORECASE)


def backoff(interval: timedelta, errors: int, rng: random.Random) -> timedelta:
    """Exponential in the number of consecutive errors, capped, with jitter so
    sources that failed together do not retry together."""
    base: timedelta = min(interval * (2 ** min(max(errors - 1, 0), 16)), MAX_BACKOFF)
    return base * rng.uniform(0.9, 1.1)


MAX_CYCLE_BACKOFF = timedelta(minutes=15)


def cycle_backoff(tick: timedelta, failures: int) -> timedelta:
    """How long the daemon waits after cycles that failed as a whole (the database
    cannot commit: nothing fetched was recorded, so every source would be due again
    at the next tick). Doubles from one tick, capped."""
    delay: timedelta = tick * 2 ** min(max(failures - 1, 0), 16)
    return min(delay, max(MAX_CYCLE_BACKOFF, tick))


def after_failure(
    interval: timedelta, errors: int, rng: random.Random, retry_after: float | None = None
) -> timedelta:
    """Delay before retrying a failing source; Retry-After (429/503) can only lengthen it."""
    delay = backoff(interval, errors, rng)
    if retry_after is not None and retry_after > 0:  # NaN is not > 0
        # Clamped before it is a timedelta: a 14-digit header would overflow one.
        delay = max(delay, timedelta(seconds=min(retry_after, MAX_RETRY_AFTER.total_seconds())))
    return delay


def after_success(
    now: datetime, interval: timedelta, headers: Mapping[str, str], ttl_minutes: int | None = None
) -> tuple[datetime, datetime]:
    """(the publisher's floor, the next fetch): the interval, or longer if the
    publisher asks; the floor alone is kept so an edited interval applies (due_at)."""
    floor = now + publisher_delay(headers, ttl_minutes)
    return floor, max(now + interval, floor)


def publisher_delay(headers: Mapping[str, str], ttl_minutes: int | None = None) -> timedelta:
    """How long the publisher asks us to wait (0: no wish), clamped."""
    hints = [h for h in (cache_lifetime(headers), _ttl(ttl_minutes)) if h is not None]
    return min(max(hints), MAX_CACHE_HINT) if hints else timedelta(0)


def due_at(state: SourceState, interval: timedelta) -> datetime | None:
    """When the source is due (None: now). After a success, from today's interval
    and the publisher's floor, so an edited interval applies at once; after a
    failure, the stored backoff time."""
    if state.error_count or state.fetch_floor is None or state.last_fetch is None:
        return state.next_fetch
    return max(state.last_fetch + interval, state.fetch_floor)


def cache_lifetime(headers: Mapping[str, str]) -> timedelta | None:
    """How long the response stays fresh (RFC 9111): max-age minus Age, else Expires
    minus the server's Date. None when the response says nothing usable."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return timedelta(0)
    age = headers.get("age", "").strip()
    # More than 12 digits (31,000 years) is as stale as it gets, and int() of a
    # 5,000-digit string raises.
    spent = min(int(age[:13]), _MAX_AGE_SECONDS) if age.isascii() and age.isdigit() else 0
    if match := _MAX_AGE.search(control):
        return max(timedelta(seconds=int(match[1]) - spent), timedelta(0))
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    # Against the server's own clock, when it sent one: immune to skew.
    date = _http_date(headers.get("date"))
    if date is None:
        return None
    return max(expires - date - timedelta(seconds=spent), timedelta(0))


def _ttl(minutes: int | None) -> timedelta | None:
    if minutes is None or minutes <= 0:
        return None
    return timedelta(minutes=min(minutes, 1_000_000))  # beyond any cap; no overflow


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else None
