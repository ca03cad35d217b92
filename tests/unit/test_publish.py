"""The publishing layer: Atom/RSS via feedgen, index.html, OPML, atomic writes.

Feeds are read back with feedparser (what a reader sees) and with
xml.etree (well-formedness and exact elements).
"""

from __future__ import annotations

import calendar
import dataclasses
import gzip
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest

from aggregator.atomicfile import TEMP_SUFFIX
from aggregator.config import TopicConfig
from aggregator.errors import PublishError
from aggregator.models import Credit, Enclosure, StoredEntry, Story
from aggregator.publish import (
    TopicSummary,
    WriteBatch,
    clean_stale_temp_files,
    publish_archive,
    publish_index,
    publish_topic,
    render_atom,
    render_index,
    render_opml,
    render_rss,
    write_if_changed,
)
from aggregator.publish.feeds import MATCHED_SCHEME

BASE = "https://feeds.example/"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
TOPIC = TopicConfig(slug="space", title="Space news", description="Rockets and moons")
ILLEGAL = "\x00\x01\x08\x0b\x0c\x1f\ufffe\uffff\ud800\udfff"


def xml(data: bytes) -> ET.Element:
    # Our own output, parsed to prove it is well-formed: no untrusted input here.
    return ET.fromstring(data)  # noqa: S314


def entry(n: int, **changes: Any) -> StoredEntry:
    base = StoredEntry(
        id=n,
        source_id="orbit",
        key=f"key-{n}",
        story_id=n,
        guid=f"guid-{n}",
        link=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        title=f"Story {n}",
        summary=f"<p>Summary {n}</p>",
        content=f"<p>Body {n}</p>",
        authors=(),
        categories=(),
        enclosures=(),
        published=T0 + timedelta(hours=n),
        updated=None,
        first_seen=T0 + timedelta(hours=n, minutes=5),
        sort_date=T0 + timedelta(hours=n),
    )
    return dataclasses.replace(base, **changes)


def story(n: int, *, also: tuple[Credit, ...] = (), source_link: str | None = None,
          **changes: Any) -> Story:  # fmt: skip
    return Story(
        uid=f"tag:feeds.example,2024:story/{n}",
        entry=entry(n, **changes),
        source_title="Orbit Daily",
        source_link=source_link or "https://orbit.example/",
        also=also,
    )


def timestamp(parsed: Any) -> float:
    """feedparser's UTC struct_time as a POSIX timestamp."""
    return float(calendar.timegm(parsed))


def parse(data: bytes) -> Any:
    result = feedparser.parse(data)
    assert not result.bozo, result.get("bozo_exception")
    return result


# Deliberately not in id or date order: the feed must keep the order given.
STORIES = [
    story(7, updated=T0 + timedelta(hours=30)),
    story(9),
    story(2, published=None),
]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_round_trip_keeps_ids_titles_links_dates_and_order(render: Any) -> None:
    d = parse(render(TOPIC, STORIES, base_url=BASE))

    assert d.feed.title == "Space news"
    assert [e.id for e in d.entries] == [s.uid for s in STORIES]
    assert [e.title for e in d.entries] == ["Story 7", "Story 9", "Story 2"]
    assert [e.link for e in d.entries] == [s.entry.link for s in STORIES]
    # published is the stored sort_date: the publisher's date clamped to first seen.
    expected_published = [s.entry.sort_date for s in STORIES]
    assert [timestamp(e.published_parsed) for e in d.entries] == [
        t.timestamp() for t in expected_published
    ]
    if render is render_atom:
        # updated: the entry's own, else published.
        assert [timestamp(e.updated_parsed) for e in d.entries] == [
            t.timestamp() for t in [T0 + timedelta(hours=30), *expected_published[1:]]
        ]


# Most readers ignore <source>, so the outlet is also named in the text.
VIA = '<p>Via: <a href="https://orbit.example/">Orbit Daily</a></p>'


