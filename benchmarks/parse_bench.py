"""Parse throughput: the fast path (lxml) against the feedparser path, on one core.

    python -m benchmarks.parse_bench [--feeds 200] [--repeat 3]

Both run parse_feed over the same synthetic feeds (benchmarks/synth.py: RSS 2.0, Atom,
RDF, a tenth in legacy encodings) in this one process, so the ratio is what to read:
times vary between runs on shared machines. The "reading only" rows split off the
document reading (feedparser.parse vs lxml and the handler port) from what both paths
share: mapping, sanitising with nh3, dates.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import feedparser
from feedparser.encodings import convert_to_utf8

from aggregator.parse import parse_feed
from aggregator.parse._fast import fast_parse
from aggregator.parse._prepare import defuse
from benchmarks import synth


def _timed(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    """(median seconds, entries) over `repeat` runs."""
    times, entries = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        entries = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), entries


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--feeds", type=int, default=200)
    args.add_argument("--repeat", type=int, default=3)
    opts = args.parse_args()

    pool = synth.text_pool()
    docs = [
        (synth.feed_document(n, pool), f"https://site{n}.example/feed") for n in range(opts.feeds)
    ]
    prepared = [defuse(convert_to_utf8({}, body, {})) for body, _ in docs]

    def path(fast: bool) -> Callable[[], int]:
        return lambda: sum(
            len(parse_feed(body, source_id="bench", url=url, fast=fast).entries)
            for body, url in docs
        )

    def reading_feedparser() -> int:
        return sum(
            len(feedparser.parse(b, sanitize_html=False, resolve_relative_uris=False).entries)
            for b in prepared
        )

    def reading_fast() -> int:
        return sum(len((fast_parse(b) or {"entries": []})["entries"]) for b in prepared)

    rows = [
        ("feedparser path (parse_feed)", path(fast=False)),
        ("fast path (parse_feed)", path(fast=True)),
        ("  reading only: feedparser.parse", reading_feedparser),
        ("  reading only: lxml + port", reading_fast),
    ]
    results = [(label, *_timed(run, opts.repeat)) for label, run in rows]
    base = results[0][1]
    print(f"{opts.feeds} synthetic feeds, median of {opts.repeat} runs, one core")
    print(f"{'':34} {'seconds':>8} {'entries':>8} {'entries/s':>10} {'speed-up':>9}")
    for label, seconds, entries in results:
        reference = base if "parse_feed" in label else results[2][1]
        print(
            f"{label:34} {seconds:8.2f} {entries:8d} {entries / seconds:10.0f} "
            f"{reference / seconds:8.1f}x"
        )
    shared = results[1][1] - results[3][1]
    print(f"fast path time outside XML reading (mapping, nh3, dates): {shared / results[1][1]:.0%}")


if __name__ == "__main__":
    main()
