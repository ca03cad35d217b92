"""Entry identity across key changes, and joining entries into stories.

Every lookup here is an indexed probe whose cost does not grow with the
archive: aliases by (source, alias), links by canonical URL, fingerprints and
LSH bands by key within a window of sort dates.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aggregator.models import Candidate, Clustering, NewEntry

# The most similar-text candidates looked at for one new entry (by the number
# of bands shared): a bound on work when boilerplate makes many texts collide.
MAX_CANDIDATES = 50


@dataclass(frozen=True, slots=True)
class Join:
    story_id: int
    exact_id: int | None  # None: the new entry starts its own exact group
    reason: str  # "url", "fingerprint", "similar" or "title"
    score: float
    joined_to: int


@dataclass(frozen=True, slots=True)
class Pruned:
    """find_story's answer for an entry whose URL names an article retention
    deleted: it was published once, so it is not new (and nothing shows it)."""


PRUNED = Pruned()


@dataclass(frozen=True, slots=True)
class Known:
    """What the store already holds under one document's keys, aliases and
    tombstones: four indexed queries per document instead of several per entry."""

    by_key: dict[str, tuple[int, str]]  # key -> (id, content_hash)
    # alias -> (id, content_hash, key, date: see dated)
    by_alias: dict[str, tuple[int, str, str, str]]
    tombstoned: frozenset[str]  # keys that retention deleted
    # aliases of entries retention deleted -> (the deleted entry's key, its date;
    # None when deleted before migration 14)
    tombstoned_aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _names(item: NewEntry) -> tuple[str, ...]:
    """The alias names an unknown item is looked up by, in order of trust."""
    keys = (item.key, *item.earlier_keys)
    return (*("key:" + k for k in keys), *item.aliases)


def dated(item: NewEntry) -> str:
    """The item's own date in the stored form ('' for none), as
    coalesce(published, updated, '') reads a stored one."""
    when = item.entry.published or item.entry.updated
    return "" if when is None else stamp_of(when)


def _vouches(name: str, date: str | None, item: NewEntry) -> bool:
    """Whether an alias found under `name`, on an entry dated `date`, names this
    item. A link alias (the permalink and title) only with the same date: a new
    guid scheme on the same permalinks keeps the dates, while a recurring item at a
    fixed URL (a weekly report) is a new item with a new date."""
    return not name.startswith(_LINK_ALIAS) or date == dated(item)


_LINK_ALIAS = "link:"


def known(db: sqlite3.Connection, source_id: str, items: Sequence[NewEntry]) -> Known:
    by_key = _stored_keys(db, source_id, items)
    unknown = [item for item in items if item.key not in by_key]
    if not unknown:
        return Known(by_key, {}, frozenset())
    names = json.dumps(sorted({n for item in unknown for n in _names(item)}))
    by_alias = {
        str(r[0]): (int(r[1]), str(r[2]), str(r[3]), str(r[4]))
        for r in db.execute(
            "SELECT a.alias, e.id, e.content_hash, e.key, "
            "coalesce(e.published, e.updated, '') FROM entry_aliases a "
            "JOIN entries e ON e.id = a.entry_id "
            "WHERE a.source_id = ? AND a.alias IN (SELECT value FROM json_each(?))",
            (source_id, names),
        )
    }
    keys = json.dumps(sorted({k for item in unknown for k in (item.key, *item.earlier_keys)}))
    tombstoned = frozenset(
        str(r[0])
        for r in db.execute(
            "SELECT key FROM tombstones "
            "WHERE source_id = ? AND key IN (SELECT value FROM json_each(?))",
            (source_id, keys),
        )
    )
    tombstoned_aliases = {
        str(r[0]): (str(r[1]), r[2])
        for r in db.execute(
            "SELECT alias, key, dated FROM tombstone_aliases "
            "WHERE source_id = ? AND alias IN (SELECT value FROM json_each(?))",
            (source_id, names),
        )
    }
    return Known(by_key, by_alias, tombstoned, tombstoned_aliases)


def _stored_keys(
    db: sqlite3.Connection, source_id: str, items: Sequence[NewEntry]
) -> dict[str, tuple[int, str]]:
    """Entries stored under the items' keys, or under the keys earlier releases gave them."""
    keys = {item.key for item in items}
    for item in items:
        keys.update(item.earlier_keys)
        if item.bare_guid_key is not None:
            keys.add(item.bare_guid_key)
    return {
        str(r[0]): (int(r[1]), str(r[2]))
        for r in db.execute(
            "SELECT key, id, content_hash FROM entries "
            "WHERE source_id = ? AND key IN (SELECT value FROM json_each(?))",
            (source_id, json.dumps(sorted(keys))),
        )
    }


