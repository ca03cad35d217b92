"""Pages for people (index.html, <slug>.html) and subscription lists
(topics.opml, sources.opml).

All are pure functions of their input, with no "generated at" stamp, so they
are only rewritten when something a reader can see has changed. Templates
autoescape: no stored or configured value is ever trusted as HTML.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from aggregator.config import FORMATS
from aggregator.models import Story
from aggregator.publish.feeds import UNTITLED, as_utc, http_url, one_line, scrub
from aggregator.publish.jsonfeed import plain_text
from aggregator.publish.layout import (
    FORMAT_NAMES,
    INDEX_FILE,
    MEDIA_TYPES,
    OPML_FILE,
    SOURCES_OPML_FILE,
    feed_url,
    page_url,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TOPIC_TEMPLATE = "topic.html"
SUMMARY_CHARS = 400


@dataclass(frozen=True)
class TopicSummary:
    """What the index shows about one topic."""

    slug: str
    title: str
    description: str
    items: int
    updated: datetime | None  # the newest story's time; None: no stories yet
    formats: tuple[str, ...] = FORMATS
    archives: int = 0


@dataclass(frozen=True)
class SourceSummary:
    """One configured source, for sources.opml."""

    id: str
    title: str
    url: str  # the feed
    home: str | None  # the publisher's site


@functools.cache  # one Environment: it keeps the compiled templates
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Titles, descriptions and item text come from config and publishers.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _when(value: datetime | None) -> dict[str, str] | None:
    if value is None:
        return None
    utc = as_utc(value)
    return {"iso": utc.isoformat(), "text": utc.strftime("%Y-%m-%d %H:%M UTC")}


def _feeds(base_url: str, slug: str, formats: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"name": FORMAT_NAMES[f], "type": MEDIA_TYPES[f], "url": scrub(feed_url(base_url, slug, f))}
        for f in formats
    ]


def render_index(
    topics: Sequence[TopicSummary], *, base_url: str, title: str = "aggregator"
) -> bytes:
    """index.html: every topic with its subscribe links, and feed autodiscovery."""
    rows = [
        {
            "title": one_line(t.title) or t.slug,
            "description": one_line(t.description),
            "count": t.items,  # not "items": Jinja would find dict.items()
            "updated": _when(t.updated),
            "page_url": scrub(page_url(base_url, t.slug)),
            "feeds": _feeds(base_url, t.slug, t.formats),
            "archives": t.archives,
        }
        for t in topics
    ]
    page = (
        _env()
        .get_template(INDEX_FILE)
        .render(
            title=one_line(title) or "aggregator",
            topics=rows,
            opml_url=scrub(base_url) + OPML_FILE,
            sources_opml_url=scrub(base_url) + SOURCES_OPML_FILE,
        )
    )
    return page.encode("utf-8")


def render_topic_page(
    topic: TopicSummary, stories: Sequence[Story], *, base_url: str, site_title: str = "aggregator"
) -> bytes:
    """<slug>.html: the topic's current items, readable in a browser."""
    items: list[dict[str, Any]] = []
    for story in stories:
        entry = story.entry
        summary = plain_text(entry.summary or entry.content)
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
        items.append(
            {
                "title": one_line(entry.title) or UNTITLED,
                "url": http_url(entry.link),
                "source": one_line(story.source_title) or one_line(entry.source_id),
                "source_url": http_url(story.source_link),
                "also": [one_line(c.source_title or c.source_id) for c in story.also],
                "date": _when(entry.sort_date),
                "summary": summary,
            }
        )
    page = (
        _env()
        .get_template(TOPIC_TEMPLATE)
        .render(
            site_title=one_line(site_title) or "aggregator",
            index_url=scrub(base_url),
            title=one_line(topic.title) or topic.slug,
            description=one_line(topic.description),
            updated=_when(topic.updated),
            count=topic.items,
            feeds=_feeds(base_url, topic.slug, topic.formats),
            items=items,
        )
    )
    return page.encode("utf-8")


def render_opml(
    topics: Sequence[TopicSummary], *, base_url: str, title: str = "aggregator"
) -> bytes:
    """topics.opml (OPML 2.0): one outline per topic, pointing at its first format."""
    outlines = []
    for topic in topics:
        name = one_line(topic.title) or topic.slug
        # Attribute order is insertion order, so the output is deterministic.
        attrs = {
            "type": "rss",  # OPML's word for any feed, Atom and JSON Feed included
            "text": name,
            "title": name,
            "xmlUrl": scrub(feed_url(base_url, topic.slug, (topic.formats or FORMATS)[0])),
            "htmlUrl": scrub(page_url(base_url, topic.slug)),
        }
        if description := one_line(topic.description):
            attrs["description"] = description
        outlines.append(attrs)
    return _opml(one_line(title) or "aggregator", outlines)


def render_sources_opml(sources: Sequence[SourceSummary], *, title: str = "aggregator") -> bytes:
    """sources.opml: every source aggregator reads, to subscribe to them directly."""
    outlines = []
    for source in sources:
        name = one_line(source.title) or source.id
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": scrub(source.url)}
        if (home := http_url(source.home)) is not None:
            attrs["htmlUrl"] = home
        outlines.append(attrs)
    return _opml(f"{one_line(title) or 'aggregator'}: sources", outlines)


def _opml(title: str, outlines: Sequence[dict[str, str]]) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for attrs in outlines:
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    # ElementTree escapes but does not refuse illegal characters: hence scrub above.
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
