"""The SQLite Store: schema migrations, source state, entry upserts, queries."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.config import SourceConfig
from aggregator.crashpoint import crash_point
from aggregator.errors import StorageError
from aggregator.models import (
    Clustering,
    CycleStats,
    Enclosure,
    KnownItem,
    Member,
    NewEntry,
    SourceState,
    StoredEntry,
    TopicStats,
)
from aggregator.store import stories
from aggregator.store.history import HistoryMixin
from aggregator.store.schema import MIGRATIONS
from aggregator.store.topics import TopicStateMixin

_STATE_COLUMNS = (
    "id, url, effective_url, feed_title, feed_link, etag, last_modified, body_hash, "
    "last_fetch, last_success, last_status, error_count, last_error, next_fetch, new_entries, "
    "(SELECT count(*) FROM entries WHERE entries.source_id = sources.id) AS total, "
    "failing_since, retired_at, redirect_url, redirect_count, feed_ttl, fetch_floor"
)
_ENTRY_COLUMNS = (
    "e.id, e.source_id, e.key, e.story_id, e.guid, e.link, e.canonical_url, e.title, "
    "e.summary, e.content, e.authors, e.categories, e.enclosures, e.published, e.updated, "
    "e.first_seen, e.sort_date, e.exact_id, e.last_changed"
)


# How long a batch() groups writes before committing them.
BATCH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: int
    updated: int
    unchanged: int


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Store(HistoryMixin, TopicStateMixin):
    """One connection, one writer. Not shared between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._batch_seconds: float | None = None  # inside batch(): group commits
        self._batch_started = 0.0

    @classmethod
    def open(cls, path: Path) -> Store:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # A stored document dirties index pages all over the band and alias
            # indexes: a larger cache and fewer, larger checkpoints write each page
            # once per many documents instead of once per few (measured: the store
            # step of a cold cycle 1.5x faster).
            conn.execute("PRAGMA cache_size=-32768")
            conn.execute("PRAGMA wal_autocheckpoint=8192")
            # Each document of a batch is a savepoint, whose journal keeps the old
            # copy of every page it touches: in memory (at most a few MB for one
            # document), not a temporary file (band inserts of a batched cold
            # store 4.2 s -> 2.8 s).
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            store = cls(conn, path)
            store._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        return store

    def close(self) -> None:
        if self._conn.in_transaction:  # an interrupted batch: what it holds is complete
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("COMMIT")
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StorageError(
                f"database {self.path} has schema version {version}, newer than this "
                f"aggregator knows ({len(MIGRATIONS)}): upgrade aggregator"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first; the migration and its version bump are one unit.
            self._conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    @contextmanager
    def batch(self, seconds: float = BATCH_SECONDS) -> Iterator[None]:
        """Group the writes made inside into transactions of up to `seconds` each.

        Each write (a source's document, its state) stays all-or-nothing, as a
        savepoint; committing once for many documents writes each index page they
        share once instead of once per document. A crash loses at most the last
        group, which the next cycle fetches again.
        """
        self._batch_seconds = seconds
        try:
            yield
        finally:
            self._batch_seconds = None
            with self._guard():
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._guard():
            if self._batch_seconds is None:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    # After "database or disk is full" SQLite has already rolled back.
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")
                self._batch_started = time.monotonic()
            self._conn.execute("SAVEPOINT write")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # else SQLite rolled the whole group back
                    self._conn.execute("ROLLBACK TO write")
                    self._conn.execute("RELEASE write")
                raise
            self._conn.execute("RELEASE write")
            if time.monotonic() - self._batch_started >= self._batch_seconds:
                self._conn.execute("COMMIT")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StorageError(f"database {self.path}: {exc}") from exc

    # -- sources ---------------------------------------------------------

    def sync_sources(self, sources: Mapping[str, SourceConfig]) -> None:
        """Make a row for every configured source; a changed URL starts afresh."""
        with self._transaction() as db:
            for source in sources.values():
                row = db.execute("SELECT url FROM sources WHERE id = ?", (source.id,)).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO sources (id, url) VALUES (?, ?)", (source.id, source.url)
                    )
                elif row[0] != source.url:
                    db.execute(
                        "UPDATE sources SET url = ?, effective_url = NULL, etag = NULL, "
                        "last_modified = NULL, body_hash = NULL, next_fetch = NULL, "
                        "error_count = 0, last_error = NULL, failing_since = NULL, "
                        "retired_at = NULL, redirect_url = NULL, redirect_count = 0, "
                        "item_index = NULL WHERE id = ?",
                        (source.url, source.id),
                    )

    def source_states(self) -> dict[str, SourceState]:
        with self._guard():
            # Column lists are constants; every value is a bound parameter.
            rows = self._conn.execute(f"SELECT {_STATE_COLUMNS} FROM sources ORDER BY id")  # noqa: S608
            return {row[0]: _state(row) for row in rows}

    def source_state(self, source_id: str) -> SourceState | None:
        with self._guard():
            row = self._conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM sources WHERE id = ?",  # noqa: S608
                (source_id,),
            ).fetchone()
        return None if row is None else _state(row)

    def record_not_modified(
        self, source_id: str, *, now: datetime, status: int, next_fetch: datetime,
        etag: str | None, last_modified: str | None, fetch_floor: datetime | None = None,
    ) -> None:  # fmt: skip
        """A fetch that brought nothing new: a 304, or a body identical to the last."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET last_fetch = ?, last_success = ?, last_status = ?, "
                "next_fetch = ?, error_count = 0, last_error = NULL, new_entries = 0, "
                "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), "
                "failing_since = NULL, retired_at = NULL, fetch_floor = ? WHERE id = ?",
                (_ts(now), _ts(now), status, _ts(next_fetch), etag, last_modified,
                 _ts(fetch_floor), source_id),
            )  # fmt: skip

    def record_failure(
        self, source_id: str, *, now: datetime, status: int | None, error: str,
        next_fetch: datetime,
    ) -> None:  # fmt: skip
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET last_fetch = ?, last_status = ?, last_error = ?, "
                "error_count = error_count + 1, next_fetch = ?, "
                "failing_since = coalesce(failing_since, ?) WHERE id = ?",
                (_ts(now), status, error, _ts(next_fetch), _ts(now), source_id),
            )

    def retire(self, source_id: str, *, now: datetime, status: int | None, error: str) -> None:
        """410 Gone: no more requests until its URL changes; its entries stay."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET last_fetch = ?, last_status = ?, last_error = ?, "
                "error_count = error_count + 1, next_fetch = NULL, retired_at = ?, "
                "failing_since = coalesce(failing_since, ?) WHERE id = ?",
                (_ts(now), status, error, _ts(now), _ts(now), source_id),
            )

    def record_redirect(
        self, source_id: str, *, redirect_url: str | None, redirect_count: int,
        effective_url: str | None,
    ) -> None:  # fmt: skip
        """Where permanent redirects pointed lately, and the address now trusted."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET redirect_url = ?, redirect_count = ?, effective_url = ? "
                "WHERE id = ?",
                (redirect_url, redirect_count, effective_url, source_id),
            )

    # -- entries ---------------------------------------------------------

    def store_entries(
        self,
        source_id: str,
        entries: Sequence[NewEntry],
        *,
        now: datetime,
        next_fetch: datetime,
        status: int,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        effective_url: str | None,
        feed_title: str | None,
        feed_link: str | None,
        feed_ttl: int | None = None,
        fetch_floor: datetime | None = None,
        clustering: Clustering | None = None,
        items: Mapping[str, KnownItem] | None = None,
        skipped_keys: Sequence[str] = (),
    ) -> StoreResult:
        """Upsert one fetched document's entries and the source's state, atomically.

        Entries are never deleted because they vanished from a feed. An edited
        entry is updated in place and keeps its first_seen, sort_date and story;
        so does one found again under an earlier name (stories.find_existing).
        A new entry joins a story as `clustering` says (default: exact joins).
        `items` (Ingested.items) is remembered for the next fetch (known_items);
        skipped_keys are the keys of the document's items skipped as unchanged.
        """
        new = updated = 0
        stamp = _ts(now)
        assert stamp is not None  # `now` is required
        clustering = clustering or Clustering()
        batch_keys = {item.key for item in entries}.union(skipped_keys)
        claimed: set[int] = set()
        touched: list[int] = []
        with self._transaction() as db:
            found = stories.known(db, source_id, entries)
            next_id = 0
            # Reversed so the document's first (newest) item gets the highest id,
            # which breaks ties in sort_date the way the publisher intended.
            for item in reversed(entries):
                row = stories.find_existing(found, item, batch_keys, claimed)
                if row is None:
                    if stories.was_pruned(found, item, batch_keys):
                        continue  # retention deleted it: not new, just old
                    sort_date = _sort_date(item, stamp)
                    join = stories.find_story(
                        db, source_id, item, datetime.fromisoformat(sort_date), clustering
                    )
                    if isinstance(join, stories.Pruned):
                        continue  # a copy of an article published, then pruned: old too
                    if not next_id:
                        # The writer lock is held: ids can be handed out here, so the
                        # entry is inserted whole (its own story) in one statement.
                        (last,) = db.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()
                        next_id = int(last) + 1
                    entry_id, next_id = next_id, next_id + 1
                    self._insert(db, entry_id, source_id, item, stamp, sort_date, join)
                    new += 1
                    changed = True
                    touched.append(entry_id)
                else:
                    entry_id, content_hash, by_key = row
                    changed = content_hash != item.content_hash
                    if changed:
                        self._update(db, entry_id, item, stamp)
                        updated += 1
                        touched.append(entry_id)
                    changed = changed or not by_key
                claimed.add(entry_id)
                if changed:  # an unchanged entry found by its key has its aliases already
                    stories.remember(db, source_id, entry_id, item)
            if touched:
                # One change number per batch: publishing re-curates what moved since.
                (seq,) = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM entries").fetchone()
                db.execute(
                    "UPDATE entries SET seq = ? WHERE id IN (SELECT value FROM json_each(?))",
                    (seq, json.dumps(touched)),
                )
            crash_point("mid-store")
            db.execute(
                "UPDATE sources SET last_fetch = ?, last_success = ?, last_status = ?, "
                "next_fetch = ?, error_count = 0, last_error = NULL, new_entries = ?, "
                "etag = ?, last_modified = ?, body_hash = ?, effective_url = ?, "
                "feed_title = coalesce(?, feed_title), feed_link = coalesce(?, feed_link), "
                "feed_ttl = ?, failing_since = NULL, retired_at = NULL, item_index = ?, "
                "fetch_floor = ? WHERE id = ?",
                (
                    stamp, stamp, status, _ts(next_fetch), new, etag, last_modified, body_hash,
                    effective_url, feed_title, feed_link, feed_ttl, _item_index(items),
                    _ts(fetch_floor), source_id,
                ),
            )  # fmt: skip
        unchanged = len(entries) - new - updated + len(skipped_keys)
        return StoreResult(new=new, updated=updated, unchanged=unchanged)

    def known_items(self, source_id: str) -> dict[str, KnownItem]:
        """The item elements of the source's last stored document (Ingested.items)."""
        row = self._conn.execute(
            "SELECT item_index FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        if row is None or not row[0]:
            return {}
        try:
            return {d: KnownItem(str(key), link) for d, (key, link) in json.loads(row[0]).items()}
        except (ValueError, TypeError):
            return {}  # unreadable: everything is parsed, and it is rewritten

    @staticmethod
    def _insert(
        db: sqlite3.Connection, entry_id: int, source_id: str, item: NewEntry,
        first_seen: str, sort_date: str, join: stories.Join | None,
    ) -> None:  # fmt: skip
        e = item.entry
        db.execute(
            "INSERT INTO entries (id, source_id, key, story_id, guid, link, canonical_url, "
            "join_url, title, summary, content, authors, categories, enclosures, published, "
            "updated, first_seen, last_changed, sort_date, content_hash, exact_id, join_reason, "
            "join_score, joined_to, fingerprint, story_profile) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry_id, source_id, item.key, join.story_id if join else entry_id, e.guid,
                e.link, item.canonical_url, item.join_url, e.title, e.summary, e.content,
                *_lists(item), _ts(e.published), _ts(e.updated), first_seen, first_seen, sort_date,
                item.content_hash,
                entry_id if join is None or join.exact_id is None else join.exact_id,
                join.reason if join else "first", join.score if join else 1.0,
                join and join.joined_to, item.fingerprint, item.profile or None,
            ),
        )  # fmt: skip
        stories.add_bands(db, entry_id, item, sort_date)

    @staticmethod
    def _update(db: sqlite3.Connection, entry_id: int, item: NewEntry, stamp: str | None) -> None:
        e = item.entry
        db.execute(
            "UPDATE entries SET guid = ?, link = ?, canonical_url = ?, join_url = ?, title = ?, "
            "summary = ?, content = ?, authors = ?, categories = ?, enclosures = ?, "
            "published = ?, updated = ?, last_changed = ?, content_hash = ? WHERE id = ?",
            (
                e.guid, e.link, item.canonical_url, item.join_url, e.title, e.summary, e.content,
                *_lists(item), _ts(e.published), _ts(e.updated), stamp, item.content_hash,
                entry_id,
            ),
        )  # fmt: skip
        (sort_date,) = db.execute(
            "SELECT sort_date FROM entries WHERE id = ?", (entry_id,)
        ).fetchone()
        stories.index_text(db, entry_id, item, sort_date)

    def stories(
        self, *, clustered: bool = True, oldest_first: bool = False
    ) -> Iterator[StoredEntry]:
        """Every entry, grouped by story, newest story first (or, `oldest_first`,
        in exactly the reverse order of stories).

        A story is dated by its first member, so a late joiner or an edit never
        moves it. Within a story, members come in the order they were stored.
        Not `clustered`, the groups are exact duplicates only (story_id is then
        still the whole story's, exact_id the group).
        """
        yield from self._entries_where("1", (), clustered=clustered, oldest_first=oldest_first)

    def _entries_where(
        self, where: str, params: Sequence[object], *, clustered: bool = True,
        oldest_first: bool = False,
    ) -> Iterator[StoredEntry]:  # fmt: skip
        """Entries of the stories whose first entry `s` satisfies `where`
        (a constant SQL condition with bound parameters), grouped by story (or,
        not `clustered`, by exact duplicates)."""
        group = "story_id" if clustered else "exact_id"
        order = "ASC" if oldest_first else "DESC"
        with self._guard():
            cursor = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries s JOIN entries e ON e.{group} = s.id "  # noqa: S608
                f"WHERE s.{group} = s.id AND ({where}) "
                f"ORDER BY s.sort_date {order}, s.id {order}, e.id ASC",
                params,
            )
            for row in cursor:
                yield _entry(row)

    def find_entries(
        self, *, entry_id: int | None = None, link: str | None = None
    ) -> list[StoredEntry]:
        """Entries by stored id, or by link or guid (as published or in canonical form)."""
        with self._guard():
            args: tuple[object, ...]
            if entry_id is not None:
                where, args = "e.id = ?", (entry_id,)
            else:
                where = "e.link = ? OR e.canonical_url = ? OR e.guid = ?"
                args = (link, link, link)
            rows = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE {where} ORDER BY e.id",  # noqa: S608
                args,
            )
            return [_entry(row) for row in rows]

    def story_members(self, story_id: int) -> list[StoredEntry]:
        """Every entry of one story, in the order they were stored."""
        with self._guard():
            rows = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.story_id = ? ORDER BY e.id",  # noqa: S608
                (story_id,),
            )
            return [_entry(row) for row in rows]

    def founders(self) -> Iterator[StoredEntry]:
        """The first entry of every story and of every exact-duplicate group: the
        published ids derive from them (a topic with cluster = false publishes
        each exact group apart)."""
        with self._guard():
            cursor = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e "  # noqa: S608
                "WHERE e.story_id = e.id OR e.exact_id = e.id ORDER BY e.id"
            )
            for row in cursor:
                yield _entry(row)

    def entry_by_key(self, source_id: str, key: str) -> StoredEntry | None:
        """The entry stored under `key` in the source, or found again under it."""
        with self._guard():
            row = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.id = coalesce("  # noqa: S608
                "(SELECT id FROM entries WHERE source_id = ? AND key = ?), "
                "(SELECT entry_id FROM entry_aliases WHERE source_id = ? AND alias = ?))",
                (source_id, key, source_id, "key:" + key),
            ).fetchone()
        return None if row is None else _entry(row)

    def story_membership(self, entry_id: int) -> list[Member]:
        """The members of the story entry_id belongs to, first stored first,
        each with the reason it was joined."""
        with self._guard():
            rows = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS}, e.join_reason, e.join_score, e.joined_to "  # noqa: S608
                "FROM entries x JOIN entries e ON e.story_id = x.story_id "
                "WHERE x.id = ? ORDER BY e.id",
                (entry_id,),
            ).fetchall()
        return [Member(_entry(row), row[19], float(row[20]), row[21]) for row in rows]

    def entry_count(self) -> int:
        with self._guard():
            return int(self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    # -- health ----------------------------------------------------------

    def record_cycle(self, stats: CycleStats, *, keep: int = 100) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO cycles (started, duration, sources, failed, new_entries) "
                "VALUES (?, ?, ?, ?, ?)",
                (_ts(stats.started), stats.duration, stats.sources, stats.failed,
                 stats.new_entries),
            )  # fmt: skip
            db.execute("DELETE FROM cycles WHERE id <= (SELECT max(id) FROM cycles) - ?", (keep,))

    def last_cycle(self) -> CycleStats | None:
        with self._guard():
            row = self._conn.execute(
                "SELECT started, duration, sources, failed, new_entries FROM cycles "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        started = _dt(row[0])
        assert started is not None  # NOT NULL column
        return CycleStats(started, row[1], row[2], row[3], row[4])

    def record_topics(self, stats: Sequence[TopicStats]) -> None:
        """Replace the per-topic publish record (a removed topic disappears)."""
        with self._transaction() as db:
            db.execute("DELETE FROM topic_stats")
            db.executemany(
                "INSERT INTO topic_stats (slug, items, newest, published) VALUES (?, ?, ?, ?)",
                [(s.slug, s.items, _ts(s.newest), _ts(s.published)) for s in stats],
            )

    def topic_stats(self) -> dict[str, TopicStats]:
        with self._guard():
            rows = self._conn.execute(
                "SELECT slug, items, newest, published FROM topic_stats ORDER BY slug"
            ).fetchall()
        out: dict[str, TopicStats] = {}
        for slug, items, newest, published in rows:
            when = _dt(published)
            assert when is not None  # NOT NULL column
            out[slug] = TopicStats(slug, items, _dt(newest), when)
        return out

    def integrity_check(self) -> list[str]:
        """SQLite's own check: ["ok"] when the file is sound."""
        with self._guard():
            return [str(r[0]) for r in self._conn.execute("PRAGMA integrity_check")]

    def backup(self, target: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API),
        safe while the daemon writes; written beside target, then renamed."""
        if self._is_live_file(target):
            # The rename would put a copy in place of the file the daemon writes.
            raise StorageError(
                f"cannot back up to {target}: that is the live database {self.path} "
                "(or its -wal/-shm/-journal file); choose another path"
            )
        tmp = target.with_name(f".{target.name}.backup-tmp")
        try:
            tmp.unlink(missing_ok=True)
            with self._guard():
                copy = sqlite3.connect(tmp)
                try:
                    self._conn.backup(copy)
                finally:
                    copy.close()
            tmp.replace(target)
        except OSError as exc:
            raise StorageError(f"cannot write backup {target}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _is_live_file(self, target: Path) -> bool:
        live = [self.path.with_name(self.path.name + s) for s in ("", "-wal", "-shm", "-journal")]
        resolved = target.resolve()
        for path in live:
            if path.resolve() == resolved:
                return True
            # A hard link to the database has another name but is the same file.
            with contextlib.suppress(OSError):
                if path.samefile(target):
                    return True
        return False


def _sort_date(item: NewEntry, first_seen: str) -> str:
    """A new entry's sort date: its own date, unless that is after it was first seen."""
    e = item.entry
    dated = e.published or e.updated  # Atom entries may carry only <updated>
    return first_seen if dated is None else min(_ts(dated) or "", first_seen)


def _item_index(items: Mapping[str, KnownItem] | None) -> str | None:
    if not items:
        return None
    return json.dumps({d: [k.key, k.link] for d, k in items.items()}, ensure_ascii=False)


def _lists(item: NewEntry) -> tuple[str, str, str]:
    e = item.entry
    enclosures = [[x.url, x.type, x.length] for x in e.enclosures]
    return (
        json.dumps(list(e.authors), ensure_ascii=False),
        json.dumps(list(e.categories), ensure_ascii=False),
        json.dumps(enclosures, ensure_ascii=False),
    )


def _state(row: Any) -> SourceState:
    return SourceState(
        source_id=row[0], url=row[1], effective_url=row[2], feed_title=row[3], feed_link=row[4],
        etag=row[5], last_modified=row[6], body_hash=row[7], last_fetch=_dt(row[8]),
        last_success=_dt(row[9]), last_status=row[10], error_count=row[11], last_error=row[12],
        next_fetch=_dt(row[13]), new_entries=row[14], total_entries=row[15],
        failing_since=_dt(row[16]), retired_at=_dt(row[17]), redirect_url=row[18],
        redirect_count=row[19], feed_ttl=row[20], fetch_floor=_dt(row[21]),
    )  # fmt: skip


def _entry(row: Any) -> StoredEntry:
    first_seen = _dt(row[15])
    sort_date = _dt(row[16])
    assert first_seen is not None and sort_date is not None  # NOT NULL columns
    updated, last_changed = _dt(row[14]), _dt(row[18])
    if updated is None and last_changed is not None and last_changed > first_seen:
        updated = last_changed  # an edit the feed did not date: when we saw it
    if updated is not None:
        # A publisher's clock can be wrong: an update is no later than the fetch that
        # brought this version, and no earlier than the date the entry is sorted by.
        updated = max(min(updated, last_changed or updated), sort_date)
    return StoredEntry(
        id=row[0], source_id=row[1], key=row[2], story_id=row[3], guid=row[4], link=row[5],
        canonical_url=row[6], title=row[7], summary=row[8], content=row[9],
        authors=tuple(json.loads(row[10])), categories=tuple(json.loads(row[11])),
        enclosures=tuple(Enclosure(u, t, n) for u, t, n in json.loads(row[12])),
        published=_dt(row[13]), updated=updated, first_seen=first_seen,
        sort_date=sort_date, exact_id=row[17],
    )  # fmt: skip
