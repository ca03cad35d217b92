"""Terms that parse but can never match what their author meant.

Each is valid syntax with a meaning of its own (`-palm` is the term "-palm",
ANDed; `Tripoli#` needs the "#"), so a config holding one still loads:
`aggregator check` warns, naming the term, and the author decides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from aggregator.query.syntax import Node, Term, terms

_NOT_IN_HOSTS = "*/:"


def warnings(node: Node) -> Iterator[str]:
    """One line per suspicious term of the query, in query order."""
    for term in dict.fromkeys(terms(node)):
        problem = _problem(term)
        if problem is not None:
            yield f"{term.label!r}: {problem}"


def _problem(term: Term) -> str | None:
    text = term.text
    if any(unicodedata.category(c) == "Cc" for c in text):
        return "holds a control character, which no article's text has"
    if term.field == "domain":
        if term.prefix or any(c in text for c in _NOT_IN_HOSTS):
            return (
                "a domain is a host name and matches its subdomains too (domain:reuters.com): "
                '"*", "/" and ":" never match'
            )
        return None
    if term.phrase:
        return None
    if text[0] == "-" and text[1:2].isalpha():
        return f'"-" is part of the term, not NOT: to leave out articles write NOT {text[1:]}'
    if text[0] == "+" and text[1:2].isalpha():
        return f'"+" is part of the term: terms are all required already, write {text[1:]}'
    if len(text.partition("#")[0]) > 1 and "#" in text:
        # `c#`, `f#` are names; `Tripoli#` is a comment missing its space.
        return '"#" inside a word is part of the term: a comment starts with "#" after a space'
    return None
