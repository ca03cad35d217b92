"""Small feed documents written for these tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    published: datetime
    summary: str = ""


def rss(title: str, home: str, items: list[Item]) -> bytes:
    body = "".join(
        f'<item><guid isPermaLink="false">{escape(i.guid)}</guid>'
        f"<title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f"<pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape(i.summary)}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(home)}</link>"
        f"<description>{escape(title)}</description>{body}</channel></rss>"
    ).encode()


def atom(title: str, home: str, items: list[Item]) -> bytes:
    body = "".join(
        f"<entry><id>{escape(i.guid)}</id><title>{escape(i.title)}</title>"
        f'<link rel="alternate" href="{escape(i.link)}"/>'
        f"<updated>{i.published.isoformat()}</updated>"
        f'<summary type="html">{escape(i.summary)}</summary></entry>'
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>{escape(title)}</title><id>{escape(home)}</id><link href="{escape(home)}"/>'
        f"<updated>2026-11-01T00:00:00Z</updated>{body}</feed>"
    ).encode()