def find_existing(
    found: Known, item: NewEntry, batch_keys: Collection[str], claimed: Collection[int]
) -> tuple[int, str, bool] | None:
    """(id, content_hash, found by its key) of the stored entry `item` is, if any.

    First by key, then by the keys earlier releases gave it, then by the
    aliases of its earlier names. An alias never reaches an entry that another
    item of the same document already is, or whose own key is in the document:
    two entries side by side in one document are two entries. (Entries
    inserted while storing this document have their keys in it, so looking
    aliases up before storing it is exact.)
    """
    row = found.by_key.get(item.key)
    if row is not None:
        return row[0], row[1], True
    hits = [(k, *found.by_key[k]) for k in item.earlier_keys if k in found.by_key]
    bare_key = item.bare_guid_key or ""
    bare = found.by_key.get(bare_key)
    if bare is not None and bare[1] == item.content_hash:  # this item, not any first one
        hits.append((bare_key, *bare))
    hits += [
        (hit[2], hit[0], hit[1])
        for n in _names(item)
        if (hit := found.by_alias.get(n)) and _vouches(n, hit[3], item)
    ]
    for key, entry_id, content_hash in hits:
        if entry_id not in claimed and key not in batch_keys:
            return entry_id, content_hash, False
    return None


def was_pruned(found: Known, item: NewEntry, batch_keys: Collection[str]) -> bool:
    """Whether retention deleted the entry `item` is (one not found in the store):
    by its key or an earlier release's, or by an alias of the deleted entry,
    unless that entry's key is another item of this document."""
    if item.key in found.tombstoned or any(k in found.tombstoned for k in item.earlier_keys):
        return True
    for name in _names(item):
        hit = found.tombstoned_aliases.get(name)
        if hit is not None and hit[0] not in batch_keys and _vouches(name, hit[1], item):
            return True
    return False


def remember(db: sqlite3.Connection, source_id: str, entry_id: int, item: NewEntry) -> None:
    """Record the item's key and aliases as names of entry_id; the first entry
    to claim an alias keeps it."""
    db.executemany(
        "INSERT OR IGNORE INTO entry_aliases (source_id, alias, entry_id) VALUES (?, ?, ?)",
        [(source_id, alias, entry_id) for alias in ("key:" + item.key, *item.aliases)],
    )


def index_text(db: sqlite3.Connection, entry_id: int, item: NewEntry, sort_date: str) -> None:
    """Re-index an edited entry's fingerprint, story profile and LSH bands."""
    db.execute(
        "UPDATE entries SET fingerprint = ?, story_profile = ?, story_words = NULL WHERE id = ?",
        (item.fingerprint, item.profile or None, entry_id),
    )
    db.execute("DELETE FROM entry_bands WHERE entry_id = ?", (entry_id,))
    add_bands(db, entry_id, item, sort_date)


def add_bands(db: sqlite3.Connection, entry_id: int, item: NewEntry, sort_date: str) -> None:
    at = _seconds(datetime.fromisoformat(sort_date))
    db.executemany(
        "INSERT OR IGNORE INTO entry_bands (band, at, entry_id) VALUES (?, ?, ?)",
        [(band, at, entry_id) for band in item.bands],
    )


