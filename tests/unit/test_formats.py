"""Every format, read back by two independent parsers: the same ids, titles,
links, dates and order everywhere; valid even when stored values are hostile."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aggregator.config import TopicConfig
from aggregator.models import Credit, Enclosure, StoredEntry, Story
from aggregator.publish import render_atom, render_json, render_rss, render_topic_page, summarize
from aggregator.publish.layout import Page
from tests.formats import (
    Seen,
    atom_with_atoma,
    json_with_atoma,
    json_with_schema,
    rss_with_atoma,
    with_feedparser,
)

BASE = "https://feeds.example/"
HUB = "https://hub.example/"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOPIC = TopicConfig(slug="space", title="Space news", description="Rockets and moons")
ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"

Reader = Callable[[bytes], list[Seen]]
READERS: dict[str, tuple[Callable[..., bytes], Reader, Reader]] = {
    "atom": (render_atom, with_feedparser, atom_with_atoma),
    "rss": (render_rss, with_feedparser, rss_with_atoma),
    "json": (render_json, json_with_schema, json_with_atoma),
}


def xml(data: bytes) -> ET.Element:
    # Our own output, parsed to prove it is well-formed.
    return ET.fromstring(data)  # noqa: S314


def story(n: int, **changes: Any) -> Story:
    entry = StoredEntry(
        id=n, source_id="orbit", key=f"k{n}", story_id=n, guid=f"g{n}",
        link=f"https://news.example/{n}", canonical_url=f"https://news.example/{n}",
        title=f"Story {n}", summary=f"<p>Summary {n}</p>", content=f"<p>Body {n}</p>",
        authors=("Ann",), categories=("space",),
        enclosures=(Enclosure(f"https://cdn.example/{n}.mp3", "audio/mpeg", 1234),),
        published=T0 + timedelta(hours=n), updated=None,
        first_seen=T0 + timedelta(hours=n, minutes=5), sort_date=T0 + timedelta(hours=n),
    )  # fmt: skip
    return Story(
        uid=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        entry=dataclasses.replace(entry, **changes),
        source_title="Orbit Daily",
        source_link="https://orbit.example/",
        also=(Credit("moon", "Moon Wire", "https://moon.example/x"),),
    )


STORIES = [story(7, updated=T0 + timedelta(hours=30)), story(9), story(2, published=None)]


def expected(stories: list[Story]) -> list[Seen]:
    return [
        Seen(s.uid, s.entry.title, s.entry.link, s.entry.sort_date.replace(microsecond=0))
        for s in stories
    ]


@pytest.mark.parametrize("fmt", READERS)
def test_two_parsers_agree_on_ids_titles_links_dates_and_order(fmt: str) -> None:
    render, first, second = READERS[fmt]
    data = render(TOPIC, STORIES, base_url=BASE)
    assert first(data) == expected(STORIES)
    assert second(data) == expected(STORIES)


def test_all_formats_carry_the_same_entries() -> None:
    seen = [with_feedparser(render_atom(TOPIC, STORIES, base_url=BASE)),
            with_feedparser(render_rss(TOPIC, STORIES, base_url=BASE)),
            json_with_schema(render_json(TOPIC, STORIES, base_url=BASE))]  # fmt: skip
    assert seen[0] == seen[1] == seen[2]


@pytest.mark.parametrize("fmt", READERS)
def test_rerender_is_byte_identical(fmt: str) -> None:
    render = READERS[fmt][0]
    assert render(TOPIC, STORIES, base_url=BASE, hub=HUB) == render(
        TOPIC, list(STORIES), base_url=BASE, hub=HUB
    )


def test_json_feed_item_fields() -> None:
    doc = json.loads(render_json(TOPIC, STORIES, base_url=BASE, hub=HUB))
    assert doc["feed_url"] == "https://feeds.example/space.json"
    assert doc["home_page_url"] == "https://feeds.example/space.html"
    assert doc["hubs"] == [{"type": "WebSub", "url": HUB}]
    item = doc["items"][0]
    assert item["date_published"] == "2024-05-01T19:00:00Z"
    assert item["date_modified"] == "2024-05-02T18:00:00Z"
    assert item["summary"] == "Summary 7"  # plain text in JSON Feed
    assert item["content_html"].startswith("<p>Body 7</p><p>Via: ")
    assert "Moon Wire" in item["content_html"]
    assert item["authors"] == [{"name": "Ann"}]
    assert item["tags"] == ["space"]
    assert item["attachments"] == [
        {"url": "https://cdn.example/7.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1234}
    ]
    assert item["_source"] == {"title": "Orbit Daily", "home_page_url": "https://orbit.example/"}


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_hub_and_self_links_in_xml_formats(render: Callable[..., bytes]) -> None:
    root = xml(render(TOPIC, STORIES, base_url=BASE, hub=HUB))
    links = {(x.get("rel"), x.get("href")) for x in root.iter(f"{ATOM}link")}
    ext = "atom" if render is render_atom else "rss"
    assert ("hub", HUB) in links
    assert ("self", f"https://feeds.example/space.{ext}") in links
    # Without a hub, no hub link.
    plain = xml(render(TOPIC, STORIES, base_url=BASE))
    assert "hub" not in {x.get("rel") for x in plain.iter(f"{ATOM}link")}


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_archive_documents_carry_rfc5005_links_and_marker(render: Callable[..., bytes]) -> None:
    ext = "atom" if render is render_atom else "rss"
    root = xml(render(TOPIC, STORIES, base_url=BASE, hub=HUB, page=Page(number=3)))
    links = {x.get("rel"): x.get("href") for x in root.iter(f"{ATOM}link")}
    assert links["self"] == f"https://feeds.example/space/archive/3.{ext}"
    assert links["current"] == f"https://feeds.example/space.{ext}"
    assert links["prev-archive"] == f"https://feeds.example/space/archive/2.{ext}"
    assert links["next-archive"] == f"https://feeds.example/space/archive/4.{ext}"
    assert "hub" not in links  # archives never change: nothing to push
    assert len(list(root.iter(f"{FH}archive"))) == 1
    current = xml(render(TOPIC, STORIES, base_url=BASE, page=Page(archives=3)))
    links = {x.get("rel"): x.get("href") for x in current.iter(f"{ATOM}link")}
    assert links["prev-archive"] == f"https://feeds.example/space/archive/3.{ext}"
    assert not list(current.iter(f"{FH}archive"))


def test_first_archive_has_no_prev_archive_and_json_pages_with_next_url() -> None:
    first = json.loads(render_json(TOPIC, STORIES, base_url=BASE, page=Page(number=1)))
    assert "next_url" not in first
    assert first["_rfc5005"]["next_archive"] == "https://feeds.example/space/archive/2.json"
    current = json.loads(render_json(TOPIC, STORIES, base_url=BASE, page=Page(archives=1)))
    assert current["next_url"] == "https://feeds.example/space/archive/1.json"


# ---------------------------------------------------------------- hostile values

ILLEGAL = "\x00\x01\x08\x0b\x0c\x1f\ufffe\uffff\ud800\udfff"
HUGE = "x" * (10 * 1024 * 1024)
HOSTILE = [
    story(1, title=f"ctl{ILLEGAL}chars", summary=f"<p>s{ILLEGAL}</p>", content=f"c{ILLEGAL}",
          authors=(f"A{ILLEGAL}",), categories=(f"c{ILLEGAL}",)),
    story(2, title="close ]]> cdata <![CDATA[ x ]]>", content="<p>]]></p>"),
    story(3, title="", summary="", content=""),
    story(4, link="/relative/path", enclosures=(Enclosure("//protocol-relative.example/x.mp3"),)),
    story(5, link="javascript:alert(1)",
          enclosures=(Enclosure("data:text/html,<script>alert(1)</script>", "text/html"),)),
    story(6, content=HUGE, title="huge"),
    story(8, guid=None, link=None, title="\ud83d lone high surrogate"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", READERS)
def test_hostile_stored_values_still_yield_valid_documents(fmt: str) -> None:
    render, first, second = READERS[fmt]
    data = render(TOPIC, HOSTILE, base_url=BASE)
    data.decode("utf-8")  # valid UTF-8: no surrogate survived
    for read in (first, second):
        seen = read(data)
        assert [s.id for s in seen] == [s.uid for s in HOSTILE]
        titles = [s.title for s in seen]
        assert titles[0] == "ctlchars"
        assert titles[1] == "close ]]> cdata <![CDATA[ x ]]>"
        assert titles[2] == "(untitled)"
        assert titles[6] == "lone high surrogate"
        # Only absolute http(s) links survive. (feedparser offers an Atom
        # entry's id as its link when it has none.)
        assert all(s.link in (None, s.id) for s in seen[3:5])
    for bad in (b"javascript:", b"data:text/html", b"/relative/path", b"protocol-relative.example"):
        assert bad not in data
    assert HUGE.encode() in data  # long text is kept, not truncated


def test_topic_page_is_readable_and_escaped() -> None:
    evil = story(1, title="<script>alert(1)</script>", summary="<b>bold</b> &amp; more",
                 link="javascript:alert(1)")  # fmt: skip
    page = render_topic_page(summarize(TOPIC, [evil, story(2)]), [evil, story(2)],
                             base_url=BASE).decode()  # fmt: skip
    assert "<script>" not in page and "javascript:" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "bold &amp; more" in page  # the summary as text
    assert '<a href="https://news.example/2">Story 2</a>' in page
    assert '<a href="https://orbit.example/">Orbit Daily</a>' in page
    assert "(also: Moon Wire)" in page
    assert '<time datetime="2024-05-01T14:00:00+00:00">2024-05-01 14:00 UTC</time>' in page
    assert 'type="application/feed+json" title="Space news (JSON Feed)"' in page
