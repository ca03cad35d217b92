"""Publishing from a real store: RFC 5005 archives that never change and link
into one chain, the current document's limits, byte-identical re-publishing,
database retention with tombstones."""

from __future__ import annotations

import gzip
import json
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import config
from aggregator.dedup import key_entries
from aggregator.errors import PublishError
from aggregator.models import ParsedEntry
from aggregator.pipeline import publish_all
from aggregator.store import Store
from tests.factories import store_wire
from tests.formats import atom_with_atoma, json_with_schema, rss_with_atoma, with_feedparser

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE = "https://feeds.example/"
ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"


def xml(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own output


def make_config(tmp_path: Path, extra: str = "", topic: str = "") -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[aggregator]
base_url = "{BASE}"
allow_private_addresses = true
{extra}

[sources.wire]
url = "https://wire.example/feed"
title = "Wire"

[topics.oil]
title = "Oil"
any = ["oil"]
max_items = 10
archive_page_size = 4
{topic}
""",
        encoding="utf-8",
    )
    return config.load(path)


def add(store: Store, numbers: range, *, at: datetime = NOW, word: str = "oil") -> None:
    """Stories n published n hours before `at` (higher n: older)."""
    entries = [
        ParsedEntry(guid=f"g{n}", link=f"https://wire.example/{n}", title=f"{word} story {n}",
                    published=at - timedelta(hours=n))
        for n in numbers
    ]  # fmt: skip
    store_wire(store, entries, at)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[config.Config, Store]:
    cfg = make_config(tmp_path)
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    return cfg, store


def snapshot(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def links(data: bytes) -> dict[str | None, str | None]:
    return {x.get("rel"): x.get("href") for x in xml(data).iter(f"{ATOM}link")}


def local(out: Path, url: str | None) -> Path:
    assert url is not None and url.startswith(BASE)
    return out / url.removeprefix(BASE)


def test_overflow_goes_to_full_archive_pages_and_the_chain_rebuilds_the_feed(
    setup: tuple[config.Config, Store],
) -> None:
    cfg, store = setup
    out = cfg.settings.output_dir
    add(store, range(1, 24))  # 23 stories; max_items 10, pages of 4
    publish_all(cfg, store, NOW)
    # 23 - 4*4 = 7 left: four full pages were cut from the oldest end.
    current = with_feedparser((out / "oil.atom").read_bytes())
    assert [s.title for s in current] == [f"oil story {n}" for n in range(1, 8)]
    assert sorted(p.name for p in (out / "oil" / "archive").iterdir() if p.suffix != ".gz") == [
        f"{n}.{ext}" for n in range(1, 5) for ext in ("atom", "json", "rss")
    ]

    for ext, read in [("atom", atom_with_atoma), ("rss", rss_with_atoma)]:
        # RFC 5005 4.2: start at the current document, follow prev-archive.
        doc = (out / f"oil.{ext}").read_bytes()
        ids = [s.id for s in read(doc)]
        seen_pages = []
        url = links(doc).get("prev-archive")
        while url:
            page = local(out, url).read_bytes()
            rel = links(page)
            assert rel["current"] == f"{BASE}oil.{ext}"
            assert rel["self"] == url
            assert len(list(xml(page).iter(f"{FH}archive"))) == 1
            seen_pages.append(url)
            ids += [s.id for s in read(page)]
            url = rel.get("prev-archive")
        assert seen_pages == [f"{BASE}oil/archive/{n}.{ext}" for n in (4, 3, 2, 1)]
        # Every story exactly once across the documents, newest to oldest.
        assert len(ids) == len(set(ids)) == 23
        assert [s.id for s in with_feedparser(doc)] == ids[:7]
        # next-archive walks the other way: 1 -> 2 -> 3 -> 4 -> (the next page's fixed URL).
        for n in range(1, 5):
            rel = links((out / "oil" / "archive" / f"{n}.{ext}").read_bytes())
            assert rel["next-archive"] == f"{BASE}oil/archive/{n + 1}.{ext}"
    first_json = json.loads((out / "oil" / "archive" / "1.json").read_bytes())
    assert [i["title"] for i in first_json["items"]] == [f"oil story {n}" for n in range(20, 24)]
    json_with_schema((out / "oil" / "archive" / "1.json").read_bytes())


def test_archives_never_change_and_unchanged_topics_publish_nothing(
    setup: tuple[config.Config, Store],
) -> None:
    cfg, store = setup
    out = cfg.settings.output_dir
    add(store, range(1, 24))
    publish_all(cfg, store, NOW)
    before = snapshot(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    # Nothing changed: nothing is written, byte for byte.
    assert publish_all(cfg, store, NOW) == []
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes

    # An archived story is edited, and new stories push a fifth page out.
    edited = [ParsedEntry(guid="g23", link="https://wire.example/23", title="oil story 23 EDITED",
                          published=NOW - timedelta(hours=23))]  # fmt: skip
    store.store_entries(
        "wire", key_entries(edited), now=NOW, next_fetch=NOW, status=200, etag=None,
        last_modified=None, body_hash=None, effective_url=None, feed_title=None, feed_link=None,
    )  # fmt: skip
    add(store, range(-6, 0), at=NOW)  # six newer stories (published in the future: clamped)
    publish_all(cfg, store, NOW + timedelta(hours=1))
    after = snapshot(out)
    for name, data in before.items():
        if "/archive/" in name:
            assert after[name] == data, f"{name} changed"
    assert "oil/archive/5.atom" in after
    current = [s.title for s in with_feedparser(after["oil.atom"])]
    assert len(current) <= 10
    assert b"EDITED" not in b"".join(v for k, v in after.items() if "/archive/" in k)


def test_a_publish_logs_one_line_at_info(
    setup: tuple[config.Config, Store], caplog: pytest.LogCaptureFixture
) -> None:
    cfg, store = setup
    add(store, range(1, 24))
    caplog.set_level(logging.INFO, logger="aggregator.pipeline")
    written = publish_all(cfg, store, NOW)
    lines = [r.getMessage() for r in caplog.records if r.name == "aggregator.pipeline"]
    assert lines == [f"published {len(written)} files (index 1, oil {len(written) - 3}, "
                     "sources 1, topics 1)"]  # fmt: skip


def test_an_output_directory_that_cannot_be_made_is_a_publish_error(
    setup: tuple[config.Config, Store],
) -> None:
    # (A file where the topic's archive directory goes fails even for root, unlike
    # permissions.) The daemon handles PublishError: logged once, retried each tick.
    cfg, store = setup
    out = cfg.settings.output_dir
    out.mkdir(parents=True)
    (out / "oil").write_text("in the way")
    add(store, range(1, 24))
    with pytest.raises(PublishError, match=r"cannot write .*oil"):
        publish_all(cfg, store, NOW)
    (out / "oil").unlink()
    assert (out / "oil" / "archive" / "1.atom") in publish_all(cfg, store, NOW)


def test_a_deleted_archive_file_is_rewritten_from_the_database(
    setup: tuple[config.Config, Store],
) -> None:
    cfg, store = setup
    out = cfg.settings.output_dir
    add(store, range(1, 24))
    publish_all(cfg, store, NOW)
    page = out / "oil" / "archive" / "2.rss"
    original = page.read_bytes()
    page.unlink()
    assert page in publish_all(cfg, store, NOW)
    assert page.read_bytes() == original


def test_a_new_base_url_renders_the_archives_again(
    setup: tuple[config.Config, Store], tmp_path: Path
) -> None:
    cfg, store = setup
    out = cfg.settings.output_dir
    add(store, range(1, 24))
    publish_all(cfg, store, NOW)
    before = snapshot(out)
    archives = sorted(k for k in before if "/archive/" in k)
    assert len(archives) == 4 * 3 * 2  # 4 pages in 3 formats, each with a .gz twin

    moved = "https://news.example/sub/"
    path = tmp_path / "config.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(BASE, moved), encoding="utf-8")
    cfg = config.load(path)
    written = publish_all(cfg, store, NOW)
    after = snapshot(out)
    documents = [name for name in archives if not name.endswith(".gz")]
    assert set(documents) <= {str(p.relative_to(out)) for p in written}
    for name in documents:
        assert gzip.decompress(after[name + ".gz"]) == after[name]
        text = after[name].decode()
        assert BASE not in text and moved in text, name
        # The same stories, page for page, only the addresses differ.
        assert text == before[name].decode().replace(BASE, moved).replace(
            BASE.removesuffix("/"), moved.removesuffix("/")
        ), name
    # Settled: the next publish finds them at home and rewrites nothing.
    assert publish_all(cfg, store, NOW) == []


def test_max_age_moves_old_stories_out_of_the_current_document(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, topic='max_age = "1d"')
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    add(store, range(1, 4))  # 1-3 hours old
    add(store, range(30, 32), at=NOW)  # 30-31 hours old
    publish_all(cfg, store, NOW)
    out = cfg.settings.output_dir
    titles = [s.title for s in with_feedparser((out / "oil.atom").read_bytes())]
    # The expired stories leave alone, on a short page; the fresh ones stay.
    assert titles == ["oil story 1", "oil story 2", "oil story 3"]
    archived = [s.title for s in with_feedparser((out / "oil/archive/1.atom").read_bytes())]
    assert archived == ["oil story 30", "oil story 31"]
    # Stories expire one by one: the next page holds story 3 alone, story 2 stays.
    publish_all(cfg, store, NOW + timedelta(hours=21, minutes=30))
    titles = [s.title for s in with_feedparser((out / "oil.atom").read_bytes())]
    assert titles == ["oil story 1", "oil story 2"]
    archived = [s.title for s in with_feedparser((out / "oil/archive/2.atom").read_bytes())]
    assert archived == ["oil story 3"]


def test_formats_setting_limits_what_is_written(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, topic='formats = ["json"]')
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    add(store, range(1, 3))
    publish_all(cfg, store, NOW)
    out = cfg.settings.output_dir
    assert (out / "oil.json").exists() and (out / "oil.html").exists()
    assert not (out / "oil.atom").exists() and not (out / "oil.rss").exists()
    index = (out / "index.html").read_text()
    assert "oil.json" in index and "oil.atom" not in index


def test_retention_prunes_old_entries_but_never_shown_ones_and_remembers(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path, extra="retention_max_count = 12")
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    add(store, range(1, 24))
    # Also stored: stories no topic shows ("gas"), older than everything.
    add(store, range(40, 45), word="gas")
    publish_all(cfg, store, NOW)
    # 28 stored, 12 kept by count, but the 7 stories of the current document
    # are within those anyway; the other 16 are gone.
    assert store.entry_count() == 12
    assert store.tombstoned("wire", "guid:g23")
    assert store.tombstoned("wire", "guid:g44")
    # The pruned items come back in the source's next fetch: not stored again.
    add(store, range(40, 45), word="gas")
    add(store, range(20, 24))
    assert store.entry_count() == 12
    # Archives written before the prune are untouched.
    archive = cfg.settings.output_dir / "oil/archive/1.atom"
    assert [s.title for s in with_feedparser(archive.read_bytes())][-1] == "oil story 23"


def test_retention_spares_the_current_document(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, extra="retention_max_count = 2")
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    add(store, range(1, 6))
    publish_all(cfg, store, NOW)
    # All five are in the current document (max_items 10): none may go.
    assert store.entry_count() == 5
    shown = [s.title for s in with_feedparser((cfg.settings.output_dir / "oil.atom").read_bytes())]
    assert len(shown) == 5
