"""A deterministic generator of realistic news feeds for benchmarks.

RSS 2.0, Atom 1.0 and RSS 1.0 (RDF), a tenth in legacy encodings, 25-300 KB each.
Item text comes from Reuters-21578's held-out stories when ../shared/eval is present
(real wire copy, used only at run time) and from a fixed vocabulary otherwise.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
REUTERS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "reuters21578.jsonl.gz"
_WORDS = [
    "oil",
    "crude",
    "opec",
    "output",
    "barrels",
    "production",
    "market",
    "prices",
    "brent",
    "exports",
    "libya",
    "tripoli",
    "government",
    "minister",
    "talks",
    "ceasefire",
    "militia",
    "port",
    "terminal",
    "field",
    "pipeline",
    "refinery",
    "agreement",
    "sanctions",
    "embassy",
    "council",
    "parliament",
    "election",
    "budget",
    "bank",
    "central",
    "currency",
    "trade",
    "shipping",
    "tanker",
    "supply",
    "demand",
    "forecast",
    "quarter",
    "analysts",
    "said",
    "reported",
    "week",
    "year",
]
LEGACY = ("iso-8859-1", "windows-1252", "iso-8859-15")


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: tuple[str, ...]


def text_pool(limit: int = 6000) -> list[Story]:
    """Stories to draw item text from: real wire copy when available."""
    if REUTERS.is_file():
        stories: list[Story] = []
        with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                if row.get("split") != "heldout" or not row.get("body") or not row.get("title"):
                    continue
                paras = tuple(p.strip() for p in row["body"].split("\n    ") if p.strip())
                stories.append(Story(row["title"].title(), paras or (row["body"],)))
                if len(stories) >= limit:
                    break
        if stories:
            return stories
    rng = random.Random(7)
    return [
        Story(
            " ".join(rng.choice(_WORDS) for _ in range(8)).capitalize(),
            tuple(
                " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 60))).capitalize() + "."
                for _ in range(rng.randint(2, 8))
            ),
        )
        for _ in range(limit)
    ]


@dataclass(frozen=True)
class Item:
    guid: str
    link: str
    title: str
    summary: str
    html: str
    published: datetime


def _items(feed: int, count: int, first: int, pool: list[Story], rng: random.Random) -> list[Item]:
    items = []
    for j in range(first, first + count):
        story = pool[(feed * 131 + j * 17) % len(pool)]
        target = rng.randint(200, 3600)  # bytes of content per item: 25-300 KB feeds
        paras: list[str] = []
        size = 0
        k = 0
        while size < target:
            para = story.paragraphs[k % len(story.paragraphs)]
            paras.append(para)
            size += len(para)
            k += 1
        body = "".join(
            f"<p>{escape(p)}</p>"
            if n % 3
            else f'<p>{escape(p)} <a href="/story/{j}/{n}">more</a></p>'
            for n, p in enumerate(paras)
        )
        if j % 4 == 0:
            body += (
                f'<figure><img src="/img/{feed}/{j}.jpg" alt="photo">'
                "<figcaption>Photo</figcaption></figure>"
            )
        link = f"https://site{feed}.example/news/{j}"
        if j % 5 == 0:
            link += "?utm_source=rss&utm_medium=feed"
        items.append(
            Item(
                guid=f"https://site{feed}.example/news/{j}",
                link=link,
                title=f"{story.title} ({feed}-{j})",
                summary=paras[0][:300],
                html=body,
                published=EPOCH + timedelta(minutes=j * 37 + feed),
            )
        )
    items.reverse()  # newest first, as publishers do
    return items


def _rss(feed: int, items: list[Item], encoding: str) -> str:
    body = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f'<guid isPermaLink="true">{escape(i.guid)}</guid>'
        f"<pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape(i.summary)}</description>"
        f"<content:encoded><![CDATA[{i.html}]]></content:encoded>"
        f"<category>World</category></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Site {feed} news</title><link>https://site{feed}.example/</link>"
        f"<description>News from site {feed}</description><ttl>30</ttl>{body}</channel></rss>"
    )


def _atom(feed: int, items: list[Item], encoding: str) -> str:
    body = "".join(
        f"<entry><title>{escape(i.title)}</title><id>{escape(i.guid)}</id>"
        f'<link rel="alternate" href={quoteattr(i.link)}/>'
        f"<published>{i.published.isoformat()}</published><updated>{i.published.isoformat()}</updated>"
        f"<author><name>Staff {feed}</name></author>"
        f'<summary type="text">{escape(i.summary)}</summary>'
        f'<content type="html">{escape(i.html)}</content></entry>'
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Site {feed} news</title><id>https://site{feed}.example/</id>"
        f'<link href="https://site{feed}.example/"/><updated>{items[0].published.isoformat()}</updated>'
        f"{body}</feed>"
    )


def _rdf(feed: int, items: list[Item], encoding: str) -> str:
    seq = "".join(f"<rdf:li rdf:resource={quoteattr(i.guid)}/>" for i in items)
    body = "".join(
        f"<item rdf:about={quoteattr(i.guid)}><title>{escape(i.title)}</title>"
        f"<link>{escape(i.link)}</link><dc:date>{i.published.isoformat()}</dc:date>"
        f"<description>{escape(i.html)}</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="https://site{feed}.example/"><title>Site {feed} news</title>'
        f"<link>https://site{feed}.example/</link><description>News</description>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{body}</rdf:RDF>"
    )


def feed_document(feed: int, pool: list[Story], *, extra: int = 0) -> bytes:
    """Feed number `feed`; `extra` new items on top (a later version of it)."""
    rng = random.Random(feed)
    count = rng.randint(10, 76)
    first = 0
    items = _items(feed, count + extra, first, pool, rng)
    kind = feed % 10
    encoding = LEGACY[feed % len(LEGACY)] if kind == 9 else "utf-8"
    render = _atom if kind in (6, 7) else _rdf if kind == 8 else _rss
    text = render(feed, items, encoding)
    return text.encode(encoding, "xmlcharrefreplace")


def write_feeds(directory: Path, count: int, pool: list[Story]) -> Iterator[tuple[int, int]]:
    """Write feeds 0..count-1 as <n>.xml; yield (feed, bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    for feed in range(count):
        data = feed_document(feed, pool)
        (directory / f"{feed}.xml").write_bytes(data)
        yield feed, len(data)
