"""Atom 1.0 and RSS 2.0 rendering of a topic's stories with feedgen.

feedgen is untyped and full of traps (ARCHITECTURE.md, "Known traps"): every
string it sees is scrubbed of XML-illegal characters first, every datetime is
made aware UTC, and its Any-typed objects never leave this module.

Output is a pure function of the input: no clock, no version noise, so an
unchanged topic renders byte-identical and the file on disk is left alone.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from feedgen.feed import FeedGenerator

from aggregator.config import TopicConfig, is_http_url
from aggregator.errors import PublishError
from aggregator.models import Enclosure, Story
from aggregator.publish.layout import CURRENT, Links, Page, feed_url, links_for

Format = Literal["atom", "rss"]

GENERATOR = "aggregator"
UNTITLED = "(untitled)"
# The feed's updated time when it has no entries: fixed, so re-renders match.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
MEDIA_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
}
# Marks the categories that say which topic terms an item matched.
MATCHED_SCHEME = "urn:aggregator:matched"
# RSS requires a type on <enclosure>; this is the honest "unknown".
_UNKNOWN_ENCLOSURE_TYPE = "application/octet-stream"

# Everything outside XML 1.0's Char production: C0 controls except tab, LF and
# CR, lone surrogates, U+FFFE and U+FFFF. lxml refuses any of them and feedgen
# then fails the whole feed.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Name under which _AtomEntryLinks is registered on each Atom entry.
_ATOM_LINKS = "aggregator_links"
_FEED_LINKS = "aggregator_feed_links"
ATOM_NS = "http://www.w3.org/2005/Atom"
# RFC 5005: an archive document carries <fh:archive/>.
HISTORY_NS = "http://purl.org/syndication/history/1.0"


def scrub(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """Scrubbed, with runs of whitespace (newlines included) folded to one space."""
    return " ".join(scrub(text).split())


def as_utc(value: datetime) -> datetime:
    """Aware UTC to the second (RSS dates have no fractions; Atom and RSS agree)."""
    # Models promise aware values; a naive one is read as UTC rather than
    # letting feedgen fail the whole topic over it.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)


def render_atom(
    topic: TopicConfig, stories: Sequence[Story], *, base_url: str, hub: str | None = None,
    page: Page = CURRENT,
) -> bytes:  # fmt: skip
    """The topic as an Atom 1.0 document, entries in the given order."""
    return _render(topic, stories, links_for(base_url, topic.slug, "atom", page, hub), "atom",
                   feed_id=feed_url(base_url, topic.slug, "atom"), page=page)  # fmt: skip


def render_rss(
    topic: TopicConfig, stories: Sequence[Story], *, base_url: str, hub: str | None = None,
    page: Page = CURRENT,
) -> bytes:  # fmt: skip
    """The topic as an RSS 2.0 document, items in the given order."""
    return _render(topic, stories, links_for(base_url, topic.slug, "rss", page, hub), "rss",
                   feed_id=feed_url(base_url, topic.slug, "atom"), page=page)  # fmt: skip


def _render(
    topic: TopicConfig, stories: Sequence[Story], links: Links, fmt: Format, *, feed_id: str,
    page: Page,
) -> bytes:  # fmt: skip
    try:
        fg = _feed(topic, stories, links, fmt, feed_id=feed_id, page=page)
        data: bytes = fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)
    except ValueError as exc:
        # feedgen and lxml report bad values as ValueError (UnicodeError included).
        raise PublishError(topic.slug, f"cannot render {fmt}: {exc}") from exc
    return data


def feed_title(topic: TopicConfig, page: Page) -> str:
    title = one_line(topic.title) or topic.slug
    return f"{title} (archive {page.number})" if page.number is not None else title


def _feed(
    topic: TopicConfig, stories: Sequence[Story], links: Links, fmt: Format, *, feed_id: str,
    page: Page,
) -> Any:  # fmt: skip
    fg = FeedGenerator()
    index_url = scrub(links.html_url)
    title = one_line(topic.title) or topic.slug
    # Archives share the feed's id: RFC 5005 reassembles one logical feed.
    fg.id(scrub(feed_id))
    fg.title(feed_title(topic, page))
    # Sets atom:subtitle too; RSS requires a description, so never empty.
    fg.description(one_line(topic.description) or title)
    # RFC 4287 4.1.1: a feed needs an author unless every entry has one.
    fg.author(name=title)
    # Trap: feedgen copies the LAST link's href into RSS <channel><link>, even
    # for rel=self. Self first, the index page last; RSS gets the self link as
    # <atom:link rel="self">.
    fg.link(href=scrub(links.self_url), rel="self", type=MEDIA_TYPES[fmt])
    fg.link(href=index_url, rel="alternate", type="text/html")
    # hub and the RFC 5005 links; feedgen writes only rel=self into RSS.
    fg.register_extension(_FEED_LINKS, _FeedLinks, None, atom=True, rss=True)
    getattr(fg, _FEED_LINKS).set(links, fmt, archive=page.is_archive)
    # The default carries feedgen's version; the default updated time is now().
    fg.generator(GENERATOR)
    fg.updated(_feed_updated(stories))
    if fmt == "rss":
        # RSS <author> must be an e-mail address; names go in dc:creator.
        fg.load_extension("dc", atom=False, rss=True)
    for story in stories:
        # Trap: add_entry() prepends by default, which would reverse the order.
        _entry(fg.add_entry(order="append"), story, fmt, topic.explain_matches)
    return fg


def _feed_updated(stories: Sequence[Story]) -> datetime:
    """The newest entry's time, not now(): an unchanged topic renders identically."""
    times = [s.entry.updated or s.entry.sort_date for s in stories]
    return as_utc(max(times)) if times else EMPTY_FEED_UPDATED


