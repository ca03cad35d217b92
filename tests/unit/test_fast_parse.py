"""The fast parse path on the constructs where feedparser's semantics are easy to miss.

Each document either goes through the fast path and comes out exactly as feedparser's
path makes it, or is left to feedparser (and parse_feed still gives feedparser's
result). The wider differential test is tests/integration/test_fast_parse.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from feedparser.mixin import _FeedParserMixin

from aggregator.models import Enclosure, ParsedFeed
from aggregator.parse import _fast, fast_path_result, parse_feed

URL = "https://feeds.example/blog/rss"
ATOM = "http://www.w3.org/2005/Atom"


def rss(items: str, channel: str = "<title>T</title>", ns: str = "") -> bytes:
    return f'<rss version="2.0"{ns}><channel>{channel}{items}</channel></rss>'.encode()


def atom(entries: str, head: str = "<title>T</title>") -> bytes:
    return f'<feed xmlns="{ATOM}">{head}{entries}</feed>'.encode()


def both(body: bytes) -> ParsedFeed:
    """The fast path's result, checked equal to the feedparser path's."""
    fast = fast_path_result(body, url=URL)
    assert fast is not None, "the fast path declined"
    assert fast == parse_feed(body, source_id="s", url=URL, fast=False)
    assert fast == parse_feed(body, source_id="s", url=URL)
    return fast


def declined(body: bytes) -> ParsedFeed:
    assert fast_path_result(body, url=URL) is None
    feed = parse_feed(body, source_id="s", url=URL)
    assert feed == parse_feed(body, source_id="s", url=URL, fast=False)
    return feed


def test_cdata_and_entity_escaped_html_in_rss_description() -> None:
    feed = both(
        rss(
            "<item><guid>a</guid><description><![CDATA[<p>One <b>bold</b></p>]]></description>"
            "</item><item><guid>b</guid><description>&lt;p&gt;Two &amp;amp; "
            "&lt;i&gt;it&lt;/i&gt;&lt;/p&gt;</description></item>"
        )
    )
    assert feed.entries[0].summary == "<p>One <b>bold</b></p>"
    assert feed.entries[1].summary == "<p>Two &amp; <i>it</i></p>"


def test_titles_with_markup_are_text() -> None:
    feed = both(
        rss("<item><guid>a</guid><title>Ship &lt;code&gt;v2&lt;/code&gt; now</title></item>")
    )
    assert feed.entries[0].title == "Ship v2 now"
    feed = both(atom('<entry><id>x</id><title type="html">A &lt;b&gt;B&lt;/b&gt;</title></entry>'))
    assert feed.entries[0].title == "A B"


def test_relative_links_resolve_against_the_feed_url() -> None:
    feed = both(
        rss(
            "<item><guid>a</guid><link>/posts/1</link>"
            '<description>&lt;a href="../x"&gt;x&lt;/a&gt;</description></item>'
        )
    )
    assert feed.entries[0].link == "https://feeds.example/posts/1"
    assert 'href="https://feeds.example/x"' in feed.entries[0].summary


def test_xml_base_is_followed_as_feedparser_follows_it() -> None:
    feed = both(
        atom(
            '<entry xml:base="https://other.example/a/"><id>x</id>'
            '<link href="post"/><content type="html">&lt;img src="i.png"&gt;</content></entry>'
        )
    )
    assert feed.entries[0].link == "https://other.example/a/post"
    assert 'src="https://other.example/a/i.png"' in feed.entries[0].content


def test_xhtml_content_is_left_to_feedparser() -> None:
    feed = declined(
        atom(
            '<entry><id>x</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            "<p>Hi <b>there</b></p></div></content></entry>"
        )
    )
    assert feed.entries[0].content == "<p>Hi <b>there</b></p>"


def test_missing_guid_and_guid_is_link_semantics() -> None:
    feed = both(
        rss(
            "<item><title>no guid</title><link>https://a.example/1</link></item>"
            "<item><guid>https://a.example/2</guid></item>"
            '<item><guid isPermaLink="false">https://a.example/3</guid></item>'
            "<item><guid>post-4</guid></item>"
            "<item><guid>https://a.example/5</guid><link>https://a.example/five</link></item>"
        )
    )
    first, permalink, not_permalink, relative, with_link = feed.entries
    assert (first.guid, first.link) == (None, "https://a.example/1")
    assert (permalink.guid, permalink.link) == ("https://a.example/2", "https://a.example/2")
    assert (not_permalink.guid, not_permalink.link) == ("https://a.example/3", None)
    assert (relative.guid, relative.link) == ("post-4", None)  # not made absolute
    assert with_link.link == "https://a.example/five"


def test_enclosures_and_multiple_authors_and_categories() -> None:
    feed = both(
        atom(
            "<entry><id>x</id><author><name>Ann</name></author>"
            "<author><email>bob@b.example</email></author>"
            '<category term="a"/><category term="b" label="Bee"/>'
            '<link rel="enclosure" href="/m.mp3" type="audio/mpeg" length="42"/></entry>',
            head="<title>T</title><author><name>Feed Author</name></author>",
        )
    )
    entry = feed.entries[0]
    # feedparser keeps the name-less second author out of `authors`: so do we.
    assert entry.authors == ("Ann",)
    assert entry.categories == ("a", "b")
    assert entry.enclosures == (Enclosure("https://feeds.example/m.mp3", "audio/mpeg", 42),)
    feed = both(
        rss(
            '<item><guid>a</guid><enclosure url="https://m.example/a.mp3" length="7" '
            'type="audio/mpeg"/><author>joe@example.com (Joe)</author><category>x</category>'
            "<category>y</category></item>"
        )
    )
    assert feed.entries[0].enclosures == (Enclosure("https://m.example/a.mp3", "audio/mpeg", 7),)
    assert feed.entries[0].authors == ("Joe",)
    assert feed.entries[0].categories == ("x", "y")


MEDIA = ' xmlns:media="http://search.yahoo.com/mrss/"'


def test_media_rss_content_becomes_enclosures_on_both_paths() -> None:
    feed = both(
        rss(
            # A podcast: the group's default file first, the artwork image last.
            '<item><guid>ep</guid><media:content url="/art.png" medium="image"/>'
            '<media:content url="https://m.example/ep.ogg" type="audio/ogg" fileSize="9"/>'
            '<media:group><media:content url="https://m.example/ep.mp3" type="audio/mpeg" '
            'isDefault="true" fileSize="12"/>'
            '<media:content url="https://m.example/ep.ogg" type="audio/ogg"/></media:group>'
            "</item>"
            # A news article: one picture, the widest, its type from its file name.
            '<item><guid>news</guid><media:content url="https://i.example/p.jpg?w=140" '
            'width="140"/><media:content url="https://i.example/p.jpg?w=460" width="460"/>'
            '<media:content width="300" url="https://i.example/p.jpg?w=300"/></item>'
            # Enclosure elements win: media:content is not added to them.
            '<item><guid>enc</guid><enclosure url="https://m.example/a.mp3" '
            'type="audio/mpeg" length="7"/>'
            '<media:content url="https://m.example/b.mp3" type="audio/mpeg"/></item>'
            # No URL worth keeping: nothing.
            '<item><guid>none</guid><media:content url="javascript:x()"/><media:content/>'
            "</item>",
            ns=MEDIA,
        )
    )
    podcast, news, enclosed, none = (e.enclosures for e in feed.entries)
    assert podcast == (
        Enclosure("https://m.example/ep.mp3", "audio/mpeg", 12),
        Enclosure("https://m.example/ep.ogg", "audio/ogg", 9),
        Enclosure("https://feeds.example/art.png", "image/png", None),
    )
    assert news == (Enclosure("https://i.example/p.jpg?w=460", "image/jpeg", None),)
    assert enclosed == (Enclosure("https://m.example/a.mp3", "audio/mpeg", 7),)
    assert none == ()


def test_media_group_of_an_atom_video_feed() -> None:
    feed = both(
        atom(
            f"<entry{MEDIA}><id>yt:video:1</id><title>V</title><media:group>"
            '<media:content url="https://video.example/v/1" type="application/x-shockwave-flash"'
            ' width="640"/><media:content url="https://video.example/1.mp4" medium="video"/>'
            '<media:thumbnail url="https://i.example/1.jpg"/></media:group></entry>'
        )
    )
    assert feed.entries[0].enclosures == (
        Enclosure("https://video.example/v/1", "application/x-shockwave-flash", None),
        Enclosure("https://video.example/1.mp4", "video/mp4", None),
    )


def test_dc_date_and_creator() -> None:
    dc = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    feed = both(
        rss(
            "<item><guid>a</guid><dc:date>2024-06-04T10:30:00+02:00</dc:date>"
            "<dc:creator>Ann</dc:creator></item>",
            ns=dc,
        )
    )
    entry = feed.entries[0]
    assert entry.updated == datetime(2024, 6, 4, 8, 30, tzinfo=UTC)
    assert entry.published is None  # dc:date is an update time to feedparser
    assert entry.authors == ("Ann",)


def test_content_encoded_and_description_in_either_order() -> None:
    ns = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    for item in (
        "<item><guid>a</guid><description>short</description>"
        "<content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded></item>",
        "<item><guid>a</guid><content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded>"
        "<description>short</description></item>",
    ):
        entry = both(rss(item, ns=ns)).entries[0]
        assert (entry.summary, entry.content) == ("short", "<p>long</p>")


def test_second_description_becomes_content_as_in_feedparser() -> None:
    entry = both(
        rss(
            "<item><guid>a</guid><description>one</description>"
            "<description>two</description></item>"
        )
    ).entries[0]
    assert (entry.summary, entry.content) == ("one", "two")


def test_windows_1252_c1_codes_and_double_encoded_utf8_are_repaired_alike() -> None:
    # U+0093/U+0094 are what a windows-1252 quote looks like misread as ISO-8859-1;
    # "Ã©" is UTF-8 read as ISO-8859-1. feedparser repairs both.
    quoted, doubled = both(
        rss(
            "<item><guid>a</guid><title>\u0093q\u0094</title></item>"
            "<item><guid>b</guid><title>caf\u00c3\u00a9</title></item>"
        )
    ).entries
    assert (quoted.title, doubled.title) == ("\u201cq\u201d", "caf\u00e9")


def test_what_the_fast_path_leaves_to_feedparser() -> None:
    declined(b'<rss version="2.0"><channel><title>T</title><item><title>a &nbsp; b</title>')
    declined(
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"><channel>'
        b"<title>&a;</title></channel></rss>"
    )
    declined(
        rss(
            "<item><guid>a</guid><georss:point>1 2</georss:point></item>",
            ns=' xmlns:georss="http://www.georss.org/georss"',
        )
    )
    assert fast_path_result(b"<html><body>not a feed</body></html>", url=URL) is None


def test_every_ported_handler_is_one_feedparser_has() -> None:
    # A port of a handler feedparser does not have (or a typo) would silently diverge.
    for name in _fast.HANDLED:
        assert hasattr(_FeedParserMixin, f"_start_{name}") or hasattr(
            _FeedParserMixin, f"_end_{name}"
        ), name
    for name, table, kind in [(n, _fast._START, "_start_") for n in _fast._START] + [
        (n, _fast._END, "_end_") for n in _fast._END
    ]:
        assert name in table and hasattr(_FeedParserMixin, kind + name), (kind, name)
    # And the other way: a start or end handler feedparser has for a ported name is ported.
    for name in _fast.HANDLED:
        for kind, table in (("_start_", _fast._START), ("_end_", _fast._END)):
            if hasattr(_FeedParserMixin, kind + name):
                assert name in table, (kind, name)


@pytest.mark.parametrize("junk", [b"", b"<", b"<rss", b"\x00\x01", b"<?xml version='1.0'?>"])
def test_junk_is_declined_not_raised(junk: bytes) -> None:
    assert _fast.fast_parse(junk) is None
