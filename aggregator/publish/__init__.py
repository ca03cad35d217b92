"""Publishing: topic feeds (Atom, RSS), the index page and OPML, written atomically.

The only place that imports feedgen and jinja2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aggregator.config import TopicConfig
from aggregator.errors import PublishError
from aggregator.models import Story
from aggregator.publish.atomicfile import clean_stale_temp_files, write_if_changed
from aggregator.publish.feeds import feed_url, render_atom, render_rss
from aggregator.publish.pages import (
    INDEX_FILE,
    OPML_FILE,
    TopicSummary,
    render_index,
    render_opml,
)

__all__ = [
    "INDEX_FILE",
    "OPML_FILE",
    "TopicSummary",
    "clean_stale_temp_files",
    "feed_url",
    "publish_index",
    "publish_topic",
    "render_atom",
    "render_index",
    "render_opml",
    "render_rss",
    "write_if_changed",
]


def publish_topic(
    topic: TopicConfig, stories: Sequence[Story], *, output_dir: Path, base_url: str
) -> list[Path]:
    """Write `<slug>.atom` and `<slug>.rss`; return the paths actually rewritten.

    `stories` are published in the order given (newest first, already cut to
    max_items). Both documents are rendered before either is written, so a
    rendering error leaves the old pair in place.
    """
    documents = {
        output_dir / f"{topic.slug}.atom": render_atom(topic, stories, base_url=base_url),
        output_dir / f"{topic.slug}.rss": render_rss(topic, stories, base_url=base_url),
    }
    return _write_all(topic.slug, output_dir, documents)


def publish_index(
    topics: Sequence[TopicSummary], *, output_dir: Path, base_url: str, title: str = "aggregator"
) -> list[Path]:
    """Write index.html and topics.opml; return the paths actually rewritten."""
    documents = {
        output_dir / INDEX_FILE: render_index(topics, base_url=base_url, title=title),
        output_dir / OPML_FILE: render_opml(topics, base_url=base_url, title=title),
    }
    return _write_all("(index)", output_dir, documents)


def _write_all(name: str, output_dir: Path, documents: dict[Path, bytes]) -> list[Path]:
    written: list[Path] = []
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for path, data in documents.items():
            if write_if_changed(path, data):
                written.append(path)
    except OSError as exc:
        # Disk full, permissions: this output failed; the caller decides what next.
        raise PublishError(name, f"cannot write {exc.filename or output_dir}: {exc}") from exc
    return written
