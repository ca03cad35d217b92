"""OPML subscription lists in and out (`aggregator sources import/export`).

Pure: bytes in, bytes out. Outlines may nest (folders); a folder's name and an
outline's `category` attribute become tags.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator.config import SourceConfig, is_http_url

# OPML never needs a DTD; refusing entity declarations keeps entity expansion out.
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_TAG = re.compile(r"[^\w.-]+")
# OPML allows any attribute on an outline; this one lets an export re-import
# under the same ids.
ID_ATTRIBUTE = "aggregatorId"
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(ValueError):
    """Not an OPML file we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str | None
    tags: tuple[str, ...]
    id: str | None = None  # our own export names each source's id


@dataclass(frozen=True, slots=True)
class Outlines:
    feeds: list[Subscription]  # in document order, one per URL
    rejected: list[Subscription]  # an xmlUrl that is not http(s): for the user to hear of


def read(data: bytes) -> Outlines:
    """Every feed outline (one with an http(s) xmlUrl), and those with another URL."""
    if _ENTITY.search(data):
        raise OpmlError("entity declarations are not allowed in OPML")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no entities (checked above); expat >= 2.4
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from exc
    if root.tag != "opml":
        raise OpmlError(f"root element is <{root.tag}>, expected <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("no <body> element")
    found: dict[str, Subscription] = {}
    rejected: list[Subscription] = []
    _walk(body, (), found, rejected)
    return Outlines(list(found.values()), rejected)


def _walk(
    node: ET.Element,
    folders: tuple[str, ...],
    found: dict[str, Subscription],
    rejected: list[Subscription],
) -> None:
    for outline in node.findall("outline"):
        sid = (outline.get(ID_ATTRIBUTE) or "").strip() or None
        text = (outline.get("text") or "").strip()
        # Our export puts the id in `text` for an untitled source: not a title.
        name = (outline.get("title") or "").strip() or (text if text != sid else "") or None
        url = (outline.get("xmlUrl") or "").strip()
        if url and not is_http_url(url):
            rejected.append(Subscription(url=url, title=name, tags=(), id=sid))
        elif url:
            if url not in found:
                categories = [
                    part
                    for category in (outline.get("category") or "").split(",")
                    for part in category.strip().strip("/").split("/")
                ]
                tags = tuple(
                    dict.fromkeys(t for t in (_tag(c) for c in (*folders, *categories)) if t)
                )
                found[url] = Subscription(url=url, title=name, tags=tags, id=sid)
        else:
            folder = name or text
            _walk(outline, (*folders, folder) if folder else folders, found, rejected)


def _tag(text: str) -> str:
    return _TAG.sub("-", text.strip().lower()).strip("-")[:64]


def write(sources: Iterable[SourceConfig], *, title: str = "aggregator sources") -> bytes:
    """OPML 2.0: one outline per source, with its tags as `category`."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for source in sources:
        attrs = {"type": "rss", "text": _clean(source.title or source.id)}
        if source.title:
            attrs["title"] = _clean(source.title)
        attrs["xmlUrl"] = _clean(source.url)
        attrs[ID_ATTRIBUTE] = source.id
        if source.tags:
            attrs["category"] = ",".join(_clean(t) for t in source.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)
