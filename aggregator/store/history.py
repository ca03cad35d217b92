"""What the store remembers beyond entries: which stories went into which
RFC 5005 archive page, and what retention deleted (tombstones)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from aggregator.store.base import StoreParts

# Bound parameters per statement stay well under SQLite's limit.
_CHUNK = 500


class HistoryMixin(StoreParts):
    # -- archives --------------------------------------------------------

    def archived_uids(self, topic: str, stories: Collection[int] | None = None) -> set[str]:
        """The topic's archived story uids; only those of `stories` (story ids) when
        given, so a publish that looks at a few stories does not load the archive."""
        with self._guard():
            if stories is None:
                rows = self._conn.execute("SELECT uid FROM archive_items WHERE topic = ?", (topic,))
            else:
                rows = self._conn.execute(
                    "SELECT uid FROM archive_items WHERE topic = ? "
                    "AND story_id IN (SELECT value FROM json_each(?))",
                    (topic, json.dumps(sorted(stories))),
                )
            return {row[0] for row in rows}

    def archive_count(self, topic: str) -> int:
        with self._guard():
            row = self._conn.execute(
                "SELECT coalesce(max(number), 0) FROM archive_items WHERE topic = ?", (topic,)
            ).fetchone()
            return int(row[0])

    def add_archive_page(self, topic: str, number: int, stories: Sequence[tuple[str, int]]) -> None:
        """Record archive `number` of `topic`: (uid, story id) pairs, newest first."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO archive_items (topic, number, position, uid, story_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [(topic, number, i, uid, sid) for i, (uid, sid) in enumerate(stories)],
            )

    def archive_page(self, topic: str, number: int) -> list[tuple[str, int]]:
        with self._guard():
            rows = self._conn.execute(
                "SELECT uid, story_id FROM archive_items WHERE topic = ? AND number = ? "
                "ORDER BY position",
                (topic, number),
            )
            return [(row[0], row[1]) for row in rows]

    # -- retention -------------------------------------------------------

    def prune(
        self,
        limits: Mapping[str, tuple[timedelta | None, int]],
        *,
        keep_stories: set[int],
        now: datetime,
    ) -> int:
        """Delete each source's entries beyond its (max age, max count), by sort
        date; return how many were deleted.

        Never deletes a member of a story in `keep_stories` (what the current
        documents show), nor a story's first entry while later members remain
        (the story's published id derives from it). Each deleted entry leaves a
        tombstone of its key and of its aliases, so the next fetch does not store
        it again as new, under its key or another, and of its join URL, so another
        source's late copy of it is not stored as new either.
        """
        with self._transaction() as db:
            doomed: dict[int, tuple[str, str, int]] = {}
            for source_id, (max_age, max_count) in limits.items():
                # Only the rows past the limits reach Python: a publish costs what
                # retention deletes, not the size of the archive.
                rows = db.execute(
                    "SELECT id, key, story_id FROM entries WHERE source_id = ? "
                    "ORDER BY sort_date DESC, id DESC LIMIT -1 OFFSET ?",
                    (source_id, max_count),
                ).fetchall()
                if max_age:
                    rows += db.execute(
                        "SELECT id, key, story_id FROM entries "
                        "WHERE source_id = ? AND sort_date < ?",
                        (source_id, _iso(now - max_age)),
                    ).fetchall()
                for entry_id, key, story_id in rows:
                    if story_id not in keep_stories:
                        doomed[entry_id] = (source_id, key, story_id)
            founders = [eid for eid, (_, _, sid) in doomed.items() if eid == sid]
            for start in range(0, len(founders), _CHUNK):
                chunk = founders[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                members = db.execute(
                    f"SELECT id, story_id FROM entries WHERE story_id IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                for member_id, story_id in members:
                    if member_id not in doomed:
                        doomed.pop(story_id, None)  # a survivor: keep its founder
            stamp = _iso(now)
            db.executemany(
                "INSERT OR REPLACE INTO tombstones (source_id, key, deleted_at) VALUES (?, ?, ?)",
                [(source_id, key, stamp) for source_id, key, _ in doomed.values()],
            )
            # Its aliases too (deleted with it): under another key, it is still the same
            # item; with its date, which a link alias needs (stories.find_existing).
            db.executemany(
                "INSERT OR REPLACE INTO tombstone_aliases (source_id, alias, key, deleted_at, "
                "dated) SELECT a.source_id, a.alias, e.key, ?, "
                "coalesce(e.published, e.updated, '') FROM entry_aliases a "
                "JOIN entries e ON e.id = a.entry_id WHERE a.entry_id = ?",
                [(stamp, i) for i in doomed],
            )
            # And its URL: another outlet's late copy of it was published already.
            db.executemany(
                "INSERT OR IGNORE INTO pruned_urls (join_url, source_id, dated, pruned_at) "
                "SELECT join_url, source_id, coalesce(published, updated, ''), ? FROM entries "
                "WHERE id = ? AND join_url IS NOT NULL",
                [(stamp, i) for i in doomed],
            )
            db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in doomed])
            return len(doomed)

    def tombstoned(self, source_id: str, key: str) -> bool:
        with self._guard():
            row = self._conn.execute(
                "SELECT 1 FROM tombstones WHERE source_id = ? AND key = ?", (source_id, key)
            ).fetchone()
            return row is not None


def _iso(value: datetime) -> str:
    # The entries table's text form: UTC, +00:00, microseconds (text order = time order).
    return value.astimezone(UTC).isoformat(timespec="microseconds")
