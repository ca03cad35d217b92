"""Entry identity across key changes, and stories across sources, on a real
SQLite store: the table of identity cases, edits in place, exact and
near-duplicate joins, distinct events kept apart, the window, the index."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator import curate, dedup
from aggregator.config import SourceConfig
from aggregator.dedup import StoryMatcher, key_entries
from aggregator.models import Clustering, NewEntry, ParsedEntry
from aggregator.store import Store
from aggregator.store.schema import MIGRATIONS
from tests.factories import T0, topic

SOURCES = {s: SourceConfig(id=s, url=f"https://{s}.example/feed") for s in ("a", "b", "c")}
CLUSTER = Clustering(similar=StoryMatcher())

WIRE_LEAD = (
    "Libya's crude oil production rose to 1.42 million barrels per day in October, the "
    "highest in more than a decade, the National Oil Corporation said on Sunday, as fields "
    "shut by protests in the summer came back online and new wells were connected in the "
    "Sirte basin."
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "db.sqlite")
    s.sync_sources(SOURCES)
    return s


def entry(guid: str | None, title: str, **kwargs: Any) -> ParsedEntry:
    kwargs.setdefault("link", None)
    kwargs.setdefault("published", T0)
    return ParsedEntry(guid=guid, title=title, **kwargs)


def put(store: Store, source: str, entries: list[ParsedEntry], *, hours: float = 0,
        home: str | None = None) -> tuple[int, int]:  # fmt: skip
    return put_keyed(store, source, key_entries(entries, home=home), hours=hours)


def put_keyed(
    store: Store, source: str, items: list[NewEntry], *, hours: float = 0
) -> tuple[int, int]:
    now = T0 + timedelta(hours=hours)
    result = store.store_entries(
        source, items, now=now, next_fetch=now, status=200, etag=None, last_modified=None,
        body_hash=None, effective_url=None, feed_title=None, feed_link=None, clustering=CLUSTER,
    )  # fmt: skip
    return result.new, result.updated


def stories(store: Store) -> list[list[tuple[str, str]]]:
    """(source, title) of every member, grouped by story, newest story first."""
    out: list[list[tuple[str, str]]] = []
    last = None
    for e in store.stories():
        if e.story_id != last:
            out.append([])
            last = e.story_id
        out[-1].append((e.source_id, e.title))
    return out


# -- identity within a source -------------------------------------------------

SAME, NEW = True, False
IDENTITY_CASES = [
    ("guid http -> https, www dropped",
     entry("http://www.blog.example/2026/11/post", "A post"),
     entry("https://blog.example/2026/11/post/", "A post"), SAME),
    ("host renamed, same title",
     entry("https://old.example/posts/44", "Weekly digest"),
     entry("https://new.example/posts/44", "Weekly digest"), SAME),
    ("absolute guid becomes relative",
     entry("https://blog.example/post-17", "Seventeen"),
     entry("post-17", "Seventeen"), SAME),
    ("tag: URI authority renamed",
     entry("tag:old.example,2020:/post/9", "Nine"),
     entry("tag:new.example,2020:/post/9", "Nine"), SAME),
    ("new guid scheme on the same permalink",
     entry("123", "Permalink story", link="https://blog.example/p/x"),
     entry("urn:uuid:9f0b5a4e-0000-4000-8000-000000000001", "Permalink story",
           link="https://blog.example/p/x?utm_source=rss"), SAME),
    ("re-sent under a new guid, same text",
     entry("wire-1", "Coast guard rescues 120 migrants", summary="Off Zuwara on Saturday."),
     entry("wire-9", "Coast guard rescues 120 migrants", summary="Off Zuwara on Saturday."), SAME),
    ("date bumped, same guid",
     entry("g-1", "Old item", summary="Text."),
     entry("g-1", "Old item", summary="Text.", published=T0 + timedelta(days=5)), SAME),
    ("same path on another host, another title (a planet feed)",
     entry("https://alice.example/?p=1", "Alice says hello"),
     entry("https://bob.example/?p=1", "Bob's first post"), NEW),
    ("a weekly report at a fixed URL: same link and title, new guid and date",
     entry("w-48", "Weekly oil report", link="https://agency.example/weekly",
           summary="Brent averaged 81.20 dollars.", published=T0 - timedelta(days=7)),
     entry("w-49", "Weekly oil report", link="https://agency.example/weekly",
           summary="Brent averaged 77.90 dollars."), NEW),
    ("live blog: same link, new guid, new title",
     entry("live-1", "Markets open lower", link="https://news.example/live"),
     entry("live-2", "Oil jumps 3%", link="https://news.example/live"), NEW),
    ("opaque ids differ, nothing else shared",
     entry("urn:x:1", "One thing", summary="Alpha beta gamma."),
     entry("urn:x:2", "Another thing", summary="Delta epsilon zeta."), NEW),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "same"), [c[1:] for c in IDENTITY_CASES], ids=[c[0] for c in IDENTITY_CASES]
)
def test_identity_table(store: Store, before: ParsedEntry, after: ParsedEntry, same: bool) -> None:
    assert put(store, "a", [before]) == (1, 0)
    new, _ = put(store, "a", [after], hours=1)
    assert new == (0 if same else 1)
    assert store.entry_count() == (1 if same else 2)
    if same:
        (kept,) = store.stories()
        # The published id comes from the first key; it survives the change.
        assert kept.key == key_entries([before])[0].key
        assert store.entry_by_key("a", key_entries([after])[0].key) == kept


def test_two_entries_side_by_side_in_one_document_stay_two(store: Store) -> None:
    # Same title and path on two hosts, in one document: a planet feed, not a move.
    first = entry("https://alice.example/hello", "Hello world")
    second = entry("https://bob.example/hello", "Hello world")
    assert put(store, "a", [first, second]) == (2, 0)
    assert put(store, "a", [first, second], hours=1) == (0, 0)
    assert store.entry_count() == 2


def test_a_link_shared_by_several_items_or_the_home_page_joins_nothing(store: Store) -> None:
    home = "https://site.example/"
    put(store, "a", [entry("1", "First note", link=home), entry("2", "Second note", link=home)],
        home=home)  # fmt: skip
    put(store, "b", [entry("x", "Unrelated item", link=home)])
    assert len(stories(store)) == 3


def _site(name: str, *, titled: bool = True) -> ParsedEntry:
    """An item of a feed that gives every item one guid (its home page); without
    a title its text is too short for a text alias."""
    return entry("https://site.example/", name if titled else "", summary=name,
                 link=f"https://site.example/{name.lower()}")  # fmt: skip


def _first_seen(store: Store) -> dict[str, datetime]:
    return {e.summary: e.first_seen for e in store.stories()}


def test_a_guid_every_item_repeats_names_none_of_them(store: Store) -> None:
    """Prepending an item re-keys nothing: each keeps its own text and date."""
    alpha, beta, gamma = (_site(n) for n in ("Alpha", "Beta", "Gamma"))
    assert put(store, "a", [alpha, beta, gamma]) == (3, 0)
    assert put(store, "a", [_site("Delta"), alpha, beta, gamma], hours=1) == (1, 0)
    assert _first_seen(store) == {
        "Delta": T0 + timedelta(hours=1), "Alpha": T0, "Beta": T0, "Gamma": T0
    }  # fmt: skip
    assert len(stories(store)) == 4


def _keyed_by_the_old_rule(items: list[ParsedEntry]) -> list[NewEntry]:
    """Keys and aliases as releases that keyed a repeated guid gave them: the
    first item the bare guid, each later one the guid and its text's fingerprint."""
    out = []
    for n, item in enumerate(key_entries(items)):
        guid = (item.entry.guid or "").strip()
        suffix = f"#{dedup.text_fingerprint(item.entry)[:16]}" if n else ""
        old_aliases = dedup.aliases(item.entry, item.canonical_url, guid=guid)
        out.append(replace(item, key=f"guid:{guid}{suffix}", aliases=old_aliases,
                           earlier_keys=(), bare_guid_key=None))  # fmt: skip
    return out


