"""What publishing remembers per topic, so the next publish re-curates only what
changed: the rule it curated with, the change number it had seen, and the stories
it holds outside its archives."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime

from aggregator.models import StoredEntry
from aggregator.store.base import StoreParts
from aggregator.store.stories import stamp_of


@dataclass(frozen=True, slots=True)
class TopicState:
    rule: str  # a digest of what decides membership; another rule means a full walk
    seq: int  # the entries' change number the topic was curated at
    published: datetime
    due: datetime | None = None  # the next change time alone makes; None: none


class TopicStateMixin(StoreParts):
    def change_number(self) -> int:
        """The newest change number any entry carries (0: none yet)."""
        with self._guard():
            return int(
                self._conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]
            )

    def topic_state(self, topic: str) -> TopicState | None:
        with self._guard():
            row = self._conn.execute(
                "SELECT rule, seq, published, due FROM topic_state WHERE topic = ?", (topic,)
            ).fetchone()
        if row is None:
            return None
        due = None if row[3] is None else datetime.fromisoformat(row[3])
        return TopicState(row[0], row[1], datetime.fromisoformat(row[2]), due)

    def publish_due(self, now: datetime) -> bool:
        """Whether some topic's current document has changed with time alone by now."""
        with self._guard():
            row = self._conn.execute(
                "SELECT 1 FROM topic_state WHERE due <= ? LIMIT 1", (stamp_of(now),)
            ).fetchone()
        return row is not None

    def topic_members(self, topic: str) -> list[int]:
        with self._guard():
            rows = self._conn.execute(
                "SELECT story_id FROM topic_members WHERE topic = ?", (topic,)
            ).fetchall()
        return [r[0] for r in rows]

    def save_topic(self, topic: str, state: TopicState, members: Collection[int]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO topic_state (topic, rule, seq, published, due) "
                "VALUES (?, ?, ?, ?, ?)",
                (topic, state.rule, state.seq, state.published.isoformat(timespec="microseconds"),
                 None if state.due is None else stamp_of(state.due)),
            )  # fmt: skip
            db.execute("DELETE FROM topic_members WHERE topic = ?", (topic,))
            db.executemany(
                "INSERT INTO topic_members (topic, story_id) VALUES (?, ?)",
                [(topic, sid) for sid in members],
            )

    def forget_topics(self, keep: Collection[str]) -> None:
        """Drop the state of topics no longer configured (a re-added one starts afresh)."""
        with self._transaction() as db:
            marks = json.dumps(sorted(keep))
            for table in ("topic_state", "topic_members"):
                db.execute(
                    f"DELETE FROM {table} WHERE topic NOT IN (SELECT value FROM json_each(?))",  # noqa: S608
                    (marks,),
                )

    def changed_stories(self, since: int) -> set[int]:
        """Stories with an entry written after change number `since`."""
        with self._guard():
            # No DISTINCT: with it SQLite walks the story index instead of the seq one.
            rows = self._conn.execute(
                "SELECT story_id FROM entries WHERE seq > ?", (since,)
            ).fetchall()
        return {r[0] for r in rows}

    def recent_stories(self, since: datetime) -> set[int]:
        """Stories with an entry dated at or after `since`: not only by their first
        entry, since a topic that does not cluster dates each exact-duplicate group
        by its own first entry, and min_age holds such a group back by it."""
        with self._guard():
            rows = self._conn.execute(
                "SELECT story_id FROM entries WHERE sort_date >= ?",
                (since.isoformat(timespec="microseconds"),),
            ).fetchall()
        return {r[0] for r in rows}

    def stories_of(
        self, story_ids: Collection[int], *, clustered: bool, oldest_first: bool = False
    ) -> Iterator[StoredEntry]:
        """The entries of the given stories, grouped and ordered like Store.stories()."""
        yield from self._entries_where(
            "s.story_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(story_ids)),),
            clustered=clustered,
            oldest_first=oldest_first,
        )
