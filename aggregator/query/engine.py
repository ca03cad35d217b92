"""Compiled queries: cheap to test against a Document, able to say why.

Most terms are single words, and a word matches at word boundaries exactly
when it is one of the document's words, so they are set lookups; an OR of
plain words in one field is a single `isdisjoint`. Phrases, prefixes and
terms with punctuation use a regex, but only after a set lookup showed that
their words are all present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from aggregator.query.document import TEXT, Document, ascii_host
from aggregator.query.syntax import And, Node, Not, Term
from aggregator.query.text import WORD, variants

_SEPARATOR = r"[\s\-]+"  # between the words of a phrase: "cooking oil", "cooking-oil"


class _Test:
    __slots__ = ()

    def test(self, doc: Document) -> bool:
        raise NotImplementedError


class _Words(_Test):
    """Any of these folded words (each term's variants, possibly many terms)."""

    __slots__ = ("field", "forms")

    def __init__(self, field: str, forms: frozenset[str]) -> None:
        self.field = field
        self.forms = forms

    def test(self, doc: Document) -> bool:
        return not self.forms.isdisjoint(doc.tokens(self.field))


class _Pattern(_Test):
    """A regex over the folded field, tried only when its words are present."""

    __slots__ = ("field", "needed", "pattern")

    def __init__(self, field: str, needed: tuple[frozenset[str], ...], pattern: str) -> None:
        self.field = field
        self.needed = needed  # each: at least one of these words must be present
        self.pattern = re.compile(pattern)

    def test(self, doc: Document) -> bool:
        tokens = doc.tokens(self.field)
        for forms in self.needed:
            if forms.isdisjoint(tokens):
                return False
        return self.pattern.search(doc.text(self.field)) is not None


class _Domain(_Test):
    """The article link's host is this domain or one of its subdomains."""

    __slots__ = ("domain",)

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def test(self, doc: Document) -> bool:
        host = doc.host
        return host == self.domain or host.endswith("." + self.domain)


class _All(_Test):
    __slots__ = ("items",)

    def __init__(self, items: tuple[_Test, ...]) -> None:
        self.items = items

    def test(self, doc: Document) -> bool:
        return all(item.test(doc) for item in self.items)


class _Any(_Test):
    __slots__ = ("items",)

    def __init__(self, items: tuple[_Test, ...]) -> None:
        self.items = items

    def test(self, doc: Document) -> bool:
        return any(item.test(doc) for item in self.items)


class _Not(_Test):
    __slots__ = ("item",)

    def __init__(self, item: _Test) -> None:
        self.item = item

    def test(self, doc: Document) -> bool:
        return not self.item.test(doc)


def term_test(term: Term) -> _Test:
    """The test for one term on its own."""
    field = term.field or TEXT
    if field == "domain":
        return _Domain(ascii_host(term.text.strip(".").replace(" ", "")))
    if is_word(term):
        return _Words(field, word_forms(term, term.words[0]))
    return _Pattern(field, _needed(term), term_regex(term))


def is_word(term: Term) -> bool:
    return not term.prefix and len(term.words) == 1 and term.folded == term.words[0]


def word_forms(term: Term, word: str) -> frozenset[str]:
    return frozenset((word,)) if term.exact else variants(word)


def _needed(term: Term) -> tuple[frozenset[str], ...]:
    found = list(term.words)
    if term.prefix:
        found.pop()  # only known once the regex has run
    last = len(term.words) - 1
    return tuple(word_forms(term, w) if i == last else frozenset((w,)) for i, w in enumerate(found))


def term_regex(term: Term) -> str:
    # A piece that is only hyphens is a separator already: kept, each would add a
    # `[\s\-]+` next to another and backtrack exponentially on a near miss.
    pieces = [p for p in term.folded.split() if p.strip("-")]
    body = [re.escape(p) for p in pieces]
    last = pieces[-1]
    if term.prefix:
        body[-1] += r"\w*"
    elif not term.exact and WORD.fullmatch(last):
        # Plural tolerance on the last word, where English puts the noun.
        forms = sorted(variants(last), key=len, reverse=True)
        body[-1] = "(?:" + "|".join(re.escape(f) for f in forms) + ")"
    start = r"(?<!\w)" if WORD.match(pieces[0]) else ""
    # Boundaries only where the term itself starts/ends with a word character,
    # so `OPEC+` still matches before punctuation.
    end = r"(?!\w)" if WORD.match(last[-1]) else ""
    return start + _SEPARATOR.join(body) + end


def _compile(node: Node) -> _Test:
    if isinstance(node, Term):
        return term_test(node)
    if isinstance(node, Not):
        return _Not(_compile(node.item))
    if isinstance(node, And):
        return _All(tuple(_compile(i) for i in node.items))
    # OR: the plain words of each field merge into one set lookup.
    merged: dict[str, set[str]] = {}
    rest: list[_Test] = []
    for item in node.items:
        if isinstance(item, Term) and is_word(item) and item.field != "domain":
            merged.setdefault(item.field or TEXT, set()).update(word_forms(item, item.words[0]))
        else:
            rest.append(_compile(item))
    tests: list[_Test] = [_Words(f, frozenset(w)) for f, w in merged.items()]
    tests += rest
    return tests[0] if len(tests) == 1 else _Any(tuple(tests))


@dataclass(frozen=True, slots=True)
class Explained:
    """One node of a query with whether it held for a document."""

    node: Node
    matched: bool
    children: tuple[Explained, ...] = ()


class Query:
    """A parsed query compiled once; `test` is the hot path."""

    __slots__ = ("_terms", "_test", "node")

    def __init__(self, node: Node) -> None:
        self.node = node
        self._test = _compile(node)
        self._terms: dict[Term, _Test] = {}

    def test(self, doc: Document) -> bool:
        return self._test.test(doc)

    def matched(self, doc: Document) -> tuple[str, ...]:
        """Labels of the terms that made it match (none under a NOT), in query order."""
        return tuple(dict.fromkeys(t.label for t in self.positive(doc)))

    def positive(self, doc: Document) -> tuple[Term, ...]:
        """The terms that made it match (none under a NOT), each once, in query order."""
        tree = self.explain(doc)
        if not tree.matched:
            return ()
        return tuple(dict.fromkeys(_positive(tree)))

    def explain(self, doc: Document) -> Explained:
        return self._explain(self.node, doc)

    def _explain(self, node: Node, doc: Document) -> Explained:
        if isinstance(node, Term):
            test = self._terms.get(node)
            if test is None:
                test = self._terms[node] = term_test(node)
            return Explained(node, test.test(doc))
        if isinstance(node, Not):
            inner = self._explain(node.item, doc)
            return Explained(node, not inner.matched, (inner,))
        children = tuple(self._explain(i, doc) for i in node.items)
        combine = all if isinstance(node, And) else any
        return Explained(node, combine(c.matched for c in children), children)


def _positive(tree: Explained) -> Iterator[Term]:
    """Matched terms in the branches that made the whole true."""
    if not tree.matched or isinstance(tree.node, Not):
        return
    if isinstance(tree.node, Term):
        yield tree.node
        return
    for child in tree.children:
        yield from _positive(child)