@pytest.mark.parametrize("titled", [True, False], ids=["by-aliases", "by-earlier-keys"])
def test_entries_stored_under_a_repeated_guid_by_earlier_releases_are_found_again(
    store: Store, titled: bool
) -> None:
    alpha, beta, gamma = (_site(n, titled=titled) for n in ("Alpha", "Beta", "Gamma"))
    assert put_keyed(store, "a", _keyed_by_the_old_rule([alpha, beta, gamma])) == (3, 0)
    assert put(store, "a", [alpha, beta, gamma], hours=1) == (0, 0)
    assert put(store, "a", [_site("Delta", titled=titled), alpha, beta, gamma], hours=2) == (1, 0)
    assert _first_seen(store) == {
        "Delta": T0 + timedelta(hours=2), "Alpha": T0, "Beta": T0, "Gamma": T0
    }  # fmt: skip


def test_entries_pruned_under_a_repeated_guid_by_earlier_releases_stay_pruned(
    store: Store,
) -> None:
    items = [_site(n) for n in ("Alpha", "Beta", "Gamma")]
    put_keyed(store, "a", _keyed_by_the_old_rule(items))
    assert store.prune({"a": (None, 1)}, keep_stories=set(), now=T0) == 2
    # Those releases tombstoned keys only.
    store._conn.execute("DELETE FROM tombstone_aliases")
    assert put(store, "a", items, hours=1) == (0, 0)
    assert store.entry_count() == 1


