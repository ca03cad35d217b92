"""Terms that parse but can never match what their author meant."""

from __future__ import annotations

import pytest

from aggregator import query
from aggregator.query.lint import warnings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oil -palm", ["'-palm': \"-\" is part of the term, not NOT: to leave out articles write"
                       " NOT palm"]),
        ("+oil", ["'+oil': \"+\" is part of the term: terms are all required already, write oil"]),
        ("Tripoli# the capital", ["'Tripoli#': \"#\" inside a word is part of the term: a comment"
                                  " starts with \"#\" after a space"]),
        ("domain:reu*", ["'reu*': a domain is a host name"]),
        ("domain:reuters.com/world", ["'reuters.com/world': a domain is a host name"]),
        ("oil\x07gas", ["'oil\\x07gas': holds a control character"]),
        ("oil NOT (-palm OR -soy)", ["'-palm'", "'-soy'"]),  # anywhere in the tree
        ("oil -palm OR -palm", ["'-palm'"]),  # each term once
        # Meant as written: no warning.
        ("oil NOT palm", []),
        ("c# OR f#", []),
        ('"-palm" OR "oil # gas"', []),
        ("oil -5%", []),
        ("domain:reuters.com OR domain:bücher.de", []),
        ("oil-rich OR OPEC+", []),
    ],
)  # fmt: skip
def test_warnings(text: str, expected: list[str]) -> None:
    found = list(warnings(query.parse(text)))
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), line
