from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.config import SourceConfig
from aggregator.dedup import key_entries
from aggregator.errors import StorageError
from aggregator.models import Enclosure, ParsedEntry
from aggregator.store import Store
from aggregator.store.schema import MIGRATIONS
from tests.factories import T0, parsed

SOURCES = {
    "a": SourceConfig(id="a", url="https://a.example/feed"),
    "b": SourceConfig(id="b", url="https://b.example/feed"),
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "db.sqlite")
    s.sync_sources(SOURCES)
    return s


def put(
    store: Store, source: str, entries: list[ParsedEntry], *, hours: float = 0
) -> tuple[int, int]:
    now = T0 + timedelta(hours=hours)
    result = store.store_entries(
        source, key_entries(entries), now=now, next_fetch=now + timedelta(minutes=30), status=200,
        etag='"v1"', last_modified=None, body_hash="h", effective_url=None,
        feed_title="Feed", feed_link="https://a.example/",
    )  # fmt: skip
    return result.new, result.updated


def test_schema_is_migrated_in_wal_mode(tmp_path: Path) -> None:
    Store.open(tmp_path / "db.sqlite").close()
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageError, match="newer than this aggregator"):
        Store.open(tmp_path / "db.sqlite")


def test_new_updated_unchanged_and_state(store: Store) -> None:
    first = [parsed("1", "One"), parsed("2", "Two")]
    assert put(store, "a", first) == (2, 0)
    assert put(store, "a", first, hours=1) == (0, 0)
    assert put(store, "a", [parsed("1", "One (edited)"), parsed("2", "Two")], hours=2) == (0, 1)
    state = store.source_state("a")
    assert state is not None
    assert state.total_entries == 2 and state.etag == '"v1"' and state.feed_title == "Feed"
    assert state.last_success == T0 + timedelta(hours=2)


def test_an_edit_keeps_first_seen_sort_date_and_story(store: Store) -> None:
    put(store, "a", [parsed("1", "One", published=T0 - timedelta(hours=3))])
    (before,) = list(store.stories())
    later = T0 + timedelta(days=2)
    put(store, "a", [parsed("1", "One v2", published=later, updated=later)], hours=48)
    (after,) = list(store.stories())
    assert after.title == "One v2" and after.updated == later
    assert (after.id, after.first_seen, after.sort_date, after.story_id) == (
        before.id, before.first_seen, before.sort_date, before.story_id,
    )  # fmt: skip


def test_future_dates_are_clamped_to_first_seen(store: Store) -> None:
    put(store, "a", [parsed("1", "From the future", published=T0 + timedelta(days=365))])
    (entry,) = list(store.stories())
    assert entry.sort_date == T0
    assert entry.published == T0 + timedelta(days=365)  # kept as the publisher wrote it


def test_future_updates_are_clamped_to_the_fetch_that_brought_them(store: Store) -> None:
    # A feed claims a 2099 update: feeds, pages and the index would show it for as
    # long as the entry is listed, and readers would see no later change.
    future = T0 + timedelta(days=30_000)
    put(store, "a", [parsed("1", "One", published=T0 - timedelta(hours=3), updated=future)])
    (entry,) = list(store.stories())
    assert entry.updated == T0  # when it was fetched
    put(store, "a", [parsed("1", "One, edited", published=T0, updated=future)], hours=5)
    (entry,) = list(store.stories())
    assert entry.updated == T0 + timedelta(hours=5)
    # An update dated before the entry's own date reads as that date.
    put(store, "a", [parsed("2", "Two", published=T0, updated=T0 - timedelta(days=9))], hours=6)
    (two,) = [e for e in store.stories() if e.title == "Two"]
    assert two.updated == two.sort_date == T0


def test_an_undated_edit_is_dated_when_it_was_seen(store: Store) -> None:
    # RSS items rarely carry an update date: without one, an edit would leave the
    # published <updated> unchanged and readers could keep the old text.
    put(store, "a", [parsed("1", "One", published=T0), parsed("2", "Two", published=T0)])
    assert {e.title: e.updated for e in store.stories()} == {"One": None, "Two": None}
    two = parsed("2", "Two", published=T0)
    put(store, "a", [parsed("1", "One, corrected", published=T0), two], hours=3)
    by_title = {e.title: e.updated for e in store.stories()}
    assert by_title == {"One, corrected": T0 + timedelta(hours=3), "Two": None}


def test_vanished_entries_are_never_deleted(store: Store) -> None:
    put(store, "a", [parsed("1", "One"), parsed("2", "Two")])
    put(store, "a", [parsed("3", "Three")], hours=1)
    assert store.entry_count() == 3


def test_same_canonical_url_across_sources_is_one_story(store: Store) -> None:
    put(store, "a", [parsed("x", "Deal", link="https://wire.example/deal?utm_source=a")])
    put(store, "b", [parsed("y", "Deal", link="https://WIRE.example/deal#top")], hours=1)
    put(store, "b", [parsed("z", "Other", link="https://wire.example/other")], hours=1)
    rows = list(store.stories())
    by_story: dict[int, list[str]] = {}
    for row in rows:
        by_story.setdefault(row.story_id, []).append(row.source_id)
    assert sorted(by_story.values()) == [["a", "b"], ["b"]]
    # Grouped, founder first: the joiner follows its founder immediately.
    deal = [r for r in rows if r.title == "Deal"]
    assert deal[0].source_id == "a" and deal[1].story_id == deal[0].id