def test_a_pruned_entry_is_not_new_again_under_a_new_guid_scheme(store: Store) -> None:
    old = entry("http://blog.example/p/1", "A post", published=T0 - timedelta(days=1))
    newer = entry("http://blog.example/p/2", "Another post")
    put(store, "a", [newer, old])
    assert store.prune({"a": (None, 1)}, keep_stories=set(), now=T0) == 1
    https = [replace(e, guid=(e.guid or "").replace("http:", "https:")) for e in (newer, old)]
    assert put(store, "a", https, hours=1) == (0, 0)
    assert store.entry_count() == 1


def test_a_pruned_entrys_names_do_not_hide_the_item_beside_it(store: Store) -> None:
    # Same title and path on two hosts in one document: two entries (a planet feed).
    alice = entry("https://alice.example/hello", "Hello world", published=T0 - timedelta(days=1))
    put(store, "a", [entry("https://carol.example/x", "Carol's news"), alice])
    assert store.prune({"a": (None, 1)}, keep_stories=set(), now=T0) == 1
    bob = entry("https://bob.example/hello", "Hello world")
    assert put(store, "a", [bob, alice], hours=1) == (1, 0)


WEEK_48 = entry(
    "w-48", "Weekly oil report", link="https://agency.example/weekly",
    summary="Brent averaged 81.20 dollars.", published=T0 - timedelta(days=7),
)  # fmt: skip
WEEK_49 = replace(WEEK_48, guid="w-49", summary="Brent averaged 77.90 dollars.", published=T0)


def test_a_recurring_item_at_a_fixed_url_is_a_story_of_its_own(store: Store) -> None:
    """A new issue at the URL its source reuses is neither the old entry (the link
    alias needs the same date) nor, by that URL, the old story."""
    put(store, "a", [WEEK_48])
    assert put(store, "a", [WEEK_49], hours=1) == (1, 0)
    assert len(stories(store)) == 2
    assert _first_seen(store) == {
        "Brent averaged 77.90 dollars.": T0 + timedelta(hours=1),
        "Brent averaged 81.20 dollars.": T0,
    }
    # Another outlet's copy of the page still joins the first story by its URL.
    put(store, "b", [entry("b-1", "Oil report", link="http://agency.example/weekly")], hours=2)
    assert [len(story) for story in stories(store)] == [1, 2]


