"""Text folding and word variants shared by queries and the documents they search.

Both sides go through `fold`, so case, accents and markup never decide a match.
A word is a maximal run of `\\w` characters of the folded text: testing a word
against a document's set of words is exactly a match at word boundaries.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]*>")
WORD = re.compile(r"\w+")
# Words whose final "s" is not a plural ending: stripping it would make
# `news` match "new" or `gas` match "ga".
_NOT_PLURAL = frozenset(
    {"news", "gas", "bus", "us", "this", "its", "has", "was", "is", "yes", "always", "series",
     "species", "means", "chaos", "lens", "whereas", "perhaps", "across", "less", "unless"}
)  # fmt: skip
_SIBILANT = ("s", "x", "z", "ch", "sh")
_VOWELS = frozenset("aeiou")
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


def words(folded: str) -> list[str]:
    return WORD.findall(folded)


def variants(word: str) -> frozenset[str]:
    """A folded word and its simple singular/plural partners (-s, -es, -ies).

    Deliberately naive: it only has to bring `embassy` and "embassies", `cut`
    and "cuts" together; an odd extra form ("oiles") matches nothing real.
    """
    out = {word}
    if len(word) < 3 or not word.isalpha():
        return frozenset(out)
    plural = word.endswith("s") and not word.endswith(("ss", "us", "is", "ics"))
    if plural and word not in _NOT_PLURAL:
        if word.endswith("ies") and len(word) > 4:
            out.add(word[:-3] + "y")
        out.add(word[:-1])
        if word.endswith("es") and word[:-2].endswith(_SIBILANT):
            out.add(word[:-2])
    if not plural:
        if word.endswith("y") and word[-2] not in _VOWELS:
            out.add(word[:-1] + "ies")
        elif word.endswith(_SIBILANT):
            out.add(word + "es")
        else:
            out.add(word + "s")
    return frozenset(out)
