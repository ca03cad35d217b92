"""Publishing re-curates only what changed, and must publish exactly what a walk
of the whole archive would."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

from aggregator import config
from aggregator.dedup import key_entries
from aggregator.models import ParsedEntry
from aggregator.pipeline import clustering, publish_all
from aggregator.store import Store
from tests.factories import T0, parsed

CONFIG = """
[aggregator]
base_url = "https://feeds.example/"
[sources.a]
url = "https://a.example/feed"
[sources.b]
url = "https://b.example/feed"
[topics.oil]
title = "Oil"
query = "oil OR crude"
max_items = 5
archive_page_size = 2
[topics.slow]
title = "Slow"
query = "oil"
min_age = "2h"
[topics.apart]
title = "Apart"
query = "oil"
cluster = false
"""


def load(tmp_path: Path, text: str = CONFIG) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def put(store: Store, cfg: config.Config, source: str, entries: list[ParsedEntry],
        hours: float) -> None:  # fmt: skip
    now = T0 + timedelta(hours=hours)
    store.store_entries(
        source, key_entries(entries), now=now, next_fetch=now, status=200, etag=None,
        last_modified=None, body_hash=None, effective_url=None, feed_title=source.upper(),
        feed_link=f"https://{source}.example/", clustering=clustering(cfg),
    )  # fmt: skip


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def full_publish_of(cfg: config.Config, out: Path, hours: float) -> dict[str, bytes]:
    """What a walk of the whole archive publishes from a copy of the database and
    of the output so far (archives, once written, are never written again)."""
    shutil.copytree(cfg.settings.output_dir, out)
    database = cfg.settings.database
    copy = database.with_name("copy.sqlite")
    with sqlite3.connect(database) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM topic_state")
        db.execute("DELETE FROM topic_members")
    settings = dataclasses.replace(cfg.settings, database=copy, output_dir=out)
    full = dataclasses.replace(cfg, settings=settings)
    with Store.open(copy) as store:
        publish_all(full, store, T0 + timedelta(hours=hours))
    return files(out)


def oil(n: int, hours: float, **kwargs: object) -> ParsedEntry:
    published = T0 + timedelta(hours=hours)
    return parsed(f"oil-{n}", f"Oil story {n}", published=published,
                  summary=f"<p>Crude oil market report number {n}.</p>", **kwargs)  # fmt: skip


def test_incremental_publish_equals_a_full_walk(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    out = cfg.settings.output_dir
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [oil(n, n) for n in range(8)], hours=8)
        publish_all(cfg, store, T0 + timedelta(hours=8))
        first = files(out)
        assert "oil/archive/1.atom" in first  # 8 stories, 5 in the document: pages cut

        # New stories, an edit, a second outlet joining a story, an unrelated entry.
        put(store, cfg, "a", [oil(n, n) for n in range(8, 11)]
            + [oil(3, 3, content="<p>Edited: crude oil at a high.</p>")], hours=11)  # fmt: skip
        put(store, cfg, "b", [parsed("b-1", "Crude story joined", link="https://news.example/oil-9",
                                     published=T0 + timedelta(hours=9)),
                              parsed("b-2", "Football", published=T0 + timedelta(hours=10))],
            hours=11)  # fmt: skip
        expected = full_publish_of(cfg, tmp_path / "full", hours=12)
        publish_all(cfg, store, T0 + timedelta(hours=12))
        assert files(out) == expected
        assert files(out) != first

        # Nothing changed: nothing is written.
        assert publish_all(cfg, store, T0 + timedelta(hours=12)) == []


def test_min_age_releases_held_back_stories_without_any_change(tmp_path: Path) -> None:
    # The slow topic alone: no other topic holds the story and so revisits it.
    only_slow = CONFIG[: CONFIG.index("[topics.oil]")] + CONFIG[CONFIG.index("[topics.slow]") :]
    cfg = load(tmp_path, only_slow[: only_slow.index("[topics.apart]")])
    slow = cfg.settings.output_dir / "slow.json"
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [oil(1, 0), oil(2, 9)], hours=10)
        publish_all(cfg, store, T0 + timedelta(hours=10))
        assert b"Oil story 1" in slow.read_bytes() and b"Oil story 2" not in slow.read_bytes()
        publish_all(cfg, store, T0 + timedelta(hours=12))  # story 2 is now 3 hours old
        assert b"Oil story 2" in slow.read_bytes()


def test_time_alone_makes_a_publish_due_and_it_moves_the_stories(tmp_path: Path) -> None:
    aged = CONFIG.replace("archive_page_size = 2\n", 'archive_page_size = 2\nmax_age = "5h"\n')
    cfg = load(tmp_path, aged)
    out = cfg.settings.output_dir
    micro = timedelta(microseconds=1)
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [oil(1, 0), oil(2, 9)], hours=10)
        publish_all(cfg, store, T0 + timedelta(hours=10))
        # slow holds story 2 back until 11h; oil shows it until it is 5h old (14h).
        assert b"Oil story 2" not in (out / "slow.json").read_bytes()
        assert not store.publish_due(T0 + timedelta(hours=11) - micro)
        assert store.publish_due(T0 + timedelta(hours=11))
        publish_all(cfg, store, T0 + timedelta(hours=11))
        assert b"Oil story 2" in (out / "slow.json").read_bytes()

        assert not store.publish_due(T0 + timedelta(hours=14))
        expired = T0 + timedelta(hours=14) + micro
        assert store.publish_due(expired)
        expected = full_publish_of(cfg, tmp_path / "full", hours=15)
        publish_all(cfg, store, expired)
        assert b"Oil story" not in (out / "oil.json").read_bytes()
        assert b"Oil story 2" in (out / "oil/archive/2.json").read_bytes()
        assert files(out) == expected
        assert not store.publish_due(T0 + timedelta(days=365))


def test_min_age_releases_a_held_back_group_of_an_older_story(tmp_path: Path) -> None:
    # A topic that does not cluster dates the outlet's copy by itself, not by the
    # story it joined, which it does not show (no oil in the first copy).
    cfg = load(tmp_path, CONFIG.replace("cluster = false\n", 'cluster = false\nmin_age = "2h"\n'))
    body = ("<p>Libya's National Petroleum Corporation said crude production reached 1.4 "
            "million barrels per day, the highest in eleven years, as fields in the south "
            "restarted after a blockade ended and exports resumed from {port}.</p>")  # fmt: skip
    apart = cfg.settings.output_dir / "apart.json"
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        crude = parsed("a-1", "Libya crude output hits 11-year high", published=T0,
                       summary=body.format(port="Es Sider"))  # fmt: skip
        copy = parsed("b-1", "Libya oil output hits an 11-year high",
                      link="https://other.example/x", summary=body.format(port="Ras Lanuf"),
                      published=T0 + timedelta(hours=9))  # fmt: skip
        put(store, cfg, "a", [crude], hours=9)
        put(store, cfg, "b", [copy], hours=9.5)
        (first, joined) = store.story_members(1)
        assert joined.story_id == first.id and joined.exact_id != first.id
        publish_all(cfg, store, T0 + timedelta(hours=10))
        assert b"Libya oil output" not in apart.read_bytes()
        assert store.publish_due(T0 + timedelta(hours=11))
        publish_all(cfg, store, T0 + timedelta(hours=11))
        assert b"Libya oil output" in apart.read_bytes()


def test_an_edited_rule_walks_the_whole_archive_again(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [oil(1, 1), parsed("g", "Gas prices", published=T0)], hours=2)
        publish_all(cfg, store, T0 + timedelta(hours=2))
        assert b"Gas prices" not in (cfg.settings.output_dir / "oil.json").read_bytes()
        edited = load(tmp_path, CONFIG.replace('query = "oil OR crude"', 'query = "oil OR gas"'))
        publish_all(edited, store, T0 + timedelta(hours=2))
        assert b"Gas prices" in (cfg.settings.output_dir / "oil.json").read_bytes()
