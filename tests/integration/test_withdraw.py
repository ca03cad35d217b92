"""Documents no topic publishes any more are taken down: a topic removed from the
configuration, a format a topic dropped. What a person put in the output
directory stays, and adding the topic or format back publishes it whole again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import config, publish
from aggregator.models import ParsedEntry
from aggregator.pipeline import publish_all
from aggregator.store import Store
from tests.factories import store_wire

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

OIL = """
[topics.oil]
title = "Oil"
any = ["oil"]
max_items = 4
archive_page_size = 2
{formats}
"""
GAS = """
[topics.gas]
title = "Gas"
any = ["gas"]
max_items = 4
archive_page_size = 2
"""


def load(tmp_path: Path, *topics: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        '[aggregator]\nbase_url = "https://feeds.example/"\n\n'
        '[sources.wire]\nurl = "https://wire.example/feed"\n' + "".join(topics),
        encoding="utf-8",
    )
    return config.load(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Both topics published over 8 stories each: 2 archive pages per topic."""
    cfg = load(tmp_path, OIL.format(formats=""), GAS)
    with Store.open(cfg.settings.database) as store:
        store.sync_sources(cfg.sources)
        store_wire(store, [
            ParsedEntry(guid=f"{word}{n}", link=f"https://wire.example/{word}/{n}",
                        title=f"{word} story {n}", published=NOW - timedelta(hours=n))
            for word in ("oil", "gas") for n in range(8)
        ], NOW)  # fmt: skip
        publish_all(cfg, store, NOW)
        yield store


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_removed_topics_and_dropped_formats_are_taken_down(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "feeds"
    everything = files(out)
    archive = (out / "oil" / "archive" / "1.json").read_bytes()
    assert {"gas.atom", "gas.json.gz", "gas.html", "gas/archive/1.rss"} <= everything
    assert {"oil.json", "oil/archive/2.json", "oil/archive/2.json.gz"} <= everything
    (out / "robots.txt").write_text("User-agent: *\n")  # a person's own file
    (out / "gas" / "notes.txt").write_text("mine\n")

    # gas removed, oil drops JSON Feed.
    publish_all(load(tmp_path, OIL.format(formats='formats = ["atom", "rss"]')), store, NOW)
    left = files(out)
    assert not {f for f in left if f.startswith("gas")} - {"gas/notes.txt"}
    assert not {f for f in left if f.startswith("oil") and ".json" in f}
    kept = {f for f in everything if not f.startswith("gas") and ".json" not in f}
    assert left == kept | {"robots.txt", "gas/notes.txt"}
    assert b"gas" not in (out / "index.html").read_bytes()
    assert set(store.topic_stats()) == {"oil"}

    # Both back: the same documents as the first time, archives included.
    publish_all(load(tmp_path, OIL.format(formats=""), GAS), store, NOW)
    assert files(out) == everything | {"robots.txt", "gas/notes.txt"}
    assert (out / "oil" / "archive" / "1.json").read_bytes() == archive


def test_a_removal_interrupted_is_finished_by_the_next_publish(
    tmp_path: Path, store: Store
) -> None:
    out = tmp_path / "feeds"
    # As if the last publish had deleted gas's archives and then stopped.
    for path in (out / "gas" / "archive").iterdir():
        path.unlink()
    publish_all(load(tmp_path, OIL.format(formats="")), store, NOW)
    assert not [f for f in files(out) if f.startswith("gas")]
    assert not (out / "gas").exists()


def test_a_topic_called_index_never_takes_the_site_index_with_it(tmp_path: Path) -> None:
    """Older releases allowed the slug; its page was the site's index.html."""
    for name in ("index.html", "index.atom", "index.atom.gz", "index/archive/1.rss"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    removed = publish.withdraw(tmp_path, "index")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == [
        "index.atom", "index.atom.gz", "index/archive/1.rss"
    ]  # fmt: skip
    assert files(tmp_path) == {"index.html"}