def _entry(fe: Any, story: Story, fmt: Format, explain: bool) -> None:
    entry = story.entry
    # Also sets the RSS guid with isPermaLink="false": uid is a URI, not a page.
    fe.id(scrub(story.uid))
    fe.title(one_line(entry.title) or UNTITLED)
    links = _links(entry.link, entry.enclosures, fmt)
    if fmt == "atom":
        # Trap: feedgen 1.0.0's FeedEntry.atom_entry() shadows its loop variable
        # and writes every entry <link> without rel, type or length, turning
        # enclosures into extra alternate links. Our extension writes them.
        fe.register_extension(_ATOM_LINKS, _AtomEntryLinks, atom=True, rss=False)
        getattr(fe, _ATOM_LINKS).links = links
    elif links:
        # RSS <link> and <enclosure> come from these; the RSS path is correct.
        fe.link(links)
    # The date we order by: published clamped to first seen and fixed then, so a
    # reader sorting by date agrees with us and never sees a re-dated item jump.
    published = as_utc(entry.sort_date)
    fe.published(published)
    # Set explicitly: feedgen's default entry updated time is now().
    fe.updated(as_utc(entry.updated) if entry.updated is not None else published)

    authors = unique(one_line(a) for a in entry.authors)
    if authors:
        fe.author([{"name": a} for a in authors])
        if fmt == "rss":
            fe.dc.dc_creator(authors)
    categories = [{"term": c} for c in unique(one_line(c) for c in entry.categories)]
    if explain:
        # Why the item is in this topic, as categories a reader can filter on.
        have = {c["term"].casefold() for c in categories}
        for term in unique(one_line(t) for t in story.matched):
            if term.casefold() not in have:
                have.add(term.casefold())
                categories.append({"term": term, "scheme": MATCHED_SCHEME})
    if categories:
        fe.category(categories)

    source_title = one_line(story.source_title) or one_line(entry.source_id)
    source_link = http_url(story.source_link)
    if source_link is not None:
        fe.source(url=source_link, title=source_title)
    elif fmt == "atom":
        # Atom's <source> may go without a link (feedgen skips an empty one);
        # RSS's <source url=...> may not, so the content credits it instead.
        fe.source(url="", title=source_title)

    body = entry.content or entry.summary
    # type="html": content is sanitised HTML from storage, escaped as text.
    fe.content(scrub(body + credits_html(story)), type="html")
    if entry.content and entry.summary:
        fe.summary(scrub(entry.summary), type="html")


