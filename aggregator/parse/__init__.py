"""A fetched document (bytes) -> ParsedFeed. The only place that imports feedparser.

feedparser only ever sees bytes, never a URL (it would fetch it). It is not told the
document's URL either: it resolves every RSS `guid` and Atom `id` against that base
even with resolve_relative_uris=False, so `post-17` would become a different guid
each time the feed moved. Relative links are resolved here instead, with safe_url.
Its HTML sanitiser is off too: sanitize.clean_html (nh3) is faster and stricter.

Before feedparser runs, the bytes are bounded and defused (_prepare); JSON Feed, which
feedparser 6 cannot read, goes to _jsonfeed instead. Well-formed RSS 2.0, RSS 1.0 and
Atom 1.0 documents take a faster path (_fast: lxml and a port of feedparser's handlers)
that yields what feedparser would; anything it cannot do exactly goes to feedparser.
"""

from __future__ import annotations

import calendar
import codecs
import dataclasses
import html
import re

# feedparser's SAX driver, imported up front: imported lazily it can fail under a parse
# worker's memory limit after lxml has run ("No parsers found" instead of MemoryError).
import xml.sax.expatreader  # noqa: F401
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8

from aggregator.errors import ParseError
from aggregator.models import ParsedEntry, ParsedFeed
from aggregator.parse._fast import fast_parse
from aggregator.parse._fields import (
    GUID_MAX,
    TITLE_INPUT_MAX,
    NotAFeed,
    derive_title,
    enclosures,
    names,
    plausible_date,
    text_as_html,
)
from aggregator.parse._items import split_items, without_items
from aggregator.parse._jsonfeed import parse_json_feed
from aggregator.parse._media import media_enclosures
from aggregator.parse._prepare import decode_transport, defuse
from aggregator.sanitize import clean_html, clean_text, html_to_text, safe_url

__all__ = ["fast_path_result", "feed_links", "parse_feed"]

_LEADING_SPACE = re.compile(rb"(?:\xef\xbb\xbf)?\s*")
# The first tag of a document; its name tells an HTML page from some other XML.
_FIRST_TAG = re.compile(rb"<!DOCTYPE\s+(html)\b|<([A-Za-z][\w:.-]*)", re.IGNORECASE)
# UTF-32 LE before UTF-16 LE: its mark starts with UTF-16 LE's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE_JSON_HEAD = 4_096  # bytes decoded to find the first character after whitespace
_HTML_ROOTS = frozenset({b"html", b"head", b"body", b"title", b"meta", b"link"})
_DISCOVERY_BYTES = 262_144  # feed links are in <head>
_LINK_TAG = re.compile(r"<(link|base)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def parse_feed(
    body: bytes, *, source_id: str, url: str, content_type: str | None = None, fast: bool = True,
    skip: frozenset[str] = frozenset(),
) -> ParsedFeed:  # fmt: skip
    """Parse an RSS, Atom or JSON Feed document fetched from url.

    Raises ParseError when the document is not a feed (an HTML page, JSON that is not
    JSON Feed, junk) or is broken with nothing usable in it. A well-formed feed with
    no entries is not an error. fast=False skips the fast path (feedparser only), for
    the differential test and the benchmark. Items whose digests (ParsedFeed.
    item_digests of an earlier parse) are in `skip` are left out unparsed.
    """
    try:
        return _parse(body, url, content_type, fast=fast, skip=skip)
    except NotAFeed as exc:
        raise ParseError(source_id, url, str(exc)) from exc.__cause__


def fast_path_result(
    body: bytes, *, url: str, content_type: str | None = None
) -> ParsedFeed | None:
    """What the fast path makes of a document, or None where it leaves it to feedparser."""
    try:
        return _parse(body, url, content_type, fast=True, fallback=False)
    except (NotAFeed, _Declined):
        return None


class _Declined(Exception):
    """The fast path left the document to feedparser (fast_path_result only)."""


