"""Text folding and word variants shared by queries and the documents they search.

Both sides go through `textfold.match_fold`, so case, accents and markup never
decide a match.
A word is a maximal run of `\\w` characters of the folded text: testing a word
against a document's set of words is exactly a match at word boundaries.
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")
# Words whose final "s" is not a plural ending: stripping it would make
# `news` match "new" or `gas` match "ga".
_NOT_PLURAL = frozenset(
    {"news", "gas", "bus", "us", "this", "its", "has", "was", "is", "yes", "always", "series",
     "species", "means", "chaos", "lens", "whereas", "perhaps", "across", "less", "unless"}
)  # fmt: skip
_SIBILANT = ("s", "x", "z", "ch", "sh")
_VOWELS = frozenset("aeiou")


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
    if plural and word in _NOT_PLURAL:
        out.add(word + "es")  # `gas` finds "gases", `lens` "lenses"
    elif plural:
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
