"""Parse throughput: the fast path (lxml) against the feedparser path, on one core.

    python -m benchmarks.parse_bench [--feeds 200] [--repeat 3]

Both run parse_feed over the same synthetic feeds (benchmarks/synth.py: RSS 2.0, Atom,
RDF, a tenth in legacy encodings) in this one process, so the ratio is what to read:
times vary between runs on shared machines. The "reading only" rows split off the
document reading (feedparser.parse vs lxml and the handler port) from what both paths
share: mapping, sanitising with nh3, dates. The "parse + identities" row is what a
parser worker does per document (ingest.ingest: parse_feed, then dedup.key_entries:
keys, aliases, fingerprints, MinHash bands), and "identities only" its second half.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import feedparser
from feedparser.encodings import convert_to_utf8

from aggregator import dedup
from aggregator.ingest import ingest
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

    def parse_and_identities() -> int:
        return sum(
            len(ingest(body, source_id="bench", url=url, content_type=None).entries)
            for body, url in docs
        )

    parsed = [parse_feed(body, source_id="bench", url=url) for body, url in docs]

    def identities() -> int:
        return sum(len(dedup.key_entries(f.entries, home=f.link)) for f in parsed)

    # (label, run, the row its speed-up is against)
    rows = [
        ("feedparser path (parse_feed)", path(fast=False), 0),
        ("fast path (parse_feed)", path(fast=True), 0),
        ("  reading only: feedparser.parse", reading_feedparser, 2),
        ("  reading only: lxml + port", reading_fast, 2),
        ("parse + identities (ingest)", parse_and_identities, 4),
        ("  identities only (key_entries)", identities, 5),
    ]
    results = [(label, *_timed(run, opts.repeat)) for label, run, _ in rows]
    print(f"{opts.feeds} synthetic feeds, median of {opts.repeat} runs, one core")
    print(f"{'':34} {'seconds':>8} {'entries':>8} {'entries/s':>10} {'speed-up':>9}")
    for (label, seconds, entries), (_, _, against) in zip(results, rows, strict=True):
        print(
            f"{label:34} {seconds:8.2f} {entries:8d} {entries / seconds:10.0f} "
            f"{results[against][1] / seconds:8.1f}x"
        )
    shared = results[1][1] - results[3][1]
    print(f"fast path time outside XML reading (mapping, nh3, dates): {shared / results[1][1]:.0%}")
    ingest_seconds, ingest_entries = results[4][1:]
    identity_seconds, identity_entries = results[5][1:]
    print(
        f"per entry: parse + identities {ingest_seconds / ingest_entries * 1e3:.3f} ms, "
        f"identities {identity_seconds / identity_entries * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main()
