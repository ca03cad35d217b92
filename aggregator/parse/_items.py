"""A feed document's items found in its bytes, before it is parsed.

A feed that changed by one item (or only in its <lastBuildDate>) still carries
dozens of items already stored. Each item element gets a digest of its exact
bytes; items whose digests the source's last document already had are cut out
before parsing, so the cost of a changed document follows its new items.

Only a plain layout is split: unprefixed <item> (RSS 0.9x/1.0/2.0) or <entry>
(Atom) elements, never nested, never self-closing, opening and closing in turn,
none of those tags inside a comment or CDATA section, and no xml:base inside the
items. Anything else returns None and the whole document is parsed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_OPEN = {tag: re.compile(rb"<%s[\s>/]" % tag) for tag in (b"item", b"entry")}
_CLOSE = {tag: re.compile(rb"</%s\s*>" % tag) for tag in (b"item", b"entry")}
# Where a tag-like string is text, not markup.
_HIDING = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
# Start tags that change how the items inside them read: namespaces, xml:base.
_CONTEXT_TAG = re.compile(rb"<[A-Za-z][^>]*?(?:xmlns|xml:base)[^>]*>")


@dataclass(frozen=True, slots=True)
class Items:
    spans: tuple[tuple[int, int], ...]  # [start, end) of each item element, in order
    digests: tuple[str, ...]  # of each item's bytes, in the document's context


def split_items(body: bytes, url: str) -> Items | None:
    """The document's item elements, or None when its layout is not plain."""
    found = [tag for tag in _OPEN if _OPEN[tag].search(body)]
    if len(found) != 1:
        return None
    tag = found[0]
    opens = [m.start() for m in _OPEN[tag].finditer(body)]
    closes = [m.end() for m in _CLOSE[tag].finditer(body)]
    if len(opens) != len(closes):
        return None
    end = 0
    for start, stop in zip(opens, closes, strict=True):
        if start < end or stop <= start or body[start + len(tag) + 1] == ord("/"):
            return None
        end = stop
    # feedparser carries an item's xml:base over to the items after it: with one
    # inside the items, how an item reads depends on the items before it.
    if b"xml:base" in body[opens[0] :]:
        return None
    if b"<!" in body:
        for hidden in _HIDING.finditer(body):
            text = hidden[0]
            if b"<" + tag in text or b"</" + tag in text:
                return None
    # Relative links in an item resolve against the URL and any xml:base, and its
    # prefixes mean what the enclosing namespace declarations say.
    context = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16)
    for declaration in _CONTEXT_TAG.finditer(body, 0, opens[0]):
        context.update(declaration[0])
    digests = []
    for start, stop in zip(opens, closes, strict=True):
        digest = context.copy()
        digest.update(body[start:stop])
        digests.append(digest.hexdigest())
    return Items(tuple(zip(opens, closes, strict=True)), tuple(digests))


def without_items(body: bytes, items: Items, drop: frozenset[str]) -> bytes:
    """The document with the items whose digests are in `drop` cut out."""
    pieces, last = [], 0
    for (start, stop), digest in zip(items.spans, items.digests, strict=True):
        if digest in drop:
            pieces.append(body[last:start])
            last = stop
    pieces.append(body[last:])
    return b"".join(pieces)
