"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), which feedparser 6 cannot read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any

from aggregator.models import ParsedEntry, ParsedFeed
from aggregator.parse._fields import (
    GUID_MAX,
    NotAFeed,
    derive_title,
    enclosures,
    names,
    plausible_date,
    text_as_html,
)
from aggregator.sanitize import clean_html, clean_text, safe_url

_VERSION = re.compile(r"\Ahttps?://jsonfeed\.org/version/(\S+)\Z")
# As feedparser 6.1 names them.
_FORMATS = MappingProxyType({"1": "json1", "1.0": "json1", "1.1": "json11"})


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        # strict=False: raw control characters in strings happen; they are cleaned later.
        data = json.loads(body, strict=False)  # detects UTF-8/16/32 and a BOM by itself
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotAFeed(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise NotAFeed("a JSON document, but not a JSON Feed (not an object)")
    version = data.get("version")
    match = _VERSION.match(version) if isinstance(version, str) else None
    number = match[1] if match else version
    # Some publishers write a bare "1.1"; accept that when the items are there too.
    if not (match or (number in _FORMATS and isinstance(data.get("items"), list))):
        raise NotAFeed("a JSON document, but not a JSON Feed (no jsonfeed.org version)")
    items = _list(data, "items")
    return ParsedFeed(
        title=clean_text(_str(data, "title")),
        link=safe_url(_str(data, "home_page_url"), base_url=url),
        entries=tuple(_entry(i, url, _authors(data)) for i in items if isinstance(i, dict)),
        format=_FORMATS.get(str(number), "json"),
    )


def _entry(item: dict[str, Any], url: str, inherited: tuple[str, ...]) -> ParsedEntry:
    raw_id = item.get("id")
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # the spec says string; numbers occur in the wild
    guid = clean_text(raw_id, max_length=GUID_MAX) if isinstance(raw_id, str) else ""
    link = safe_url(_str(item, "url") or _str(item, "external_url"), base_url=url)
    base = link or url
    content_html = _str(item, "content_html")
    if content_html:
        content = clean_html(content_html, base_url=base)
    else:
        content = clean_html(text_as_html(_str(item, "content_text")), base_url=base)
    summary = clean_html(text_as_html(_str(item, "summary")), base_url=base)  # plain text
    return ParsedEntry(
        guid=guid or None,
        link=link,
        title=clean_text(_str(item, "title")) or derive_title(summary or content),
        summary=summary,
        content=content,
        authors=_authors(item) or inherited,  # top-level authors apply to every item
        categories=names(_list(item, "tags")),
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        enclosures=enclosures(
            [
                (a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
                for a in _list(item, "attachments")
                if isinstance(a, dict)
            ],
            base_url=url,
        ),
    )


def _authors(obj: dict[str, Any]) -> tuple[str, ...]:
    found = _list(obj, "authors") or [obj.get("author")]  # "author": JSON Feed 1.0
    return names(_str(a, "name") for a in found if isinstance(a, dict))


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _date(value: object) -> datetime | None:
    """RFC 3339 (as the spec says) or RFC 822 (as some publishers write) -> aware UTC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    try:  # a date without a zone is taken as UTC
        return plausible_date(parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC))
    except (ValueError, OverflowError):
        return None
