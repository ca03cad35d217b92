"""The topic query language: parse once, compile once, test many documents.

Pure: no I/O, no clock. `syntax` parses, `engine` compiles and evaluates,
`document` holds one entry's folded fields, `text` folds and finds word forms,
`score` says how much a matched entry is about a topic (`min_score`), `overlap`
finds terms of one scored query that would count the same words.
"""

from __future__ import annotations

from aggregator.query.document import TEXT, Document
from aggregator.query.engine import Explained, Query
from aggregator.query.score import Points, Score, score
from aggregator.query.syntax import (
    FIELDS,
    And,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    literal,
    parse,
    render,
    scoring_terms,
    terms,
)
from aggregator.query.text import variants
from aggregator.textfold import match_fold as fold

__all__ = [
    "FIELDS",
    "TEXT",
    "And",
    "Document",
    "Explained",
    "Node",
    "Not",
    "Or",
    "Points",
    "Query",
    "QuerySyntaxError",
    "Score",
    "Term",
    "compile_query",
    "fold",
    "literal",
    "parse",
    "render",
    "score",
    "scoring_terms",
    "terms",
    "variants",
]


def compile_query(text: str) -> Query:
    """Parse and compile; raises QuerySyntaxError."""
    return Query(parse(text))
