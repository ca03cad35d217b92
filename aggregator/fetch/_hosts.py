"""Politeness per host: at most N requests in flight to one host:port, and starts
spaced at least `delay` apart, so thirty feeds on one site are not hit at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Host:
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    active: int = 0
    next_start: float = 0.0  # monotonic time before which no request may start


class HostGate:
    """Belongs to one Fetcher and one event loop."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        if delay < 0:
            raise ValueError("delay must not be negative")
        self._delay = delay
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, key: str, limit: int) -> AsyncIterator[None]:
        """Wait for a free slot on `key` (a limit per caller: sources may differ)."""
        host = self._hosts.setdefault(key, _Host())
        async with host.changed:
            await host.changed.wait_for(lambda: host.active < limit)
            host.active += 1
        try:
            if self._delay:
                now = self._clock()
                start = max(now, host.next_start)
                host.next_start = start + self._delay  # reserved before sleeping: no ties
                if start > now:
                    await asyncio.sleep(start - now)
            yield
        finally:
            host.active -= 1
            async with host.changed:
                host.changed.notify_all()
