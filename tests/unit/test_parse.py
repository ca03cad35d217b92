"""parse_feed: bytes in, plain cleaned dataclasses out, ParseError for what is not a feed."""

from __future__ import annotations

import codecs
import gzip
import pickle
from datetime import UTC, datetime

import pytest

from aggregator.errors import ParseError
from aggregator.models import Enclosure, ParsedFeed
from aggregator.parse import parse_feed
from tests.conftest import DATA

URL = "https://feeds.example/blog/rss"
FEEDS = DATA / "feeds"


def parse(body: bytes, url: str = URL, content_type: str | None = None) -> ParsedFeed:
    return parse_feed(body, source_id="src", url=url, content_type=content_type)


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def rss(items: str, channel: str = "<title>T</title>") -> bytes:
    return f'<rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


# ---- the formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "title", "first_title"),
    [
        ("rss091.xml", "rss091n", "Old School", "Café opens"),
        ("rss10.rdf", "rss10", "RDF Site", "First RDF item"),
        ("rss20.xml", "rss20", "Example & Co", "Post seventeen"),
        ("atom03.xml", "atom03", "Atom Zero Three", "An 0.3 entry"),
        ("atom10.xml", "atom10", "Atom One", "Ship v2 & celebrate"),
        ("jsonfeed11.json", "json11", "JSON Example", "First JSON item"),
    ],
)
def test_formats(name: str, fmt: str, title: str, first_title: str) -> None:
    feed = parse(fixture(name))
    assert (feed.format, feed.title, feed.entries[0].title) == (fmt, title, first_title)
    assert feed.warning is None


def test_rss091_legacy_charset() -> None:
    entry = parse(fixture("rss091.xml")).entries[0]
    assert entry.link == "http://old.example/cafe"
    assert entry.summary == "A new café <b>opened</b> today."
    assert entry.guid is None


def test_rss10() -> None:
    entry = parse(fixture("rss10.rdf")).entries[0]
    assert entry.guid == entry.link == "http://rdf.example/one"
    assert entry.authors == ("Ada Lovelace",)
    assert entry.categories == ("history",)
    assert entry.updated == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)  # dc:date, +01:00


def test_rss20_entry() -> None:
    feed = parse(fixture("rss20.xml"))
    assert feed.link == "https://feeds.example/"  # relative <link> resolved against the URL
    entry = feed.entries[0]
    assert entry.guid == "post-17"
    assert entry.link == "https://feeds.example/posts/17"
    assert entry.published == datetime(2024, 6, 4, 8, 30, tzinfo=UTC)  # +0200 -> UTC
    assert entry.updated is None
    assert entry.authors == ("Jane Editor",)
    assert entry.categories == ("News", "Science")  # "news" is the same category
    assert entry.enclosures == (Enclosure("http://cdn.example/17.mp3", "audio/mpeg", 12345),)
    # summary: relative link resolved, script gone; content: handlers and javascript: gone,
    # relative image resolved against the entry's link.
    assert entry.summary == (
        '<p>Summary with <a href="https://feeds.example/about" '
        'rel="noopener noreferrer nofollow">a relative link</a></p>'
    )
    assert entry.content == (
        '<p>Full <em>text</em> <img src="https://feeds.example/posts/img/17.png"> '
        '<a rel="noopener noreferrer nofollow">bad</a></p>'
    )


def test_rss20_permalink_guid_untitled_entry_and_hostile_link() -> None:
    _, permalink, hostile = parse(fixture("rss20.xml")).entries
    assert permalink.guid == permalink.link == "https://www.example.com/permalink/18"
    assert permalink.title.startswith("This entry has no title, so one is derived")
    assert permalink.title.endswith("…") and len(permalink.title) <= 81
    assert hostile.link is None  # javascript: link dropped
    assert hostile.title == "Bold claims & more"  # an HTML title becomes text
    assert hostile.published is None  # "not a date"


