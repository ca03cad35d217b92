"""Taking down what no topic publishes any more: every document of a topic
removed from the configuration, and a topic's documents in a format it no longer
lists. The server serves whatever is on disk, so a left-over file would go on
being served, stale, to every reader still subscribed to it.

Only names publishing writes are touched (`<slug>.<format>`, `<slug>.html`,
`<slug>/archive/<n>.<format>` and their `.gz` twins): anything else a person
put in the output directory stays. Archives go first and the current document
last, so an interrupted removal leaves the document that shows there is more to
remove (a removed topic's publish record is dropped only after its files are).

Archives written under another `base_url` are taken down too: every link in them
(self, prev-archive, next-archive, current) would lead off the site, and they are
served as immutable. The next walk renders them again from the database, which
holds every archive page's stories.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection
from pathlib import Path
from xml.sax.saxutils import escape

from aggregator.config import FORMATS
from aggregator.publish.layout import (
    GZIP_SUFFIX,
    INDEX_FILE,
    archive_dir,
    archive_path,
    archive_url,
    feed_path,
    page_path,
)

# Archive 1's self link is in the first few kilobytes of every format.
_HEAD = 16384


def withdraw(output_dir: Path, slug: str, formats: Collection[str] = FORMATS) -> list[Path]:
    """Delete the topic's documents in `formats` (all of them, and its page, by
    default: a removed topic); return the paths deleted."""
    directory = archive_dir(output_dir, slug)
    removed = withdraw_archives(output_dir, slug, formats)
    documents = [feed_path(output_dir, slug, fmt) for fmt in formats]
    if set(FORMATS) <= set(formats):  # the whole topic
        # A topic called "index", which older releases allowed, shared its page
        # with the site's index: that stays.
        if page_path(output_dir, slug).name != INDEX_FILE:
            documents.append(page_path(output_dir, slug))
        # Directories publishing made, once empty (a person's file keeps them).
        for empty in (directory, directory.parent):
            with contextlib.suppress(OSError):
                empty.rmdir()
    for path in documents:
        removed += _delete(path.with_name(path.name + GZIP_SUFFIX))
        removed += _delete(path)
    return removed


def withdraw_archives(output_dir: Path, slug: str, formats: Collection[str]) -> list[Path]:
    """Delete the topic's archive documents in `formats` and their twins."""
    removed: list[Path] = []
    names = "|".join(map(re.escape, formats))
    wanted = re.compile(rf"\d+\.({names})({re.escape(GZIP_SUFFIX)})?")
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(archive_dir(output_dir, slug).iterdir()):
            if wanted.fullmatch(path.name):
                removed += _delete(path)
    return removed


def rendered_elsewhere(
    output_dir: Path, slug: str, formats: Collection[str], base_url: str
) -> bool:
    """Whether the topic's archives were written under another base_url: archive 1
    (written first, and with the rest whenever they are all re-rendered) does not
    name itself at today's address."""
    for fmt in formats:
        try:
            with archive_path(output_dir, slug, 1, fmt).open("rb") as f:
                head = f.read(_HEAD)
        except FileNotFoundError:
            continue
        url = archive_url(base_url, slug, 1, fmt)
        spelled = {url, escape(url, {'"': "&quot;"}), json.dumps(url, ensure_ascii=False)[1:-1]}
        return not any(form.encode() in head for form in spelled)
    return False


def withdrawn_formats(output_dir: Path, slug: str, formats: Collection[str]) -> list[str]:
    """Formats the topic does not list whose current document is still on disk."""
    return [
        fmt for fmt in FORMATS if fmt not in formats and feed_path(output_dir, slug, fmt).exists()
    ]


def _delete(path: Path) -> list[Path]:
    try:
        path.unlink()
    except FileNotFoundError:
        return []
    return [path]