def test_a_pruned_issue_does_not_hide_the_next_one_at_its_url(store: Store) -> None:
    put(store, "a", [WEEK_48])
    assert store.prune({"a": (None, 0)}, keep_stories=set(), now=T0) == 1
    assert put(store, "a", [WEEK_49], hours=1) == (1, 0)
    # The pruned issue itself, under a new guid scheme, stays pruned.
    assert put(store, "a", [replace(WEEK_48, guid="urn:w:48")], hours=2) == (0, 0)


def test_an_edit_updates_in_place_and_keeps_position_and_story(store: Store) -> None:
    put(store, "a", [entry("1", "Older", published=T0 - timedelta(hours=2))])
    put(store, "a", [entry("2", "Newer", published=T0 - timedelta(hours=1))])
    (before_newer, before_older) = list(store.stories())
    edited = entry("1", "Older (updated)", summary="More.", published=T0 - timedelta(hours=2),
                   updated=T0 + timedelta(hours=3))  # fmt: skip
    assert put(store, "a", [edited], hours=3) == (0, 1)
    after = list(store.stories())
    assert [e.title for e in after] == ["Newer", "Older (updated)"]
    assert after[1].id == before_older.id and after[1].story_id == before_older.story_id
    assert after[1].sort_date == before_older.sort_date
    assert after[1].updated == T0 + timedelta(hours=3)
    assert after[0] == before_newer


# -- stories across sources ---------------------------------------------------


def test_exact_duplicates_join_by_url_or_fingerprint(store: Store) -> None:
    put(store, "a", [entry("a1", "Sharara reopens", summary="NOC lifts force majeure at Sharara "
                           "after protesters end a blockade.",
                           link="https://www.wire.example/sharara")])  # fmt: skip
    put(store, "b", [entry("b1", "Sharara field back", link="https://amp.wire.example/sharara/amp")],
        hours=1)  # fmt: skip
    put(store, "c", [entry("c1", "SHARARA REOPENS", summary="<p>NOC lifts force majeure at "
                           "Sharara after protesters end a blockade.</p>",
                           link="https://other.example/9")], hours=2)  # fmt: skip
    (story,) = stories(store)
    assert [s for s, _ in story] == ["a", "b", "c"]
    first = next(iter(store.stories()))
    members = store.story_membership(first.id)
    assert [(m.reason, m.score, m.joined_to) for m in members] == [
        ("first", 1.0, None), ("url", 1.0, first.id), ("fingerprint", 1.0, first.id)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "link",
    ["http://wire.example/sharara", "https://m.wire.example/sharara/?utm_source=b",
     "http://mobile.wire.example/sharara"],
)  # fmt: skip
def test_copies_join_by_url_whatever_the_scheme_or_mobile_host(store: Store, link: str) -> None:
    put(store, "a", [entry("a1", "Sharara reopens", link="https://www.wire.example/sharara")])
    put(store, "b", [entry("b1", "Field back online", link=link)], hours=1)
    founder = next(iter(store.stories()))
    assert [m.reason for m in store.story_membership(founder.id)] == ["first", "url"]


def test_a_late_copy_of_a_pruned_story_is_not_new_again(store: Store) -> None:
    """Its story was published and retention deleted it: another outlet's copy,
    found by URL, is as old as the story (nothing may publish it again)."""
    old = T0 - timedelta(days=30)
    put(store, "a", [entry("a1", "Sharara reopens", link="https://wire.example/sharara",
                           published=old)])  # fmt: skip
    assert store.prune({"a": (None, 0)}, keep_stories=set(), now=T0) == 1
    late = entry("b1", "Field back online", link="http://m.wire.example/sharara")
    assert put(store, "b", [late], hours=1) == (0, 0)
    assert store.entry_count() == 0
    # Another article of that site is new.
    assert put(store, "b", [entry("b2", "Es Sider too", link="https://wire.example/es-sider")],
               hours=2) == (1, 0)  # fmt: skip


