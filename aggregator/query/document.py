"""What a query searches: one entry's fields, folded once and shared by every topic.

Folding and splitting into words happen on first use of a field and are
cached, so matching one entry against many topics pays for them once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from aggregator.query.text import words
from aggregator.textfold import match_fold

_MARKUP = frozenset(("summary", "content"))  # sanitised HTML; the other fields are plain text
# Stands between the parts of a multi-part field so a phrase cannot span two
# of them (the end of the title and the start of the summary).
_GAP = " | "
TEXT = "text"  # the default field: title, summary, content and categories


class Document:
    __slots__ = ("_counts", "_folded", "_raw", "_tokens", "host")

    def __init__(
        self,
        *,
        title: str,
        summary: str = "",
        content: str = "",
        authors: Iterable[str] = (),
        categories: Iterable[str] = (),
        source: Iterable[str] = (),  # the source's id and title
        tags: Iterable[str] = (),
        link: str | None = None,
    ) -> None:
        self._raw: dict[str, tuple[str, ...]] = {
            "title": (title,),
            "summary": (summary,),
            "content": (content,),
            "author": tuple(authors),
            "category": tuple(categories),
            "source": tuple(source),
            "tag": tuple(tags),
        }
        self._folded: dict[str, str] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._counts: dict[str, Counter[str]] = {}
        self.host = _host(link)

    def text(self, field: str) -> str:
        """The field folded (textfold.match_fold); TEXT for the default fields together."""
        found = self._folded.get(field)
        if found is None:
            if field == TEXT:
                parts = [self.text(f) for f in ("title", "summary", "content", "category")]
                found = _GAP.join(p for p in parts if p)
            else:
                markup = field in _MARKUP
                folded = (match_fold(raw, markup=markup) for raw in self._raw[field])
                found = _GAP.join(f for f in folded if f)
            self._folded[field] = found
        return found

    def tokens(self, field: str) -> frozenset[str]:
        """The field's words: membership here is a match at word boundaries."""
        found = self._tokens.get(field)
        if found is None:
            found = self._tokens[field] = frozenset(words(self.text(field)))
        return found

    def counts(self, field: str) -> Counter[str]:
        """How often each word occurs in the field: only scoring needs it, so only
        the articles a scored topic's query matched pay for it."""
        found = self._counts.get(field)
        if found is None:
            found = self._counts[field] = Counter(words(self.text(field)))
        return found


def _host(link: str | None) -> str:
    if not link:
        return ""
    try:
        return ascii_host(urlsplit(link).hostname or "")
    except ValueError:
        return ""


def ascii_host(name: str) -> str:
    """A host name as DNS has it: lower-case, IDNA (punycode) for non-ASCII labels,
    no trailing dot. `domain:bücher.de` and a link to xn--bcher-kva.de meet here
    (folding would make it "bucher.de", another domain)."""
    name = name.strip().rstrip(".")
    if name.isascii():
        return name.lower()
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return name.lower()  # not a valid name: as written, it matches itself only
