"""The per-host gate: a limit, first come first served, cancellation-safe, and
one wake-up per freed slot rather than one per waiter."""

from __future__ import annotations

import asyncio

from aggregator.fetch._hosts import HostGate


def test_many_waiters_on_one_host_keep_the_limit_and_their_order() -> None:
    order: list[int] = []
    peak = 0
    active = 0

    async def one(gate: HostGate, n: int) -> None:
        nonlocal active, peak
        async with gate.slot("h", 3):
            active += 1
            peak = max(peak, active)
            order.append(n)
            await asyncio.sleep(0)
            active -= 1

    async def scenario() -> None:
        gate = HostGate(0)
        await asyncio.gather(*(one(gate, n) for n in range(200)))

    asyncio.run(scenario())
    assert peak == 3 and order == list(range(200))


def test_a_cancelled_waiter_gives_up_nothing_and_blocks_nobody() -> None:
    async def scenario() -> list[str]:
        gate = HostGate(0)
        done: list[str] = []
        release = asyncio.Event()

        async def holder() -> None:
            async with gate.slot("h", 1):
                await release.wait()
                done.append("holder")

        async def waiter(name: str) -> None:
            async with gate.slot("h", 1):
                done.append(name)

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(waiter("doomed"))
        later = asyncio.create_task(waiter("later"))
        await asyncio.sleep(0)
        doomed.cancel()
        release.set()
        await asyncio.wait_for(asyncio.gather(first, later), timeout=5)
        assert doomed.cancelled()
        async with gate.slot("h", 1):  # the slot came back
            done.append("after")
        return done

    assert asyncio.run(scenario()) == ["holder", "later", "after"]