def credits_html(story: Story) -> str:
    """The outlets credited in the text: the main source (most readers ignore
    <source>) and all of story.also. Names and URLs are escaped."""
    name = story.source_title or story.entry.source_id
    parts = [f"<p>Via: {_credit_link(name, story.source_link)}</p>"]
    if story.also:
        outlets = ", ".join(_credit_link(c.source_title or c.source_id, c.link) for c in story.also)
        parts.append(f"<p>Also reported by: {outlets}</p>")
    return "".join(parts)


def _credit_link(name: str, link: str | None) -> str:
    text = html.escape(one_line(name))
    url = http_url(link)
    if url is None:
        return text
    return f'<a href="{html.escape(url, quote=True)}">{text}</a>'


def _links(link: str | None, enclosures: Sequence[Enclosure], fmt: Format) -> list[dict[str, str]]:
    """The entry's page and its enclosures as link dicts: all enclosures for
    Atom, the first for RSS. Non-http(s) URLs are left out."""
    links: list[dict[str, str]] = []
    page = http_url(link)
    if page is not None:
        links.append({"href": page, "rel": "alternate"})
    for enc in enclosures:
        url = http_url(enc.url)
        if url is None:
            continue
        attrs = {"href": url, "rel": "enclosure"}
        media_type = one_line(enc.type or "")
        length = enc.length if enc.length is not None and enc.length >= 0 else None
        # RSS requires both attributes; Atom leaves out what we do not know.
        # (feedgen's own enclosure() would write length="None".)
        if media_type or fmt == "rss":
            attrs["type"] = media_type or _UNKNOWN_ENCLOSURE_TYPE
        if length is not None or fmt == "rss":
            attrs["length"] = str(length or 0)
        links.append(attrs)
        if fmt == "rss":
            # RSS allows one; feedgen would keep the LAST, we want the first.
            break
    return links


def http_url(url: str | None) -> str | None:
    """The URL if it is absolute http(s); anything else is not worth a link."""
    if not url:
        return None
    return _http_url(url)


@functools.lru_cache(maxsize=4_096)  # the same links recur in every format of a page
def _http_url(url: str) -> str | None:
    cleaned = scrub(url).strip()
    return cleaned if is_http_url(cleaned) else None


def unique(values: Iterable[str]) -> list[str]:
    """Non-empty values, first occurrence kept, order preserved."""
    return [v for v in dict.fromkeys(values) if v]


class _FeedLinks:
    """A feedgen feed extension: atom:link elements for hub, current,
    prev-archive and next-archive (in Atom and RSS), and <fh:archive/>."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []
        self.archive = False

    def set(self, links: Links, fmt: Format, *, archive: bool) -> None:
        self.archive = archive
        wanted = [("hub", links.hub, None), ("current", links.current, MEDIA_TYPES[fmt]),
                  ("prev-archive", links.prev_archive, MEDIA_TYPES[fmt]),
                  ("next-archive", links.next_archive, MEDIA_TYPES[fmt])]  # fmt: skip
        self.links = []
        for rel, href, media_type in wanted:
            if href:
                attrs = {"href": scrub(href), "rel": rel}
                if media_type:
                    attrs["type"] = media_type
                self.links.append(attrs)

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive else {}

    def extend_atom(self, feed: Any) -> Any:
        self._append(feed, "link")
        return feed

    def extend_rss(self, rss: Any) -> Any:
        self._append(rss[0], f"{{{ATOM_NS}}}link")  # rss[0] is <channel>
        return rss

    def _append(self, parent: Any, tag: str) -> None:
        for attrs in self.links:
            parent.append(parent.makeelement(tag, attrs))
        if self.archive:
            parent.append(parent.makeelement(f"{{{HISTORY_NS}}}archive", {}))


class _AtomEntryLinks:
    """A feedgen entry extension that writes Atom <link> elements whole.

    feedgen instantiates it per entry and calls extend_atom() with the lxml
    <entry> element; makeelement() keeps lxml out of our imports.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for attrs in self.links:
            entry.append(entry.makeelement("link", attrs))
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item