def test_atom_entries_carry_content_summary_authors_categories_and_source() -> None:
    s = story(1, authors=("Ann Lee", "Bo Ng", "Ann Lee"), categories=("space", "moon"))
    data = render_atom(TOPIC, [s], base_url=BASE)
    e = parse(data).entries[0]

    assert [c.type for c in e.content] == ["text/html"]
    assert e.content[0].value == "<p>Body 1</p>" + VIA
    assert e.summary == "<p>Summary 1</p>"
    assert [a.name for a in e.authors] == ["Ann Lee", "Bo Ng"]  # duplicates dropped
    assert [t.term for t in e.tags] == ["space", "moon"]

    source = xml(data).find(f"{ATOM}entry/{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}title") == "Orbit Daily"
    link = source.find(f"{ATOM}link")
    assert link is not None and link.get("href") == "https://orbit.example/"
    content = xml(data).find(f"{ATOM}entry/{ATOM}content")
    assert content is not None and content.get("type") == "html"


def test_rss_items_carry_description_content_creators_categories_and_source() -> None:
    s = story(1, authors=("Ann Lee",), categories=("space",))
    data = render_rss(TOPIC, [s], base_url=BASE)
    e = parse(data).entries[0]
    assert e.author == "Ann Lee"  # dc:creator: RSS <author> would need an e-mail
    assert [t.term for t in e.tags] == ["space"]
    assert e.content[0].value == "<p>Body 1</p>" + VIA
    assert e.summary == "<p>Summary 1</p>"

    item = xml(data).find("channel/item")
    assert item is not None
    guid = item.find("guid")
    assert guid is not None and guid.get("isPermaLink") == "false"
    assert guid.text == s.uid
    source = item.find("source")
    assert source is not None
    assert (source.get("url"), source.text) == ("https://orbit.example/", "Orbit Daily")


def test_summary_only_entry_publishes_summary_as_content() -> None:
    s = story(1, content="")
    atom = xml(render_atom(TOPIC, [s], base_url=BASE))
    assert atom.findtext(f"{ATOM}entry/{ATOM}content") == "<p>Summary 1</p>" + VIA
    assert atom.find(f"{ATOM}entry/{ATOM}summary") is None  # not twice
    rss = xml(render_rss(TOPIC, [s], base_url=BASE))
    assert rss.findtext("channel/item/description") == "<p>Summary 1</p>" + VIA


# ---------------------------------------------------------------- feed-level


def test_atom_id_self_and_alternate_links() -> None:
    root = xml(render_atom(TOPIC, STORIES, base_url=BASE))
    assert root.findtext(f"{ATOM}id") == "https://feeds.example/space.atom"
    links = {link.get("rel"): link for link in root.findall(f"{ATOM}link")}
    assert set(links) == {"self", "alternate"}
    assert links["self"].get("href") == "https://feeds.example/space.atom"
    assert links["self"].get("type") == "application/atom+xml"
    # The alternate is the topic's own page for people.
    assert links["alternate"].get("href") == "https://feeds.example/space.html"
    assert links["alternate"].get("type") == "text/html"
    assert root.findtext(f"{ATOM}subtitle") == "Rockets and moons"
    assert root.findtext(f"{ATOM}generator") == "aggregator"


def test_rss_channel_link_is_the_topic_page_and_self_is_atom_link() -> None:
    root = xml(render_rss(TOPIC, STORIES, base_url=BASE))
    channel = root.find("channel")
    assert channel is not None
    # Trap: feedgen copies the last link() into <channel><link>, self included.
    assert channel.findtext("link") == "https://feeds.example/space.html"
    selfs = channel.findall(f"{ATOM}link")
    assert [(s.get("rel"), s.get("href")) for s in selfs] == [
        ("self", "https://feeds.example/space.rss")
    ]
    assert channel.findtext("description") == "Rockets and moons"


def test_description_falls_back_to_title() -> None:
    topic = TopicConfig(slug="bare", title="Bare topic")
    assert xml(render_atom(topic, [], base_url=BASE)).findtext(f"{ATOM}subtitle") == "Bare topic"
    channel = xml(render_rss(topic, [], base_url=BASE)).find("channel")
    assert channel is not None and channel.findtext("description") == "Bare topic"


