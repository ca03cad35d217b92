"""Precision and recall of story de-duplication on hand-labelled pairs.

    .venv/bin/python benchmarks/dedup_pairs.py [--threshold 0.5] [--sweep] [--show]

Each pair of tests/data/dedup_pairs.jsonl goes through the real path (dedup
keys, the SQLite store with its indexes, the similarity matcher) in a fresh
database: `a` is stored, then `b`, by two sources (or one, for identity cases).
A pair counts as merged when both end up in one story (or one entry).

Tiers: "exact" pairs (url, syndicated) must be joined by URL, fingerprint or
identity; "near" pairs (re-titled, trimmed, extended, updated, edited,
rewritten) may need similarity. Precision per tier is over the merges that
tier's mechanism made: a distinct pair merged by similarity is a near-tier
false positive; one merged by URL or fingerprint an exact-tier one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.config import SourceConfig
from aggregator.dedup import DEFAULT_THRESHOLD, StoryMatcher, key_entries
from aggregator.models import Clustering, ParsedEntry
from aggregator.store import Store

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedup_pairs.jsonl"
EXACT_KINDS = frozenset({"url", "syndicated"})
SOURCES = {s: SourceConfig(id=s, url=f"https://{s}.example/feed") for s in ("a", "b")}


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    kind: str
    duplicate: bool
    merged: bool
    reason: str  # how b joined: "same-entry", "url", "fingerprint", "similar" or "first"
    score: float

    @property
    def tier(self) -> str:
        return "exact" if self.kind in EXACT_KINDS else "near" if self.duplicate else "distinct"


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _entry(side: dict[str, Any]) -> ParsedEntry:
    return ParsedEntry(
        guid=side.get("guid"),
        link=side.get("link"),
        title=side["title"],
        summary=side.get("summary", ""),
        content=side.get("content", ""),
        published=datetime.fromisoformat(side["published"]),
    )


def decide(pair: dict[str, Any], directory: Path, threshold: float) -> Outcome:
    clustering = Clustering(similar=StoryMatcher(threshold=threshold))
    with Store.open(directory / f"{pair['id']}.sqlite") as store:
        store.sync_sources(SOURCES)
        ids = []
        for name, source in (("a", "a"), ("b", "a" if pair.get("same_source") else "b")):
            entry = _entry(pair[name])
            assert entry.published is not None
            now = entry.published + timedelta(minutes=5)
            store.store_entries(
                source, key_entries([entry]), now=now, next_fetch=now, status=200, etag=None,
                last_modified=None, body_hash=None, effective_url=None, feed_title=None,
                feed_link=None, clustering=clustering,
            )  # fmt: skip
            (item,) = key_entries([entry])
            found = store.entry_by_key(source, item.key)
            assert found is not None
            ids.append(found.id)
        a, b = ids
        if a == b:
            return Outcome(pair["id"], pair["kind"], pair["duplicate"], True, "same-entry", 1.0)
        members = {m.entry.id: m for m in store.story_membership(a)}
        joined = members.get(b)
        reason = joined.reason if joined else "first"
        score = joined.score if joined else 0.0
        return Outcome(pair["id"], pair["kind"], pair["duplicate"], joined is not None, reason,
                       score)  # fmt: skip


def evaluate(threshold: float = DEFAULT_THRESHOLD) -> list[Outcome]:
    with tempfile.TemporaryDirectory() as tmp:
        return [decide(p, Path(tmp), threshold) for p in load_pairs()]


@dataclass(frozen=True, slots=True)
class Score:
    positives: int
    found: int  # positives merged
    merges: int  # merges made by the tier's mechanism
    false: int  # of which wrong

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        return (self.merges - self.false) / self.merges if self.merges else 1.0


def score(outcomes: list[Outcome], tier: str) -> Score:
    exact_reasons = {"same-entry", "url", "fingerprint"}
    positives = [o for o in outcomes if o.duplicate and o.tier == tier]
    by_mechanism = [
        o for o in outcomes if o.merged and (o.reason in exact_reasons) == (tier == "exact")
    ]
    return Score(
        positives=len(positives),
        found=sum(o.merged for o in positives),
        merges=len(by_mechanism),
        false=sum(not o.duplicate for o in by_mechanism),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="also try other thresholds")
    parser.add_argument("--show", action="store_true", help="print every pair's outcome")
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = evaluate(args.threshold)
    elapsed = time.perf_counter() - started
    print(f"{len(outcomes)} labelled pairs, threshold {args.threshold} ({elapsed:.2f} s)\n")
    print(f"{'tier':<8} {'pairs':>5} {'merged':>6} {'merges':>6} {'false':>5} "
          f"{'precision':>9} {'recall':>6}  target")  # fmt: skip
    targets = {"exact": "P >= 0.99, R >= 0.95", "near": "P >= 0.95, best R"}
    for tier in ("exact", "near"):
        s = score(outcomes, tier)
        print(f"{tier:<8} {s.positives:>5} {s.found:>6} {s.merges:>6} {s.false:>5} "
              f"{s.precision:>9.3f} {s.recall:>6.3f}  {targets[tier]}")  # fmt: skip
    distinct = [o for o in outcomes if not o.duplicate]
    wrong = [o for o in distinct if o.merged]
    print(f"distinct {len(distinct):>5} pairs, {len(wrong)} wrongly merged")
    for o in outcomes:
        if args.show or o.merged != o.duplicate:
            verdict = "ok " if o.merged == o.duplicate else "BAD"
            print(f"  {verdict} {o.id:<28} {o.kind:<10} {o.reason:<11} {o.score:.2f}")
    if args.sweep:
        print("\nthreshold  exact P/R      near P/R")
        for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
            run = evaluate(t)
            e, n = score(run, "exact"), score(run, "near")
            print(f"{t:>9}  {e.precision:.3f}/{e.recall:.3f}  {n.precision:.3f}/{n.recall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