def test_atom10_entry() -> None:
    feed = parse(fixture("atom10.xml"))
    assert feed.link == "https://atom.example/blog/"  # xml:base applied
    first, second = feed.entries
    assert first.link == "https://atom.example/blog/2024/06/ship-v2"
    assert first.published == datetime(2024, 6, 4, 8, 30, tzinfo=UTC)
    assert first.updated == datetime(2024, 6, 5, 7, 15, tzinfo=UTC)  # -07:00 -> UTC
    assert first.summary == "Plain &lt;summary&gt; text"  # type="text" is escaped
    assert first.content == (
        '<p>See <a href="https://atom.example/blog/notes" rel="noopener noreferrer nofollow">'
        'the notes</a> and <img src="https://atom.example/logo.png" alt="logo"></p>'
    )
    assert first.categories == ("release",)
    assert first.authors == ("Feed Author",)  # inherited from the feed
    assert first.enclosures == (
        Enclosure("https://atom.example/blog/media/talk.mp4", "video/mp4", None),
    )
    assert second.authors == ("Guest Writer",)
    assert second.link is None  # no link, and its id is not a URL
    assert second.summary == second.content == "<p>Same text</p>"


def test_atom03_dates() -> None:
    entry = parse(fixture("atom03.xml")).entries[0]
    assert entry.published == datetime(2004, 1, 2, 14, 0, tzinfo=UTC)  # issued, -05:00
    assert entry.updated == datetime(2004, 1, 2, 15, 0, tzinfo=UTC)
    assert entry.authors == ("Mark",)


def test_json_feed() -> None:
    feed = parse(fixture("jsonfeed11.json"))
    assert feed.link == "https://json.example/"
    first, second = feed.entries
    assert first.guid == "item-1"
    assert first.link == "https://feeds.example/2024/item-1"
    assert first.content == (
        '<p>Hello <a href="https://feeds.example/2024/other" '
        'rel="noopener noreferrer nofollow">relative</a></p>'
    )
    assert first.summary == "A &lt;plain&gt; summary"  # JSON Feed summaries are text
    assert first.published == datetime(2024, 6, 4, 8, 30, tzinfo=UTC)
    assert first.updated == datetime(2024, 6, 4, 9, 0, tzinfo=UTC)
    assert first.authors == ("Item Author",)
    assert first.categories == ("json", "feeds")
    assert first.enclosures == (Enclosure("https://json.example/a.mp3", "audio/mpeg", 42),)
    assert second.guid == "2"  # a number in the wild
    assert second.content == "Text only<br>\nsecond line &amp; more"
    assert second.title == "Text only second line & more"
    assert second.authors == ("Feed Owner",)
    assert second.published is None


def test_json_feed_10_author_and_bare_version() -> None:
    body = (
        b'{"version": "1", "title": "Old JSON", "items": [{"id": "a", "title": "A",'
        b' "author": {"name": "Solo"}, "date_published": "Tue, 04 Jun 2024 10:30:00 +0200"}]}'
    )
    feed = parse(body, content_type="application/json")
    assert feed.format == "json1"
    assert feed.entries[0].authors == ("Solo",)
    assert feed.entries[0].published == datetime(2024, 6, 4, 8, 30, tzinfo=UTC)


def test_well_formed_feed_without_entries_is_not_an_error() -> None:
    feed = parse(rss("", "<title>Quiet</title><link>https://quiet.example/</link>"))
    assert (feed.title, feed.link, feed.entries) == ("Quiet", "https://quiet.example/", ())
    empty_atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title></feed>'
    assert parse(empty_atom).entries == ()
    empty_json = b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}'
    assert parse(empty_json).entries == ()


def test_recovered_problem_becomes_a_warning() -> None:
    feed = parse(rss("<item><title>Kept</title><description>a & b</description></item>"))
    assert feed.entries[0].title == "Kept"
    assert feed.warning is not None and "not well-formed" in feed.warning


def test_http_charset_is_honoured() -> None:
    # No XML declaration: only the HTTP header says this is not UTF-8.
    raw = '<rss version="2.0"><channel><item><title>Grüße</title></item></channel></rss>'.encode(
        "iso-8859-1"
    )
    feed = parse(raw, content_type="application/rss+xml; charset=iso-8859-1")
    assert feed.entries[0].title == "Grüße"


