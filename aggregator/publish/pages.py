"""The index page (index.html) and the subscription list (topics.opml).

Both are pure functions of the topic summaries, with no "generated at" stamp,
so they are only rewritten when something a reader can see has changed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from aggregator.publish.feeds import as_utc, feed_url, one_line, scrub

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INDEX_FILE = "index.html"
OPML_FILE = "topics.opml"


@dataclass(frozen=True)
class TopicSummary:
    """What the index shows about one topic."""

    slug: str
    title: str
    description: str
    items: int
    updated: datetime | None  # the newest story's time; None: no stories yet


def render_index(
    topics: Sequence[TopicSummary], *, base_url: str, title: str = "aggregator"
) -> bytes:
    """index.html: every topic with its subscribe links, and feed autodiscovery."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Topic titles and descriptions come from config; never trust them as HTML.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    rows = [
        {
            "title": one_line(t.title) or t.slug,
            "description": one_line(t.description),
            "count": t.items,  # not "items": Jinja would find dict.items()
            "updated_iso": as_utc(t.updated).isoformat() if t.updated else None,
            "updated_text": as_utc(t.updated).strftime("%Y-%m-%d %H:%M UTC") if t.updated else None,
            "atom_url": scrub(feed_url(base_url, t.slug, "atom")),
            "rss_url": scrub(feed_url(base_url, t.slug, "rss")),
        }
        for t in topics
    ]
    page = env.get_template(INDEX_FILE).render(
        title=one_line(title) or "aggregator",
        topics=rows,
        opml_url=scrub(base_url) + OPML_FILE,
    )
    return page.encode("utf-8")


def render_opml(
    topics: Sequence[TopicSummary], *, base_url: str, title: str = "aggregator"
) -> bytes:
    """topics.opml (OPML 2.0): one outline per topic, pointing at its Atom feed."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = one_line(title) or "aggregator"
    body = ET.SubElement(root, "body")
    for topic in topics:
        name = one_line(topic.title) or topic.slug
        # Attribute order is insertion order, so the output is deterministic.
        attrs = {
            "type": "rss",  # OPML's word for any feed, Atom included
            "text": name,
            "title": name,
            "xmlUrl": scrub(feed_url(base_url, topic.slug, "atom")),
            "htmlUrl": scrub(base_url),
        }
        if description := one_line(topic.description):
            attrs["description"] = description
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    # ElementTree escapes but does not refuse illegal characters: hence scrub above.
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
