"""Every real-world document in ../shared/corpus flows through parse -> store ->
publish without an unhandled exception; the published feeds stay well-formed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser

from aggregator import config
from aggregator.dedup import key_entries
from aggregator.errors import ParseError
from aggregator.parse import parse_feed
from aggregator.pipeline import publish_all
from aggregator.store import Store
from tests.conftest import shared_dir

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def corpus_files() -> list[Path]:
    corpus = shared_dir() / "corpus"
    return sorted(p for sub in ("real", "edge") for p in (corpus / sub).rglob("*") if p.is_file())


def test_whole_corpus_flows_through_parse_store_publish(tmp_path: Path) -> None:
    files = corpus_files()
    assert len(files) > 900  # the corpus is there and was walked
    sources = "".join(
        f'[sources.doc{i}]\nurl = "https://corpus.example/{i}"\n' for i in range(len(files))
    )
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(
        sources + '[topics.everything]\ntitle = "Everything"\nmax_items = 10000\n'
        '[topics.news]\ntitle = "News"\nany = ["news", "the"]\nmax_items = 200\n',
        encoding="utf-8",
    )
    cfg = config.load(cfg_path)
    stored = refused = 0
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        for i, path in enumerate(files):
            url = f"https://corpus.example/{path.relative_to(path.parents[2])}"
            try:
                feed = parse_feed(path.read_bytes(), source_id=f"doc{i}", url=url)
            except ParseError as exc:
                assert exc.detail, path  # a clear, non-empty reason
                refused += 1
                continue
            store.store_entries(
                f"doc{i}", key_entries(feed.entries), now=NOW, next_fetch=NOW, status=200,
                etag=None, last_modified=None, body_hash=None, effective_url=None,
                feed_title=feed.title or None, feed_link=feed.link,
            )  # fmt: skip
            stored += 1
        total = store.entry_count()
        publish_all(cfg, store, NOW)
    print(f"corpus: {stored} documents stored, {refused} refused, {total} entries")
    assert stored > 800 and total > 5000, (stored, refused, total)
    for name in ("everything.atom", "everything.rss", "news.atom", "news.rss"):
        doc = feedparser.parse((cfg.settings.output_dir / name).read_bytes())
        assert not doc.bozo, (name, doc.bozo_exception)
        assert len(doc.entries) > 100
        ids = [e.id for e in doc.entries]
        assert len(ids) == len(set(ids)), name
