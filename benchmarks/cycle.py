"""The cycle benchmark: aggregator against lemon24/reader and a feedparser floor.

    python -m benchmarks.cycle [--feeds 1000] [--no-reader] [--no-floor]

Scenarios, each contender from the same starting point on the same loopback server:
  cold    first cycle over N feeds into an empty database (publish included for us)
  steady  next cycle: 5% of feeds have 1-3 new items, half the servers ignore validators
  quiet   next cycle: every server answers 304
Times vary between runs on shared machines: compare the ratios printed in one run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import synth, treemem
from benchmarks.loopserver import FeedServer

SCENARIOS = ("cold", "steady", "quiet")
TOPICS = {
    "oil": '["oil", "crude", "opec", "barrels"]',
    "libya": '["libya", "tripoli"]',
    "banks": '["bank", "central bank"]',
    "trade": '["trade", "tariff", "exports"]',
    "grain": '["wheat", "grain", "corn"]',
    "money": '["currency", "dollar", "yen"]',
    "metals": '["gold", "copper", "steel"]',
    "earnings": '["profit", "earnings", "quarter"]',
    "shipping": '["tanker", "shipping", "port"]',
    "gov": '["minister", "government", "parliament"]',
}


@dataclass
class Row:
    scenario: str
    ours: treemem.Measured | None = None
    reader: treemem.Measured | None = None
    floor: treemem.Measured | None = None


def write_config(path: Path, server: FeedServer, feeds: int) -> None:
    lines = [
        "[aggregator]",
        'interval = "60s"',
        "max_concurrency = 32",
        # The N feeds stand for N publishers, but one loopback port serves them all:
        # per-host politeness would turn the benchmark into a 1-request-a-second crawl.
        "per_host_limit = 32",
        'per_host_delay = "0s"',
        *_private_ok(),
    ]
    for n in range(feeds):
        lines += [f"[sources.s{n}]", f'url = "{server.url(n)}"']
    for slug, terms in TOPICS.items():
        lines += [
            f"[topics.{slug}]",
            f'title = "{slug.title()}"',
            f"any = {terms}",
            "max_items = 100",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _private_ok() -> list[str]:
    # The loopback server is a private address; allow it when the config knows the key.
    from dataclasses import fields

    from aggregator.config import Settings

    known = {f.name for f in fields(Settings)}
    return ["allow_private_addresses = true"] if "allow_private_addresses" in known else []


def reset_site(site: Path, feeds: int, pool: list[synth.Story]) -> None:
    for n in range(feeds):
        (site / f"{n}.xml").write_bytes(synth.feed_document(n, pool))
    (site / "ignore").write_text("")


def make_steady(site: Path, feeds: int, pool: list[synth.Story]) -> None:
    for n in range(0, feeds, 20):  # 5% of feeds get 1-3 new items
        (site / f"{n}.xml").write_bytes(synth.feed_document(n, pool, extra=1 + n % 3))
    (site / "ignore").write_text(" ".join(str(n) for n in range(1, feeds, 2)))


def contender_runs(name: str, work: Path, site: Path, server: FeedServer, feeds: int,
                   pool: list[synth.Story]) -> dict[str, treemem.Measured]:  # fmt: skip
    reset_site(site, feeds, pool)
    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    if name == "ours":
        config = home / "config.toml"
        write_config(config, server, feeds)
        argv = [sys.executable, "-m", "aggregator", "--log-level", "error", "update", "--all",
                "--config", str(config)]  # fmt: skip
        env: dict[str, str] = {}
    else:
        urls = home / "urls.txt"
        urls.write_text("\n".join(server.url(n) for n in range(feeds)))
        argv = [sys.executable, "-m", "benchmarks.reader_contender", str(home / "reader.sqlite"),
                str(urls)]  # fmt: skip
        env = {"READER_NO_VENDORED_FEEDPARSER": "1"}
    results: dict[str, treemem.Measured] = {}
    for scenario in SCENARIOS:
        if scenario == "steady":
            make_steady(site, feeds, pool)
        elif scenario == "quiet":
            (site / "ignore").write_text("")
        results[scenario] = measured = treemem.run(argv, env=env, cwd=Path.cwd())
        if measured.returncode != 0:
            raise SystemExit(f"{name} failed in {scenario}:\n{measured.output[-3000:]}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--no-reader", action="store_true", help="skip lemon24/reader")
    parser.add_argument("--no-floor", action="store_true", help="skip the feedparser floor")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aggregator-bench-"))
    site = work / "site"
    site.mkdir()
    pool = synth.text_pool()
    reset_site(site, args.feeds, pool)
    total = sum((site / f"{n}.xml").stat().st_size for n in range(args.feeds))
    source = "Reuters-21578 held-out stories" if synth.REUTERS.is_file() else "a fixed vocabulary"
    print(f"{args.feeds} feeds, {total / 1e6:.0f} MB, text from {source}")
    server = FeedServer(site)
    rows = {s: Row(s) for s in SCENARIOS}
    try:
        if not args.no_floor:
            rows["cold"].floor = treemem.run([sys.executable, "-m", "benchmarks.floor", str(site)])
        for name, runs in [
            ("ours", contender_runs("ours", work, site, server, args.feeds, pool))
        ] + (
            []
            if args.no_reader
            else [("reader", contender_runs("reader", work, site, server, args.feeds, pool))]
        ):
            for scenario, measured in runs.items():
                setattr(rows[scenario], name, measured)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(list(rows.values()))


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "ours s", "reader s", "floor s", "reader/ours", "ours MB", "reader MB")
    table = [header]
    for row in rows:

        def sec(m: treemem.Measured | None) -> str:
            return "-" if m is None else f"{m.seconds:.2f}"

        def mb(m: treemem.Measured | None) -> str:
            return "-" if m is None else f"{m.peak_rss_mb:.0f}"

        ratio = "-"
        if row.ours and row.reader:
            ratio = f"{row.reader.seconds / row.ours.seconds:.1f}x"
        table.append((row.scenario, sec(row.ours), sec(row.reader), sec(row.floor), ratio,
                      mb(row.ours), mb(row.reader)))  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
