"""Frozen dataclasses that cross module boundaries.

Every datetime here is timezone-aware UTC; constructors of these objects are
responsible for that (parse normalises, store reads back aware values).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Enclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item of a feed document, cleaned: plain-text title, sanitised HTML."""

    guid: str | None  # raw id/guid exactly as written in the document
    link: str | None  # absolute http(s) URL of the article
    title: str
    summary: str = ""
    content: str = ""
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None  # the publisher's home page
    entries: tuple[ParsedEntry, ...]
    format: str = ""  # e.g. "rss20", "atom10" (feedparser's version string)
    warning: str | None = None  # a recovered problem (feedparser's bozo), for the log
    ttl: int | None = None  # RSS <ttl>: minutes the publisher asks us to wait
    # Digests of the document's item elements (parse._items), in document order;
    # () when its layout could not be split. parsed_digests: those of the items
    # actually parsed (the rest were skipped as known), one per entry.
    item_digests: tuple[str, ...] = ()
    parsed_digests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A 2xx response with a body."""

    url: str  # what we asked for
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # Set when every redirect on the way was permanent (301/308).
    permanent_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304 answer to a conditional request: nothing to parse or store."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    # As in FetchResult: set when every redirect on the way was permanent.
    permanent_url: str | None = None
    # Cache hints for scheduling; not part of what the answer means.
    headers: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A parsed entry with the identities dedup computed for it."""

    key: str  # identity within its source
    canonical_url: str | None  # None too when the link does not identify the article
    content_hash: str
    entry: ParsedEntry
    # The form stories are joined by URL (dedup.join_url): no scheme, no mobile host.
    join_url: str | None
    # Other names the same entry may have had in its source (a guid scheme
    # change, a moved feed): an unknown key found under one of these is that entry.
    aliases: tuple[str, ...] = ()
    fingerprint: str | None = None  # normalised title + lead; None when too short
    bands: tuple[int, ...] = ()  # LSH band keys of the text's MinHash; () when too short
    profile: bytes = b""  # what comparing its story needs (story_profile.encode)
    # Keys earlier releases stored it under, before a guid several items of one
    # document carry stopped being a key: certain names of this entry...
    earlier_keys: tuple[str, ...] = ()
    # ...and the bare repeated guid, which they gave whichever item came first: it
    # names this entry only if the entry stored under it has the same content.
    bare_guid_key: str | None = None


@dataclass(frozen=True, slots=True)
class KnownItem:
    """The identity an item element of a source's document was stored under."""

    key: str
    link: str | None  # the canonical form of the item's own link (shared or not)


@dataclass(frozen=True, slots=True)
class Ingested:
    """A parsed document and its entries with their identities (ingest)."""

    feed: ParsedFeed
    entries: tuple[NewEntry, ...]
    # Item digest -> identity, for every item of this document whose identity is
    # known (stored for the next fetch: those items are then skipped unparsed).
    items: Mapping[str, KnownItem] = field(default_factory=dict)
    # Keys of the items skipped as unchanged: still in the document.
    skipped_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    source_id: str
    key: str
    story_id: int  # id of the first stored entry of the same story
    guid: str | None
    link: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    published: datetime | None
    updated: datetime | None
    first_seen: datetime
    # Fixed when first stored: published time clamped to first_seen, so an edit
    # or a re-dated item never jumps to the top.
    sort_date: datetime
    # The first stored entry of the same article (same URL or text): an entry
    # joined to its story by similarity only starts its own exact group.
    exact_id: int | None = None  # None: the entry's own id


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the database remembers about a source between fetches."""

    source_id: str
    url: str  # the configured URL this state belongs to
    effective_url: str | None = None  # a stored permanent redirect target
    feed_title: str | None = None
    feed_link: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_fetch: datetime | None = None
    last_success: datetime | None = None
    last_status: int | None = None
    error_count: int = 0
    last_error: str | None = None
    next_fetch: datetime | None = None
    new_entries: int = 0  # in the last successful fetch
    total_entries: int = 0
    failing_since: datetime | None = None  # the first failure since the last success
    retired_at: datetime | None = None  # 410 Gone: no more requests
    redirect_url: str | None = None  # a permanent redirect target not yet trusted
    redirect_count: int = 0  # consecutive fetches that were redirected there
    feed_ttl: int | None = None  # the feed's <ttl>, minutes
    # After a success: the earliest next fetch the publisher allows (schedule.due_at).
    fetch_floor: datetime | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    """One outlet that carried a story."""

    source_id: str
    source_title: str
    link: str | None


@dataclass(frozen=True, slots=True)
class Story:
    """What a topic feed publishes: one entry per story, crediting every outlet."""

    uid: str  # published id; never changes once the story exists
    entry: StoredEntry  # the first-seen member, whose text is published
    source_title: str
    source_link: str | None
    also: tuple[Credit, ...] = ()  # the other outlets, in first-seen order
    matched: tuple[str, ...] = ()  # the query terms that selected it


@dataclass(frozen=True, slots=True)
class CycleStats:
    """One daemon cycle, as `status` reports it."""

    started: datetime
    duration: float  # seconds
    sources: int  # fetched
    failed: int
    new_entries: int


@dataclass(frozen=True, slots=True)
class TopicStats:
    slug: str
    items: int
    newest: datetime | None  # the newest story's time
    published: datetime  # the last time the topic was curated and written


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored entry that may carry the same story as a new one."""

    entry_id: int
    story_id: int
    source_id: str
    title: str
    summary: str
    content: str
    sort_date: datetime
    # dedup.story_line of the entry, stored with entries of releases that stored
    # no profile; None for older ones (their title, summary and content are read).
    story: str | None = None
    profile: bytes | None = None  # story_profile.encode; None for entries stored before


@dataclass(frozen=True, slots=True)
class Similar:
    """The candidate a new entry is most like, and how alike they are (0-1)."""

    candidate: Candidate
    score: float
    reason: str = "similar"  # or "title": the same long headline


# Given a new entry and the stored entries sharing an LSH band with it, the
# one it should join (its story), or None to start a story of its own.
SimilarityMatcher = Callable[[NewEntry, Sequence[Candidate]], Similar | None]


@dataclass(frozen=True, slots=True)
class Clustering:
    """How the store joins a new entry to a story."""

    # Text fingerprint and similarity joins only look this far (either way,
    # by sort date) from the story's first entry.
    window: timedelta = timedelta(days=3)
    similar: SimilarityMatcher | None = None  # None: exact joins only


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of a story, with why it was joined to it."""

    entry: StoredEntry
    reason: str  # "first", "url", "fingerprint" or "similar"
    score: float  # 1.0 for exact joins; the similarity otherwise
    joined_to: int | None  # the member it was found like; None for the first
