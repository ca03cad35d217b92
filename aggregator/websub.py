"""WebSub publishing: after a topic's feed changes, tell its hub (hub.mode=publish).

Pings never block publishing: the daemon runs them beside the cycle, and a
failed ping is logged and retried with backoff. A newer change to the same
feed replaces a pending retry, so each change costs the hub one ping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.clock import utc_now
from aggregator.errors import FetchError
from aggregator.fetch import Fetcher

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)

Ping = tuple[str, str]  # (hub URL, feed URL)


@dataclass(slots=True)
class _Pending:
    due: datetime
    failures: int = 0
    generation: int = 0


class HubNotifier:
    """Pending pings and their retry times, in memory (a restart re-announces
    nothing: hubs also poll, and the next change pings again)."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self._pending: dict[Ping, _Pending] = {}
        self._generation = 0

    def queue(self, pings: Iterable[Ping]) -> None:
        now = self.clock()
        for ping in pings:
            self._generation += 1
            self._pending[ping] = _Pending(due=now, generation=self._generation)

    def pending(self) -> list[Ping]:
        return sorted(self._pending)

    def due(self) -> list[Ping]:
        now = self.clock()
        return sorted(p for p, state in self._pending.items() if state.due <= now)

    async def flush(self, fetcher: Fetcher) -> int:
        """Send every due ping at once; return how many the hubs accepted."""
        due = [(ping, self._pending[ping].generation) for ping in self.due()]
        results = await asyncio.gather(*(self._send(fetcher, p, g) for p, g in due))
        return sum(results)

    async def _send(self, fetcher: Fetcher, ping: Ping, generation: int) -> bool:
        hub, url = ping
        try:
            await fetcher.ping_hub(hub, url)
        except FetchError as exc:
            state = self._pending.get(ping)
            if state is None or state.generation != generation:
                return False  # a newer change is queued and will ping
            state.failures += 1
            delay = min(FIRST_RETRY * 2 ** min(state.failures - 1, 16), MAX_RETRY)
            state.due = self.clock() + delay
            level = logging.WARNING if state.failures == 1 else logging.INFO
            log.log(level, "websub: hub %s did not take %s (%d failures, retry in %s): %s",
                    hub, url, state.failures, delay, exc.detail)  # fmt: skip
            return False
        state = self._pending.get(ping)
        if state is not None and state.generation == generation:
            del self._pending[ping]
        log.info("websub: pinged %s for %s", hub, url)
        return True
