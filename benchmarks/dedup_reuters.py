"""Reuters-21578 as one stream of wire copy: how many re-sent stories collapse.

    .venv/bin/python -m benchmarks.dedup_reuters [--limit N] [--show 25]

Every story of ../shared/eval/reuters21578.jsonl.gz (read in place, never
copied) is stored in date order as one entry of a source "reuters", through
the real path: dedup keys, the SQLite store with its indexes, and the
similarity matcher at the default threshold and window. It prints how many
entries were collapsed (as the same entry, or into another's story) and by
which join, compares with a plain heuristic for re-sent copies (same title and
same first 20 words), and prints merged pairs that the heuristic does not
explain, lowest similarity first, for reading by eye.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.config import SourceConfig
from aggregator.dedup import DEFAULT_THRESHOLD, StoryMatcher, key_entries
from aggregator.models import Clustering, ParsedEntry
from aggregator.store import Store
from aggregator.textfold import fold

REUTERS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "reuters21578.jsonl.gz"


def stories(limit: int | None) -> list[dict[str, Any]]:
    with gzip.open(REUTERS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows.sort(key=lambda r: (r["date"], r["newid"]))
    return rows[:limit] if limit else rows


def heuristic(row: dict[str, Any]) -> tuple[str, str]:
    return fold(row["title"]), " ".join(fold(row["body"]).split()[:20])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show", type=int, default=25, help="merged pairs to print")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    if not REUTERS.is_file():
        print(f"{REUTERS} is not present", file=sys.stderr)
        return 2
    rows = stories(args.limit)
    clustering = Clustering(similar=StoryMatcher(threshold=args.threshold))
    by_id = {r["newid"]: r for r in rows}
    story_of: dict[int, int] = {}
    entry_of: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "r.sqlite") as store:
        store.sync_sources({"reuters": SourceConfig("reuters", "https://reuters.example/")})
        started = time.perf_counter()
        for row in rows:
            published = datetime.fromisoformat(row["date"].replace("Z", "+00:00"))
            entry = ParsedEntry(
                guid=f"reuters-{row['newid']}",
                link=None,
                title=row["title"],
                summary=row["body"],
                published=published,
            )
            now = published + timedelta(minutes=1)
            store.store_entries(
                "reuters", key_entries([entry]), now=now, next_fetch=now, status=200, etag=None,
                last_modified=None, body_hash=None, effective_url=None, feed_title=None,
                feed_link=None, clustering=clustering,
            )  # fmt: skip
            found = store.entry_by_key("reuters", f"guid:reuters-{row['newid']}")
            assert found is not None
            story_of[row["newid"]] = found.story_id
            entry_of[row["newid"]] = found.id
        elapsed = time.perf_counter() - started
        members: dict[int, list[int]] = defaultdict(list)
        for newid, story in story_of.items():
            members[story].append(newid)
        reasons: Counter[str] = Counter()
        scored: dict[int, tuple[str, float]] = {}
        for newids in members.values():
            if len(newids) < 2:
                continue
            for m in store.story_membership(entry_of[newids[0]]):
                scored[m.entry.id] = (m.reason, m.score)
        for newid in by_id:
            entry_id = entry_of[newid]
            first = members[story_of[newid]][0]
            if newid != first:
                same_entry = entry_id == entry_of[first]
                reasons["same entry" if same_entry else scored[entry_id][0]] += 1

    n = len(rows)
    collapsed = n - len(members)
    print(f"{n} stories streamed in {elapsed:.1f} s ({elapsed / n * 1e3:.2f} ms a story)")
    print(f"{len(members)} stories published, {collapsed} collapsed:")
    for reason, count in reasons.most_common():
        print(f"  {reason:<12} {count}")
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        if row["title"].strip():
            groups[heuristic(row)].append(row["newid"])
    resent = [g for g in groups.values() if len(g) > 1]
    expected = sum(len(g) - 1 for g in resent)
    caught = sum(len(g) - len({story_of[i] for i in g}) for g in resent)
    share = caught / max(expected, 1)
    print(f"heuristic re-sends (same title, same first 20 words): {expected} in "
          f"{len(resent)} groups; collapsed {caught} ({share:.1%})")  # fmt: skip
    unexplained: list[tuple[float, str, int, int]] = []
    for newids in members.values():
        first = newids[0]
        for other in newids[1:]:
            if heuristic(by_id[first]) != heuristic(by_id[other]):
                reason, score = scored.get(entry_of[other], ("same entry", 1.0))
                unexplained.append((score, reason, first, other))
    unexplained.sort()
    print(f"merged pairs the heuristic does not explain: {len(unexplained)} "
          f"(lowest similarity first, {min(args.show, len(unexplained))} shown)")  # fmt: skip
    for score, reason, first, other in unexplained[: args.show]:
        a, b = by_id[first], by_id[other]
        print(f"\n  {reason} {score:.2f}  #{first} {a['date'][:16]}  #{other} {b['date'][:16]}")
        for r in (a, b):
            print(f"    {r['title'][:90]}")
            print(f"      {' '.join(r['body'].split()[:28])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
