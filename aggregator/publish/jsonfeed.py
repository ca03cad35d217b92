"""JSON Feed 1.1 rendering (https://www.jsonfeed.org/version/1.1/): built as
plain data and serialised with the json module.

Same content and the same guarantees as the Atom and RSS documents: scrubbed
text, absolute http(s) URLs only, dates in RFC 3339 UTC, deterministic bytes.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aggregator.config import TopicConfig
from aggregator.errors import PublishError
from aggregator.models import Story
from aggregator.publish.feeds import (
    UNTITLED,
    as_utc,
    credits_html,
    feed_title,
    http_url,
    one_line,
    scrub,
    unique,
)
from aggregator.publish.layout import CURRENT, Page, links_for

VERSION = "https://jsonfeed.org/version/1.1"
_TAG = re.compile(r"<[^>]*>")


def rfc3339(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def plain_text(fragment: str) -> str:
    """HTML to one line of text (JSON Feed's summary is plain text)."""
    return one_line(html.unescape(_TAG.sub(" ", fragment)))


def render_json(
    topic: TopicConfig, stories: Sequence[Story], *, base_url: str, hub: str | None = None,
    page: Page = CURRENT,
) -> bytes:  # fmt: skip
    """The topic as a JSON Feed 1.1 document, items in the given order."""
    links = links_for(base_url, topic.slug, "json", page, hub)
    title = one_line(topic.title) or topic.slug
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed_title(topic, page),
        "home_page_url": scrub(links.html_url),
        "feed_url": scrub(links.self_url),
        "description": one_line(topic.description) or title,
        "authors": [{"name": title}],
    }
    # JSON Feed's next_url pages towards older items: the RFC 5005 prev-archive.
    if links.prev_archive:
        doc["next_url"] = scrub(links.prev_archive)
    if links.hub:
        doc["hubs"] = [{"type": "WebSub", "url": scrub(links.hub)}]
    if page.is_archive:
        # Not part of JSON Feed: RFC 5005's archive links, for clients that know them.
        history = {
            "about": "https://www.rfc-editor.org/rfc/rfc5005",
            "archive": True,
            "current": links.current,
            "prev_archive": links.prev_archive,
            "next_archive": links.next_archive,
        }
        doc["_rfc5005"] = {k: v for k, v in history.items() if v is not None}
    doc["items"] = [_item(story, topic.explain_matches) for story in stories]
    try:
        text = json.dumps(doc, ensure_ascii=False, indent=2)
        return (text + "\n").encode("utf-8")
    except (ValueError, TypeError) as exc:
        raise PublishError(topic.slug, f"cannot render json: {exc}") from exc


def _item(story: Story, explain: bool) -> dict[str, Any]:
    entry = story.entry
    item: dict[str, Any] = {"id": scrub(story.uid)}
    link = http_url(entry.link)
    if link is not None:
        item["url"] = link
    item["title"] = one_line(entry.title) or UNTITLED
    body = entry.content or entry.summary
    item["content_html"] = scrub(body + credits_html(story))
    if entry.content and entry.summary and (summary := plain_text(entry.summary)):
        item["summary"] = summary
    published = as_utc(entry.sort_date)
    item["date_published"] = rfc3339(published)
    item["date_modified"] = rfc3339(entry.updated) if entry.updated else rfc3339(published)
    authors = unique(one_line(a) for a in entry.authors)
    if authors:
        item["authors"] = [{"name": a} for a in authors]
    tags = unique(one_line(c) for c in entry.categories)
    if explain:
        # JSON Feed tags have no scheme: matched terms join the entry's own.
        have = {t.casefold() for t in tags}
        tags += [t for t in unique(one_line(m) for m in story.matched) if t.casefold() not in have]
    if tags:
        item["tags"] = tags
    attachments = []
    for enc in entry.enclosures:
        url = http_url(enc.url)
        if url is None:
            continue
        attachment: dict[str, Any] = {
            "url": url,
            "mime_type": one_line(enc.type or "") or "application/octet-stream",
        }
        if enc.length is not None and enc.length > 0:
            attachment["size_in_bytes"] = enc.length
        attachments.append(attachment)
    if attachments:
        item["attachments"] = attachments
    source: dict[str, str] = {"title": one_line(story.source_title) or one_line(entry.source_id)}
    if (home := http_url(story.source_link)) is not None:
        source["home_page_url"] = home
    item["_source"] = source
    return item
