"""Numbered migrations, applied in order and recorded in PRAGMA user_version.

A migration is never edited once released: add a new one instead.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: sources with their fetch state, entries with identity and text.
    """
    CREATE TABLE sources (
        id            TEXT PRIMARY KEY,
        url           TEXT NOT NULL,
        effective_url TEXT,
        feed_title    TEXT,
        feed_link     TEXT,
        etag          TEXT,
        last_modified TEXT,
        body_hash     TEXT,
        last_fetch    TEXT,
        last_success  TEXT,
        last_status   INTEGER,
        error_count   INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        next_fetch    TEXT,
        new_entries   INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        id            INTEGER PRIMARY KEY,
        source_id     TEXT NOT NULL REFERENCES sources(id),
        key           TEXT NOT NULL,
        story_id      INTEGER NOT NULL,
        guid          TEXT,
        link          TEXT,
        canonical_url TEXT,
        title         TEXT NOT NULL,
        summary       TEXT NOT NULL,
        content       TEXT NOT NULL,
        authors       TEXT NOT NULL,
        categories    TEXT NOT NULL,
        enclosures    TEXT NOT NULL,
        published     TEXT,
        updated       TEXT,
        first_seen    TEXT NOT NULL,
        last_changed  TEXT NOT NULL,
        sort_date     TEXT NOT NULL,
        content_hash  TEXT NOT NULL,
        UNIQUE (source_id, key)
    );
    CREATE INDEX entries_canonical_url ON entries (canonical_url)
        WHERE canonical_url IS NOT NULL;
    CREATE INDEX entries_story ON entries (story_id);
    CREATE INDEX entries_sort ON entries (sort_date DESC, id DESC);
    """,
    # 2: RFC 5005 archive pages (which story went into which page of which
    # topic, forever), and tombstones of entries retention deleted so a pruned
    # item never comes back as new.
    """
    CREATE TABLE archive_items (
        topic     TEXT NOT NULL,
        number    INTEGER NOT NULL,
        position  INTEGER NOT NULL,
        uid       TEXT NOT NULL,
        story_id  INTEGER NOT NULL,
        PRIMARY KEY (topic, uid)
    );
    CREATE INDEX archive_items_page ON archive_items (topic, number, position);
    CREATE TABLE tombstones (
        source_id  TEXT NOT NULL,
        key        TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        PRIMARY KEY (source_id, key)
    );
    """,
    # 3: what `status`, /status and /metrics report: each cycle's duration and
    # counts (the last 100 are kept), and each topic's last publish.
    """
    CREATE TABLE cycles (
        id          INTEGER PRIMARY KEY,
        started     TEXT NOT NULL,
        duration    REAL NOT NULL,
        sources     INTEGER NOT NULL,
        failed      INTEGER NOT NULL,
        new_entries INTEGER NOT NULL
    );
    CREATE TABLE topic_stats (
        slug      TEXT PRIMARY KEY,
        items     INTEGER NOT NULL,
        newest    TEXT,
        published TEXT NOT NULL
    );
    """,
    # 4: source states (failing since, retired), a permanent redirect seen on
    # consecutive fetches before it is trusted, the feed's own <ttl>.
    """
    ALTER TABLE sources ADD COLUMN failing_since TEXT;
    ALTER TABLE sources ADD COLUMN retired_at TEXT;
    ALTER TABLE sources ADD COLUMN redirect_url TEXT;
    ALTER TABLE sources ADD COLUMN redirect_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN feed_ttl INTEGER;
    """,
    # 5: stories across sources. Each entry records how it joined its story;
    # aliases find an entry again under a changed guid; LSH bands find similar
    # text (band key -> entry), searched within a window of sort dates.
    """
    ALTER TABLE entries ADD COLUMN exact_id INTEGER;
    ALTER TABLE entries ADD COLUMN fingerprint TEXT;
    ALTER TABLE entries ADD COLUMN join_reason TEXT NOT NULL DEFAULT 'first';
    ALTER TABLE entries ADD COLUMN join_score REAL NOT NULL DEFAULT 1.0;
    ALTER TABLE entries ADD COLUMN joined_to INTEGER;
    UPDATE entries SET exact_id = story_id,
        join_reason = CASE WHEN story_id = id THEN 'first' ELSE 'url' END,
        joined_to = CASE WHEN story_id = id THEN NULL ELSE story_id END;
    CREATE INDEX entries_exact ON entries (exact_id);
    CREATE INDEX entries_fingerprint ON entries (fingerprint, sort_date)
        WHERE fingerprint IS NOT NULL;
    CREATE TABLE entry_aliases (
        source_id TEXT NOT NULL,
        alias     TEXT NOT NULL,
        entry_id  INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        PRIMARY KEY (source_id, alias)
    ) WITHOUT ROWID;
    CREATE INDEX entry_aliases_entry ON entry_aliases (entry_id);
    CREATE TABLE entry_bands (
        band      INTEGER NOT NULL,
        sort_date TEXT NOT NULL,
        entry_id  INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        PRIMARY KEY (band, sort_date, entry_id)
    ) WITHOUT ROWID;
    CREATE INDEX entry_bands_entry ON entry_bands (entry_id);
    """,
    # 6: incremental publishing. Every write to an entry takes the next change
    # number, so a publish can ask what changed since the last; each topic keeps
    # the stories it holds outside its archives, and what its rule was.
    """
    ALTER TABLE entries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX entries_seq ON entries (seq);
    CREATE TABLE topic_state (
        topic     TEXT PRIMARY KEY,
        rule      TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        published TEXT NOT NULL
    );
    CREATE TABLE topic_members (
        topic    TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        PRIMARY KEY (topic, story_id)
    ) WITHOUT ROWID;
    """,
    # 7: the title and lead words stories are compared by, stored with each entry,
    # so that re-scoring a similar-text candidate reads a short line instead of
    # re-folding its whole body (NULL for older entries: read from their text).
    # Band rows keep their time as integer seconds, not ISO text: a third of the
    # size, so each stored document dirties fewer index pages.
    """
    ALTER TABLE entries ADD COLUMN story_words TEXT;
    CREATE TABLE entry_bands_7 (
        band      INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        entry_id  INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        PRIMARY KEY (band, at, entry_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO entry_bands_7 (band, at, entry_id)
        SELECT band, CAST(unixepoch(sort_date) AS INTEGER), entry_id FROM entry_bands;
    DROP TABLE entry_bands;
    ALTER TABLE entry_bands_7 RENAME TO entry_bands;
    CREATE INDEX entry_bands_entry ON entry_bands (entry_id);
    """,
    # 8: the item elements of each source's last stored document (digest -> key
    # and link, JSON), so the next fetch parses only the items it has not seen.
    """
    ALTER TABLE sources ADD COLUMN item_index TEXT;
    """,
    # 9: a publish that re-curates a few stories asks which of them are archived.
    """
    CREATE INDEX archive_items_story ON archive_items (topic, story_id);
    """,
    # 10: retention ranks each source's entries by date at every publish.
    """
    CREATE INDEX entries_source_sort ON entries (source_id, sort_date DESC, id DESC);
    """,
    # 11: each entry's story profile (story_profile.encode: hashed shingles, stems and
    # figures), computed where it was parsed: a similar-text candidate is re-scored
    # from it without re-reading its words. Entries stored with one have no
    # story_words; older ones keep theirs (or their text) to compare by.
    """
    ALTER TABLE entries ADD COLUMN story_profile BLOB;
    """,
    # 12: the earliest time the publisher allows the next fetch (Cache-Control,
    # Expires, <ttl>), so that a healthy source's due time is computed from today's
    # interval: an edited interval applies at once, not after the old one ran out.
    """
    ALTER TABLE sources ADD COLUMN fetch_floor TEXT;
    """,
    # 13: tombstones for the names of the entries retention deleted (their aliases,
    # with the deleted entry's key), so a pruned item that comes back under
    # another key (a guid scheme change) is not stored again as new.
    """
    CREATE TABLE tombstone_aliases (
        source_id  TEXT NOT NULL,
        alias      TEXT NOT NULL,
        key        TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        PRIMARY KEY (source_id, alias)
    ) WITHOUT ROWID;
    """,
    # 14: stories join by URL in the form dedup.join_url gives (no scheme, no m. or
    # mobile. host), derived here from canonical_url as it does. Retention keeps the
    # join URLs of the entries it deletes (pruned_urls, with the source and the
    # entry's own date, '' for none or unknown), so a late copy of a pruned article
    # is not published again; and the date of each tombstoned alias, since a link
    # alias names an entry only with the same date (a recurring item at a fixed
    # URL is a new item). Older pruned entries' URLs come from their link keys and
    # link aliases.
    """
    ALTER TABLE entries ADD COLUMN join_url TEXT;
    UPDATE entries SET join_url = substr(canonical_url, instr(canonical_url, '://') + 3)
        WHERE canonical_url IS NOT NULL;
    CREATE TABLE pruned_urls (
        join_url  TEXT NOT NULL,
        source_id TEXT NOT NULL,
        dated     TEXT NOT NULL,
        pruned_at TEXT NOT NULL,
        PRIMARY KEY (join_url, source_id, dated)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO pruned_urls (join_url, source_id, dated, pruned_at)
        SELECT substr(key, instr(key, '://') + 3), source_id, '', deleted_at FROM tombstones
        WHERE key LIKE 'link:%';
    INSERT OR IGNORE INTO pruned_urls (join_url, source_id, dated, pruned_at)
        SELECT substr(alias, 6, instr(alias, char(31)) - 6), source_id, '', deleted_at
        FROM tombstone_aliases WHERE alias LIKE 'link:%' AND instr(alias, char(31)) > 0;
    UPDATE entries SET join_url = substr(join_url, instr(join_url, '.') + 1)
        WHERE (join_url LIKE 'm.%' OR join_url LIKE 'mobile.%')
        AND length(substr(join_url, 1, instr(join_url, '/') - 1))
            - length(replace(substr(join_url, 1, instr(join_url, '/') - 1), '.', '')) >= 2;
    UPDATE OR REPLACE pruned_urls SET join_url = substr(join_url, instr(join_url, '.') + 1)
        WHERE (join_url LIKE 'm.%' OR join_url LIKE 'mobile.%')
        AND length(substr(join_url, 1, instr(join_url, '/') - 1))
            - length(replace(substr(join_url, 1, instr(join_url, '/') - 1), '.', '')) >= 2;
    CREATE INDEX entries_join_url ON entries (join_url) WHERE join_url IS NOT NULL;
    ALTER TABLE tombstone_aliases ADD COLUMN dated TEXT;
    """,
    # 15: when each topic's current document next changes with time alone (min_age
    # releasing a story, max_age expiring one), so a publish is made then even when
    # no fetch changed anything. Topics published before are due at once: the next
    # publish works their time out.
    """
    ALTER TABLE topic_state ADD COLUMN due TEXT;
    UPDATE topic_state SET due = published;
    """,
)
