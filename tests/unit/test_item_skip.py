"""Known items are skipped before parsing, and the result is what parsing
everything gives (ingest, parse._items)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.ingest import ingest
from aggregator.models import Ingested, KnownItem
from aggregator.parse._items import split_items, without_items
from tests.feeds import Item, atom, rss

URL = "https://alpha.example/feed.xml"
T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ITEMS = [
    Item(f"g-{n}", f"Story number {n} about the Libyan oil sector", f"https://a.example/{n}",
         T - timedelta(hours=n), f"Text of story {n}, long enough to say something.")
    for n in range(6)
]  # fmt: skip


def run(body: bytes, known: Mapping[str, KnownItem] | None = None) -> Ingested:
    return ingest(body, source_id="s", url=URL, content_type=None, known=known)


@pytest.mark.parametrize("render", [rss, atom], ids=["rss", "atom"])
def test_a_changed_document_parses_only_its_new_items(
    render: Callable[[str, str, list[Item]], bytes],
) -> None:
    first = run(render("Alpha", "https://a.example/", ITEMS[1:]))
    assert len(first.items) == 5 and not first.skipped_keys
    new = Item("g-new", "A new story on Brent prices", "https://a.example/new", T, "New text.")
    second_doc = render("Alpha (renamed)", "https://a.example/", [new, *ITEMS[1:]])
    second = run(second_doc, first.items)
    assert [e.key for e in second.entries] == ["guid:g-new"]
    assert sorted(second.skipped_keys) == [f"guid:g-{n}" for n in range(1, 6)]
    assert second.feed.title == "Alpha (renamed)"  # the frame is always parsed
    full = run(second_doc)
    assert second.entries == full.entries[:1] and second.items == full.items


def test_an_edited_item_is_parsed_again() -> None:
    first = run(rss("Alpha", "https://a.example/", ITEMS))
    edited = [
        ITEMS[0],
        Item("g-1", "Corrected title", ITEMS[1].link, ITEMS[1].published),
        *ITEMS[2:],
    ]
    second = run(rss("Alpha", "https://a.example/", edited), first.items)
    assert [(e.key, e.entry.title) for e in second.entries] == [("guid:g-1", "Corrected title")]


def test_an_unchanged_document_with_a_new_build_date_parses_no_item() -> None:
    doc = rss("Alpha", "https://a.example/", ITEMS)
    first = run(doc)
    bumped = doc.replace(b"<channel>", b"<channel><lastBuildDate>Sat, 21 Nov 2026</lastBuildDate>")
    second = run(bumped, first.items)
    assert second.entries == () and len(second.skipped_keys) == 6 and second.items == first.items


def test_a_new_item_sharing_a_skipped_items_link_means_a_full_parse() -> None:
    """Two items with one link: the link is no longer a key or a reason to join,
    which only parsing both can tell."""
    first = run(rss("Alpha", "https://a.example/", ITEMS))
    twin = Item("g-twin", "Another take", ITEMS[2].link, T, "Other words entirely here.")
    doc = rss("Alpha", "https://a.example/", [twin, *ITEMS])
    second = run(doc, first.items)
    assert second == run(doc) and len(second.entries) == 7 and not second.skipped_keys
    assert {e.canonical_url for e in second.entries if e.entry.link == ITEMS[2].link} == {None}


def test_new_items_repeating_a_skipped_items_guid_mean_a_full_parse() -> None:
    """A guid several items carry is no key for any of them, the skipped one too."""
    first = run(rss("Alpha", "https://a.example/", ITEMS))
    twins = [replace(ITEMS[2], title=f"Twin {n}", link=f"https://a.example/t{n}") for n in (1, 2)]
    doc = rss("Alpha", "https://a.example/", [*twins, *ITEMS])
    second = run(doc, first.items)
    assert second == run(doc) and not second.skipped_keys
    assert [e.key for e in second.entries][:4] == [
        "link:https://a.example/t1", "link:https://a.example/t2", "guid:g-0", "guid:g-1"
    ]  # fmt: skip


def test_items_resolve_against_the_feed_url_so_a_moved_feed_parses_again() -> None:
    first = run(rss("Alpha", "https://a.example/", ITEMS))
    moved = ingest(
        rss("Alpha", "https://a.example/", ITEMS),
        source_id="s",
        url="https://b.example/feed.xml",
        content_type=None,
        known=first.items,
    )
    assert len(moved.entries) == 6 and not moved.skipped_keys


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel><item><title>a</title><item>nested</item></item></channel></rss>",
        b"<rss><channel><item/><item><title>a</title></item></channel></rss>",
        b"<rss><channel><item><description><![CDATA[<item>x</item>]]></description></item>"
        b"</channel></rss>",
        b"<rss><channel><!-- <item> --><item><title>a</title></item></channel></rss>",
        b"<feed><entry><title>a</title></entry><item><title>b</title></item></feed>",
        b'<feed xmlns:a="http://www.w3.org/2005/Atom"><a:entry><a:title>x</a:title></a:entry></feed>',
        b"<rss><channel><title>no items</title></channel></rss>",
        b'<rss><channel><item xml:base="https://x.example/a/"><link>b</link></item>'
        b"<item><link>c</link></item></channel></rss>",
    ],
    ids=[
        "nested",
        "self-closing",
        "in-cdata",
        "in-comment",
        "mixed",
        "prefixed",
        "no-items",
        "item-base",
    ],
)
def test_layouts_that_are_not_plain_are_never_split(body: bytes) -> None:
    assert split_items(body, URL) is None


def test_cutting_items_keeps_the_rest_byte_for_byte() -> None:
    doc = rss("Alpha", "https://a.example/", ITEMS[:3])
    items = split_items(doc, URL)
    assert items is not None and len(items.spans) == 3
    cut = without_items(doc, items, frozenset(items.digests[1:2]))
    start, stop = items.spans[1]
    assert cut == doc[:start] + doc[stop:]
    # The same bytes under another namespace context are another item.
    other = split_items(
        doc.replace(b'<rss version="2.0">', b'<rss version="2.0" xmlns:x="u">'), URL
    )
    assert other is not None and set(other.digests).isdisjoint(items.digests)