def test_a_corrected_link_is_the_url_the_story_is_joined_by(store: Store) -> None:
    put(store, "a", [entry("a1", "Port reopens", link="https://wire.example/port-reopns")])
    fixed = entry("a1", "Port reopens", link="https://wire.example/port-reopens")
    assert put(store, "a", [fixed], hours=1) == (0, 1)
    joiner = entry(
        "b1", "Harbour back in business", link="https://wire.example/port-reopens?utm_source=b"
    )
    put(store, "b", [joiner], hours=2)
    put(store, "c", [entry("c1", "Unrelated", link="https://wire.example/port-reopns")], hours=3)
    assert stories(store) == [
        [("c", "Unrelated")], [("a", "Port reopens"), ("b", "Harbour back in business")]
    ]  # fmt: skip


def test_retitled_wire_copy_joins_by_similarity_and_keeps_the_story_id(store: Store) -> None:
    put(store, "a", [entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD,
                           link="https://wire.example/1")])  # fmt: skip
    founder = next(iter(store.stories()))
    put(store, "b", [entry("b1", "Libyan crude production climbs to highest since 2013",
                           summary="TRIPOLI (Wire) - " + WIRE_LEAD, link="https://b.example/2")],
        hours=1)  # fmt: skip
    members = store.story_membership(founder.id)
    assert [m.entry.source_id for m in members] == ["a", "b"]
    assert members[1].reason == "similar" and 0.6 <= members[1].score < 1.0
    assert {m.entry.story_id for m in members} == {founder.id}
    # The joiner starts its own exact group: topics that do not cluster show it apart.
    assert members[1].entry.exact_id == members[1].entry.id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("OPEC agrees output cut", "OPEC ministers agreed on Sunday to cut oil output by "
          "1 million barrels per day from January to support prices, the group said after a "
          "meeting in Vienna."),
         ("OPEC fails to agree output cut", "OPEC ministers failed on Sunday to agree to cut oil "
          "output by 1 million barrels per day from January to support prices, delegates said "
          "after a meeting in Vienna.")),
        (("Clashes erupt in Tripoli between rival armed groups", "Heavy clashes erupted in "
          "southern Tripoli on Monday between rival armed groups, killing three people and "
          "forcing the closure of Mitiga airport, residents and medical sources said."),
         ("Clashes erupt in Tripoli between rival armed groups", "Heavy clashes erupted in "
          "southern Tripoli on Tuesday between rival armed groups, killing three people and "
          "forcing the closure of Mitiga airport, residents and medical sources said.")),
        (("Eni third-quarter profit falls on lower oil prices", "Italian energy group Eni said "
          "on Friday its adjusted net profit fell 15 percent in the quarter to 1.4 billion "
          "euros, hit by lower oil and gas prices, but it kept its share buyback plan."),
         ("Eni second-quarter profit falls on lower oil prices", "Italian energy group Eni said "
          "on Friday its adjusted net profit fell 11 percent in the quarter to 1.5 billion "
          "euros, hit by lower oil and gas prices, but it kept its share buyback plan.")),
    ],
    ids=["negated", "another-day", "other-figures"],
)  # fmt: skip
def test_distinct_events_sharing_words_stay_apart(
    store: Store, first: tuple[str, str], second: tuple[str, str]
) -> None:
    put(store, "a", [entry("a1", first[0], summary=first[1], link="https://a.example/1")])
    put(store, "b", [entry("b1", second[0], summary=second[1], link="https://b.example/1")],
        hours=1)  # fmt: skip
    assert len(stories(store)) == 2


def test_similar_text_outside_the_window_starts_a_new_story(store: Store) -> None:
    earlier = T0 - timedelta(days=10)
    put(store, "a", [entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD,
                           published=earlier)])  # fmt: skip
    put(store, "b", [entry("b1", "Libya oil output hits 11-year high", summary=WIRE_LEAD)])
    assert len(stories(store)) == 2


