"""../shared/corpus/DUPLICATES.tsv lists real entries that occur in several
captured feeds (one blog as RSS, Atom and JSON; snapshots taken at different
times; one wire story in two outlets). Stored as separate sources, each must
end up as one story."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aggregator.config import SourceConfig
from aggregator.dedup import StoryMatcher, key_entries
from aggregator.errors import ParseError
from aggregator.models import Clustering, StoredEntry
from aggregator.parse import parse_feed
from aggregator.store import Store
from tests.conftest import shared_dir

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _title_key(title: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", title.casefold()).split())


def _matches(entry: StoredEntry, kind: str, key: str) -> bool:
    if kind == "id":
        return entry.guid == key
    if kind == "link":
        if entry.link is None:
            return False
        parts = urlsplit(entry.link)
        bare = parts.netloc.removeprefix("www.") + parts.path
        return key.rstrip("/") in {entry.link.rstrip("/"), parts.path.rstrip("/"), bare.rstrip("/")}
    return _title_key(entry.title) == key


def test_entries_found_in_several_captured_feeds_are_one_story_each(tmp_path: Path) -> None:
    corpus = shared_dir() / "corpus"
    with (corpus / "DUPLICATES.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) > 400
    files = sorted({name for row in rows for name in row["files"].split()})
    sources = {
        f"f{i}": SourceConfig(f"f{i}", f"https://corpus.example/{i}") for i in range(len(files))
    }
    source_of = {name: f"f{i}" for i, name in enumerate(files)}
    # The files were captured years apart and some are undated, so stored
    # dates say when this test ran rather than when an entry was published:
    # the window (for live feeds, days) is opened to cover the captures.
    joins = Clustering(window=timedelta(days=20 * 365), similar=StoryMatcher())
    by_source: dict[str, list[StoredEntry]] = defaultdict(list)
    with Store.open(tmp_path / "db.sqlite") as store:
        store.sync_sources(sources)
        for name in files:
            try:
                feed = parse_feed((corpus / name).read_bytes(), source_id=source_of[name],
                                  url=f"https://corpus.example/{name}")  # fmt: skip
            except ParseError:
                continue
            store.store_entries(
                source_of[name], key_entries(feed.entries, home=feed.link), now=NOW,
                next_fetch=NOW, status=200, etag=None, last_modified=None, body_hash=None,
                effective_url=None, feed_title=feed.title or None, feed_link=feed.link,
                clustering=joins,
            )  # fmt: skip
        for e in store.stories():
            by_source[e.source_id].append(e)
    split: list[str] = []
    shared: list[str] = []
    checked = 0
    for row in rows:
        found = [
            e
            for name in row["files"].split()
            for e in by_source[source_of[name]]
            if _matches(e, row["key_type"], row["key"])
        ]
        if len({e.source_id for e in found}) < 2:
            continue  # a file the parser refuses, or a key we cannot locate
        if len(found) > len({e.source_id for e in found}):
            # A key several entries of one feed share (a podcast linking every
            # episode to its home page) names no one entry: those stay apart.
            shared.append(row["key"])
            continue
        checked += 1
        if len({e.story_id for e in found}) != 1:
            split.append(
                f"{row['key_type']} {row['key']}: {[(e.source_id, e.title) for e in found]}"
            )
    assert checked > 450 and len(shared) < 5, (checked, shared)
    assert not split, "\n".join(split)
