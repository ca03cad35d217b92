"""Text folding shared by topic queries and story identity: two texts that differ
only in case, accents, typographic apostrophes, markup or spacing fold the same."""

from __future__ import annotations

import functools
import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]*>")
# Typographic apostrophes read as the ASCII one, so `Libya's` finds the curly form.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


@functools.cache
def _combining() -> re.Pattern[str]:
    """A regex matching every combining mark, built from unicodedata on first use."""
    ranges: list[str] = []
    start = None
    for code in range(0x300, 0x110000):
        marked = unicodedata.combining(chr(code)) != 0
        if marked and start is None:
            start = code
        elif not marked and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return re.compile(f"[{''.join(ranges)}]")


def fold(text: str) -> str:
    """Lower-case, accents removed, HTML tags and entities gone, spaces collapsed."""
    if "<" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", text))
    if not text.isascii():
        text = text.translate(_QUOTES)
        # One regex over the decomposed text: a per-character loop costs ~1 us a character.
        text = _combining().sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.casefold().split())
