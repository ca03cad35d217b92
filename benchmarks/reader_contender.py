"""lemon24/reader over the benchmark feeds: `python -m benchmarks.reader_contender DB URLS`.

The first run adds the feeds; every run calls update_feeds() once. Installed only
for the benchmark (`pip install -e '.[bench]'`); needs READER_NO_VENDORED_FEEDPARSER=1.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    from reader import make_reader

    database, urls = sys.argv[1], Path(sys.argv[2]).read_text().split()
    reader = make_reader(database)
    known = {feed.url for feed in reader.get_feeds()}
    for url in urls:
        if url not in known:
            reader.add_feed(url)
    # From reader 3.21 a feed is only updated when due; the benchmark wants every feed.
    reader.update_feeds(scheduled=False)
    print(sum(1 for _ in reader.get_entries()), "entries")
    reader.close()


if __name__ == "__main__":
    main()
