"""Publishing over a large archive: `python -m benchmarks.publish_bench [--entries 200000]`.

Fills a database with N stored entries (Reuters-21578 text when ../shared is
present, else a fixed vocabulary), then publishes 10 topics three times:
  first     nothing published yet: a walk of the whole archive, archives cut
  again     nothing changed: what a daemon tick costs when no feed changed
  changed   one source brought 20 new entries
and reports seconds, files written and peak RSS. The baseline in the same run is
the same publish with the incremental state dropped (a full walk of the archive,
as every publish did before incremental publishing). Each publish runs in a
fresh process, so its peak RSS is publishing's own, not the fill's (SQLite's
page cache, up to 32 MB, fills as the database is read and is part of it), plus
that of the processes it starts to render a large backlog's archive pages.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import resource
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import config, dedup
from aggregator.models import NewEntry, ParsedEntry
from aggregator.pipeline import publish_all
from aggregator.store import Store
from benchmarks import synth

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SOURCES = 100
TOPICS = {
    "crude": '"crude oil" OR opec',
    "coffee": "coffee OR cocoa",
    "gold": "gold OR silver",
    "wheat": "wheat OR grain*",
    "yen": 'yen OR "bank of japan"',
    "sugar": "sugar",
    "copper": "copper OR zinc",
    "tanker": "tanker* OR shipping",
    "strike": "strike OR union*",
    "tariff": 'tariff* OR "trade deficit"',
}


def write_config(path: Path) -> config.Config:
    lines = ["[aggregator]", 'base_url = "https://feeds.example/"']
    lines += [f'[sources.s{n}]\nurl = "https://s{n}.example/feed"' for n in range(SOURCES)]
    for slug, query in TOPICS.items():
        lines += [f"[topics.{slug}]", f'title = "{slug}"', f"query = '{query}'", "max_items = 50"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config.load(path)


def entry(n: int, pool: list[synth.Story]) -> NewEntry:
    story = pool[n % len(pool)]
    body = "".join(f"<p>{p}</p>" for p in story.paragraphs[:3])
    parsed = ParsedEntry(
        guid=f"e{n}", link=f"https://s{n % SOURCES}.example/{n}", title=f"{story.title} {n}",
        summary=body, published=T0 + timedelta(minutes=n),
    )  # fmt: skip
    digest = hashlib.sha256(f"{n}".encode()).hexdigest()
    return NewEntry(
        key=f"guid:e{n}", canonical_url=parsed.link, join_url=dedup.join_url(parsed.link),
        content_hash=digest, entry=parsed,
    )  # fmt: skip


FILL_CHUNK = 10_000  # entries built and stored at a time: the peak RSS is publishing's


def fill(
    store: Store, cfg: config.Config, count: int, pool: list[synth.Story], first: int = 0
) -> None:
    now = T0 + timedelta(minutes=first + count)
    for start in range(first, first + count, FILL_CHUNK):
        per_source: dict[int, list[NewEntry]] = {}
        for n in range(start, min(start + FILL_CHUNK, first + count)):
            per_source.setdefault(n % SOURCES, []).append(entry(n, pool))
        for source, items in per_source.items():
            store.store_entries(
                f"s{source}", items, now=now, next_fetch=now, status=200, etag=None,
                last_modified=None, body_hash=None, effective_url=None, feed_title=None,
                feed_link=None,
            )  # fmt: skip


def _publish(config_path: Path, now: datetime) -> tuple[float, int, float]:
    cfg = config.load(config_path)
    with Store.open(cfg.settings.database) as store:
        start = time.perf_counter()
        written = publish_all(cfg, store, now)
        seconds = time.perf_counter() - start
    # With the archive-rendering workers (a large backlog): theirs added, an upper
    # bound of the process tree's peak.
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    peak = sum(resource.getrusage(w).ru_maxrss for w in who)
    return seconds, len(written), peak / 1024


def timed(cfg: config.Config, now: datetime) -> tuple[float, int, float]:
    """(seconds, files written, peak RSS in MB) of one publish in a fresh process."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_publish, cfg.path, now).result()


def forget(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM topic_state")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    pool = synth.text_pool()
    with tempfile.TemporaryDirectory(prefix="aggregator-publish-") as work:
        cfg = write_config(Path(work) / "config.toml")
        now = T0 + timedelta(days=365)
        rows: list[tuple[str, ...]] = []
        with Store.open(cfg.settings.database) as store:
            store.sync_sources(cfg.sources)
            start = time.perf_counter()
            fill(store, cfg, args.entries, pool)
            print(f"{args.entries:,} entries stored in {time.perf_counter() - start:.1f} s")
            seconds, files, peak = timed(cfg, now)
            rows.append(("first", f"{seconds:.2f}", "-", str(files), f"{peak:.0f}", "-"))
            seconds, files, peak = timed(cfg, now)
            forget(cfg.settings.database)
            full, _, full_peak = timed(cfg, now)
            rows.append(("again (nothing changed)", f"{seconds:.2f}", f"{full:.2f}", str(files),
                         f"{peak:.0f}", f"{full_peak:.0f}"))  # fmt: skip
            fill(store, cfg, 20, pool, first=args.entries)
            seconds, files, peak = timed(cfg, now)
            fill(store, cfg, 20, pool, first=args.entries + 20)
            forget(cfg.settings.database)
            full, _, full_peak = timed(cfg, now)
            rows.append(("changed (20 new entries)", f"{seconds:.2f}", f"{full:.2f}", str(files),
                         f"{peak:.0f}", f"{full_peak:.0f}"))  # fmt: skip
    header = ("publish", "incremental s", "full walk s", "files written", "peak MB", "full MB")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    print("peak MB: peak RSS of the publishing process plus its workers' (incremental, full walk)")


if __name__ == "__main__":
    main()
