"""Fetch throughput on loopback: does politeness cost speed when it has nothing to hold back?

    .venv/bin/python benchmarks/fetch_throughput.py [--hosts 1000] [--per-host 1] [--rounds 3]

A child process serves a small feed on `--hosts` loopback ports (each port is a host:port
to the per-host limit). The parent fetches every URL `--per-host` times with the real
Fetcher in two modes, alternating within each of `--rounds` rounds (the ratio is taken
per round, so drift in a busy machine's speed cancels out; the median ratio is shown):

- no limits: per-host limit 1000, no spacing;
- limits on: the shipped defaults (2 per host, 1 s apart).

Both go through the same address-vetting connect path (loopback allowed). With one
request per host the spacing never has to wait, so the difference is the bookkeeping.
`--per-host 10 --hosts 100` shows the limits at work instead (spacing then dominates,
by design).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.fetch import Fetcher

BODY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>b</title>'
    + (b"<item><title>t</title><description>" + b"x" * 400 + b"</description></item>") * 10
    + b"</channel></rss>"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s"
    % (len(BODY), BODY)
)


def serve(hosts: int, conn: Connection) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: many requests per connection
                await reader.readuntil(b"\r\n\r\n")
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", 0) for _ in range(hosts)]
        conn.send([s.sockets[0].getsockname()[1] for s in servers])
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop

    asyncio.run(main())


async def one_round(urls: list[str], per_host: int, limits: bool) -> float:
    options = {"per_host_limit": 2, "per_host_delay": 1.0} if limits else {
        "per_host_limit": 1000, "per_host_delay": 0.0,
    }  # fmt: skip
    async with Fetcher(
        user_agent="bench", timeout=30, max_body_size=1 << 20, max_concurrency=16,
        allow_private=True, **options,  # type: ignore[arg-type]
    ) as fetcher:  # fmt: skip
        started = time.perf_counter()
        await asyncio.gather(
            *(fetcher.fetch(f"s{i}", url) for i, url in enumerate(urls * per_host))
        )
        return len(urls) * per_host / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--per-host", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(args.hosts, theirs))
    server.start()
    try:
        ports: list[int] = ours.recv()
        urls = [f"http://127.0.0.1:{port}/feed" for port in ports]
        results: dict[str, list[float]] = {"no limits": [], "limits on": []}
        asyncio.run(one_round(urls[:50], 1, False))  # warm-up
        for _ in range(args.rounds):
            for mode in results:
                limits = mode == "limits on"
                results[mode].append(asyncio.run(one_round(urls, args.per_host, limits)))
    finally:
        ours.send("stop")
        server.join(10)
        if server.is_alive():
            server.kill()

    total = args.hosts * args.per_host
    ratios = [b / a for a, b in zip(results["no limits"], results["limits on"], strict=True)]
    print(f"{total} requests to {args.hosts} loopback host:ports, {args.rounds} rounds")
    print(f"{'mode':12} {'req/s median':>13} {'req/s best':>11} {'vs no limits':>13}")
    for mode, runs in results.items():
        change = statistics.median(ratios) - 1 if mode == "limits on" else 0.0
        print(f"{mode:12} {statistics.median(runs):13.0f} {max(runs):11.0f} {change:+13.1%}")


if __name__ == "__main__":
    main()