def test_utf16_document() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?>' + rss("<item><title>Ünï</title></item>").decode()
    )
    assert parse(text.encode("utf-16")).entries[0].title == "Ünï"
    assert parse(text.encode("utf-16-be")).entries[0].title == "Ünï"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_json_feed_with_a_byte_order_mark(codec: str) -> None:
    text = (
        '\n {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "Ünï"}]}'
    )
    body = text.encode(codec)
    if codec == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body  # (the -be codec writes no mark)
    assert parse(body).entries[0].title == "Ünï"


# ---- identity: the raw guid -----------------------------------------------------------


def test_raw_guid_survives_a_feed_move() -> None:
    body = rss("<item><title>P</title><guid>post-17</guid><link>posts/17</link></item>")
    old = parse(body, url="http://old.example/feed").entries[0]
    new = parse(body, url="https://new.example/rss/").entries[0]
    assert old.guid == new.guid == "post-17"  # feedparser alone would give two URLs
    assert old.link == "http://old.example/posts/17"
    assert new.link == "https://new.example/rss/posts/17"


def test_relative_guid_is_not_taken_for_a_link() -> None:
    entry = parse(rss("<item><title>P</title><guid>post-17</guid></item>")).entries[0]
    assert (entry.guid, entry.link) == ("post-17", None)


def test_guid_whitespace_is_trimmed() -> None:
    entry = parse(rss("<item><guid isPermaLink='false'>\n  abc-1\n</guid></item>")).entries[0]
    assert entry.guid == "abc-1"


# ---- not a feed -----------------------------------------------------------------------


def test_html_page_names_the_feeds_it_links_to() -> None:
    with pytest.raises(ParseError) as caught:
        parse(fixture("page.html"), url="https://blog.example/", content_type="text/html")
    error = caught.value
    assert (error.source_id, error.url) == ("src", "https://blog.example/")
    assert "HTML page" in error.detail
    assert "https://blog.example/feed.xml" in error.detail
    assert "https://blog.example/atom.xml" in error.detail
    assert "javascript" not in error.detail


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>Hi</title></head><body>nothing</body></html>",
        b"<!doctype html><html><![ x ]]><link rel=alternate type=application/rss+xml href=''>",
        b"<head><title>Document Moved</title></head><body>Object moved</body>",
    ],
)
def test_html_page_without_feed_links(page: bytes) -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse(page)


def test_feed_link_discovery_details() -> None:
    page = (
        b"<!DOCTYPE html><html><head><base href='https://cdn.example/site/'>"
        b"<LINK REL='Alternate feed' TYPE='application/atom+xml; charset=utf-8'"
        b" HREF=a.xml?x=1&amp;y=2>"
        b'<link rel="alternate" type="application/feed+json" href="/feed.json">'
        b'<link rel="alternate" type="text/html" href="/other.html"></head></html>'
    )
    with pytest.raises(ParseError) as caught:
        parse(page)
    assert caught.value.detail.endswith(
        "https://cdn.example/site/a.xml?x=1&y=2, https://cdn.example/feed.json"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \r\n\t ",
        b"\xef\xbb\xbf",
        bytes(range(256)) * 40,  # binary junk
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"\x1f\x8b" + b"not really gzip",
        gzip.compress(b"\x00\x01\x02 binary inside gzip"),
        b"just some text, no markup",
        b"<note><to>Tove</to><body>XML, but no feed</body></note>",
        b'{"some": "json"}',
        b'{"version": "2.0", "items": []}',
        b"[1, 2, 3]",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',  # truncated
        b"[" * 100_000 + b"]" * 100_000,  # json.loads recursion
        b'{"n": ' + b"9" * 10_000 + b"}",  # int digits limit
        b'<rss version="2.0"><channel><title>truncat',  # broken and nothing in it
    ],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)


def test_parse_error_keeps_feedparser_cause() -> None:
    with pytest.raises(ParseError) as caught:
        parse(b'{"broken": ')
    assert isinstance(caught.value.__cause__, ValueError)


def test_parse_error_survives_a_process_boundary() -> None:
    with pytest.raises(ParseError) as caught:
        parse(b"")
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert (copy.source_id, copy.url, copy.detail) == ("src", URL, caught.value.detail)


def test_parsed_feed_survives_a_process_boundary() -> None:
    feed = parse(fixture("rss20.xml"))
    assert pickle.loads(pickle.dumps(feed)) == feed  # noqa: S301 (our own bytes)
