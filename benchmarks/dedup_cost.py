"""Cost of joining a new entry to its story, at 10k and 200k stored entries.

    .venv/bin/python benchmarks/dedup_cost.py [--sizes 10000,200000] [--new 500]

Builds archives of synthetic news entries (a Zipf vocabulary, dates spread
over two years, a tenth of them re-edited copies of another), then stores the
same batch of new entries (a fifth of them re-titled, trimmed copies of
archived ones) into each, one fetch (transaction) per entry:

- baseline: exact joins only (canonical URL, fingerprint), the cost of storing
  an entry without similarity clustering;
- clustered: the same plus the LSH lookup and exact re-scoring of candidates.

The per-entry cost should not grow with the archive: every lookup is an index
probe bounded by the window, not a scan. Signatures are computed once, before
timing (dedup.key_entries, about the same for every archive size).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.config import SourceConfig
from aggregator.dedup import StoryMatcher, key_entries
from aggregator.models import Clustering, NewEntry, ParsedEntry
from aggregator.store import Store

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
SOURCES = {f"s{i}": SourceConfig(f"s{i}", f"https://s{i}.example/feed") for i in range(30)}


class Texts:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = [f"w{i}" for i in range(20_000)]
        self.weights = [1 / (i + 1) for i in range(len(self.vocabulary))]

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocabulary, self.weights, k=n)

    def entry(self, n: int, when: datetime) -> ParsedEntry:
        return ParsedEntry(
            guid=f"g{n}", link=f"https://news.example/{n}", title=" ".join(self.words(8)),
            summary=" ".join(self.words(60)), published=when,
        )  # fmt: skip

    def copy_of(self, original: ParsedEntry, n: int) -> ParsedEntry:
        lead = original.summary.split()
        return ParsedEntry(
            guid=f"c{n}", link=f"https://copy.example/{n}", title=" ".join(self.words(8)),
            summary=" ".join(lead[: self.rng.randint(40, 60)]),
            published=(original.published or START) + timedelta(hours=self.rng.randint(1, 12)),
        )  # fmt: skip


def build(path: Path, size: int) -> list[ParsedEntry]:
    texts = Texts(seed=size)
    archive: list[ParsedEntry] = []
    with Store.open(path) as store:
        store.sync_sources(SOURCES)
        batch: list[ParsedEntry] = []
        for n in range(size):
            when = START + SPAN * (n / size)
            if archive and texts.rng.random() < 0.1:
                item = texts.copy_of(texts.rng.choice(archive[-500:]), n)
            else:
                item = texts.entry(n, when)
            archive.append(item)
            batch.append(item)
            if len(batch) == 1000:
                _store(store, f"s{n % len(SOURCES)}", key_entries(batch), Clustering())
                batch = []
        if batch:
            _store(store, "s0", key_entries(batch), Clustering())
    return archive


def _store(store: Store, source: str, items: list[NewEntry], clustering: Clustering) -> None:
    now = max((i.entry.published or START) for i in items) + timedelta(minutes=5)
    store.store_entries(
        source, items, now=now, next_fetch=now, status=200, etag=None, last_modified=None,
        body_hash=None, effective_url=None, feed_title=None, feed_link=None,
        clustering=clustering,
    )  # fmt: skip


def newcomers(archive: list[ParsedEntry], count: int) -> list[NewEntry]:
    texts = Texts(seed=7)
    middle = len(archive) // 2
    out: list[ParsedEntry] = []
    for n in range(count):
        original = archive[middle + n]
        if n % 5 == 0:
            out.append(texts.copy_of(original, 10_000_000 + n))
        else:
            fresh = texts.entry(20_000_000 + n, original.published or START)
            out.append(fresh)
    return [item for entry in out for item in key_entries([entry])]


def measure(path: Path, items: list[NewEntry], clustering: Clustering) -> tuple[float, int]:
    """Seconds per entry, and how many joined an existing story."""
    with Store.open(path) as store:
        before = sum(1 for e in store.stories() if e.story_id != e.id)
        started = time.perf_counter()
        for n, item in enumerate(items):
            _store(store, f"s{n % len(SOURCES)}", [item], clustering)
        elapsed = time.perf_counter() - started
        after = sum(1 for e in store.stories() if e.story_id != e.id)
    return elapsed / len(items), after - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--new", type=int, default=500)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            started = time.perf_counter()
            archive = build(Path(tmp) / f"{size}.sqlite", size)
            built = time.perf_counter() - started
            signing = time.perf_counter()
            items = newcomers(archive, args.new)
            sign = (time.perf_counter() - signing) / len(items)
            for label, clustering in (
                ("baseline", Clustering()),
                ("clustered", Clustering(similar=StoryMatcher())),
            ):
                # A fresh copy each time, so both runs start from the same archive.
                copy = Path(tmp) / f"{size}-{label}.sqlite"
                copy.write_bytes((Path(tmp) / f"{size}.sqlite").read_bytes())
                per_entry, joined = measure(copy, items, clustering)
                rows.append((size, label, per_entry, joined, sign, built))
    print(f"{'stored':>8} {'mode':<10} {'ms/entry':>9} {'joined':>7} "
          f"{'sign ms':>8} {'build s':>8}")  # fmt: skip
    for size, label, per_entry, joined, sign, built in rows:
        print(f"{size:>8} {label:<10} {per_entry * 1e3:>9.3f} {joined:>7} "
              f"{sign * 1e3:>8.3f} {built:>8.1f}")  # fmt: skip
    clustered = {size: per for size, label, per, *_ in rows if label == "clustered"}
    if len(clustered) > 1:
        small, large = min(clustered), max(clustered)
        ratio = clustered[large] / clustered[small]
        print(f"\nclustered cost at {large} / at {small}: "
              f"{ratio:.2f}x for {large / small:.0f}x the archive")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
