"""Entry fields cleaned the same way whichever format they came from."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime

from aggregator.models import Enclosure
from aggregator.sanitize import clean_text, html_to_text, safe_url

GUID_MAX = 2_048
NAME_MAX = 200  # an author, a category, a MIME type
LIST_MAX = 50  # authors, categories or enclosures kept per entry
DERIVED_TITLE_MAX = 80
# A "title" (or the head of a body a title is derived from) longer than this is not
# worth running through the HTML parser.
TITLE_INPUT_MAX = 65_536


# Older dates are placeholders, not publication times: Go's zero time
# (0001-01-01T00:00:00Z, as some static-site generators write it), 1900 defaults.
EARLIEST_DATE = datetime(1901, 1, 1, tzinfo=UTC)


def plausible_date(value: datetime | None) -> datetime | None:
    """The date, or None for a placeholder before EARLIEST_DATE (the entry is then
    dated when it was first seen, and date arithmetic stays far from year 1)."""
    return value if value is not None and value >= EARLIEST_DATE else None


class NotAFeed(Exception):
    """Why a document is refused; parse_feed turns it into ParseError."""


def text_as_html(text: str) -> str:
    """Plain text (a JSON Feed summary, an Atom type="text" body) as HTML."""
    return html.escape(text).replace("\n", "<br>\n")


def derive_title(body_html: str) -> str:
    """A title for an untitled entry: the start of its text, cut at a word."""
    text = clean_text(html_to_text(body_html[:TITLE_INPUT_MAX]), max_length=4 * DERIVED_TITLE_MAX)
    if len(text) <= DERIVED_TITLE_MAX:
        return text
    cut = text.rfind(" ", 0, DERIVED_TITLE_MAX)
    return text[: cut if cut > DERIVED_TITLE_MAX // 2 else DERIVED_TITLE_MAX].rstrip() + "…"


def names(values: Iterable[object]) -> tuple[str, ...]:
    """Cleaned, non-empty, de-duplicated (case-insensitively), in document order."""
    seen: dict[str, str] = {}
    for value in values:
        name = clean_text(value, max_length=NAME_MAX) if isinstance(value, str) else ""
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
        if len(seen) >= LIST_MAX:
            break
    return tuple(seen.values())


def enclosures(
    items: Iterable[tuple[object, object, object]], *, base_url: str
) -> tuple[Enclosure, ...]:
    """(url, type, length) triples -> Enclosures with absolute http(s) URLs, de-duplicated."""
    found: dict[str, Enclosure] = {}
    for href, mime, length in items:
        url = safe_url(href, base_url=base_url) if isinstance(href, str) else None
        if url and url not in found:
            mime_type = clean_text(mime, max_length=NAME_MAX) if isinstance(mime, str) else ""
            found[url] = Enclosure(url=url, type=mime_type or None, length=_length(length))
        if len(found) >= LIST_MAX:
            break
    return tuple(found.values())


def _length(value: object) -> int | None:
    """A byte count, from an int or a string of digits; None for anything else."""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            return None
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
