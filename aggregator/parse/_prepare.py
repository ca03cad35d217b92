"""Bytes made safe to hand to feedparser: bounded, inflated, defused.

feedparser trusts its input: it expands every literal DTD entity without limit in its
lenient fallback parser, raises on out-of-range character references, and runs a
quadratic e-mail regex over author fields. Each is headed off here with linear scans
of the UTF-8 bytes feedparser's own charset detection produced (so a UTF-16, UTF-7 or
EBCDIC document cannot hide a declaration from the scan) before it can cost
gigabytes or minutes.
"""

from __future__ import annotations

import re
import zlib

from aggregator.parse._fields import NotAFeed

BODY_MAX = 50_000_000  # bytes; also the bound on a gzip body once decoded
DOCTYPE_MAX = 262_144  # a longer DOCTYPE declaration is refused
ENTITIES_MAX = 64
AUTHOR_TEXT_MAX = 256  # bytes: 256² regex steps is nothing, 50 000² is ten seconds

_GZIP_MAGIC = b"\x1f\x8b"
# feedparser's own notion of where the prolog ends (sanitizer.replace_doctype).
_FIRST_ELEMENT = re.compile(rb"<\w")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_OUTSIDE_SUBSET = re.compile(rb"[\"'\[>]")
_INSIDE_SUBSET = re.compile(rb"[\"'\]]|<!--")
# An entity worth keeping: a short literal (no references, no backslash, which
# feedparser passes to re.sub as a template) or a single character reference.
_VALUE = rb"""[^"'&%<\\]{0,64}|&\#[xX]?[0-9A-Fa-f]{1,8};"""
_SAFE_ENTITY = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_]\w{0,63})\s+(?:"(%s)"|'(%s)')\s*>""" % (_VALUE, _VALUE)
)
# Only a long reference can be out of range (a surrogate, beyond U+10FFFF).
_LONG_CHAR_REF = re.compile(rb"&#(?:[xX]0*([0-9A-Fa-f]{4,})|0*([0-9]{5,}));?")
# The elements feedparser hunts e-mail addresses in (author, dc:creator,
# managingEditor, webMaster, dc:publisher, itunes:author), when their text is long.
_AUTHOR_TEXT = re.compile(
    rb"(<(?:[A-Za-z_][\w.-]*:)?(?:author|creator|managingeditor|webmaster|publisher)"
    rb"(?:\s[^<>]*)?(?<!/)>)(<!\[CDATA\[)?([^<]{%d,})" % (AUTHOR_TEXT_MAX + 1),
    re.IGNORECASE,
)


def decode_transport(body: bytes) -> bytes:
    """The document itself: bounded, a gzip body inflated (a .gz file served as is)."""
    if len(body) > BODY_MAX:
        raise NotAFeed(f"document larger than {BODY_MAX} bytes")
    return _gunzip(body) if body.startswith(_GZIP_MAGIC) else body


def defuse(body: bytes) -> bytes:
    """UTF-8 XML bytes that feedparser can parse in bounded time and memory."""
    return _cut_authors(_fix_char_refs(_defuse_doctype(body)))


def _gunzip(body: bytes) -> bytes:
    decoder = zlib.decompressobj(wbits=31)
    try:
        data = decoder.decompress(body, BODY_MAX + 1)
    except zlib.error as exc:
        raise NotAFeed(f"corrupt gzip body: {exc}") from exc
    if len(data) > BODY_MAX:
        raise NotAFeed(f"gzip body decodes to more than {BODY_MAX} bytes")
    return data


def _defuse_doctype(body: bytes) -> bytes:
    """Keep only short literal entities of an internal DTD subset.

    Entity expansion is how a small document asks for gigabytes: the billion laughs,
    or one 100 kB entity referenced a thousand times (feedparser's lenient parser
    expands that to 100 MB). Without nesting and with values of at most 64 bytes,
    expansion is at most linear and small.
    """
    first = _FIRST_ELEMENT.search(body)
    doctype = _DOCTYPE.search(body, 0, first.start() if first else len(body))
    if doctype is None:  # feedparser only honours declarations alongside a DOCTYPE
        return body
    subset_start, subset_end, end = _doctype_extent(body, doctype.end())
    after = _FIRST_ELEMENT.search(body, end)
    # feedparser's line-based scan would pick up (and expand) declarations that are
    # not even inside the DOCTYPE.
    if _ENTITY_DECL.search(body, 0, doctype.start()) or _ENTITY_DECL.search(
        body, end, after.start() if after else len(body)
    ):
        raise NotAFeed("entity declarations outside the DOCTYPE")
    if subset_start < 0 or not _ENTITY_DECL.search(body, subset_start, subset_end):
        return body
    kept = [
        b'<!ENTITY %s "%s">' % (m[1], m[2] if m[2] is not None else m[3])
        for m in _SAFE_ENTITY.finditer(body, subset_start, subset_end)
    ][:ENTITIES_MAX]
    # One declaration a line, the DOCTYPE at a line start: the layout feedparser's own
    # (line-based) entity handling recognises, so both of its parsers see the entities.
    new_subset = b"[\n" + b"\n".join(kept) + b"\n]" if kept else b""
    start = doctype.start()
    return b"%s\n%s%s%s" % (
        body[:start],
        body[start:subset_start],
        new_subset,
        body[subset_end + 1 :],
    )


def _doctype_extent(body: bytes, pos: int) -> tuple[int, int, int]:
    """(offset of '[', offset of ']', offset of the closing '>'); -1s when no subset."""
    limit = min(len(body), pos + DOCTYPE_MAX)
    subset_start = subset_end = -1
    inside = False
    while True:
        match = (_INSIDE_SUBSET if inside else _OUTSIDE_SUBSET).search(body, pos, limit)
        if match is None:
            raise NotAFeed("unterminated or oversized DOCTYPE declaration")
        token, pos = match[0], match.end()
        if token in (b'"', b"'", b"<!--"):  # a literal or a comment: skip to its end
            close = body.find(b"-->" if token == b"<!--" else token, pos, limit)
            if close < 0:
                raise NotAFeed("unterminated literal or comment in the DOCTYPE declaration")
            pos = close + (3 if token == b"<!--" else 1)
        elif token == b"[":
            inside, subset_start = True, match.start()
        elif token == b"]":
            inside, subset_end = False, match.start()
        else:  # '>' outside the subset
            return subset_start, subset_end, match.start()


def _fix_char_refs(body: bytes) -> bytes:
    # feedparser raises (ValueError, OverflowError, UnicodeEncodeError) on these.
    if b"&#" not in body:
        return body
    return _LONG_CHAR_REF.sub(_fix_char_ref, body)


def _fix_char_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, dec_digits = match[1], match[2]
    digits = hex_digits or dec_digits
    if len(digits) <= 7:
        code = int(digits, 16 if hex_digits else 10)
        if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return match[0]
    return b"&#xFFFD;"


def _cut_authors(body: bytes) -> bytes:
    return _AUTHOR_TEXT.sub(_cut_author, body)


def _cut_author(match: re.Match[bytes]) -> bytes:
    text = match[3]
    # Cut after two ASCII bytes (never inside a UTF-8 sequence) and outside a character
    # or entity reference.
    for end in range(AUTHOR_TEXT_MAX, 1, -1):
        ascii_end = text[end - 1] < 0x80 and text[end - 2] < 0x80
        if ascii_end and text.rfind(b"&", 0, end) <= text.rfind(b";", 0, end):
            break
    else:
        return match[0]
    return match[1] + (match[2] or b"") + text[:end] + (b"]]>" if match[2] else b"")