def test_without_a_similarity_matcher_only_exact_joins_happen(store: Store) -> None:
    titles = ("Libya oil output hits 11-year high",
              "Libyan crude production climbs to highest since 2013")  # fmt: skip
    for source, title in zip("ab", titles, strict=True):
        result = store.store_entries(
            source, key_entries([entry(f"{source}1", title, summary=WIRE_LEAD)]), now=T0,
            next_fetch=T0, status=200, etag=None, last_modified=None, body_hash=None,
            effective_url=None, feed_title=None, feed_link=None, clustering=Clustering(),
        )  # fmt: skip
        assert result.new == 1
    assert len(stories(store)) == 2


def test_a_topic_that_does_not_cluster_publishes_similar_members_apart(store: Store) -> None:
    put(store, "a", [entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD,
                           link="https://wire.example/1")])  # fmt: skip
    put(store, "b", [entry("b1", "Libyan crude production climbs to highest since 2013",
                           summary=WIRE_LEAD + " Exports rose too.", link="https://b.example/2"),
                     ], hours=1)  # fmt: skip
    put(store, "c", [entry("c1", "Copy", link="https://b.example/2?utm_source=x")], hours=2)
    infos = {s: curate.SourceInfo(s.upper(), None) for s in SOURCES}
    now = T0 + timedelta(hours=3)

    def select(cluster: bool) -> list[tuple[str, str, tuple[str, ...]]]:
        matcher = curate.compile_topic(topic(cluster=cluster), SOURCES)
        chosen = curate.select(matcher, store.stories(clustered=cluster), now=now, sources=infos)
        return [(s.uid, s.entry.source_id, tuple(c.source_id for c in s.also)) for s in chosen]

    clustered, apart = select(True), select(False)
    assert [(src, also) for _, src, also in clustered] == [("a", ("b", "c"))]
    # b and its exact copy c stay one item; a is published on its own, same id as before.
    assert sorted((src, also) for _, src, also in apart) == [("a", ()), ("b", ("c",))]
    assert clustered[0][0] in {uid for uid, _, _ in apart}


def test_entries_grouped_the_other_way_are_refused_not_miscounted(store: Store) -> None:
    # a and its exact copy c, with b joined between them by similar text only.
    put(store, "a", [entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD,
                           link="https://wire.example/1")])  # fmt: skip
    put(store, "b", [entry("b1", "Libyan crude production climbs to highest since 2013",
                           summary=WIRE_LEAD)], hours=1)  # fmt: skip
    put(store, "c", [entry("c1", "Copy", link="https://wire.example/1")], hours=2)
    now = T0 + timedelta(hours=3)
    for cluster in (True, False):
        matcher = curate.compile_topic(topic(cluster=cluster), SOURCES)
        right = curate.select(matcher, store.stories(clustered=cluster), now=now, sources={})
        assert len(right) == (1 if cluster else 2)
        with pytest.raises(ValueError, match=f"Store.stories\\(clustered={cluster}\\)"):
            curate.select(matcher, store.stories(clustered=not cluster), now=now, sources={})


# -- the index ----------------------------------------------------------------


def test_similar_text_is_found_through_an_index_not_a_scan(store: Store) -> None:
    put(store, "a", [entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD)])
    conn = sqlite3.connect(store.path)
    try:
        plan = " ".join(
            row[3]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT entry_id FROM entry_bands WHERE band IN (1, 2, 3) "
                "AND at BETWEEN 1 AND 2 GROUP BY entry_id"
            )
        )
        fingerprint = " ".join(
            row[3]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM entries WHERE fingerprint = 'x' "
                "AND sort_date BETWEEN '2026' AND '2027'"
            )
        )
    finally:
        conn.close()
    assert "SEARCH entry_bands USING PRIMARY KEY (band=? AND at>? AND at<?)" in plan
    window = "sort_date>? AND sort_date<?"
    assert f"INDEX entries_fingerprint (fingerprint=? AND {window})" in fingerprint


