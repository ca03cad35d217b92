"""The topic query language: a lexer and a recursive-descent parser to a small AST.

    query    := or_expr END
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          adjacent terms are ANDed
    unary    := "NOT" unary | primary
    primary  := [FIELD ":"] ( "(" or_expr ")" | ["="] WORD ["*"] | ["="] '"' words '"' )
                ["^" NUMBER]

`^2` after a term, phrase or group weighs its terms for a topic's `min_score`
(aggregator/query/score.py); it never changes what matches.
Operators are upper-case words; anything else is a term; `#` starts a comment
that runs to the end of the line. Errors carry the
column (1-based) and say what was expected, so a config key can point at it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from aggregator.query.text import words
from aggregator.textfold import match_fold as fold

FIELDS = ("title", "summary", "content", "author", "category", "source", "tag", "domain")
OPERATORS = ("AND", "OR", "NOT")
MIN_PREFIX = 2  # letters before "*": `a*` would match half the language
MAX_DEPTH = 64
MAX_WEIGHT = 100.0


class QuerySyntaxError(ValueError):
    def __init__(self, query: str, offset: int, message: str) -> None:
        self.query = query
        self.offset = offset
        self.message = message
        super().__init__(f"{self.where}: {message}")

    @property
    def where(self) -> str:
        """'column C', or 'line L, column C' for a query written over several lines."""
        before = self.query[: self.offset]
        line = before.count("\n") + 1
        column = self.offset - (before.rfind("\n") + 1) + 1
        return f"line {line}, column {column}" if "\n" in self.query else f"column {column}"


@dataclass(frozen=True, slots=True)
class Term:
    """One word, prefix or phrase, optionally limited to one field."""

    text: str  # as written, without quotes, "=" or field
    folded: str  # the text folded as documents are (punctuation kept)
    words: tuple[str, ...]  # its words
    field: str | None = None  # None: title, summary, content and categories
    phrase: bool = False
    exact: bool = False  # "=": no plural tolerance
    prefix: bool = False  # trailing "*" on the last word
    weight: float = 1.0  # "^w": how much a match adds to the topic's score

    @property
    def label(self) -> str:
        """How a matched term is reported (and published as a category)."""
        return self.text + "*" if self.prefix else self.text


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Term | And | Or | Not


def terms(node: Node) -> Iterator[Term]:
    """Every term of the tree, left to right."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from terms(node.item)
    else:
        for item in node.items:
            yield from terms(item)


