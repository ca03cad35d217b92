"""Topic rules -> the stories a topic publishes, with the terms that selected them.

Pure: no clock (callers pass `now`), no I/O. Matching is case- and
accent-insensitive and respects word boundaries: `oil` matches "Oil" and
"oil-rich", never "turmoil" or "boiling".
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aggregator.config import SourceConfig, TopicConfig
from aggregator.models import Credit, StoredEntry, Story

_TAG = re.compile(r"<[^>]*>")
# Published ids live in this namespace; see story_uid.
_STORY_NAMESPACE = uuid.UUID("6f1d3c1e-2a44-4d0e-9b8a-6f0c9a1e5b21")


def fold(text: str) -> str:
    """Lower-case, accents removed, HTML tags and entities gone, spaces collapsed."""
    text = html.unescape(_TAG.sub(" ", text)) if "<" in text or "&" in text else text
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def _term_pattern(term: str) -> str:
    words = fold(term).split()
    body = r"\s+".join(re.escape(w) for w in words)
    # Boundaries only where the term itself starts/ends with a word character,
    # so "OPEC+" still matches before punctuation.
    start = r"(?<!\w)" if words and re.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if words and re.search(r"\w$", words[-1]) else ""
    return start + body + end


@dataclass(frozen=True, slots=True)
class _Terms:
    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def compile(cls, terms: Iterable[str]) -> _Terms:
        kept = tuple(t for t in terms if fold(t))
        return cls(kept, tuple(re.compile(_term_pattern(t)) for t in kept))

    def found(self, text: str) -> tuple[str, ...]:
        return tuple(t for t, p in zip(self.terms, self.patterns, strict=True) if p.search(text))


@dataclass(frozen=True, slots=True)
class TopicMatcher:
    topic: TopicConfig
    any: _Terms
    all: _Terms
    none: _Terms
    scope: frozenset[str] | None  # source ids, or None for every source

    def in_scope(self, source_id: str) -> bool:
        return self.scope is None or source_id in self.scope

    def match(self, entry: StoredEntry) -> tuple[str, ...] | None:
        """The terms that selected the entry, or None when it does not belong."""
        text = entry_text(entry)
        if self.none.terms and self.none.found(text):
            return None
        every = self.all.found(text)
        if len(every) != len(self.all.terms):
            return None
        some = self.any.found(text)
        if self.any.terms and not some:
            return None
        return every + tuple(t for t in some if t not in every)


def entry_text(entry: StoredEntry) -> str:
    return fold(" \n ".join((entry.title, entry.summary, entry.content, *entry.categories)))


def compile_topic(topic: TopicConfig, sources: Mapping[str, SourceConfig]) -> TopicMatcher:
    scope: set[str] | None = None
    if topic.sources or topic.tags:
        scope = set(topic.sources)
        wanted = set(topic.tags)
        scope.update(s.id for s in sources.values() if wanted.intersection(s.tags))
    return TopicMatcher(
        topic=topic,
        any=_Terms.compile(topic.any),
        all=_Terms.compile(topic.all),
        none=_Terms.compile(topic.none),
        scope=None if scope is None else frozenset(scope),
    )


def story_uid(founder: StoredEntry) -> str:
    """The published id of a story: fixed by its first member, never by later ones."""
    name = "\x00".join((founder.source_id, founder.key))
    return f"urn:uuid:{uuid.uuid5(_STORY_NAMESPACE, name)}"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    title: str
    link: str | None


def select(
    matcher: TopicMatcher,
    entries: Iterable[StoredEntry],
    *,
    now: datetime,
    sources: Mapping[str, SourceInfo],
) -> list[Story]:
    """The topic's stories, newest first, at most max_items, none older than max_age.

    `entries` must come grouped by story, newest story first, each story's
    members in first-seen order (Store.stories(clustered=topic.cluster)). A
    story belongs to the topic when one of its in-scope members matches; that
    member's text is published. A topic that does not cluster groups exact
    duplicates only (same URL or text).
    """
    topic = matcher.topic
    cutoff = now - topic.max_age if topic.max_age else None
    out: list[Story] = []
    for _, group in itertools.groupby(entries, key=_story_key if topic.cluster else _exact_key):
        members = list(group)
        founder = members[0]
        if cutoff is not None and founder.sort_date < cutoff:
            break  # stories come newest first: every later one is older still
        chosen: tuple[StoredEntry, tuple[str, ...]] | None = None
        for member in members:
            if matcher.in_scope(member.source_id):
                terms = matcher.match(member)
                if terms is not None:
                    chosen = (member, terms)
                    break
        if chosen is None:
            continue
        entry, terms = chosen
        info = sources.get(entry.source_id, SourceInfo(entry.source_id, None))
        out.append(
            Story(
                uid=story_uid(founder),
                entry=entry,
                source_title=info.title,
                source_link=info.link,
                also=_credits(members, entry, sources),
                matched=terms,
            )
        )
        if len(out) >= topic.max_items:
            break
    return out


def _story_key(entry: StoredEntry) -> int:
    return entry.story_id


def _exact_key(entry: StoredEntry) -> int:
    return entry.exact_id if entry.exact_id is not None else entry.id


def _credits(
    members: list[StoredEntry], chosen: StoredEntry, sources: Mapping[str, SourceInfo]
) -> tuple[Credit, ...]:
    seen = {chosen.source_id}
    credits: list[Credit] = []
    for member in members:
        if member.source_id in seen:
            continue
        seen.add(member.source_id)
        info = sources.get(member.source_id, SourceInfo(member.source_id, None))
        credits.append(Credit(member.source_id, info.title, member.link))
    return tuple(credits)
