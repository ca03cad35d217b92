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

from collections.abc import Iterator
from itertools import combinations

from aggregator.query.engine import word_forms
from aggregator.query.syntax import And, Node, Or, Term

# What a term without a field searches (document.TEXT).
_DEFAULT_FIELDS = frozenset(("title", "summary", "content", "category"))


def overlapping(node: Node) -> Iterator[tuple[Term, Term]]:
    """Each pair of distinct one-word terms (word or prefix) of the query, none
    under NOT (those never score), that can match the same word in the same
    field, in query order."""
    single = list(dict.fromkeys(t for t in _scoring(node) if len(t.words) == 1 and not t.phrase))
    for a, b in combinations(single, 2):
        if _same_field(a, b) and _same_word(a, b):
            yield a, b


def _scoring(node: Node) -> Iterator[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _scoring(item)


def _same_field(a: Term, b: Term) -> bool:
    if a.field == "domain" or b.field == "domain":
        return False
    if a.field == b.field:
        return True
    other = b.field if a.field is None else a.field if b.field is None else None
    return other in _DEFAULT_FIELDS


def _same_word(a: Term, b: Term) -> bool:
    if a.prefix and b.prefix:
        return a.words[0].startswith(b.words[0]) or b.words[0].startswith(a.words[0])
    if a.prefix or b.prefix:
        stem, word = (a, b) if a.prefix else (b, a)
        return any(form.startswith(stem.words[0]) for form in word_forms(word, word.words[0]))
    return bool(word_forms(a, a.words[0]) & word_forms(b, b.words[0]))
