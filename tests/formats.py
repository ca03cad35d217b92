"""Read published documents back with two independent parsers each.

feedparser is what most readers use; atoma is a strict second opinion for
Atom and RSS; JSON Feed is checked against a JSON Schema of version 1.1 and
read by atoma's JSON Feed reader.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import atoma
import feedparser
import jsonschema

# The parts of JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) we rely on.
_URL = {"type": "string", "pattern": "^https?://"}
_AUTHORS = {"type": "array", "items": {"type": "object", "required": ["name"]}}
JSON_FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string", "minLength": 1},
        "home_page_url": _URL,
        "feed_url": _URL,
        "next_url": _URL,
        "description": {"type": "string"},
        "authors": _AUTHORS,
        "hubs": {
            "type": "array",
            "items": {"type": "object", "required": ["type", "url"],
                      "properties": {"url": _URL}},
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "url": _URL,
                    "title": {"type": "string"},
                    "content_html": {"type": "string"},
                    "summary": {"type": "string"},
                    "date_published": {"type": "string", "format": "date-time"},
                    "date_modified": {"type": "string", "format": "date-time"},
                    "authors": _AUTHORS,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["url", "mime_type"],
                            "properties": {"url": _URL, "size_in_bytes": {"type": "integer"}},
                        },
                    },
                },
            },
        },
    },
}  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """What a parser saw of one entry."""

    id: str
    title: str
    link: str | None
    published: datetime


def _ts(parsed: Any) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC)


def with_feedparser(data: bytes) -> list[Seen]:
    result = feedparser.parse(data)
    assert not result.bozo, result.get("bozo_exception")
    return [Seen(e.id, e.title, e.get("link"), _ts(e.published_parsed)) for e in result.entries]


def atom_with_atoma(data: bytes) -> list[Seen]:
    feed = atoma.parse_atom_bytes(data)
    out = []
    for e in feed.entries:
        link = next((x.href for x in e.links if x.rel in (None, "alternate")), None)
        out.append(Seen(e.id_, e.title.value, link, _aware(e.published)))
    return out


def rss_with_atoma(data: bytes) -> list[Seen]:
    channel = atoma.parse_rss_bytes(data)
    return [Seen(i.guid, i.title, i.link, _aware(i.pub_date)) for i in channel.items]


def json_with_schema(data: bytes) -> list[Seen]:
    doc = json.loads(data)
    jsonschema.validate(doc, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [
        Seen(i["id"], i["title"], i.get("url"), datetime.fromisoformat(i["date_published"]))
        for i in doc["items"]
    ]


def json_with_atoma(data: bytes) -> list[Seen]:
    feed = atoma.parse_json_feed_bytes(data)
    # atoma (dateutil) labels a "Z" time as local time: the wall time is the UTC one.
    return [Seen(i.id_, i.title, i.url, i.date_published.replace(tzinfo=UTC)) for i in feed.items]
