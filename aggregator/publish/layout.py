"""Where every published document lives: file paths under output_dir and the
URLs readers fetch them from. One place, so feeds, pages and the pipeline agree.

    <slug>.atom  <slug>.rss  <slug>.json      the current document of a topic
    <slug>.html                               the topic's latest items, for people
    <slug>/archive/<n>.atom (.rss, .json)     RFC 5005 archive n (1 = oldest)
    <any of the above>.gz                     its gzip twin
    index.html  topics.opml  sources.opml
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

Format = Literal["atom", "rss", "json"]

MEDIA_TYPES: dict[str, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
FORMAT_NAMES: dict[str, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
INDEX_FILE = "index.html"
OPML_FILE = "topics.opml"
SOURCES_OPML_FILE = "sources.opml"
ARCHIVE_DIR = "archive"
GZIP_SUFFIX = ".gz"  # every document has a compressed twin for the server


def feed_url(base_url: str, slug: str, fmt: str) -> str:
    """Where a topic's current document is served: `{base_url}{slug}.{fmt}`."""
    return f"{base_url}{quote(slug, safe='')}.{fmt}"


def page_url(base_url: str, slug: str) -> str:
    return f"{base_url}{quote(slug, safe='')}.html"


def archive_url(base_url: str, slug: str, number: int, fmt: str) -> str:
    return f"{base_url}{quote(slug, safe='')}/{ARCHIVE_DIR}/{number}.{fmt}"


def feed_path(output_dir: Path, slug: str, fmt: str) -> Path:
    return output_dir / f"{slug}.{fmt}"


def page_path(output_dir: Path, slug: str) -> Path:
    return output_dir / f"{slug}.html"


def archive_path(output_dir: Path, slug: str, number: int, fmt: str) -> Path:
    return archive_dir(output_dir, slug) / archive_name(number, fmt)


def archive_dir(output_dir: Path, slug: str) -> Path:
    return output_dir / slug / ARCHIVE_DIR


def archive_name(number: int, fmt: str) -> str:
    return f"{number}.{fmt}"


@dataclass(frozen=True, slots=True)
class Page:
    """Which document of a topic is being rendered.

    number None is the current document; `archives` archives exist below it.
    number n is archive n: archives are numbered from 1 (the oldest).
    """

    number: int | None = None
    archives: int = 0

    @property
    def is_archive(self) -> bool:
        return self.number is not None


CURRENT = Page()


@dataclass(frozen=True, slots=True)
class Links:
    """The feed-level links of one document in one format."""

    self_url: str
    html_url: str
    hub: str | None = None
    current: str | None = None  # archives: the subscription document
    prev_archive: str | None = None  # the next older archive
    next_archive: str | None = None  # the next newer archive


def links_for(base_url: str, slug: str, fmt: str, page: Page, hub: str | None) -> Links:
    """RFC 5005 links: the current document points at the newest archive;
    archive n at n-1, at n+1 and at the current document.

    An archive's next-archive URL is fixed when it is written (archive n+1
    always lives at the same address), so archives never need rewriting.
    """
    current = feed_url(base_url, slug, fmt)
    html = page_url(base_url, slug)
    if page.number is None:
        older = archive_url(base_url, slug, page.archives, fmt) if page.archives else None
        return Links(self_url=current, html_url=html, hub=hub, prev_archive=older)
    n = page.number
    return Links(
        self_url=archive_url(base_url, slug, n, fmt),
        html_url=html,
        # Hubs push the subscription document; an archive never changes.
        hub=None,
        current=current,
        prev_archive=archive_url(base_url, slug, n - 1, fmt) if n > 1 else None,
        next_archive=archive_url(base_url, slug, n + 1, fmt),
    )