def test_a_version_1_database_is_migrated_with_its_stories(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    stamp = datetime(2026, 1, 1, tzinfo=UTC).isoformat(timespec="microseconds")
    conn.execute("INSERT INTO sources (id, url) VALUES ('a', 'https://a.example/')")
    for i, story in ((1, 1), (2, 1), (3, 3)):
        conn.execute(
            "INSERT INTO entries (id, source_id, key, story_id, title, summary, content, "
            "authors, categories, enclosures, first_seen, last_changed, sort_date, "
            "content_hash) VALUES (?, 'a', ?, ?, 't', '', '', '[]', '[]', '[]', ?, ?, ?, 'h')",
            (i, f"guid:{i}", story, stamp, stamp, stamp),
        )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert [(m.entry.id, m.reason, m.entry.exact_id) for m in store.story_membership(2)] == [
            (1, "first", 1), (2, "url", 1)
        ]  # fmt: skip
        assert [e.id for e in store.stories(clustered=False)] == [3, 1, 2]


def _old_database(path: Path, version: int, **columns: str) -> NewEntry:
    """A database at schema `version` holding the wire story from source "a" as
    that release stored it (`columns`: its extra entries columns)."""
    conn = sqlite3.connect(path)
    conn.executescript(";".join(MIGRATIONS[:version]) + f";PRAGMA user_version = {version};")
    (old,) = key_entries([entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD)])
    stamp = T0.isoformat(timespec="microseconds")
    names = ", ".join(["title", "summary", *columns])
    values = [old.entry.title, old.entry.summary, *columns.values()]
    conn.execute("INSERT INTO sources (id, url) VALUES ('a', 'https://a.example/feed')")
    conn.execute(
        "INSERT INTO entries (id, source_id, key, story_id, exact_id, guid, content, authors, "  # noqa: S608
        "categories, enclosures, first_seen, last_changed, sort_date, content_hash, "
        f"fingerprint, {names}) VALUES (1, 'a', ?, 1, 1, 'a1', '', '[]', '[]', '[]', ?, ?, ?, "
        f"'h', ?, {', '.join('?' * len(values))})",
        (old.key, stamp, stamp, stamp, old.fingerprint, *values),
    )
    # Band rows kept the sort date as text until migration 7.
    at = ("sort_date", stamp) if version < 7 else ("at", int(T0.timestamp()))
    conn.executemany(
        f"INSERT INTO entry_bands (band, {at[0]}, entry_id) VALUES (?, ?, 1)",  # noqa: S608
        [(band, at[1]) for band in old.bands],
    )
    conn.commit()
    conn.close()
    return old


def test_entries_stored_before_version_14_join_by_url_across_schemes(tmp_path: Path) -> None:
    _old_database(tmp_path / "v13.sqlite", 13, canonical_url="http://m.wire.example/output")
    with Store.open(tmp_path / "v13.sqlite") as store:
        store.sync_sources(SOURCES)
        put(store, "b", [entry("b1", "Another headline", link="https://wire.example/output")],
            hours=1)  # fmt: skip
        assert [m.reason for m in store.story_membership(1)] == ["first", "url"]


