"""How much an article is about a topic: points for the terms that matched.

A topic with `min_score` keeps only the articles its query matches *and* that
score at least that much. Each term that made the query match (none under a
NOT) scores once:

    weight x (TITLE_POINTS if it is in the headline, plus saturate(n))

where n is how often it occurs in the rest of the searched text (summary,
content, categories) and saturate(n) = n (k + 1) / (n + k), k = SATURATION:
1 for one mention, 1.38 for two, 1.57 for three, never more than 2.2. So a
headline mention outweighs any number of passing mentions, and a term the text
keeps coming back to counts more than one it drops once, with diminishing
returns (BM25's term-frequency curve, without document frequencies: a topic
is judged one article at a time). `demote` queries subtract the points of
their matched terms the same way.

Counting runs only for articles the query already matched, so topics without
`min_score` and articles a query rejects cost nothing extra.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator.query.document import TEXT, Document
from aggregator.query.engine import Query, is_word, term_regex, word_forms
from aggregator.query.syntax import Term

TITLE_POINTS = 3.0  # a mention in the headline
SATURATION = 1.2  # k: how fast repeated mentions stop adding (BM25's usual k1)
_REST = ("summary", "content", "category")  # the default field besides the title


@dataclass(frozen=True, slots=True)
class Points:
    """One term's share of a score (negative for a demote query's term)."""

    label: str
    points: float


@dataclass(frozen=True, slots=True)
class Score:
    total: float
    parts: tuple[Points, ...]  # the query's terms, then the demoted ones

    def describe(self) -> str:
        """'9.0 = OPEC 9.0 + oil 1.4 - dividend 1.0'."""
        shown = [f"{self.parts[0].label} {self.parts[0].points:.1f}"] if self.parts else []
        for part in self.parts[1:]:
            sign = "-" if part.points < 0 else "+"
            shown.append(f"{sign} {part.label} {abs(part.points):.1f}")
        return f"{self.total:.1f}" + (" = " + " ".join(shown) if shown else "")


def saturate(n: int) -> float:
    return n * (SATURATION + 1) / (n + SATURATION) if n else 0.0


def term_points(term: Term, doc: Document) -> float:
    """What one matched term adds (see the module docstring)."""
    field = term.field or TEXT
    if field == "domain":
        return term.weight
    title = field in (TEXT, "title") and _occurrences(term, "title", doc) > 0
    rest = _REST if field == TEXT else () if field == "title" else (field,)
    n = sum(_occurrences(term, f, doc) for f in rest)
    return term.weight * (TITLE_POINTS * title + saturate(n))


def score(
    query: Query,
    doc: Document,
    demotes: Iterable[Query] = (),
    positive: tuple[Term, ...] | None = None,
) -> Score:
    """The points of the query's matched terms (`positive`, when the caller has
    them already), less those of each demote query that matches. A document the
    query does not match scores 0."""
    terms = query.positive(doc) if positive is None else positive
    parts = [Points(t.label, term_points(t, doc)) for t in terms]
    for demote in demotes:
        parts += [Points(t.label, -term_points(t, doc)) for t in demote.positive(doc)]
    return Score(sum(p.points for p in parts), tuple(parts))


def _occurrences(term: Term, field: str, doc: Document) -> int:
    if is_word(term):
        counts = doc.counts(field)
        return sum(counts[form] for form in word_forms(term, term.words[0]))
    return sum(1 for _ in _pattern(term).finditer(doc.text(field)))


@functools.lru_cache(maxsize=4096)
def _pattern(term: Term) -> re.Pattern[str]:
    return re.compile(term_regex(term))
