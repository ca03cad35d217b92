"""The fast path: lxml reads the document, a port of feedparser's handlers fills the result.

feedparser's strict parser is expat driving Python SAX callbacks, and most of its time
goes to that plumbing (a callback per text chunk, FeedParserDict lookups), not to the
XML itself. Here libxml2 builds the tree in C and a walk replays the events feedparser
would have seen into a faithful port of the handlers that matter, producing the same
feedparser-shaped dict (version, feed, entries) that parse/__init__ maps: one mapping,
so both paths clean, sanitise and date entries identically.

Exact or not at all: whatever this port does not reproduce exactly returns None, and
the caller runs feedparser. That covers documents that are not well-formed (feedparser
would switch to its lenient parser), a DOCTYPE, xml:base (feedparser's base tracking),
inline markup inside a text construct (its XHTML serialisation), base64 content,
elements whose feedparser handlers are not ported (GeoRSS, Podlove chapters, Creative
Commons licences) and namespace declarations that would make feedparser's element
naming depend on document order. tests/integration/test_fast_parse.py holds the port
to feedparser over the corpus.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import re
import xml.sax.saxutils
from collections.abc import Callable
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

__all__ = ["HANDLED", "fast_parse"]

_Result = dict[str, Any]
_Handler = Callable[["_Port", dict[str, str]], None]

# Namespace URI (lower case) -> feedparser's prefix for it ('' for the feed formats).
_KNOWN: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
_USERLAND = "http://backend.userland.com/rss"
_XLINK = "http://www.w3.org/1999/xlink"
# Declaring one of these sets feedparser's version (track_namespace).
_VERSION_URIS = frozenset(
    {
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/",
        "http://www.w3.org/2005/atom",
    }
)
_ROOTS = frozenset({"rss", "rdf_rdf", "feed"})
# What the port has been held to feedparser on: RSS of every version, Atom 1.0 and 0.3.
_FORMATS = frozenset(
    {"rss", "rss090", "rss091u", "rss092", "rss093", "rss094", "rss10", "rss20", "atom03", "atom10"}
)
# Keys parse/__init__ reads that no feedparser handler owns: an unknown element of that
# name would write them through feedparser's generic path.
_READ_KEYS = frozenset(
    {"links", "guidislink", "summary_detail", "title_detail", "authors", "author_detail"}
    | {"tags", "published_parsed", "created_parsed", "updated_parsed", "content_detail"}
)
# Unprefixed elements that do not end feedparser's <image> and <textinput> state.
_IMAGE_TAGS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_XHTML = "application/xhtml+xml"
_HTML_TYPES = frozenset({_XHTML, "text/html"})
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
_map_content_type = _FeedParserMixin.map_content_type
_looks_like_html = _FeedParserMixin.looks_like_html
_enforce_href = _FeedParserMixin._enforce_href


class Unsupported(Exception):
    """The document needs something only feedparser itself does exactly."""


def _parser() -> etree.XMLParser:
    # No network, no DTD, no entity expansion, libxml2's default size limits. One per
    # call: parser objects are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def fast_parse(utf8: bytes) -> _Result | None:
    """feedparser's result for these bytes (the UTF-8 feedparser itself would be given),
    or None when only feedparser can say."""
    try:
        root = etree.fromstring(utf8, _parser())
    except etree.XMLSyntaxError as exc:
        if "memory" in str(exc).lower():
            # libxml2 ran into the worker's memory limit: the worker's business.
            raise MemoryError(str(exc)) from exc
        return None  # feedparser falls back to its lenient parser: its result, not ours
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None
    port = _Port()
    try:
        port.run(root, slow_namespaces=utf8.count(b"xmlns") > len(root.nsmap))
    except MemoryError:
        raise
    except Exception:  # Unsupported, or a state feedparser itself may choke on
        return None
    if port.version not in _FORMATS:
        return None
    return {"version": port.version, "feed": port.feeddata, "entries": port.entries, "bozo": False}


class _Port:
    """The state feedparser's _FeedParserMixin keeps, under the same names: the helper
    methods borrowed from it below read and write these attributes."""

    # Borrowed as they are: they only touch the contexts.
    _save = _FeedParserMixin._save
    _save_author = _FeedParserMixin._save_author
    _save_contributor = _FeedParserMixin._save_contributor
    _sync_author_detail = _FeedParserMixin._sync_author_detail
    _add_tag = _FeedParserMixin._add_tag

    def __init__(self) -> None:
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self._declared: dict[str | None, str] = {}
        self._unknown_uris: dict[str, str | None] = {}
        self.infeed = self.inentry = self.incontent = self.intextinput = self.inimage = 0
        self.inauthor = self.incontributor = self.inpublisher = self.insource = 0
        self.sourcedata: dict[str, Any] = {}
        self.contentparams: dict[str, Any] = {}
        self._summaryKey: str | None = None
        self.elementstack: list[list[Any]] = []
        self.title_depth = -1
        self.depth = 0
        self.hasContent = 0
        self.guidislink: bool | int = 0
        self.property_depth_map: dict[int, dict[str, int]] = {}
        self.baseuri = ""  # feedparser is given no URL: only xml:base sets one
        self.basestack: list[str] = []
        self._names: dict[str, tuple[str, str, str]] = {}

    # -- the walk: the events expat would have reported ----------------------------

    def run(self, root: Any, *, slow_namespaces: bool) -> None:
        nsmap = root.nsmap
        self._track(nsmap)
        if self._element_name(root)[0] not in _ROOTS:
            raise Unsupported("root element")
        if slow_namespaces:
            self._walk_declaring(root, nsmap)
        else:
            self._walk(root)

    def _walk(self, el: Any) -> None:
        name = self._start(el)
        if el.text:
            self.handle_data(el.text)
        for child in el:
            self._walk(child)
            if child.tail:
                self.handle_data(child.tail)
        self._end(name)

    def _walk_declaring(self, el: Any, parent_nsmap: dict[str | None, str]) -> None:
        """_walk for documents declaring namespaces below the root: each element's own
        declarations are tracked before it starts, as startPrefixMapping does."""
        nsmap = el.nsmap
        if nsmap != parent_nsmap:
            self._track({p: u for p, u in nsmap.items() if parent_nsmap.get(p) != u})
            self._names.clear()
        name = self._start(el)
        if el.text:
            self.handle_data(el.text)
        for child in el:
            self._walk_declaring(child, nsmap)
            if child.tail:
                self.handle_data(child.tail)
        self._end(name)

    def _track(self, declarations: dict[str | None, str]) -> None:
        """feedparser's track_namespace for each declaration, refusing the declarations
        after which its element names would depend on their order."""
        if sum(u.lower() in _VERSION_URIS for u in declarations.values()) > 1:
            raise Unsupported("several feed-format namespaces on one element")
        for prefix, uri in declarations.items():
            if not uri:
                continue
            # (feedparser never looks the default namespace up by prefix.)
            if prefix is not None and self._declared.setdefault(prefix, uri) != uri:
                raise Unsupported("a prefix bound to two namespaces")
            loweruri = uri.lower()
            if loweruri == _XLINK:
                raise Unsupported("xlink declaration (feedparser adds it to attributes)")
            if not self.version:
                if (prefix, loweruri) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                    self.version = "rss090"
                elif loweruri == "http://purl.org/rss/1.0/":
                    self.version = "rss10"
                elif loweruri == "http://www.w3.org/2005/atom":
                    self.version = "atom10"
            if "backend.userland.com/rss" in loweruri:
                uri = loweruri = _USERLAND
            if loweruri in _KNOWN:
                self.namespacemap[prefix] = key = _KNOWN[loweruri]
            else:
                key = prefix or ""
                if self._unknown_uris.setdefault(uri, prefix) != prefix:
                    raise Unsupported("an unknown namespace under two prefixes")
            # Elements of an unknown namespace are named by a search of this dict.
            if key and self.namespaces_in_use.get(key, uri) != uri:
                raise Unsupported("two namespaces under one prefix")
            self.namespaces_in_use[key] = uri

    def _element_name(self, el: Any) -> tuple[str, str, str]:
        """(handler name, tag, mapped prefix) as unknown_starttag computes them."""
        clark = el.tag
        found = self._names.get(clark)
        if found is None:
            found = self._names[clark] = self._compute_name(clark)
        return found

    def _compute_name(self, clark: str) -> tuple[str, str, str]:
        if clark[0] == "{":
            namespace, local = clark[1:].split("}", 1)
        else:
            namespace, local = "", clark
        lowerns = namespace.lower()
        if "backend.userland.com/rss" in lowerns:
            namespace = lowerns = _USERLAND
        known = _KNOWN.get(lowerns)
        tag = local
        if known:
            tag = known.lower() + ":" + local
        elif namespace:
            for prefix, uri in self.namespaces_in_use.items():
                if prefix and uri == namespace:
                    tag = prefix + ":" + local
                    break
        tag = tag.lower()
        prefix, suffix = tag.split(":", 1) if ":" in tag else ("", tag)
        prefix = self.namespacemap.get(prefix, prefix)
        name = f"{prefix}_{suffix}" if prefix else suffix
        return name, tag, prefix

    def _attributes(self, el: Any) -> dict[str, str]:
        """The attribute dict feedparser's handlers get (keys lower case, rel and type
        values too; a namespaced attribute also under its bare local name)."""
        attrib = el.attrib
        if not attrib:
            return {}
        qualified: dict[str, str] = {}
        bare: dict[str, str] = {}
        for key, value in attrib.items():
            if key[0] == "{":
                namespace, local = key[1:].split("}", 1)
                prefix = _KNOWN.get(namespace.lower(), "")
                qualified[(prefix + ":" + local if prefix else local).lower()] = value
            else:
                local = key
                qualified[local.lower()] = value
            bare[local.lower()] = value
        qualified.update(bare)
        for key in ("rel", "type"):
            if key in qualified:
                qualified[key] = qualified[key].lower()
        return qualified

    def _start(self, el: Any) -> str:
        self.depth += 1
        if self.incontent:
            raise Unsupported("markup inside a text construct")
        name, tag, prefix = self._element_name(el)
        attrs = self._attributes(el)
        base = attrs.get("xml:base", attrs.get("base")) or self.baseuri
        if self.baseuri:
            self.baseuri = make_safe_absolute_uri(self.baseuri, base) or self.baseuri
        elif base:
            self.baseuri = _urljoin("", base)
        self.basestack.append(self.baseuri)
        if not prefix and tag not in ("title", "link", "description", "name"):
            self.intextinput = 0
        if not prefix and tag not in _IMAGE_TAGS:
            self.inimage = 0
        handler = _START.get(name)
        if handler is not None:
            handler(self, attrs)
        elif name in _UNPORTED:
            raise Unsupported(f"<{tag}>")
        elif name in _READ_KEYS:
            raise Unsupported(f"<{tag}> would overwrite {name}")
        elif not attrs:
            self.push(name, 1)
        else:
            self._get_context()[name] = attrs
        return name

    def _end(self, name: str) -> None:
        handler = _END.get(name)
        if handler is not None:
            handler(self)
        else:
            self.pop(name)
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]
        self.depth -= 1

    # -- feedparser's mixin, the parts the handlers use -----------------------------

    def handle_data(self, text: str) -> None:
        if not self.elementstack:
            return
        if self.contentparams.get("type") == _XHTML:
            text = xml.sax.saxutils.escape(text)
        self.elementstack[-1][2].append(text)

    def _get_context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            return self.feeddata["image"]  # type: ignore[no-any-return]
        if self.intextinput:
            return self.feeddata["textinput"]  # type: ignore[no-any-return]
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def push(self, element: str, expecting_text: Any) -> None:
        self.elementstack.append([element, expecting_text, []])

    def pop(self, element: str) -> str | None:
        if not self.elementstack or self.elementstack[-1][0] != element:
            return None
        element, expecting_text, pieces = self.elementstack.pop()
        # (feedparser unwraps the <div> of Atom XHTML content here; child elements in
        # content are refused, so there is none.)
        output: str = "".join(pieces).strip()
        if not expecting_text:
            return output
        if self.contentparams.get("base64", 0):
            with contextlib.suppress(binascii.Error, binascii.Incomplete, UnicodeDecodeError):
                output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        if element in _CAN_BE_RELATIVE_URI and output and (element != "id" or self.guidislink):
            output = self.resolve_uri(output)
        if (
            not self.version.startswith("atom")
            and self.contentparams.get("type") == "text/plain"
            and _looks_like_html(output)
        ):
            self.contentparams["type"] = "text/html"
        self.contentparams.pop("mode", None)
        self.contentparams.pop("base64", None)
        # feedparser's repair of UTF-8 read as ISO-8859-1, then of windows-1252 C1 codes.
        if not output.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
            output = output.translate(_cp1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", []).append(self._detail(output))
            elif element == "link":
                if not self.inimage:
                    output = _QUERY_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.property_depth_map.setdefault(id(entry), {})
                old_depth = depths.get(element)
                if old_depth is None or self.depth <= old_depth:
                    depths[element] = self.depth
                    entry[element] = output
                if self.incontent:
                    entry[element + "_detail"] = self._detail(output)
        elif self.infeed or self.insource:
            context = self._get_context()
            if element == "description":
                element = "subtitle"
            context[element] = output
            if element == "link":
                output = _QUERY_ENTITY.sub(r"&\g<1>", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[element + "_detail"] = self._detail(output)
        return output

    def resolve_uri(self, uri: str) -> str:
        return _urljoin(self.baseuri or "", uri)  # type: ignore[no-any-return]

    def _detail(self, value: str) -> dict[str, Any]:
        detail = copy.copy(self.contentparams)
        detail["value"] = value
        return detail

    def push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: Any) -> None:
        self.incontent += 1
        content_type = _map_content_type(attrs.get("type", default))
        self.contentparams = {"type": content_type, "language": None, "base": self.baseuri}
        self.contentparams["base64"] = int(
            attrs.get("mode", "") == "base64"
            or not (content_type.startswith("text/") or content_type.endswith(("+xml", "/xml")))
        )
        self.push(tag, expecting)

    def pop_content(self, tag: str) -> str | None:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams.clear()
        return value

    def _expecting(self) -> int:
        return self.infeed or self.inentry or self.insource


# -- the handlers: feedparser's _start_X / _end_X, ported ------------------------------
# Each is named for the element feedparser would call it for. Handlers that only store
# what parse/__init__ never reads keep their effect on the element stack and state.


def _push_text(name: str) -> tuple[_Handler, Callable[[_Port], None]]:
    def start(p: _Port, attrs: dict[str, str]) -> None:
        p.push(name, 1)

    def end(p: _Port) -> None:
        p.pop(name)

    return start, end


def _s_rss(p: _Port, attrs: dict[str, str]) -> None:
    if not p.version or not p.version.startswith("rss"):
        attr_version = attrs.get("version", "")
        versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
        if attr_version in versions:
            p.version = versions[attr_version]
        elif attr_version.startswith("2."):
            p.version = "rss20"
        else:
            p.version = "rss"


def _s_channel(p: _Port, attrs: dict[str, str]) -> None:
    p.infeed = 1
    _cdf_common(attrs)


def _cdf_common(attrs: dict[str, str]) -> None:
    if "lastmod" in attrs or "href" in attrs:
        raise Unsupported("CDF attributes")


def _s_feed(p: _Port, attrs: dict[str, str]) -> None:
    p.infeed = 1
    if not p.version:
        versions = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
        p.version = versions.get(attrs.get("version", ""), "atom")


def _e_channel(p: _Port) -> None:
    p.infeed = 0


def _s_image(p: _Port, attrs: dict[str, str]) -> None:
    context = p._get_context()
    if not p.inentry:
        context.setdefault("image", {})
    p.inimage = 1
    p.title_depth = -1
    p.push("image", 0)


def _e_image(p: _Port) -> None:
    p.pop("image")
    p.inimage = 0


def _s_textinput(p: _Port, attrs: dict[str, str]) -> None:
    p._get_context().setdefault("textinput", {})
    p.intextinput = 1
    p.title_depth = -1
    p.push("textinput", 0)


def _e_textinput(p: _Port) -> None:
    p.pop("textinput")
    p.intextinput = 0


def _s_author(p: _Port, attrs: dict[str, str]) -> None:
    p.inauthor = 1
    p.push("author", 1)
    p._get_context().setdefault("authors", []).append({})


def _e_author(p: _Port) -> None:
    p.pop("author")
    p.inauthor = 0
    p._sync_author_detail()


def _s_contributor(p: _Port, attrs: dict[str, str]) -> None:
    p.incontributor = 1
    p._get_context().setdefault("contributors", []).append({})
    p.push("contributor", 0)


def _e_contributor(p: _Port) -> None:
    p.pop("contributor")
    p.incontributor = 0


def _s_dc_contributor(p: _Port, attrs: dict[str, str]) -> None:
    p.incontributor = 1
    p._get_context().setdefault("contributors", []).append({})
    p.push("name", 0)


def _e_dc_contributor(p: _Port) -> None:
    _e_name(p)
    p.incontributor = 0


def _s_name(p: _Port, attrs: dict[str, str]) -> None:
    p.push("name", 0)


def _save_person(p: _Port, key: str, value: str | None) -> bool:
    """A name or e-mail of the publisher, author or contributor being read, if any."""
    if p.inpublisher:
        p._save_author(key, value, "publisher")
    elif p.inauthor:
        p._save_author(key, value)
    elif p.incontributor:
        p._save_contributor(key, value)
    else:
        return False
    return True


def _e_name(p: _Port) -> None:
    value = p.pop("name")
    if not _save_person(p, "name", value) and p.intextinput:
        p._get_context()["name"] = value


def _s_width(p: _Port, attrs: dict[str, str]) -> None:
    p.push("width", 0)


def _e_width(p: _Port) -> None:
    p.pop("width")  # an image's size: nothing read here


def _s_height(p: _Port, attrs: dict[str, str]) -> None:
    p.push("height", 0)


def _e_height(p: _Port) -> None:
    p.pop("height")


def _s_url(p: _Port, attrs: dict[str, str]) -> None:
    p.push("href", 1)


def _e_url(p: _Port) -> None:
    value = p.pop("href")
    if p.inauthor:
        p._save_author("href", value)
    elif p.incontributor:
        p._save_contributor("href", value)


def _s_email(p: _Port, attrs: dict[str, str]) -> None:
    p.push("email", 0)


def _e_email(p: _Port) -> None:
    _save_person(p, "email", p.pop("email"))


def _content_construct(name: str, default: str) -> tuple[_Handler, Callable[[_Port], None]]:
    def start(p: _Port, attrs: dict[str, str]) -> None:
        p.push_content(name, attrs, default, 1)

    def end(p: _Port) -> None:
        p.pop_content(name)

    return start, end


def _s_item(p: _Port, attrs: dict[str, str]) -> None:
    p.entries.append({})
    p.push("item", 0)
    p.inentry = 1
    p.guidislink = 0
    p.title_depth = -1
    about = attrs.get(p.namespacemap.get("rdf", "rdf") + ":about")
    if about:
        p._get_context()["id"] = about
    _cdf_common(attrs)


def _e_item(p: _Port) -> None:
    p.pop("item")
    p.inentry = 0
    p.hasContent = 0


def _s_language(p: _Port, attrs: dict[str, str]) -> None:
    p.push("language", 1)


def _e_language(p: _Port) -> None:
    p.pop("language")  # feedparser's xml:lang tracking: nothing read here


def _s_webmaster(p: _Port, attrs: dict[str, str]) -> None:
    p.push("publisher", 1)


def _e_webmaster(p: _Port) -> None:
    p.pop("publisher")
    p._sync_author_detail("publisher")


def _date_handlers(pushed: str, key: str) -> tuple[_Handler, Callable[[_Port], None]]:
    def start(p: _Port, attrs: dict[str, str]) -> None:
        p.push(pushed, 1)

    def end(p: _Port) -> None:
        value = p.pop(pushed)
        p._save(key, _parse_date(value), overwrite=True)

    return start, end


def _s_category(p: _Port, attrs: dict[str, str]) -> None:
    p._add_tag(attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
    p.push("category", 1)


def _e_category(p: _Port) -> None:
    value = p.pop("category")
    if not value:
        return
    tags = p._get_context()["tags"]
    if len(tags) and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        p._add_tag(value, None, None)


def _s_cloud(p: _Port, attrs: dict[str, str]) -> None:
    p._get_context()["cloud"] = dict(attrs)


def _s_link(p: _Port, attrs: dict[str, str]) -> None:
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    context = p._get_context()
    attrs = _enforce_href(attrs)
    if "href" in attrs:
        attrs["href"] = p.resolve_uri(attrs["href"])
    links = context.setdefault("links", [])
    if not (p.inentry and p.inimage):
        links.append(dict(attrs))
    if "href" in attrs:
        if attrs.get("rel") == "alternate" and _map_content_type(attrs.get("type")) in _HTML_TYPES:
            context["link"] = attrs["href"]
    else:
        p.push("link", p._expecting())


def _e_link(p: _Port) -> None:
    p.pop("link")


def _s_guid(p: _Port, attrs: dict[str, str]) -> None:
    p.guidislink = attrs.get("ispermalink", "true") == "true"
    p.push("id", 1)


def _e_guid(p: _Port) -> None:
    value = p.pop("id")
    p._save("guidislink", p.guidislink and "link" not in p._get_context())
    if p.guidislink:
        p._save("link", value)


def _s_title(p: _Port, attrs: dict[str, str]) -> None:
    p.push_content("title", attrs, "text/plain", p._expecting())


def _e_title(p: _Port) -> None:
    value = p.pop_content("title")
    if value:
        p.title_depth = p.depth


def _s_description(p: _Port, attrs: dict[str, str]) -> None:
    if "summary" in p._get_context() and not p.hasContent:
        p._summaryKey = "content"
        _s_content(p, attrs)
    else:
        p.push_content("description", attrs, "text/html", p._expecting())


def _s_abstract(p: _Port, attrs: dict[str, str]) -> None:
    p.push_content("description", attrs, "text/plain", p._expecting())


def _e_description(p: _Port) -> None:
    if p._summaryKey == "content":
        _e_content(p)
    else:
        p.pop_content("description")
    p._summaryKey = None


def _s_generator(p: _Port, attrs: dict[str, str]) -> None:
    p.push("generator", 1)  # its details are not read here


def _e_generator(p: _Port) -> None:
    p.pop("generator")


def _s_summary(p: _Port, attrs: dict[str, str]) -> None:
    if "summary" in p._get_context() and not p.hasContent:
        p._summaryKey = "content"
        _s_content(p, attrs)
    else:
        p._summaryKey = "summary"
        p.push_content("summary", attrs, "text/plain", 1)


def _e_summary(p: _Port) -> None:
    if p._summaryKey == "content":
        _e_content(p)
    else:
        p.pop_content(p._summaryKey or "summary")
    p._summaryKey = None


def _s_enclosure(p: _Port, attrs: dict[str, str]) -> None:
    attrs = _enforce_href(attrs)
    attrs["rel"] = "enclosure"
    p._get_context().setdefault("links", []).append(dict(attrs))


def _s_source(p: _Port, attrs: dict[str, str]) -> None:
    if "url" in attrs:
        p.sourcedata["href"] = attrs["url"]
    p.push("source", 1)
    p.insource = 1
    p.title_depth = -1


def _e_source(p: _Port) -> None:
    p.insource = 0
    value = p.pop("source")
    if value:
        p.sourcedata["title"] = value
    p._get_context()["source"] = copy.deepcopy(p.sourcedata)
    p.sourcedata.clear()


def _s_content(p: _Port, attrs: dict[str, str]) -> None:
    p.hasContent = 1
    p.push_content("content", attrs, "text/plain", 1)
    if attrs.get("src"):
        p.contentparams["src"] = attrs["src"]
    p.push("content", 1)  # twice, as feedparser does: the second is never popped


def _s_body(p: _Port, attrs: dict[str, str]) -> None:
    p.push_content("content", attrs, _XHTML, 1)


def _s_content_encoded(p: _Port, attrs: dict[str, str]) -> None:
    p.hasContent = 1
    p.push_content("content", attrs, "text/html", 1)


def _e_content(p: _Port) -> None:
    to_summary = _map_content_type(p.contentparams.get("type")) in {"text/plain"} | _HTML_TYPES
    value = p.pop_content("content")
    if to_summary:
        p._save("summary", value)


def _s_newlocation(p: _Port, attrs: dict[str, str]) -> None:
    p.push("newlocation", 1)


def _e_newlocation(p: _Port) -> None:
    p.pop("newlocation")  # a feed's move is the fetcher's business (redirects)


def _e_tags(p: _Port) -> None:
    for term in (p.pop("tags") or "").split(","):
        p._add_tag(term.strip(), None, None)


def _e_dcterms_valid(p: _Port) -> None:
    p.pop("validity")


def _s_media_category(p: _Port, attrs: dict[str, str]) -> None:
    attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
    _s_category(p, attrs)


def _e_media_keywords(p: _Port) -> None:
    for term in (p.pop("media_keywords") or "").split(","):
        if term.strip():
            p._add_tag(term.strip(), None, None)


def _e_media_title(p: _Port) -> None:
    title_depth = p.title_depth
    _e_title(p)
    p.title_depth = title_depth


def _s_media_group(p: _Port, attrs: dict[str, str]) -> None:
    pass


def _pushed_detail(pushed: str, expecting: int) -> tuple[_Handler, Callable[[_Port], None]]:
    """A handler pair that stores only what is not read here (ratings, credits...)."""

    def start(p: _Port, attrs: dict[str, str]) -> None:
        p.push(pushed, expecting)

    def end(p: _Port) -> None:
        p.pop(pushed)

    return start, end


def _s_media_content(p: _Port, attrs: dict[str, str]) -> None:
    p._get_context().setdefault("media_content", []).append(attrs)


def _s_itunes_category(p: _Port, attrs: dict[str, str]) -> None:
    p._add_tag(attrs.get("text"), "http://www.itunes.com/", None)
    p.push("category", 1)


def _s_itunes_owner(p: _Port, attrs: dict[str, str]) -> None:
    p.inpublisher = 1
    p.push("publisher", 0)


def _e_itunes_owner(p: _Port) -> None:
    p.pop("publisher")
    p.inpublisher = 0
    p._sync_author_detail("publisher")


def _e_itunes_keywords(p: _Port) -> None:
    for term in (p.pop("itunes_keywords") or "").split(","):
        if term.strip():
            p._add_tag(term.strip(), "http://www.itunes.com/", None)


def _s_itunes_image(p: _Port, attrs: dict[str, str]) -> None:
    p.push("itunes_image", 0)
    href = attrs.get("href") or attrs.get("url")
    if href:
        p._get_context()["image"] = {"href": href}


def _e_itunes_flag(name: str) -> Callable[[_Port], None]:
    def end(p: _Port) -> None:
        p.pop(name)

    return end


_s_published, _e_published = _date_handlers("published", "published_parsed")
_s_updated, _e_updated = _date_handlers("updated", "updated_parsed")
_s_created, _e_created = _date_handlers("created", "created_parsed")
_s_expirationdate, _e_expirationdate = _date_handlers("expired", "expired_parsed")
_s_subtitle, _e_subtitle = _content_construct("subtitle", "text/plain")
_s_rights, _e_rights = _content_construct("rights", "text/plain")
_s_info, _e_info = _content_construct("info", "text/plain")
_s_tags, _ = _push_text("tags")
_s_dcterms_valid, _ = _push_text("validity")
_s_media_rating, _e_media_rating = _pushed_detail("rating", 1)
_s_media_credit, _e_media_credit = _pushed_detail("credit", 1)
_s_media_restriction, _e_media_restriction = _pushed_detail("restriction", 1)
_s_media_license, _e_media_license = _pushed_detail("license", 1)
_s_media_player, _e_media_player = _pushed_detail("media_player", 0)


def _s_media_thumbnail(p: _Port, attrs: dict[str, str]) -> None:
    p._get_context().setdefault("media_thumbnail", [])
    p.push("url", 1)


def _e_media_thumbnail(p: _Port) -> None:
    p.pop("url")


_START: dict[str, _Handler] = {
    "rss": _s_rss,
    "channel": _s_channel,
    "feed": _s_feed,
    "image": _s_image,
    "textinput": _s_textinput,
    "author": _s_author,
    "managingeditor": _s_author,
    "contributor": _s_contributor,
    "name": _s_name,
    "width": _s_width,
    "height": _s_height,
    "url": _s_url,
    "homepage": _s_url,
    "uri": _s_url,
    "email": _s_email,
    "subtitle": _s_subtitle,
    "tagline": _s_subtitle,
    "rights": _s_rights,
    "copyright": _s_rights,
    "item": _s_item,
    "entry": _s_item,
    "language": _s_language,
    "webmaster": _s_webmaster,
    "published": _s_published,
    "issued": _s_published,
    "pubdate": _s_published,
    "updated": _s_updated,
    "modified": _s_updated,
    "lastbuilddate": _s_updated,
    "created": _s_created,
    "expirationdate": _s_expirationdate,
    "category": _s_category,
    "keywords": _s_category,
    "cloud": _s_cloud,
    "link": _s_link,
    "guid": _s_guid,
    "id": _s_guid,
    "title": _s_title,
    "description": _s_description,
    "abstract": _s_abstract,
    "info": _s_info,
    "feedburner_browserfriendly": _s_info,
    "generator": _s_generator,
    "summary": _s_summary,
    "enclosure": _s_enclosure,
    "source": _s_source,
    "content": _s_content,
    "body": _s_body,
    "xhtml_body": _s_body,
    "content_encoded": _s_content_encoded,
    "fullitem": _s_content_encoded,
    "newlocation": _s_newlocation,
    "tags": _s_tags,
    "dc_author": _s_author,
    "dc_creator": _s_author,
    "dc_date": _s_updated,
    "dc_description": _s_description,
    "dc_language": _s_language,
    "dc_publisher": _s_webmaster,
    "dc_rights": _s_rights,
    "dc_subject": _s_category,
    "dc_title": _s_title,
    "dcterms_created": _s_created,
    "dcterms_issued": _s_published,
    "dcterms_modified": _s_updated,
    "dcterms_valid": _s_dcterms_valid,
    "dc_contributor": _s_dc_contributor,
    "media_category": _s_media_category,
    "media_title": _s_title,
    "media_group": _s_media_group,
    "media_rating": _s_media_rating,
    "media_credit": _s_media_credit,
    "media_description": _s_description,
    "media_restriction": _s_media_restriction,
    "media_license": _s_media_license,
    "media_content": _s_media_content,
    "media_thumbnail": _s_media_thumbnail,
    "media_player": _s_media_player,
    "itunes_author": _s_author,
    "itunes_category": _s_itunes_category,
    "itunes_name": _s_name,
    "itunes_email": _s_email,
    "itunes_subtitle": _s_subtitle,
    "itunes_summary": _s_summary,
    "itunes_owner": _s_itunes_owner,
    "itunes_image": _s_itunes_image,
    "itunes_link": _s_itunes_image,
}

_END: dict[str, Callable[[_Port], None]] = {
    "channel": _e_channel,
    "feed": _e_channel,
    "image": _e_image,
    "textinput": _e_textinput,
    "author": _e_author,
    "managingeditor": _e_author,
    "contributor": _e_contributor,
    "name": _e_name,
    "width": _e_width,
    "height": _e_height,
    "url": _e_url,
    "homepage": _e_url,
    "uri": _e_url,
    "email": _e_email,
    "subtitle": _e_subtitle,
    "tagline": _e_subtitle,
    "rights": _e_rights,
    "copyright": _e_rights,
    "item": _e_item,
    "entry": _e_item,
    "language": _e_language,
    "webmaster": _e_webmaster,
    "published": _e_published,
    "issued": _e_published,
    "pubdate": _e_published,
    "updated": _e_updated,
    "modified": _e_updated,
    "lastbuilddate": _e_updated,
    "created": _e_created,
    "expirationdate": _e_expirationdate,
    "category": _e_category,
    "keywords": _e_category,
    "link": _e_link,
    "guid": _e_guid,
    "id": _e_guid,
    "title": _e_title,
    "description": _e_description,
    "abstract": _e_description,
    "info": _e_info,
    "feedburner_browserfriendly": _e_info,
    "generator": _e_generator,
    "summary": _e_summary,
    "source": _e_source,
    "content": _e_content,
    "body": _e_content,
    "xhtml_body": _e_content,
    "content_encoded": _e_content,
    "fullitem": _e_content,
    "newlocation": _e_newlocation,
    "tags": _e_tags,
    "dc_author": _e_author,
    "dc_creator": _e_author,
    "dc_date": _e_updated,
    "dc_description": _e_description,
    "dc_language": _e_language,
    "dc_publisher": _e_webmaster,
    "dc_rights": _e_rights,
    "dc_subject": _e_category,
    "dc_title": _e_title,
    "dcterms_created": _e_created,
    "dcterms_issued": _e_published,
    "dcterms_modified": _e_updated,
    "dcterms_valid": _e_dcterms_valid,
    "dc_contributor": _e_dc_contributor,
    "media_category": _e_category,
    "media_keywords": _e_media_keywords,
    "media_title": _e_media_title,
    "media_rating": _e_media_rating,
    "media_credit": _e_media_credit,
    "media_description": _e_description,
    "media_restriction": _e_media_restriction,
    "media_license": _e_media_license,
    "media_thumbnail": _e_media_thumbnail,
    "media_player": _e_media_player,
    "itunes_author": _e_author,
    "itunes_category": _e_category,
    "itunes_name": _e_name,
    "itunes_email": _e_email,
    "itunes_subtitle": _e_subtitle,
    "itunes_summary": _e_summary,
    "itunes_owner": _e_itunes_owner,
    "itunes_keywords": _e_itunes_keywords,
    "itunes_block": _e_itunes_flag("itunes_block"),
    "itunes_explicit": _e_itunes_flag("itunes_explicit"),
}

# Every element name feedparser has a handler for; the ones without a port here send
# the document to feedparser.
_FEEDPARSER_HANDLED = frozenset(
    n.removeprefix("_start_").removeprefix("_end_")
    for n in dir(_FeedParserMixin)
    if n.startswith(("_start_", "_end_"))
)
_UNPORTED = _FEEDPARSER_HANDLED - _START.keys() - _END.keys()
HANDLED = frozenset(_START) | frozenset(_END)