def test_feed_updated_is_newest_entry_not_now() -> None:
    atom = parse(render_atom(TOPIC, STORIES, base_url=BASE))
    # Story 7's updated time (T0+30h) is the newest of updated-or-sort_date.
    assert timestamp(atom.feed.updated_parsed) == (T0 + timedelta(hours=30)).timestamp()
    channel = xml(render_rss(TOPIC, STORIES, base_url=BASE)).find("channel")
    assert channel is not None
    assert channel.findtext("lastBuildDate") == "Thu, 02 May 2024 18:00:00 +0000"


def test_zero_stories_give_a_valid_empty_feed() -> None:
    atom = render_atom(TOPIC, [], base_url=BASE)
    rss = render_rss(TOPIC, [], base_url=BASE)
    assert parse(atom).entries == [] and parse(rss).entries == []
    assert xml(atom).findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"
    channel = xml(rss).find("channel")
    assert channel is not None
    assert channel.findtext("lastBuildDate") == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert render_atom(TOPIC, [], base_url=BASE) == atom


def test_rerender_is_byte_identical() -> None:
    assert render_atom(TOPIC, STORIES, base_url=BASE) == render_atom(TOPIC, STORIES, base_url=BASE)
    assert render_rss(TOPIC, STORIES, base_url=BASE) == render_rss(TOPIC, STORIES, base_url=BASE)


def test_naive_and_non_utc_datetimes_become_utc() -> None:
    cest = datetime(2024, 5, 1, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2024, 5, 1, 12, 30, 15, 999)  # noqa: DTZ001 - the point of the test
    s = story(1, sort_date=cest, updated=naive)
    e = parse(render_atom(TOPIC, [s], base_url=BASE)).entries[0]
    assert timestamp(e.published_parsed) == datetime(2024, 5, 1, 14, 0, tzinfo=UTC).timestamp()
    assert timestamp(e.updated_parsed) == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC).timestamp()


# ---------------------------------------------------------------- hostile text


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_xml_illegal_characters_do_not_fail_the_feed(render: Any) -> None:
    bad = story(
        1,
        title=f"Moon{ILLEGAL} ]]> landing",
        content=f"<p>Body{ILLEGAL} ]]> end</p>",
        summary=f"<p>Sum{ILLEGAL}</p>",
        authors=(f"Ann{ILLEGAL}",),
        categories=(f"sp{ILLEGAL}ace",),
        also=(Credit("x", f"Other{ILLEGAL}", "https://other.example/"),),
    )
    bad = dataclasses.replace(bad, source_title=f"Orbit{ILLEGAL}")
    topic = TopicConfig(slug="space", title=f"Space{ILLEGAL}", description=f"D{ILLEGAL}")
    data = render(topic, [bad, story(2)], base_url=BASE)

    xml(data)  # well-formed
    d = parse(data)
    assert d.feed.title == "Space"
    assert [e.title for e in d.entries] == ["Moon ]]> landing", "Story 2"]
    assert "Body ]]> end" in d.entries[0].content[0].value
    assert "Other" in d.entries[0].content[0].value


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_missing_title_becomes_untitled(render: Any) -> None:
    data = render(TOPIC, [story(1, title=""), story(2, title=" \n\x00 ")], base_url=BASE)
    assert [e.title for e in parse(data).entries] == ["(untitled)", "(untitled)"]


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_entry_without_link_or_text_still_renders(render: Any) -> None:
    s = story(1, link=None, content="", summary="", title="")
    data = render(TOPIC, [s], base_url=BASE)
    e = parse(data).entries[0]
    assert (e.id, e.title) == (s.uid, "(untitled)")
    assert b"news.example" not in data  # no link element at all


def test_non_http_links_are_dropped() -> None:
    s = story(
        1,
        link="javascript:alert(1)",
        enclosures=(Enclosure("file:///etc/passwd", "text/plain", 1),),
        also=(Credit("x", "Sneaky", "javascript:alert(2)"),),
    )
    for data in (render_atom(TOPIC, [s], base_url=BASE), render_rss(TOPIC, [s], base_url=BASE)):
        assert b"javascript:" not in data and b"file:" not in data
        assert b"Sneaky" in data