def _parse(
    body: bytes, url: str, content_type: str | None, *, fast: bool, fallback: bool = True,
    skip: frozenset[str] = frozenset(),
) -> ParsedFeed:  # fmt: skip
    body = decode_transport(body)
    start = _LEADING_SPACE.match(body)
    first = body[start.end() : start.end() + 1] if start else body[:1]
    if not first:
        raise NotAFeed("empty document")
    if first in (b"{", b"[") or _wide_json(body):
        if not fallback:
            raise _Declined
        return parse_json_feed(body, url)
    # Decode as feedparser would (BOM, HTTP charset, XML declaration, fallbacks), so
    # that defuse scans the very bytes feedparser then parses.
    encoding: dict[str, Any] = {}
    try:
        utf8 = convert_to_utf8(
            {"content-type": content_type} if content_type else {}, body, encoding
        )
    except MemoryError:
        raise  # the worker's memory limit, not the document's fault alone
    except Exception as exc:
        raise NotAFeed(f"undecodable document: {_describe(exc)}") from exc
    body = defuse(utf8)
    items = split_items(body, url)
    digests = parsed = items.digests if items is not None else ()
    drop = skip.intersection(digests)
    feed = None
    if drop:
        assert items is not None
        try:
            feed = _parse_xml(without_items(body, items, drop), url, encoding, fast=fast,
                              fallback=fallback, partial=True)  # fmt: skip
            parsed = tuple(d for d in digests if d not in drop)
        except NotAFeed:
            pass  # nothing but its items made it a feed: parse it whole
    if feed is None:
        feed = _parse_xml(body, url, encoding, fast=fast, fallback=fallback, partial=False)
    return dataclasses.replace(feed, item_digests=digests, parsed_digests=parsed)


def _wide_json(body: bytes) -> bool:
    """Whether a UTF-16 or UTF-32 document with a byte order mark is JSON (which
    json.loads decodes by itself); XML in those encodings is feedparser's."""
    for bom, codec in _WIDE_BOMS:
        if body.startswith(bom):
            head = body[:_WIDE_JSON_HEAD].decode(codec, "ignore").lstrip()
            return head.startswith(("{", "["))
    return False


def _parse_xml(
    body: bytes, url: str, encoding: dict[str, Any], *, fast: bool, fallback: bool,
    partial: bool,
) -> ParsedFeed:  # fmt: skip
    if fast:
        quick = fast_parse(body)
        if quick is not None:
            if encoding.get("bozo"):
                quick["bozo"], quick["bozo_exception"] = True, encoding.get("bozo_exception")
            return _from_feedparser(quick, body, url, partial=partial)
        if not fallback:
            raise _Declined
    try:
        result = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except MemoryError:
        raise  # the worker's memory limit, not the document's fault alone
    except Exception as exc:  # it raises on some malformed input instead of flagging bozo
        raise NotAFeed(f"feedparser failed: {_describe(exc)}") from exc
    if encoding.get("bozo") and not dict.get(result, "bozo"):
        # The first decoding's complaint (a charset override, a non-XML media type).
        result["bozo"], result["bozo_exception"] = True, encoding.get("bozo_exception")
    return _from_feedparser(result, body, url, partial=partial)


def _from_feedparser(result: Any, body: bytes, url: str, *, partial: bool = False) -> ParsedFeed:
    """partial: items were cut out before parsing (no entries left is not a failure)."""
    version = _str(result, "version")
    entries = _dicts(result, "entries")
    problem = dict.get(result, "bozo_exception") if dict.get(result, "bozo") else None
    if not version and not entries:
        raise NotAFeed(_not_a_feed(body, url, problem))
    # An encoding or content-type complaint does not make an empty feed broken.
    benign = isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)
    if problem is not None and not entries and not benign and not partial:
        raise NotAFeed(f"malformed feed with no usable entry: {_describe(problem)}")
    feed = dict.get(result, "feed")
    # An Atom entry without an author inherits the feed's (RFC 4287 4.2.1).
    inherited = _authors(feed) if version.startswith("atom") else ()
    return ParsedFeed(
        title=_title(feed),
        link=safe_url(_str(feed, "link"), base_url=url),
        entries=tuple(_entry(entry, url, inherited) for entry in entries),
        format=version,
        warning=_describe(problem) if problem is not None else None,
        ttl=_ttl(_str(feed, "ttl")),
    )


def _ttl(value: str) -> int | None:
    """RSS <ttl> in minutes; anything but a plain positive number is ignored."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        return None
    return int(value) or None


def _entry(entry: Any, url: str, inherited: tuple[str, ...]) -> ParsedEntry:
    raw_guid = _str(entry, "id")
    link_value = _str(entry, "link")
    if link_value and any(_str(lk, "href") == link_value for lk in _dicts(entry, "links")):
        link = safe_url(link_value, base_url=url)
    elif dict.get(entry, "guidislink"):
        # feedparser copied the guid into `link`: a link only if it is an absolute URL.
        link = safe_url(raw_guid, base_url=None)
    else:
        link = None
    contents = _dicts(entry, "content")
    chosen = next((c for c in contents if _str(c, "type") in _HTML_TYPES), None)
    chosen = chosen or (contents[0] if contents else None)
    content = _html(chosen, link, url)
    summary_detail = dict.get(entry, "summary_detail") or {"value": _str(entry, "summary")}
    if chosen is not None and _str(summary_detail, "value") == _str(chosen, "value"):
        summary = content  # feedparser copies an Atom content into summary
    else:
        summary = _html(summary_detail, link, url)
    links = _dicts(entry, "links")
    return ParsedEntry(
        guid=clean_text(raw_guid, max_length=GUID_MAX) or None,
        link=link,
        title=_title(entry) or derive_title(summary or content),
        summary=summary,
        content=content,
        authors=_authors(entry) or inherited,
        categories=names(_str(t, "term") or _str(t, "label") for t in _dicts(entry, "tags")),
        published=_date(dict.get(entry, "published_parsed") or dict.get(entry, "created_parsed")),
        updated=_date(dict.get(entry, "updated_parsed")),
        enclosures=enclosures(_enclosure_items(entry, links), base_url=url),
    )


def _enclosure_items(entry: Any, links: list[Any]) -> list[tuple[object, object, object]]:
    """(url, type, length) of the entry's enclosure links, or else of its Media RSS."""
    found: list[tuple[object, object, object]] = [
        (dict.get(lk, "href"), dict.get(lk, "type"), dict.get(lk, "length"))
        for lk in links
        if _str(lk, "rel") == "enclosure"
    ]
    return found or media_enclosures(_dicts(entry, "media_content"))