def test_migration_14_derives_join_urls_as_dedup_does(tmp_path: Path) -> None:
    links = ["http://m.wire.example/a?id=1", "https://mobile.wire.example:8080/b",
             "https://m.example/c", "https://wire.example/", "https://[::1]/d"]  # fmt: skip
    canonicals = [dedup.canonical_url(link) for link in links]
    conn = sqlite3.connect(tmp_path / "v13.sqlite")
    conn.executescript(";".join(MIGRATIONS[:13]) + ";PRAGMA user_version = 13;")
    conn.executemany(
        "INSERT INTO entries (id, source_id, key, story_id, canonical_url, title, summary, "
        "content, authors, categories, enclosures, first_seen, last_changed, sort_date, "
        "content_hash) VALUES (?, 'a', ?, ?, ?, '', '', '', '[]', '[]', '[]', '', '', '', '')",
        [(n, f"k{n}", n, url) for n, url in enumerate(canonicals)],
    )
    conn.commit()
    conn.close()
    with Store.open(tmp_path / "v13.sqlite") as store:
        rows = store._conn.execute("SELECT join_url FROM entries ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [dedup.join_url(c) for c in canonicals]


def test_urls_pruned_before_version_14_still_count_as_published(tmp_path: Path) -> None:
    """Migration 14 reads them from the pruned entries' link keys and link aliases."""
    path = tmp_path / "v13.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(";".join(MIGRATIONS[:13]) + ";PRAGMA user_version = 13;")
    stamp = T0.isoformat(timespec="microseconds")
    conn.execute("INSERT INTO tombstones VALUES ('a', 'link:https://m.wire.example/x', ?)",
                 (stamp,))  # fmt: skip
    conn.execute("INSERT INTO tombstone_aliases VALUES ('a', ?, 'guid:g', ?)",
                 ("link:wire.example/y\x1fWhy oil fell", stamp))  # fmt: skip
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        store.sync_sources(SOURCES)
        copies = [entry(f"b{n}", f"Copy {n}", link=f"http://wire.example/{n}") for n in "xy"]
        assert put(store, "b", copies, hours=1) == (0, 0)
        assert put(store, "b", [entry("bz", "Copy z", link="http://wire.example/z")],
                   hours=2) == (1, 0)  # fmt: skip


def _put_wire_copy(store: Store) -> None:
    put(store, "b", [entry("b1", "Libyan crude production climbs to highest since 2013",
                           summary="TRIPOLI (Wire) - " + WIRE_LEAD)], hours=1)  # fmt: skip


def test_entries_stored_before_version_7_still_join_similar_copies(tmp_path: Path) -> None:
    """Migration 7 keeps the band index (ISO times become seconds) and entries
    without stored story words are compared by their text."""
    old = _old_database(tmp_path / "v6.sqlite", 6)
    with Store.open(tmp_path / "v6.sqlite") as store:
        store.sync_sources(SOURCES)
        bands = store._conn.execute("SELECT count(*), min(at) FROM entry_bands").fetchone()
        assert bands == (len(old.bands), int(T0.timestamp()))
        _put_wire_copy(store)
        assert stories(store) == [
            [("a", "Libya oil output hits 11-year high"),
             ("b", "Libyan crude production climbs to highest since 2013")]
        ]  # fmt: skip


def test_entries_stored_with_story_words_but_no_profile_still_join(tmp_path: Path) -> None:
    """Entries stored by releases 7-10 carry story words, not a profile: they are
    compared by their words (their text is not read: blank here), with the same
    score a profile gives."""
    wire = entry("a1", "Libya oil output hits 11-year high", summary=WIRE_LEAD)
    line = dedup.story_line(dedup.story_words(wire))
    _old_database(tmp_path / "v10.sqlite", 10, story_words=line)
    with Store.open(tmp_path / "v10.sqlite") as store:
        store.sync_sources(SOURCES)
        store._conn.execute("UPDATE entries SET title = '', summary = '' WHERE id = 1")
        _put_wire_copy(store)
        (old_row, new_row) = store._conn.execute(
            "SELECT story_words IS NULL, story_profile IS NULL FROM entries ORDER BY id"
        ).fetchall()
        assert old_row == (0, 1) and new_row == (1, 0)
        by_words = store.story_membership(1)[1]
    with Store.open(tmp_path / "new.sqlite") as fresh:
        fresh.sync_sources(SOURCES)
        put(fresh, "a", [wire])
        _put_wire_copy(fresh)
        by_profile = fresh.story_membership(1)[1]
    assert by_words.reason == by_profile.reason == "similar"
    assert by_words.score == by_profile.score