def test_stories_come_newest_first_in_document_order_on_ties(store: Store) -> None:
    old = T0 - timedelta(days=2)
    put(
        store,
        "a",
        [parsed("n1", "Newest"), parsed("n2", "Second"), parsed("o", "Old", published=old)],
    )
    assert [e.title for e in store.stories()] == ["Newest", "Second", "Old"]


def test_lists_and_enclosures_round_trip(store: Store) -> None:
    entry = parsed(
        "1", "Podcast", authors=("Ann", "Bo"), categories=("oil", "OPEC"),
        enclosures=(Enclosure("https://a.example/ep.mp3", "audio/mpeg", 123),),
    )  # fmt: skip
    put(store, "a", [entry])
    (row,) = list(store.stories())
    assert row.authors == ("Ann", "Bo") and row.categories == ("oil", "OPEC")
    assert row.enclosures == (Enclosure("https://a.example/ep.mp3", "audio/mpeg", 123),)
    assert row.first_seen.tzinfo is not None


def test_failures_count_up_and_success_resets(store: Store) -> None:
    for i in range(3):
        store.record_failure("a", now=T0, status=500, error="fetch: HTTP 500",
                             next_fetch=T0 + timedelta(minutes=i))  # fmt: skip
    state = store.source_state("a")
    assert state is not None and state.error_count == 3 and state.last_error == "fetch: HTTP 500"
    assert state.last_success is None
    store.record_not_modified("a", now=T0, status=304, next_fetch=T0, etag=None, last_modified="x")
    state = store.source_state("a")
    assert state is not None and state.error_count == 0 and state.last_error is None
    assert state.last_modified == "x" and state.last_status == 304


def test_a_changed_url_in_config_forgets_validators(store: Store) -> None:
    put(store, "a", [parsed("1", "One")])
    store.sync_sources({"a": SourceConfig(id="a", url="https://a.example/new-feed")})
    state = store.source_state("a")
    assert state is not None
    assert (
        state.url == "https://a.example/new-feed"
        and state.etag is None
        and state.next_fetch is None
    )
    assert store.entry_count() == 1  # its articles stay


def test_data_survives_reopening(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite") as s:
        s.sync_sources(SOURCES)
        put(s, "a", [parsed("1", "One")])
    with Store.open(tmp_path / "db.sqlite") as s:
        assert [e.title for e in s.stories()] == ["One"]


def test_a_failed_batch_leaves_nothing_behind(store: Store) -> None:
    put(store, "a", [parsed("1", "One")])
    with pytest.raises(StorageError):
        put(store, "ghost", [parsed("2", "Two")])  # no such source: foreign key fails
    assert store.entry_count() == 1


def test_a_version_1_database_is_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO sources (id, url, error_count) VALUES ('s', 'https://s.example/', 2)")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        state = store.source_states()["s"]
    assert (state.url, state.error_count) == ("https://s.example/", 2)
    assert (state.failing_since, state.retired_at, state.redirect_count) == (None, None, 0)


def test_topics_published_before_due_times_existed_are_due_at_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(";".join(MIGRATIONS[:12]) + ";PRAGMA user_version = 12;")
    conn.execute(
        "INSERT INTO topic_state (topic, rule, seq, published) VALUES ('oil', 'r', 3, ?)",
        (T0.isoformat(timespec="microseconds"),),
    )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        # Whether time alone changes the topic is known only once it is published again.
        assert store.publish_due(T0)
        state = store.topic_state("oil")
        assert state is not None and state.due == T0
        store.save_topic("oil", dataclasses.replace(state, due=None), [])
        assert not store.publish_due(T0 + timedelta(days=999))


def count_from_another_connection(store: Store) -> int:
    conn = sqlite3.connect(store.path)
    try:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def test_a_batch_groups_commits_and_a_failed_write_undoes_only_itself(store: Store) -> None:
    with store.batch(seconds=3600):
        put(store, "a", [parsed("1", "One"), parsed("2", "Two")])
        with pytest.raises(StorageError):  # the second write of this document fails
            store.store_entries(
                "nope", key_entries([parsed("3", "Three")]), now=T0, next_fetch=T0,
                status=200, etag=None, last_modified=None, body_hash=None,
                effective_url=None, feed_title=None, feed_link=None,
            )  # fmt: skip
        put(store, "b", [parsed("4", "Four")])
        assert count_from_another_connection(store) == 0  # not committed yet
    assert count_from_another_connection(store) == 3
    assert {e.title for e in store.stories()} == {"One", "Two", "Four"}
    assert store.source_states()["b"].etag == '"v1"'


def test_a_batch_commits_when_its_time_is_up(store: Store) -> None:
    with store.batch(seconds=0):
        put(store, "a", [parsed("1", "One")])
        assert count_from_another_connection(store) == 1