def find_story(
    db: sqlite3.Connection,
    source_id: str,
    item: NewEntry,
    sort_date: datetime,
    clustering: Clustering,
) -> Join | Pruned | None:
    """The story a new entry of `source_id` belongs to: same join URL (any time),
    else the same fingerprint, else similar text, both within the window of the
    story's first entry. PRUNED when no stored entry has its URL but one that
    retention deleted had."""
    if item.join_url:
        # An entry of the same source with another date is another item at a URL the
        # source reuses (a weekly report, a live page): its identity rules said so.
        params = (item.join_url, source_id, dated(item))
        row = db.execute(
            "SELECT id, story_id, exact_id FROM entries WHERE join_url = ? "
            "AND (source_id <> ? OR coalesce(published, updated, '') = ?) ORDER BY id LIMIT 1",
            params,
        ).fetchone()
        if row is not None:
            return Join(row[1], row[2] if row[2] is not None else row[1], "url", 1.0, row[0])
        pruned = db.execute(
            "SELECT 1 FROM pruned_urls WHERE join_url = ? AND (source_id <> ? OR dated = ?)",
            params,
        ).fetchone()
        if pruned is not None:
            return PRUNED
    lo = stamp_of(sort_date - clustering.window)
    hi = stamp_of(sort_date + clustering.window)
    if item.fingerprint:
        row = db.execute(
            "SELECT e.id, e.story_id, e.exact_id FROM entries e "
            "JOIN entries s ON s.id = e.story_id "
            "WHERE e.fingerprint = ? AND e.sort_date BETWEEN ? AND ? "
            "AND s.sort_date BETWEEN ? AND ? ORDER BY e.id LIMIT 1",
            (item.fingerprint, lo, hi, lo, hi),
        ).fetchone()
        if row is not None:
            exact = row[2] if row[2] is not None else row[1]
            return Join(row[1], exact, "fingerprint", 1.0, row[0])
    if not item.bands or clustering.similar is None:
        return None
    marks = ",".join("?" * len(item.bands))
    ids = [
        r[0]
        for r in db.execute(
            f"SELECT entry_id FROM entry_bands WHERE band IN ({marks}) "  # noqa: S608
            "AND at BETWEEN ? AND ? GROUP BY entry_id "
            "ORDER BY count(*) DESC, entry_id LIMIT ?",
            (
                *item.bands,
                _seconds(sort_date - clustering.window),
                _seconds(sort_date + clustering.window),
                MAX_CANDIDATES,
            ),
        )
    ]
    if not ids:
        return None
    marks = ",".join("?" * len(ids))
    # An entry's words are only read when its profile was never stored, its text
    # only when its words were not either.
    candidates = [
        Candidate(
            r[0],
            r[1],
            r[2],
            r[3] or "",
            r[4] or "",
            r[5] or "",
            datetime.fromisoformat(r[6]),
            r[7],
            r[8],
        )
        for r in db.execute(
            "SELECT e.id, e.story_id, e.source_id, "  # noqa: S608
            "CASE WHEN e.story_profile IS NULL AND e.story_words IS NULL THEN e.title END, "
            "CASE WHEN e.story_profile IS NULL AND e.story_words IS NULL THEN e.summary END, "
            "CASE WHEN e.story_profile IS NULL AND e.story_words IS NULL THEN e.content END, "
            "e.sort_date, CASE WHEN e.story_profile IS NULL THEN e.story_words END, "
            "e.story_profile "
            f"FROM entries e JOIN entries s ON s.id = e.story_id WHERE e.id IN ({marks}) "
            "AND e.sort_date BETWEEN ? AND ? AND s.sort_date BETWEEN ? AND ?",
            (*ids, lo, hi, lo, hi),
        )
    ]
    found = clustering.similar(item, candidates)
    if found is None:
        return None
    return Join(found.candidate.story_id, None, found.reason, found.score, found.candidate.entry_id)


def _seconds(value: datetime) -> int:
    """A band row's time: whole seconds, rounded down (the candidates' exact sort
    dates are checked against the window when they are read)."""
    return math.floor(value.timestamp())


def stamp_of(value: datetime) -> str:
    """The stored text form of a time (see db._ts); text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")
