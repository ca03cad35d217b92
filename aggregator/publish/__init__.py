"""Publishing: topic feeds (Atom, RSS, JSON Feed), RFC 5005 archives, pages for
people and OPML, written atomically, each with a gzip sibling for the server.

The only place that imports feedgen and jinja2.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path

from aggregator.atomicfile import (
    WriteBatch,
    clean_stale_temp_files,
    write_if_changed,
    write_once,
)
from aggregator.config import TopicConfig
from aggregator.errors import PublishError
from aggregator.models import Story
from aggregator.publish.archive import Cutter, Plan, plan
from aggregator.publish.feeds import render_atom, render_rss
from aggregator.publish.jsonfeed import render_json
from aggregator.publish.layout import (
    GZIP_SUFFIX,
    INDEX_FILE,
    OPML_FILE,
    SOURCES_OPML_FILE,
    Page,
    archive_dir,
    archive_name,
    archive_path,
    feed_path,
    feed_url,
    page_path,
)
from aggregator.publish.pages import (
    SourceSummary,
    TopicSummary,
    render_index,
    render_opml,
    render_sources_opml,
    render_topic_page,
)
from aggregator.publish.withdraw import (
    rendered_elsewhere,
    withdraw,
    withdraw_archives,
    withdrawn_formats,
)

__all__ = [
    "INDEX_FILE",
    "OPML_FILE",
    "SOURCES_OPML_FILE",
    "Cutter",
    "Plan",
    "SourceSummary",
    "TopicSummary",
    "WriteBatch",
    "clean_stale_temp_files",
    "feed_path",
    "feed_url",
    "incomplete_archives",
    "plan",
    "publish_archive",
    "publish_index",
    "publish_topic",
    "render_atom",
    "render_index",
    "render_json",
    "render_opml",
    "render_rss",
    "render_sources_opml",
    "render_topic_page",
    "rendered_elsewhere",
    "summarize",
    "withdraw",
    "withdraw_archives",
    "withdrawn_formats",
    "write_if_changed",
]

Renderer = Callable[..., bytes]
RENDERERS: dict[str, Renderer] = {"atom": render_atom, "rss": render_rss, "json": render_json}
# Current documents are fetched over and over: compressed harder. Archives are
# written by the thousand in a first publish and fetched rarely: level 1 costs
# a third of level 6's time for a copy about 16% larger (measured on 300
# archive pages of the cycle benchmark, 92 kB each: 0.57 against 1.69 ms).
GZIP_LEVEL, ARCHIVE_GZIP_LEVEL = 6, 1


def summarize(topic: TopicConfig, stories: Sequence[Story], archives: int = 0) -> TopicSummary:
    newest = max((s.entry.updated or s.entry.sort_date for s in stories), default=None)
    return TopicSummary(
        topic.slug, topic.title, topic.description, len(stories), newest, topic.formats, archives
    )


def publish_topic(
    topic: TopicConfig, stories: Sequence[Story], *, output_dir: Path, base_url: str,
    hub: str | None = None, archives: int = 0,
) -> list[Path]:  # fmt: skip
    """Write the topic's current documents (one per configured format) and
    `<slug>.html`; return the paths actually rewritten.

    `stories` are published in the order given (newest first, already cut).
    Every document is rendered before any is written, so a rendering error
    leaves the old set in place.
    """
    page = Page(archives=archives)
    documents = {
        feed_path(output_dir, topic.slug, fmt): RENDERERS[fmt](
            topic, stories, base_url=base_url, hub=hub, page=page
        )
        for fmt in topic.formats
    }
    documents[page_path(output_dir, topic.slug)] = render_topic_page(
        summarize(topic, stories, archives), stories, base_url=base_url
    )
    return _write_all(topic.slug, output_dir, documents, write_if_changed)


def publish_archive(
    topic: TopicConfig, number: int, stories: Sequence[Story], *, output_dir: Path,
    base_url: str, batch: WriteBatch | None = None, pool: Executor | None = None,
) -> list[Path]:  # fmt: skip
    """Write archive `number` in every configured format, unless it exists:
    an archive, once written, never changes. With a batch, the files are
    written on its threads (batch.finish() returns them) and [] is returned;
    with a pool too, the page is rendered and written in one of its processes
    (the batch waits for it)."""
    if pool is not None and batch is not None:
        future = pool.submit(_archive_in_worker, topic, number, list(stories), output_dir,
                             base_url)  # fmt: skip
        batch.submit(archive_dir(output_dir, topic.slug), future.result)
        return []
    documents = _render_archive(topic, number, stories, output_dir=output_dir, base_url=base_url)
    if batch is None:
        return _write_all(topic.slug, output_dir, documents, write_once, ARCHIVE_GZIP_LEVEL)
    for path, data in documents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        batch.submit(
            path.parent,
            functools.partial(
                _write_all, topic.slug, output_dir, {path: data},
                functools.partial(write_once, sync_directory=False), ARCHIVE_GZIP_LEVEL,
            ),
        )  # fmt: skip
    return []


def _render_archive(
    topic: TopicConfig, number: int, stories: Sequence[Story], *, output_dir: Path,
    base_url: str,
) -> dict[Path, bytes]:  # fmt: skip
    page = Page(number=number)
    return {
        archive_path(output_dir, topic.slug, number, fmt): RENDERERS[fmt](
            topic, stories, base_url=base_url, page=page
        )
        for fmt in topic.formats
        if not archive_path(output_dir, topic.slug, number, fmt).exists()
    }


def _archive_in_worker(
    topic: TopicConfig, number: int, stories: list[Story], output_dir: Path, base_url: str
) -> list[Path]:
    """publish_archive in a pool's process; the caller fsyncs the directory. (The
    files are written here too: written on the calling process's threads instead,
    they contended for its lock with the walk, and a 200k-entry first publish took
    longer.)"""
    documents = _render_archive(topic, number, stories, output_dir=output_dir, base_url=base_url)
    return _write_all(
        topic.slug, output_dir, documents, functools.partial(write_once, sync_directory=False),
        ARCHIVE_GZIP_LEVEL,
    )  # fmt: skip


def incomplete_archives(topic: TopicConfig, count: int, output_dir: Path) -> list[int]:
    """Numbers of the topic's archives 1..count missing a file in some format (an
    interrupted write, or a format added since): one directory listing, not a
    stat per file."""
    directory = archive_dir(output_dir, topic.slug)
    try:
        present = {path.name for path in directory.iterdir()}
    except FileNotFoundError:
        present = set()
    return [
        number
        for number in range(1, count + 1)
        if any(archive_name(number, f) not in present for f in topic.formats)
    ]


def publish_index(
    topics: Sequence[TopicSummary], *, output_dir: Path, base_url: str,
    sources: Sequence[SourceSummary] = (), title: str = "aggregator",
) -> list[Path]:  # fmt: skip
    """Write index.html, topics.opml and sources.opml; return the paths rewritten."""
    documents = {
        output_dir / INDEX_FILE: render_index(topics, base_url=base_url, title=title),
        output_dir / OPML_FILE: render_opml(topics, base_url=base_url, title=title),
        output_dir / SOURCES_OPML_FILE: render_sources_opml(sources, title=title),
    }
    return _write_all("(index)", output_dir, documents, write_if_changed)


def _write_all(
    name: str, output_dir: Path, documents: dict[Path, bytes],
    write: Callable[[Path, bytes], bool], level: int = GZIP_LEVEL,
) -> list[Path]:  # fmt: skip
    written: list[Path] = []
    try:
        for path, data in documents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            changed = write(path, data)
            if changed:
                written.append(path)
            # The server sends this to clients that accept gzip. mtime=0: the
            # same document always compresses to the same bytes, so it is only
            # compressed again when the document changed, or the copy is missing
            # or older than the document (a crash between the two writes).
            gz = path.with_name(path.name + GZIP_SUFFIX)
            if changed or _older(gz, path):
                write(gz, gzip.compress(data, compresslevel=level, mtime=0))
    except OSError as exc:
        # Disk full, permissions: this output failed; the caller decides what next.
        raise PublishError(name, f"cannot write {exc.filename or output_dir}: {exc}") from exc
    return written


def _older(copy: Path, original: Path) -> bool:
    try:
        return copy.stat().st_mtime_ns < original.stat().st_mtime_ns
    except FileNotFoundError:
        return True
