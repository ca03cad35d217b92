"""The shipped config.toml loads, and says what the project promises. Nothing is fetched."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aggregator import config, curate, query, verdicts

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config.toml"

TOPIC_TITLES = {
    "libya-politics": "Libya politics",
    "oil-and-opec": "Oil and OPEC",
}


@pytest.fixture(scope="module")
def shipped() -> config.Config:
    return config.load(SHIPPED)


def test_loads_from_the_repository_root(shipped: config.Config) -> None:
    assert shipped.path == SHIPPED


def test_at_least_eight_enabled_sources(shipped: config.Config) -> None:
    enabled = [s for s in shipped.sources.values() if s.enabled]
    assert len(enabled) >= 8, [s.id for s in enabled]


def test_every_source_url_is_https(shipped: config.Config) -> None:
    for source in shipped.sources.values():
        parts = urlsplit(source.url)
        assert parts.scheme == "https", source.id
        assert parts.hostname, source.id


def test_every_source_has_a_title_and_tags(shipped: config.Config) -> None:
    for source in shipped.sources.values():
        assert source.title, source.id
        assert source.tags, source.id


def test_sources_are_polled_politely(shipped: config.Config) -> None:
    assert shipped.settings.interval >= timedelta(minutes=30)
    for source in shipped.sources.values():
        assert shipped.source_interval(source) >= timedelta(minutes=30), source.id


def test_both_topics_exist_with_their_titles(shipped: config.Config) -> None:
    assert {slug: t.title for slug, t in shipped.topics.items()} == TOPIC_TITLES


def test_every_topic_has_a_query(shipped: config.Config) -> None:
    for topic in shipped.topics.values():
        # An exclude only removes items, so on its own it selects everything.
        assert topic.query, topic.slug
        assert topic.description, topic.slug


def test_oil_topic_excludes_edible_oils(shipped: config.Config) -> None:
    matcher = curate.compile_topic(shipped.topics["oil-and-opec"], shipped.sources)
    # Each has a market word, so only the exclude keeps it out.
    for title in ("Olive oil prices soar", "Palm oil exports rise", "Cooking oil supply short"):
        doc = query.Document(title=title)
        assert matcher.query is not None and matcher.query.test(doc), title
        assert matcher.excluded_by(doc) is not None, title


REQUIRED_EXAMPLES = {
    "libya-politics": {
        "Russia Resumes Military Talks with Haftar While Also Supporting GNA": True,
        "Greece Plans to Reopen Embassy in Tripoli": True,
        "NOC Says Libya Cannot Abide By OPEC Oil Production Cuts": True,
    },
    "oil-and-opec": {"NOC Says Libya Cannot Abide By OPEC Oil Production Cuts": True},
}


def test_topics_carry_the_required_examples_and_near_misses(shipped: config.Config) -> None:
    for slug, required in REQUIRED_EXAMPLES.items():
        labelled = {e.title: e.match for e in shipped.topics[slug].examples}
        assert required.items() <= labelled.items(), slug
        assert any(not match for match in labelled.values()), slug
    misses = " ".join(e.title for t in shipped.topics.values() for e in t.examples if not e.match)
    for near_miss in ("Turmoil", "Cooking oil", "Lebanese"):
        assert near_miss in misses


def test_every_shipped_example_passes(shipped: config.Config) -> None:
    for topic in shipped.topics.values():
        report = verdicts.run_examples(curate.compile_topic(topic, shipped.sources))
        assert len(report.results) >= 6, topic.slug
        assert not report.failed, [r.example.title for r in report.failed]
        assert report.precision == 1.0 and report.recall == 1.0


def test_relative_paths_resolve_next_to_the_config(shipped: config.Config) -> None:
    settings = shipped.settings
    assert settings.database == ROOT / "aggregator.sqlite"
    assert settings.output_dir == ROOT / "feeds"
    assert settings.database.is_relative_to(ROOT)
    assert settings.output_dir.is_relative_to(ROOT)


def test_a_copy_elsewhere_is_a_separate_installation(tmp_path: Path) -> None:
    copy = tmp_path / "config.toml"
    shutil.copyfile(SHIPPED, copy)
    loaded = config.load(copy)
    base = tmp_path.resolve()
    assert loaded.path == base / "config.toml"
    assert loaded.settings.database.is_relative_to(base)
    assert loaded.settings.output_dir.is_relative_to(base)
    assert not loaded.settings.database.is_relative_to(ROOT)
    assert not loaded.settings.output_dir.is_relative_to(ROOT)