def scoring_terms(node: Node) -> Iterator[Term]:
    """The terms outside NOT, left to right: the only ones a match can score."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from scoring_terms(item)


def render(node: Node) -> str:
    """The tree as query text, fully parenthesised: for explanations."""
    if isinstance(node, Term):
        body = f'"{node.text}"' if node.phrase else node.text
        body = ("=" if node.exact else "") + body + ("*" if node.prefix else "")
        if node.weight != 1.0:
            body += f"^{node.weight:g}"
        return f"{node.field}:{body}" if node.field else body
    if isinstance(node, Not):
        return f"NOT {render(node.item)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(render(i) for i in node.items) + ")"


# -- lexer -----------------------------------------------------------------

Kind = Literal["(", ")", "AND", "OR", "NOT", "FIELD", "WORD", "PHRASE", "WEIGHT", "END"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Kind
    offset: int
    text: str = ""
    exact: bool = False


# Phrase quotes: the ASCII one and the typographic ones a word processor or a
# copied headline brings (“…”, „…“, «…», »…«); any of them closes a phrase.
QUOTES = '"\u201c\u201d\u201e\u00ab\u00bb'
# Words also end at any Unicode space (str.isspace): a no-break space is a space.
_STOP = frozenset("()^" + QUOTES)
_NUMBER_END = _STOP | {"#"}


def _end(query: str, i: int, stop: frozenset[str]) -> int:
    """The offset of the first space or `stop` character at or after i."""
    n = len(query)
    while i < n and query[i] not in stop and not query[i].isspace():
        i += 1
    return i


def _weight(query: str, i: int) -> tuple[_Token, int]:
    """The "^w" starting at query[i] (the caret), and the offset after it."""
    j = _end(query, i + 1, _NUMBER_END)
    text = query[i + 1 : j]
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_WEIGHT:  # also NaN and inf
        found = repr(text) if text else "nothing"
        expected = f"a number above 0, at most {MAX_WEIGHT:g}"
        raise QuerySyntaxError(
            query, i + 1, f'expected a weight after "^" ({expected}), found {found}'
        )
    return _Token("WEIGHT", i, text), j


def _tokens(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "#":
            # A comment, to the end of the line: long queries in config.toml
            # can say why a term is there.
            end = query.find("\n", i)
            i = n if end < 0 else end
        elif c in "()":
            out.append(_Token("(" if c == "(" else ")", i))
            i += 1
        elif c == "^":
            if not out or query[i - 1].isspace() or out[-1].kind not in ("WORD", "PHRASE", ")"):
                raise QuerySyntaxError(
                    query, i, '"^" weighs the term, "phrase" or ")" right before it, with no space'
                )
            token, i = _weight(query, i)
            out.append(token)
        else:
            start = i
            exact = c == "="
            if exact:
                i += 1
                if i >= n or query[i].isspace() or query[i] in "()":
                    raise QuerySyntaxError(query, i, 'expected a word or a "phrase" after "="')
            if query[i] in QUOTES:
                close = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
                if close < 0:
                    quote = '"' if query[i] == '"' else "quote"
                    where = _col(query, i)
                    raise QuerySyntaxError(
                        query, n, f"expected a closing {quote} for the phrase opened at {where}"
                    )
                out.append(_Token("PHRASE", start, query[i + 1 : close], exact))
                i = close + 1
                continue
            j = _end(query, i, _STOP)
            word = query[i:j]
            field, colon, _ = word.partition(":")
            if colon and field.isalpha() and not exact:
                if field.lower() not in FIELDS:
                    raise QuerySyntaxError(
                        query, i, f"unknown field {field!r} (expected one of: {', '.join(FIELDS)})"
                    )
                out.append(_Token("FIELD", i, field.lower()))
                i += len(field) + 1
                continue
            if word in OPERATORS and not exact:
                out.append(_Token(word, i))  # type: ignore[arg-type]
            else:
                out.append(_Token("WORD", start, word, exact))
            i = j
    out.append(_Token("END", n))
    return out


def _col(query: str, offset: int) -> str:
    return QuerySyntaxError(query, offset, "").where


# -- parser ----------------------------------------------------------------

_STARTS = frozenset({"(", "NOT", "FIELD", "WORD", "PHRASE"})
_DESCRIBE = {
    "(": '"("', ")": '")"', "AND": "AND", "OR": "OR", "NOT": "NOT", "END": "the end of the query",
    "WEIGHT": '"^"',
}  # fmt: skip
_OPERAND = 'a term, a "phrase", NOT or "("'


def literal(text: str) -> Term:
    """A word or phrase taken as written, no operators: the `any`/`all`/`none` lists.
    Quotes around the whole of it are the phrase's, as they would be in a query."""
    text = text.strip()
    if len(text) > 1 and text[0] in QUOTES and text[-1] in QUOTES:
        text = text[1:-1]
    folded = fold(text)
    found = words(folded)
    if not found:
        raise QuerySyntaxError(text, 0, f"expected letters or digits in the term {text!r}")
    return Term(
        text=" ".join(text.split()), folded=folded, words=tuple(found), phrase=len(found) > 1
    )


