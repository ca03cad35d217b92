"""The floor: plain feedparser.parse over every benchmark feed, in one process."""

from __future__ import annotations

import sys
from pathlib import Path

import feedparser


def main() -> None:
    entries = 0
    for path in sorted(Path(sys.argv[1]).glob("*.xml")):
        entries += len(feedparser.parse(path.read_bytes()).entries)
    print(entries, "entries")


if __name__ == "__main__":
    main()
