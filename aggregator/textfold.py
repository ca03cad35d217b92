"""Text folding: two texts that differ only in case, accents, typographic
apostrophes, markup or spacing fold the same.

Two folds, on purpose. `fold` makes story identities (dedup's aliases,
fingerprints and the shingles of stored profiles): a new release must still
join a new copy of a story to the entries an older one stored, so its output is
frozen for any text. `match_fold` is what topic queries and the documents they
search go through; it may improve (more letters folded, markup read better)
because nothing stored depends on it.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]*>")
# Typographic apostrophes read as the ASCII one, so `Libya's` finds the curly form.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

# Tags inside a word (`<b>Trip</b>oli`, `km<sup>2</sup>`) join their text; any
# other tag (<p>, <br>, <li>, unknown ones) stands for a break between words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small"
    r"|span|strike|strong|sub|sup|time|tt|u|var|wbr)(?:\s[^>]*)?/?>",
    re.IGNORECASE,
)
_MATCH_CHARS = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'",
        # Invisible: a soft hyphen or zero-width character inside a word is no break.
        "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None,
        "\ufeff": None,
        # Unicode hyphens and the en dash separate phrase words as "-" does.
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
    }
)  # fmt: skip
# Letters NFKD leaves whole (no combining mark to drop), after casefold.
_LETTERS = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "æ": "ae", "œ": "oe",
     "þ": "th", "ŀ": "l"}
)  # fmt: skip


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
    """Story identity's fold: lower-case, accents removed, HTML tags and entities
    gone, spaces collapsed. Frozen: stored identities depend on every byte of it."""
    if "<" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", text))
    if not text.isascii():
        text = text.translate(_QUOTES)
        # One regex over the decomposed text: a per-character loop costs ~1 us a character.
        text = _combining().sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.casefold().split())


def match_fold(text: str, *, markup: bool = False) -> str:
    """The fold topic queries match on: lower-case, accents and invisible
    characters removed, letters like ø and ł to their base, entities decoded,
    spaces collapsed. `markup`: the text is HTML (summary, content), so its tags
    go too; plain text (titles, names, queries) keeps `<` and `>` as written."""
    if markup and "<" in text:
        text = _TAG.sub(" ", _INLINE_TAG.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = text.translate(_MATCH_CHARS)
        text = _combining().sub("", unicodedata.normalize("NFKD", text))
        text = text.casefold().translate(_LETTERS)
        return " ".join(text.split())
    return " ".join(text.casefold().split())
