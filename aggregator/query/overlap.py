"""Terms of one scored query that count the same words twice.

A score adds the points of every matched term, so `refinery OR refiner*` scores
one mention of "refinery" twice, and `soybean* OR soy*` demotes "soybeans" twice.
Nothing here changes a score: `aggregator check` warns, naming both terms, and
the author decides (drop one, or keep both on purpose). Warning rather than
silently counting a mention once keeps the score readable: `explain` still shows
one line per term, each with the points its own mentions earn.

Phrases are left out: `"crude oil" OR oil` scoring a mention of "crude oil" for
both is the usual phrase bonus, not an accident.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from aggregator.query.engine import word_forms
from aggregator.query.syntax import Node, Term, scoring_terms

# What a term without a field searches (document.TEXT).
_DEFAULT_FIELDS = frozenset(("title", "summary", "content", "category"))


def overlapping(node: Node) -> Iterator[tuple[Term, Term]]:
    """Each pair of distinct one-word terms (word or prefix) of the query, none
    under NOT (those never score), that can match the same word in the same
    field, in query order."""
    single = list(
        dict.fromkeys(t for t in scoring_terms(node) if len(t.words) == 1 and not t.phrase)
    )
    found = {
        (min(i, j), max(i, j))
        for i, j in _candidates(single)
        if i != j and _same_field(single[i], single[j])
    }
    for i, j in sorted(found):
        yield single[i], single[j]


def _candidates(single: list[Term]) -> Iterator[tuple[int, int]]:
    """Index pairs of terms sharing a word form, or a prefix's stem and a form
    or stem starting with it: sorted keys find them without trying every pair
    (a query of thousands of terms)."""
    keys = sorted(
        (form, i, t.prefix)
        for i, t in enumerate(single)
        for form in ((t.words[0],) if t.prefix else word_forms(t, t.words[0]))
    )
    firsts = [k for k, _, _ in keys]
    for key, i, prefix in keys:
        if prefix:
            # Every form or stem that starts with this stem.
            end = bisect.bisect_left(firsts, key + "\U0010ffff")
            yield from ((i, j) for _, j, _ in keys[bisect.bisect_left(firsts, key) : end])
        else:
            lo, hi = bisect.bisect_left(firsts, key), bisect.bisect_right(firsts, key)
            yield from ((i, j) for _, j, other in keys[lo:hi] if not other)


def _same_field(a: Term, b: Term) -> bool:
    if a.field == "domain" or b.field == "domain":
        return False
    if a.field == b.field:
        return True
    other = b.field if a.field is None else a.field if b.field is None else None
    return other in _DEFAULT_FIELDS