def parse(query: str) -> Node:
    """Parse a query; raise QuerySyntaxError with the column and what was expected."""
    return _Parser(query).parse()


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, token: _Token, expected: str) -> QuerySyntaxError:
        if token.kind in ("WORD", "PHRASE", "FIELD"):
            found = f"{token.text!r}" if token.kind != "FIELD" else f'"{token.text}:"'
        else:
            found = _DESCRIBE[token.kind]
        return QuerySyntaxError(self.query, token.offset, f"expected {expected}, found {found}")

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.fail(self.peek(), _OPERAND)
        node = self.or_expr(None)
        if self.peek().kind != "END":
            raise self.fail(self.peek(), "AND, OR, a term or the end of the query")
        return node

    def or_expr(self, field: str | None) -> Node:
        items = [self.and_expr(field)]
        while self.peek().kind == "OR":
            self.take()
            items.append(self.and_expr(field, after="OR"))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, field: str | None, after: str | None = None) -> Node:
        items = [self.unary(field, after)]
        while self.peek().kind == "AND" or self.peek().kind in _STARTS:
            if self.peek().kind == "AND":
                self.take()
                items.append(self.unary(field, "AND"))
            else:
                items.append(self.unary(field, None))
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self, field: str | None, after: str | None) -> Node:
        token = self.peek()
        if token.kind == "NOT":
            self.take()
            # NOTs nest as deeply as parentheses do: both count against MAX_DEPTH.
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(self.query, token.offset, "NOT nested too deeply")
            node = Not(self.unary(field, "NOT"))
            self.depth -= 1
            return node
        return self.primary(field, after)

    def primary(self, field: str | None, after: str | None) -> Node:
        token = self.take()
        if token.kind == "FIELD":
            if field is not None:
                raise QuerySyntaxError(
                    self.query, token.offset, f'"{token.text}:" inside "{field}:" (one field only)'
                )
            if self.peek().kind not in ("(", "WORD", "PHRASE"):
                raise self.fail(self.peek(), f'a term, a "phrase" or "(" after "{token.text}:"')
            return self.primary(token.text, None)
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(self.query, token.offset, "parentheses nested too deeply")
            if self.peek().kind == ")":
                raise self.fail(self.peek(), f'{_OPERAND} inside "("')
            node = self.or_expr(field)
            if self.peek().kind != ")":
                raise self.fail(
                    self.peek(), f'")" to close the "(" at {_col(self.query, token.offset)}'
                )
            self.take()
            self.depth -= 1
            return self.weighted(node)
        if token.kind in ("WORD", "PHRASE"):
            return self.weighted(self.term(token, field))
        expected = f"{_OPERAND} after {after}" if after else _OPERAND
        self.pos -= 1
        raise self.fail(token, expected)

    def weighted(self, node: Node) -> Node:
        """A "^w" right after a term or group multiplies the weight of each term in it."""
        if self.peek().kind != "WEIGHT":
            return node
        return _reweigh(node, float(self.take().text))

    def term(self, token: _Token, field: str | None) -> Term:
        text = token.text.strip()
        prefix = text.endswith("*")
        if prefix:
            text = text[:-1]
        if "*" in text:
            raise QuerySyntaxError(
                self.query, token.offset, '"*" is only allowed at the end of a word (prefix*)'
            )
        folded_text = fold(text)
        folded = words(folded_text)
        if not folded:
            raise QuerySyntaxError(
                self.query, token.offset, f"expected letters or digits in the term {token.text!r}"
            )
        if prefix and (len(folded[-1]) < MIN_PREFIX or not folded_text.endswith(folded[-1])):
            raise QuerySyntaxError(
                self.query,
                token.offset,
                f'a prefix needs at least {MIN_PREFIX} letters or digits before the "*"',
            )
        return Term(
            text=" ".join(text.split()),
            folded=folded_text,
            words=tuple(folded),
            field=field,
            phrase=token.kind == "PHRASE",
            exact=token.exact,
            prefix=prefix,
        )


def _reweigh(node: Node, factor: float) -> Node:
    if isinstance(node, Term):
        return dataclasses.replace(node, weight=min(node.weight * factor, MAX_WEIGHT))
    if isinstance(node, Not):
        return Not(_reweigh(node.item, factor))
    items = tuple(_reweigh(i, factor) for i in node.items)
    return And(items) if isinstance(node, And) else Or(items)