def test_render_error_is_publish_error() -> None:
    # feedgen refuses an entry without an id; the topic fails with its slug.
    bad = dataclasses.replace(story(1), uid="")
    with pytest.raises(PublishError) as info:
        render_atom(TOPIC, [bad], base_url=BASE)
    assert info.value.topic == "space"
    assert isinstance(info.value.__cause__, ValueError)


# ---------------------------------------------------------------- credits, enclosures


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_also_reported_by_escapes_names_and_urls(render: Any) -> None:
    s = story(
        1,
        also=(
            Credit("a", "Tom & Jerry <i>News</i>", 'https://tj.example/?a=1&b="2"'),
            Credit("b", "", None),
        ),
    )
    data = render(TOPIC, [s], base_url=BASE)
    root = xml(data)
    if render is render_atom:
        content = root.findtext(f"{ATOM}entry/{ATOM}content")
    else:
        content = root.findtext("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded")
    assert content is not None
    # The HTML as a reader receives it, after one level of XML unescaping.
    assert content.endswith(
        "<p>Also reported by: "
        '<a href="https://tj.example/?a=1&amp;b=&quot;2&quot;">'
        "Tom &amp; Jerry &lt;i&gt;News&lt;/i&gt;</a>, b</p>"
    )
    assert content.startswith("<p>Body 1</p>")


