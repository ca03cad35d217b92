"""parse_feed over ~1000 real-world and edge-case documents from ../shared/corpus.

Every file must either parse or raise ParseError; what parses must be clean (no
XML-illegal characters, http(s) URLs, aware UTC datetimes, bounded sizes). Files
feedparser itself got entries from must not be lost. One test collects every
failure, so a regression shows the whole list at once.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.models import Enclosure, ParsedFeed
from aggregator.parse import parse_feed
from tests.conftest import shared_dir

URL = "https://corpus.example/feed"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SLOW = 10.0  # seconds for one file: far above the slowest real feed (well under 1 s)


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for sub in ("real", "edge") for p in (root / sub).rglob("*") if p.is_file())


def expected_entries(root: Path) -> dict[str, int]:
    """file -> entries feedparser 6.0.14 found (MANIFEST.tsv), where it found some."""
    with (root / "MANIFEST.tsv").open(encoding="utf-8", newline="") as manifest:
        rows = csv.DictReader(manifest, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {r["file"]: int(r["entries"]) for r in rows if r["entries"].isdigit()}


def problems(feed: ParsedFeed) -> list[str]:
    found: list[str] = []
    values: list[object] = [feed.title, feed.link, feed.warning]
    for entry in feed.entries:
        values.extend(getattr(entry, f.name) for f in fields(entry))
        if len(entry.title) > 1000 or max(len(entry.summary), len(entry.content)) > 1_100_000:
            found.append(f"oversized field in entry {entry.guid!r}")
        if entry.link is not None and not entry.link.startswith(("http://", "https://")):
            found.append(f"link {entry.link!r}")
    for value in values:
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str) and XML_ILLEGAL.search(item):
                found.append(f"XML-illegal character in {item[:60]!r}")
            elif isinstance(item, Enclosure) and not item.url.startswith(("http://", "https://")):
                found.append(f"enclosure {item.url!r}")
            elif isinstance(item, datetime) and item.tzinfo is not UTC:
                found.append(f"datetime not UTC: {item!r}")
    return found


@pytest.mark.timeout(300)
def test_every_corpus_file_parses_or_raises_parse_error(
    record_property: Callable[[str, object], None],
) -> None:
    root = shared_dir() / "corpus"
    if not root.is_dir():
        pytest.skip("../shared/corpus is not present")
    expected = expected_entries(root)
    failures: list[str] = []
    feeds = refused = 0
    slowest = (0.0, "")
    for path in corpus_files(root):
        name = path.relative_to(root).as_posix()
        started = time.perf_counter()
        try:
            feed = parse_feed(path.read_bytes(), source_id="corpus", url=URL)
        except ParseError as exc:
            refused += 1
            if expected.get(name, 0) > 0:
                failures.append(f"{name}: feedparser found entries, we refused: {exc.detail}")
        except Exception as exc:  # the point of the test: nothing else may escape
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            feeds += 1
            if len(feed.entries) < expected.get(name, 0):
                failures.append(f"{name}: {len(feed.entries)} entries < {expected[name]}")
            failures.extend(f"{name}: {problem}" for problem in problems(feed))
        elapsed = time.perf_counter() - started
        slowest = max(slowest, (elapsed, name))
        if elapsed > SLOW:
            failures.append(f"{name}: took {elapsed:.1f} s")
    summary = f"{feeds} feeds, {refused} ParseError, slowest {slowest[1]} {slowest[0]:.3f} s"
    record_property("corpus", summary)
    print(summary)
    assert feeds + refused > 900, summary  # the walk found the corpus
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("edge/podcastparser/mediarss.rss", Enclosure("http://example.org/example.mp3",
                                                      "audio/mpeg", 1234)),
        ("real/feedjira/youtube_atom.xml", Enclosure(
            "https://www.youtube.com/v/5shykyfmb28?version=3", "application/x-shockwave-flash",
            None)),
        ("real/rss-parser-npm/guardian.rss", Enclosure(
            "https://i.guim.co.uk/img/media/b73c8752cd4667c923dff7f1542f1fb20089e421/0_108_3000"
            "_1799/master/3000.jpg?w=460&q=55&auto=format&usm=12&fit=max"
            "&s=a606a273a90104e57b1e09bc4c0a1e11", "image/jpeg", None)),
    ],
)  # fmt: skip
def test_media_rss_feeds_keep_their_media(name: str, first: Enclosure) -> None:
    path = shared_dir() / "corpus" / name
    if not path.is_file():
        pytest.skip(f"../shared/corpus/{name} is not present")
    feed = parse_feed(path.read_bytes(), source_id="corpus", url=URL)
    assert feed.entries[0].enclosures[0] == first
    assert all(e.enclosures for e in feed.entries)
