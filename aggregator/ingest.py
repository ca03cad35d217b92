"""The worker-side half of the pipeline: a fetched document's bytes -> its parsed
feed and the identities of its entries.

Both steps are pure CPU work (feedparser, sanitising, text folding, MinHash), so
they run together in a parser worker process (parse_workers) instead of on the
event loop that serves HTTP and writes the database.

Items the source's last document already had, byte for byte, are skipped before
parsing (parse._items): their identities come from `known`. The result must be
what parsing everything would give, so when a skipped item could change how a
new one is keyed (the same key, guid or link), everything is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aggregator import dedup
from aggregator.models import Ingested, KnownItem, NewEntry, ParsedFeed
from aggregator.parse import parse_feed


def ingest(
    body: bytes, *, source_id: str, url: str, content_type: str | None,
    known: Mapping[str, KnownItem] | None = None,
) -> Ingested:  # fmt: skip
    if known:
        feed = parse_feed(
            body, source_id=source_id, url=url, content_type=content_type,
            skip=frozenset(known),
        )  # fmt: skip
        parsed = set(feed.parsed_digests)
        skipped = [known[d] for d in feed.item_digests if d not in parsed]
        entries = dedup.key_entries(feed.entries, home=feed.link)
        if not skipped:
            return _ingested(feed, entries, {})
        if _independent(entries, skipped):
            carried = {d: known[d] for d in feed.item_digests if d not in parsed}
            return _ingested(feed, entries, carried, tuple(k.key for k in skipped))
    feed = parse_feed(body, source_id=source_id, url=url, content_type=content_type)
    return _ingested(feed, dedup.key_entries(feed.entries, home=feed.link), {})


def _independent(entries: Sequence[NewEntry], skipped: Sequence[KnownItem]) -> bool:
    """Whether the new items are keyed as they would be beside the skipped ones:
    none has a skipped item's key, guid or link (a shared guid or link is no key)."""
    keys = {k.key for k in skipped}
    links = {k.link for k in skipped if k.link}
    return not any(e.key in keys or _guid_key(e) in keys or _link(e) in links for e in entries)


def _guid_key(item: NewEntry) -> str | None:
    """The key the item's guid gives when no other item of its document has it."""
    guid = dedup.guid_of(item.entry)
    return "guid:" + guid if guid else None


def _ingested(
    feed: ParsedFeed, entries: list[NewEntry], carried: dict[str, KnownItem],
    skipped_keys: tuple[str, ...] = (),
) -> Ingested:  # fmt: skip
    items = dict(carried)
    # Parsed items are remembered only when each gave exactly one entry under its
    # own guid (an exact repeat dropped by key_entries, a parser that merged items,
    # a guid used twice: those are parsed again next time).
    guids = [e.entry.guid for e in entries if e.entry.guid]
    if len(feed.parsed_digests) == len(feed.entries) == len(entries) and len(guids) == len(
        set(guids)
    ):
        for digest, item in zip(feed.parsed_digests, entries, strict=True):
            items[digest] = KnownItem(item.key, _link(item))
    return Ingested(feed, tuple(entries), items, skipped_keys)


def _link(item: NewEntry) -> str | None:
    """The canonical form of the item's own link: key_entries' canonical_url, which
    it sets to None only for a link the document shares (or none)."""
    return item.canonical_url or dedup.canonical_url(item.entry.link)