def test_source_without_link_is_credited_in_the_text() -> None:
    s = dataclasses.replace(story(1), source_link=None, source_title="Plain <Outlet>")
    rss = xml(render_rss(TOPIC, [s], base_url=BASE))
    assert rss.find("channel/item/source") is None  # RSS <source> needs a url
    assert "<p>Via: Plain &lt;Outlet&gt;</p>" in (
        rss.findtext("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    )
    atom = xml(render_atom(TOPIC, [s], base_url=BASE))
    assert atom.findtext(f"{ATOM}entry/{ATOM}source/{ATOM}title") == "Plain <Outlet>"


def test_enclosures_all_in_atom_first_in_rss() -> None:
    s = story(
        1,
        enclosures=(
            Enclosure("https://cdn.example/ep1.mp3", "audio/mpeg", 12345),
            Enclosure("https://cdn.example/ep1.ogg"),
        ),
    )
    atom_xml = xml(render_atom(TOPIC, [s], base_url=BASE))
    links = [
        (link.get("rel"), link.get("href"), link.get("type"), link.get("length"))
        for link in atom_xml.findall(f"{ATOM}entry/{ATOM}link")
    ]
    # Trap: feedgen 1.0.0 drops rel/type/length from entry links itself.
    assert links == [
        ("alternate", "https://news.example/1", None, None),
        ("enclosure", "https://cdn.example/ep1.mp3", "audio/mpeg", "12345"),
        ("enclosure", "https://cdn.example/ep1.ogg", None, None),
    ]
    atom = parse(render_atom(TOPIC, [s], base_url=BASE)).entries[0]
    assert [x.href for x in atom.enclosures] == [
        "https://cdn.example/ep1.mp3",
        "https://cdn.example/ep1.ogg",
    ]
    assert atom.link == "https://news.example/1"

    rss_xml = xml(render_rss(TOPIC, [s], base_url=BASE))
    encs = rss_xml.findall("channel/item/enclosure")
    assert [(x.get("url"), x.get("type"), x.get("length")) for x in encs] == [
        ("https://cdn.example/ep1.mp3", "audio/mpeg", "12345")
    ]


def test_rss_enclosure_without_type_or_length_gets_required_defaults() -> None:
    s = story(1, enclosures=(Enclosure("https://cdn.example/file.bin"),))
    enc = xml(render_rss(TOPIC, [s], base_url=BASE)).find("channel/item/enclosure")
    assert enc is not None
    assert (enc.get("type"), enc.get("length")) == ("application/octet-stream", "0")


# ---------------------------------------------------------------- gzip twins


@pytest.mark.parametrize("batched", [False, True], ids=["direct", "batch"])
def test_archive_twins_hold_the_same_bytes_compressed_fast(tmp_path: Path, batched: bool) -> None:
    out = tmp_path / "feeds"
    if batched:
        with WriteBatch() as batch:
            publish_archive(TOPIC, 1, STORIES, output_dir=out, base_url=BASE, batch=batch)
            written = batch.finish()
    else:
        written = publish_archive(TOPIC, 1, STORIES, output_dir=out, base_url=BASE)
    archives = sorted(p for p in written if p.suffix != ".gz")
    assert [p.name for p in archives] == ["1.atom", "1.json", "1.rss"]
    for path in archives:
        twin = path.with_name(path.name + ".gz").read_bytes()
        assert gzip.decompress(twin) == path.read_bytes()
        assert twin[8] == 4  # gzip's XFL byte: "fastest" (level 1)
    # A current document is compressed harder (XFL 0: levels 2-8).
    (atom, *_) = publish_topic(TOPIC, STORIES, output_dir=out, base_url=BASE)
    assert atom.with_name(atom.name + ".gz").read_bytes()[8] == 0


# ---------------------------------------------------------------- publish_topic


def test_publish_topic_writes_only_changes(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    written = publish_topic(TOPIC, STORIES, output_dir=out, base_url=BASE)
    atom, rss, jsn, page = (out / f"space.{x}" for x in ("atom", "rss", "json", "html"))
    assert written == [atom, rss, jsn, page]
    assert atom.read_bytes() == render_atom(TOPIC, STORIES, base_url=BASE)
    # Each has a gzip twin holding the same bytes, for the server to send.
    for path in written:
        assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == path.read_bytes()
    files = sorted(out.iterdir())
    before = {p: p.stat().st_mtime_ns for p in files}

    assert publish_topic(TOPIC, STORIES, output_dir=out, base_url=BASE) == []
    assert {p: p.stat().st_mtime_ns for p in files} == before

    changed = [story(10), *STORIES]
    assert publish_topic(TOPIC, changed, output_dir=out, base_url=BASE) == written
    assert sorted(p.name for p in out.iterdir()) == [
        "space.atom", "space.atom.gz", "space.html", "space.html.gz", "space.json",
        "space.json.gz", "space.rss", "space.rss.gz",
    ]  # fmt: skip


def test_publish_topic_write_failure_is_publish_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(PublishError) as info:
        publish_topic(TOPIC, STORIES, output_dir=blocker, base_url=BASE)
    assert info.value.topic == "space"


# ---------------------------------------------------------------- index and OPML

SUMMARIES = [
    TopicSummary("space", "Space news", "Rockets", 3, T0),
    TopicSummary("evil", "<script>alert(1)</script>", 'say "hi" & <b>', 1, None),
]


def test_index_lists_topics_with_subscribe_and_autodiscovery_links() -> None:
    page = render_index(SUMMARIES, base_url=BASE, title="My feeds").decode()
    assert "<title>My feeds</title>" in page
    for media_type, name, ext in [
        ("application/atom+xml", "Atom", "atom"),
        ("application/rss+xml", "RSS", "rss"),
        ("application/feed+json", "JSON Feed", "json"),
    ]:
        assert (
            f'<link rel="alternate" type="{media_type}" title="Space news ({name})" '
            f'href="https://feeds.example/space.{ext}">'
        ) in page
        assert f'<a class="feed" href="https://feeds.example/space.{ext}"' in page
    assert '<a href="https://feeds.example/space.html">Space news</a>' in page
    assert 'href="https://feeds.example/sources.opml"' in page
    assert "Rockets" in page
    assert 'href="https://feeds.example/evil.atom"' in page
    assert 'href="https://feeds.example/topics.opml"' in page
    assert "3 items" in page and "1 item " in page
    assert '<time datetime="2024-05-01T12:00:00+00:00">2024-05-01 12:00 UTC</time>' in page


def test_index_escapes_topic_text() -> None:
    page = render_index(SUMMARIES, base_url=BASE).decode()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "say &#34;hi&#34; &amp; &lt;b&gt;" in page


def test_index_with_no_topics() -> None:
    assert "No topics are configured yet." in render_index([], base_url=BASE).decode()


def test_opml_lists_every_topic() -> None:
    data = render_opml(SUMMARIES, base_url=BASE, title="My feeds")
    root = xml(data)
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "My feeds"
    outlines = root.findall("body/outline")
    assert [
        (o.get("type"), o.get("text"), o.get("xmlUrl"), o.get("htmlUrl")) for o in outlines
    ] == [
        ("rss", "Space news", "https://feeds.example/space.atom", f"{BASE}space.html"),
        (
            "rss",
            "<script>alert(1)</script>",
            "https://feeds.example/evil.atom",
            f"{BASE}evil.html",
        ),
    ]
    assert outlines[1].get("description") == 'say "hi" & <b>'
    assert render_opml(SUMMARIES, base_url=BASE, title="My feeds") == data


def test_opml_scrubs_illegal_characters() -> None:
    summary = TopicSummary("space", f"Sp{ILLEGAL}ace", f"d{ILLEGAL}", 0, None)
    outline = xml(render_opml([summary], base_url=BASE)).find("body/outline")
    assert outline is not None
    assert (outline.get("text"), outline.get("description")) == ("Space", "d")


def test_publish_index_writes_each_once(tmp_path: Path) -> None:
    written = publish_index(SUMMARIES, output_dir=tmp_path, base_url=BASE)
    assert written == [tmp_path / "index.html", tmp_path / "topics.opml", tmp_path / "sources.opml"]
    assert publish_index(SUMMARIES, output_dir=tmp_path, base_url=BASE) == []
    assert publish_index(SUMMARIES[:1], output_dir=tmp_path, base_url=BASE) == written[:2]


# ---------------------------------------------------------------- atomic files


def test_write_if_changed(tmp_path: Path) -> None:
    path = tmp_path / "feed.atom"
    assert write_if_changed(path, b"one") is True
    assert path.read_bytes() == b"one"
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    mtime = path.stat().st_mtime_ns
    inode = path.stat().st_ino

    assert write_if_changed(path, b"one") is False
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (mtime, inode)

    path.chmod(0o640)
    assert write_if_changed(path, b"two") is True  # same size, new bytes
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o640  # the operator's mode is kept
    assert write_if_changed(path, b"longer") is True
    assert [p.name for p in tmp_path.iterdir()] == ["feed.atom"]


def test_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "feed.atom"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        write_if_changed(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["feed.atom"]


def test_clean_stale_temp_files(tmp_path: Path) -> None:
    (tmp_path / f".space.atom.abc123{TEMP_SUFFIX}").write_bytes(b"half")
    (tmp_path / f".index.html.x{TEMP_SUFFIX}").write_bytes(b"half")
    (tmp_path / "space.atom").write_bytes(b"keep")
    (tmp_path / ".hidden").write_bytes(b"keep")
    (tmp_path / f"visible{TEMP_SUFFIX}").write_bytes(b"keep: not one of ours")

    assert clean_stale_temp_files(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".hidden",
        "space.atom",
        f"visible{TEMP_SUFFIX}",
    ]
    assert clean_stale_temp_files(tmp_path) == 0
    assert clean_stale_temp_files(tmp_path / "missing") == 0


# ------------------------------------------------------------ matched terms


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_matched_terms_are_published_as_categories(render: Any) -> None:
    s = dataclasses.replace(story(1, categories=("Energy", "OPEC")), matched=("opec", "oil"))
    e = parse(render(TOPIC, [s], base_url=BASE)).entries[0]
    # "opec" is already a category of the entry: listed once, as the publisher wrote it.
    assert [t.term for t in e.tags] == ["Energy", "OPEC", "oil"]
    assert e.tags[2].scheme == MATCHED_SCHEME and not e.tags[0].scheme


@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_a_topic_can_keep_matched_terms_out(render: Any) -> None:
    quiet = dataclasses.replace(TOPIC, explain_matches=False)
    s = dataclasses.replace(story(1, categories=("Energy",)), matched=("oil",))
    e = parse(render(quiet, [s], base_url=BASE)).entries[0]
    assert [t.term for t in e.tags] == ["Energy"]
