"""Decisions that keep the schedule sane when the wall clock jumps.

Due times are wall-clock times in the database (a restart loses nothing), and
APScheduler 3 compares its own due time with the wall clock too. A clock set
forward (by years) makes everything due at once: one catch-up round, since the
tick coalesces missed runs and each source's next fetch is then counted from
the new now. A clock set backward would leave every stored time in the future:
nothing would run until the clock caught up. These pure functions notice that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Clocks drift and NTP steps by milliseconds; only a real jump counts.
SLACK = timedelta(minutes=1)


def is_due(next_fetch: datetime | None, last_fetch: datetime | None, now: datetime) -> bool:
    """Whether a source should be fetched now.

    A last fetch in the future means the clock went back since: fetch once
    more now (a conditional GET) and schedule from the new clock, rather
    than wait for the old one to come round again.
    """
    if next_fetch is None:
        return True
    if last_fetch is not None and last_fetch > now + SLACK:
        return True
    return next_fetch <= now


def tick_stalled(next_run: datetime | None, now: datetime, tick: timedelta) -> bool:
    """Whether the scheduler's next tick is further away than a tick can be,
    which only happens when the clock went back after it was planned."""
    return next_run is not None and next_run - now > tick + SLACK
