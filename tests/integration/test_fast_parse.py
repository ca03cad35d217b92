"""The differential test the fast parse path must pass (issue 8).

Wherever the fast path (lxml) accepts a document, its ParsedFeed must equal the
feedparser path's: the same entries with the same guids, links, titles, dates,
enclosures, authors, categories and sanitised summary and content, and the same feed
title, link, format, ttl and warning. Otherwise switching paths could re-announce or
lose an item. Run over every document of ../shared/corpus, the project's fixtures and
the benchmark's synthetic feeds; the benchmark's feeds must all be accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.parse import fast_path_result, parse_feed
from benchmarks import synth
from tests import feeds
from tests.conftest import DATA, shared_dir
from tests.integration.test_corpus_parse import corpus_files

URL = "https://corpus.example/feed"


def differences(fast: ParsedFeed, reference: ParsedFeed) -> list[str]:
    """Field-by-field, so a failure says what differs and where."""
    found = [
        f"feed {f.name}: {getattr(fast, f.name)!r} != {getattr(reference, f.name)!r}"
        for f in fields(fast)
        if f.name != "entries" and getattr(fast, f.name) != getattr(reference, f.name)
    ]
    if len(fast.entries) != len(reference.entries):
        found.append(f"{len(fast.entries)} entries != {len(reference.entries)}")
    for n, (mine, theirs) in enumerate(zip(fast.entries, reference.entries, strict=False)):
        found.extend(
            f"entry {n} ({theirs.guid!r}) {f.name}: "
            f"{getattr(mine, f.name)!r:.200} != {getattr(theirs, f.name)!r:.200}"
            for f in fields(mine)
            if getattr(mine, f.name) != getattr(theirs, f.name)
        )
    return found


def compare(body: bytes, url: str, content_type: str | None = None) -> tuple[bool, list[str]]:
    """(accepted by the fast path, differences from the feedparser path)."""
    fast = fast_path_result(body, url=url, content_type=content_type)
    if fast is None:
        return False, []
    try:
        reference = parse_feed(body, source_id="s", url=url, content_type=content_type, fast=False)
    except ParseError as exc:
        return True, [f"the fast path parsed what feedparser refuses: {exc}"]
    return True, differences(fast, reference)


@pytest.mark.timeout(300)
def test_fast_path_agrees_with_feedparser_over_the_corpus(
    record_property: Callable[[str, object], None],
) -> None:
    root = shared_dir() / "corpus"
    if not root.is_dir():
        pytest.skip("../shared/corpus is not present")
    failures: list[str] = []
    accepted = declined = 0
    for path in corpus_files(root):
        ok, problems = compare(path.read_bytes(), URL)
        accepted += ok
        declined += not ok
        failures.extend(f"{path.relative_to(root)}: {p}" for p in problems[:5])
    record_property("fast_path_accepted", accepted)
    record_property("fast_path_declined", declined)
    print(f"\nfast path: {accepted} corpus documents accepted, {declined} left to feedparser")
    assert not failures, "\n".join(failures)
    # Most of the corpus is ordinary feeds: a fast path that quietly declines them all
    # would pass the comparison above and be worth nothing.
    assert accepted > 700, (accepted, declined)


def _fixture_documents() -> list[tuple[str, bytes]]:
    docs = [(p.name, p.read_bytes()) for p in sorted((DATA / "feeds").iterdir()) if p.is_file()]
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    items = [
        feeds.Item(
            guid=f"post-{n}",
            title=f"Post {n} & <more>",
            link=f"https://blog.example/p/{n}",
            published=now - timedelta(hours=n),
            summary=f"<p>Body {n}</p>",
        )
        for n in range(5)
    ]
    docs.append(("tests.feeds.rss", feeds.rss("Blog", "https://blog.example/", items)))
    docs.append(("tests.feeds.atom", feeds.atom("Blog", "https://blog.example/", items)))
    return docs


@pytest.mark.parametrize(("name", "body"), _fixture_documents(), ids=lambda v: str(v)[:20])
def test_fast_path_agrees_on_the_project_fixtures(name: str, body: bytes) -> None:
    accepted, problems = compare(body, "https://feeds.example/blog/rss")
    assert not problems, problems
    # (atom10.xml has type="xhtml" content, which the fast path leaves to feedparser.)
    if name in ("rss10.rdf", "rss20.xml", "tests.feeds.rss", "tests.feeds.atom"):
        assert accepted, f"{name}: an ordinary feed went to feedparser"


def test_fast_path_accepts_and_agrees_on_every_kind_of_benchmark_feed() -> None:
    pool = synth.text_pool(limit=400)
    # Feeds 0-39 cover each kind (feed % 10: RSS 2.0, Atom, RDF, legacy encodings)
    # and each legacy encoding.
    for n in range(40):
        body = synth.feed_document(n, pool)
        accepted, problems = compare(body, f"https://site{n}.example/feed")
        assert accepted, f"benchmark feed {n} went to feedparser"
        assert not problems, (n, problems)


def test_legacy_encodings_are_decoded_as_feedparser_decodes_them() -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        "<title>Caf\u00e9 \u201cnews\u201d</title><item><title>\u20ac 5 \u2013 cheap</title>"
        "<guid>x-1</guid></item></channel></rss>"
    ).encode("windows-1252")
    # The HTTP charset wins over the declaration, as it does for feedparser.
    for content_type in (None, "application/rss+xml; charset=windows-1252"):
        fast = fast_path_result(body, url=URL, content_type=content_type)
        assert fast is not None
        assert fast.title == "Caf\u00e9 \u201cnews\u201d"
        assert fast.entries[0].title == "\u20ac 5 \u2013 cheap"
        reference = parse_feed(body, source_id="s", url=URL, content_type=content_type, fast=False)
        assert fast == reference


def test_the_corpus_helper_sees_files(tmp_path: Path) -> None:
    # Guards the corpus test: an empty walk would compare nothing.
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.xml").write_bytes(b"<rss/>")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.xml"]
