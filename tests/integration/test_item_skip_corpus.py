"""Skipping known items never changes what is stored (issue 8): over every corpus
document and the benchmark's synthetic feeds, a parse that skips some of the
document's items yields exactly the entries a full parse yields for the others,
and the skipped ones are accounted for by their keys."""

from __future__ import annotations

import pytest

from aggregator.errors import ParseError
from aggregator.ingest import ingest
from aggregator.models import Ingested, KnownItem
from benchmarks import synth
from tests.conftest import DATA, shared_dir
from tests.integration.test_corpus_parse import corpus_files

URL = "https://corpus.example/feed"


def check(body: bytes) -> bool:
    """Whether items were skipped; asserts the skipping parse agrees with the full one."""
    try:
        full = ingest(body, source_id="s", url=URL, content_type=None)
    except ParseError:
        return False
    # Every other item known: the rest must be parsed and come out the same.
    known = {d: k for n, (d, k) in enumerate(full.items.items()) if n % 2 == 0}
    if not known:
        return False
    part = ingest(body, source_id="s", url=URL, content_type=None, known=known)
    assert_agrees(part, full, known)
    return bool(part.skipped_keys)


def assert_agrees(part: Ingested, full: Ingested, known: dict[str, KnownItem]) -> None:
    by_key = {e.key: e for e in full.entries}
    if part.skipped_keys:
        assert set(part.skipped_keys) <= {k.key for k in known.values()}
        assert set(part.skipped_keys).isdisjoint(e.key for e in part.entries)
        assert set(part.skipped_keys) | {e.key for e in part.entries} == set(by_key)
    else:
        assert [e.key for e in part.entries] == [e.key for e in full.entries]
    for entry in part.entries:
        assert entry == by_key[entry.key]
    assert part.items == full.items
    assert (part.feed.title, part.feed.link, part.feed.ttl) == (
        full.feed.title, full.feed.link, full.feed.ttl
    )  # fmt: skip


def test_skipping_agrees_with_a_full_parse_over_the_corpus() -> None:
    files = corpus_files(shared_dir() / "corpus")
    skipped = sum(check(path.read_bytes()) for path in files)
    # Most real feeds have the plain layout that can be split.
    assert skipped > len(files) // 3, f"items skipped in only {skipped} of {len(files)} documents"


@pytest.mark.parametrize("n", range(0, 40, 3))
def test_skipping_agrees_on_the_benchmark_feeds(n: int) -> None:
    assert check(synth.feed_document(n, synth.text_pool()))


def test_the_projects_own_fixtures_agree() -> None:
    checked = [check(p.read_bytes()) for p in sorted((DATA / "feeds").rglob("*")) if p.is_file()]
    assert sum(checked) >= 2