def _authors(obj: Any) -> tuple[str, ...]:
    found = [_str(a, "name") or _str(a, "email") for a in _dicts(obj, "authors")]
    return names(found or [_str(obj, "author")])


def _html(detail: Any, link: str | None, url: str) -> str:
    """Sanitised HTML of a feedparser text construct (a dict with value, type, base)."""
    value = _str(detail, "value")
    if not value:
        return ""
    if _str(detail, "type") not in _HTML_TYPES | {""}:
        value = text_as_html(value)
    # An xml:base in the document wins; otherwise links are relative to the article.
    xml_base = _str(detail, "base")
    return clean_html(value, base_url=urljoin(url, xml_base) if xml_base else link or url)


def _title(obj: Any) -> str:
    """The title as plain text: markup stripped when its type says HTML."""
    value = _str(obj, "title")[:TITLE_INPUT_MAX]
    if "html" in _str(dict.get(obj, "title_detail") if isinstance(obj, dict) else None, "type"):
        value = html_to_text(value)
    return clean_text(value)


def _date(value: Any) -> datetime | None:
    """feedparser's struct_time (already UTC) as an aware datetime; None if absurd."""
    if value is None:
        return None
    try:
        return plausible_date(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _str(obj: Any, key: str) -> str:
    # dict.get, not FeedParserDict.get: no key aliases, no DeprecationWarning fallbacks.
    value = dict.get(obj, key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def _dicts(obj: Any, key: str) -> list[Any]:
    value = dict.get(obj, key) if isinstance(obj, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _describe(problem: object) -> str:
    return clean_text(f"{type(problem).__name__}: {problem}", max_length=500)


def _not_a_feed(body: bytes, url: str, problem: object) -> str:
    head = body[:_DISCOVERY_BYTES]
    first = _FIRST_TAG.search(head)
    root = (first[1] or first[2]).lower()[:40] if first else b""
    if root in _HTML_ROOTS:
        found = _feed_links(head.decode("utf-8", "replace"), url)
        if found:
            return "an HTML page, not a feed; it links to: " + ", ".join(found)
        return "an HTML page, not a feed (and it links to no feed)"
    detail = f"root element <{root.decode('ascii', 'replace')}>" if root else "no XML element"
    if problem is not None:
        detail += f"; {_describe(problem)}"
    return f"not an RSS, Atom or JSON feed ({detail})"


def feed_links(body: bytes, url: str) -> list[str]:
    """The feeds an HTML page at url advertises (autodiscovery), at most five;
    empty when the document is not an HTML page."""
    try:
        head = decode_transport(body)[:_DISCOVERY_BYTES]
    except NotAFeed:
        return []
    first = _FIRST_TAG.search(head)
    root = (first[1] or first[2]).lower()[:40] if first else b""
    return _feed_links(head.decode("utf-8", "replace"), url) if root in _HTML_ROOTS else []


def _feed_links(page: str, url: str) -> list[str]:
    """Feeds an HTML page advertises: <link rel="alternate" type="application/rss+xml">.

    A regex, not html.parser, which raises on some malformed markup ("<![ x").
    """
    base, found = url, []
    for tag in _LINK_TAG.finditer(page):
        attrs = {
            m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _ATTR.finditer(tag[2])
        }
        if tag[1].lower() == "base" and attrs.get("href"):
            base = safe_url(attrs["href"], base_url=url) or base
        elif "alternate" in attrs.get("rel", "").lower().split():
            mime = attrs.get("type", "").split(";")[0].strip().lower()
            href = safe_url(attrs.get("href"), base_url=base)
            if mime in _FEED_TYPES and href and href not in found:
                found.append(href)
    return found[:5]
