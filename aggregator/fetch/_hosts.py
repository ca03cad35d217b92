"""Politeness per host: at most N requests in flight to one host:port, and starts
spaced at least `delay` apart, so thirty feeds on one site are not hit at once."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Host:
    active: int = 0
    next_start: float = 0.0  # monotonic time before which no request may start
    # Waiters in arrival order: (their limit, the future that admits them). A release
    # wakes only those that may now start, not every waiter (a thousand feeds on one
    # host would otherwise wake a thousand coroutines per finished request).
    waiting: deque[tuple[int, asyncio.Future[None]]] = field(default_factory=deque)


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
        if host.active >= limit or host.waiting:
            admitted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            host.waiting.append((limit, admitted))
            try:
                await admitted  # the slot is counted for us when we are admitted
            except BaseException:
                if admitted.done() and not admitted.cancelled():
                    self._release(host)  # admitted, then cancelled: pass the slot on
                elif (limit, admitted) in host.waiting:
                    host.waiting.remove((limit, admitted))
                raise
        else:
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
            self._release(host)

    @staticmethod
    def _release(host: _Host) -> None:
        host.active -= 1
        # First come, first served: the head of the queue starts when its own limit
        # leaves room, and nobody overtakes it.
        while host.waiting:
            limit, admitted = host.waiting[0]
            if admitted.done():  # cancelled while waiting
                host.waiting.popleft()
                continue
            if host.active >= limit:
                break
            host.waiting.popleft()
            host.active += 1
            admitted.set_result(None)
