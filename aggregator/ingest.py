"""The worker-side half of the pipeline: a fetched document's bytes -> its parsed
feed and the identities of its entries.

Both steps are pure CPU work (feedparser, sanitising, text folding, MinHash), so
they run together in a parser worker process (parse_workers) instead of on the
event loop that serves HTTP and writes the database.
"""

from __future__ import annotations

from aggregator import dedup
from aggregator.models import Ingested
from aggregator.parse import parse_feed


def ingest(body: bytes, *, source_id: str, url: str, content_type: str | None) -> Ingested:
    feed = parse_feed(body, source_id=source_id, url=url, content_type=content_type)
    return Ingested(feed, tuple(dedup.key_entries(feed.entries, home=feed.link)))
