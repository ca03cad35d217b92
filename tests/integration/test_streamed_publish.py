"""The first publish over a backlog walks the store oldest first and cuts archive
pages as it goes: the pages (numbers, contents, order) are exactly those the
rule gives over the whole backlog at once. A large backlog's pages are rendered
in worker processes, to the same files."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator import archiving, config, curate, publish
from aggregator.dedup import key_entries
from aggregator.errors import PublishError
from aggregator.models import ParsedEntry
from aggregator.pipeline import clustering, publish_all, source_infos
from aggregator.store import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

CONFIG = """
[aggregator]
base_url = "https://feeds.example/"
[sources.a]
url = "https://a.example/feed"
[sources.b]
url = "https://b.example/feed"
[topics.oil]
title = "Oil"
query = "oil"
max_items = 5
archive_page_size = 3
"""

MORE = """
[topics.fresh]
title = "Fresh"
query = "oil OR gas"
max_items = 6
archive_page_size = 4
max_age = "40h"
min_age = "3h"
[topics.apart]
title = "Apart"
query = "gas"
cluster = false
max_items = 3
archive_page_size = 2
"""


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Archive rows are looked up a few stories at a time: cross several chunks.
    monkeypatch.setattr(curate, "WALK_CHUNK", 4)


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def put(store: Store, cfg: config.Config, source: str, entries: list[ParsedEntry]) -> None:
    store.store_entries(
        source, key_entries(entries), now=NOW, next_fetch=NOW, status=200, etag=None,
        last_modified=None, body_hash=None, effective_url=None, feed_title=source.upper(),
        feed_link=f"https://{source}.example/", clustering=clustering(cfg),
    )  # fmt: skip


def item(source: str, n: int, title: str, link: str | None = None) -> ParsedEntry:
    """Item n, published n hours before NOW (higher n: older)."""
    return ParsedEntry(guid=f"{source}{n}", link=link or f"https://{source}.example/{n}",
                       title=title, published=NOW - timedelta(hours=n))  # fmt: skip


def items(path: Path) -> list[str]:
    return [i["title"] for i in json.loads(path.read_bytes())["items"]]


def test_a_backlog_of_several_pages_gets_the_same_numbered_pages(tmp_path: Path) -> None:
    cfg = load(tmp_path, CONFIG)
    out = cfg.settings.output_dir
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [item("a", n, f"oil story {n}") for n in range(1, 21)])
        publish_all(cfg, store, NOW)
        # 20 stories, 5 kept: five pages of 3 from the oldest end, page 1 the oldest,
        # each newest first.
        expected = [[f"oil story {n}" for n in range(top - 2, top + 1)]
                    for top in (20, 17, 14, 11, 8)]  # fmt: skip
        for number, titles in enumerate(expected, 1):
            assert items(out / "oil" / "archive" / f"{number}.json") == titles
            data = json.loads((out / "oil" / "archive" / f"{number}.json").read_bytes())
            ids = [i["id"] for i in data["items"]]
            assert [uid for uid, _ in store.archive_page("oil", number)] == ids
        assert not (out / "oil" / "archive" / "6.json").exists()
        assert items(out / "oil.json") == [f"oil story {n}" for n in range(1, 6)]
        assert store.archive_count("oil") == 5


def test_streamed_pages_equal_the_rule_over_the_whole_backlog(tmp_path: Path) -> None:
    cfg = load(tmp_path, CONFIG + MORE)
    out = cfg.settings.output_dir
    words = ["oil", "gas", "oil and gas", "wheat"]
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [item("a", n, f"{words[n % 4]} report {n}") for n in range(1, 60)])
        # b carries some of the same articles (same link: one story, two outlets),
        # and some of its own.
        put(store, cfg, "b", [item("b", n, f"{words[n % 4]} report {n}",
                                   link=f"https://a.example/{n}") for n in range(2, 60, 5)]
            + [item("b", n, f"gas wire {n}") for n in range(70, 90, 3)])  # fmt: skip

        # What the whole-list rule gives: every unarchived story newest first, then cut.
        infos = source_infos(cfg, store)
        expected: dict[str, publish.Plan] = {}
        for topic in cfg.topics.values():
            matcher = curate.compile_topic(topic, cfg.sources)
            stories = [s for _, s in curate.walk_unarchived(
                [matcher], store.stories(clustered=topic.cluster), now=NOW, sources=infos,
                archived=lambda slug, ids: (), clustered=topic.cluster,
            )]  # fmt: skip
            cutoff = NOW - topic.max_age if topic.max_age else None
            expected[topic.slug] = publish.plan(
                stories, max_items=topic.max_items, page_size=topic.archive_page_size,
                cutoff=cutoff,
            )  # fmt: skip

        publish_all(cfg, store, NOW)
        for slug, whole in expected.items():
            assert len(whole.pages) >= 2, slug  # the test means something for every topic
            for number, page in enumerate(whole.pages, 1):
                data = json.loads((out / slug / "archive" / f"{number}.json").read_bytes())
                assert [i["id"] for i in data["items"]] == [s.uid for s in page], (slug, number)
                assert [uid for uid, _ in store.archive_page(slug, number)] == [s.uid for s in page]
            assert store.archive_count(slug) == len(whole.pages)
            data = json.loads((out / f"{slug}.json").read_bytes())
            assert [i["id"] for i in data["items"]] == [s.uid for s in whole.current], slug


def test_a_rule_edit_walks_again_without_archiving_a_story_twice(tmp_path: Path) -> None:
    cfg = load(tmp_path, CONFIG)
    out = cfg.settings.output_dir
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        put(store, cfg, "a", [item("a", n, f"{['oil', 'gas'][n % 2]} story {n}")
                              for n in range(1, 31)])  # fmt: skip
        publish_all(cfg, store, NOW)
        before = store.archive_count("oil")
        assert before == 4  # 15 oil stories: pages of 3 cut while over 5 remain; 3 kept
        edited = load(tmp_path, CONFIG.replace('query = "oil"', 'query = "oil OR gas"'))
        publish_all(edited, store, NOW)
        ids: list[str] = []
        for number in range(1, store.archive_count("oil") + 1):
            ids += [i["id"] for i in json.loads(
                (out / "oil" / "archive" / f"{number}.json").read_bytes())["items"]]  # fmt: skip
        ids += [i["id"] for i in json.loads((out / "oil.json").read_bytes())["items"]]
        # Every one of the 30 stories exactly once: the 12 archived before stay where
        # they are, the other 18 (the gas ones too) go into 5 new pages, 3 are kept.
        assert len(ids) == len(set(ids)) == 30
        assert store.archive_count("oil") == before + 5


def test_a_large_backlog_is_rendered_in_worker_processes_to_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    class Recorded(ProcessPoolExecutor):
        def __init__(self, workers: int, **kwargs: Any) -> None:
            started.append(workers)
            super().__init__(workers, **kwargs)

    monkeypatch.setattr(archiving, "ProcessPoolExecutor", Recorded)
    monkeypatch.setattr(archiving, "_spare_cores", lambda: 1)  # a worker even on one core

    def first_publish(where: Path) -> dict[str, bytes]:
        where.mkdir()
        cfg = load(where, CONFIG + MORE)
        with Store.open(cfg.settings.database) as store:
            store.sync_sources(cfg.sources)
            put(store, cfg, "a", [item("a", n, f"oil and gas {n}") for n in range(1, 80)])
            publish_all(cfg, store, NOW)
        out = cfg.settings.output_dir
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    here = first_publish(tmp_path / "here")  # 79 stories: under PROCESSES_AFTER
    assert started == []
    monkeypatch.setattr(archiving, "PROCESSES_AFTER", 10)
    workers = first_publish(tmp_path / "workers")
    assert started == [1]
    assert "oil/archive/20.json.gz" in workers
    assert workers == here


def test_a_publish_error_crosses_back_from_a_worker_process() -> None:
    error = pickle.loads(pickle.dumps(PublishError("oil", "cannot write /x: disk full")))  # noqa: S301
    assert isinstance(error, PublishError)
    assert (error.topic, error.detail) == ("oil", "cannot write /x: disk full")
    assert str(error) == "topic 'oil': cannot write /x: disk full"
