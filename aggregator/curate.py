"""Topic rules -> the stories a topic publishes, with the terms that selected them.

Pure: no clock (callers pass `now`), no I/O. A topic is a view over the whole
archive: its query (aggregator/query) and its `any`/`all`/`none` lists, which
are sugar for a query, decide; an exclude always wins; scope and age limit.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator import query
from aggregator.config import SourceConfig, TopicConfig, TopicExample
from aggregator.models import Credit, StoredEntry, Story
from aggregator.query import Document, Query, Score
from aggregator.query import score as score_terms

# Published ids live in this namespace; see story_uid.
_STORY_NAMESPACE = uuid.UUID("6f1d3c1e-2a44-4d0e-9b8a-6f0c9a1e5b21")

fold = query.fold


@dataclass(frozen=True, slots=True)
class SourceInfo:
    title: str
    link: str | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclude:
    key: str  # where it is configured: "exclude[0]" or "none"
    query: Query


@dataclass(frozen=True, slots=True)
class TopicMatcher:
    topic: TopicConfig
    query: Query | None  # None: every article in scope
    excludes: tuple[Exclude, ...]
    scope: frozenset[str] | None  # source ids, or None for every source
    demotes: tuple[Query, ...] = ()

    def in_scope(self, source_id: str) -> bool:
        return self.scope is None or source_id in self.scope

    def excluded_by(self, doc: Document) -> Exclude | None:
        for exclude in self.excludes:
            if exclude.query.test(doc):
                return exclude
        return None

    def score(self, doc: Document) -> Score | None:
        """How much the document is about the topic; None when the topic has no
        min_score (or no query), so matching alone decides."""
        if self.topic.min_score is None or self.query is None:
            return None
        return score_terms(self.query, doc, self.demotes)

    def match_document(self, doc: Document) -> tuple[str, ...] | None:
        """The terms that selected the document, or None when it does not belong."""
        if self.query is not None and not self.query.test(doc):
            return None
        if self.excluded_by(doc) is not None:
            return None
        if self.query is None:
            return ()
        terms = self.query.positive(doc)
        if self.topic.min_score is not None:
            found = score_terms(self.query, doc, self.demotes, terms)
            if found.total < self.topic.min_score:
                return None
        return tuple(dict.fromkeys(t.label for t in terms))

    def match(self, entry: StoredEntry) -> tuple[str, ...] | None:
        return self.match_document(document(entry))


def document(entry: StoredEntry, info: SourceInfo | None = None) -> Document:
    """What the queries search for one stored entry."""
    return Document(
        title=entry.title,
        summary=entry.summary,
        content=entry.content,
        authors=entry.authors,
        categories=entry.categories,
        source=(entry.source_id, info.title) if info else (entry.source_id,),
        tags=info.tags if info else (),
        link=entry.link,
    )


def example_document(example: TopicExample) -> Document:
    return Document(title=example.title, summary=example.text)


def topic_rule(topic: TopicConfig) -> tuple[query.Node | None, tuple[tuple[str, query.Node], ...]]:
    """The topic's whole condition as one query tree, and its excludes by config key.

    `any`, `all` and `none` are sugar: (query) AND all1 AND all2 ... AND (any1
    OR any2 ...), and `none` is one more exclude. Raises QuerySyntaxError; a
    loaded Config has already been checked.
    """
    parts: list[query.Node] = []
    if topic.query:
        parts.append(query.parse(topic.query))
    parts.extend(query.literal(t) for t in topic.all)
    if topic.any:
        some = [query.literal(t) for t in topic.any]
        parts.append(some[0] if len(some) == 1 else query.Or(tuple(some)))
    rule = None if not parts else parts[0] if len(parts) == 1 else query.And(tuple(parts))
    excludes = [(f"exclude[{i}]", query.parse(text)) for i, text in enumerate(topic.exclude)]
    if topic.none:
        blocked = [query.literal(t) for t in topic.none]
        excludes.append(("none", blocked[0] if len(blocked) == 1 else query.Or(tuple(blocked))))
    return rule, tuple(excludes)


def compile_topic(topic: TopicConfig, sources: Mapping[str, SourceConfig]) -> TopicMatcher:
    scope: set[str] | None = None
    if topic.sources or topic.tags:
        scope = set(topic.sources)
        wanted = set(topic.tags)
        scope.update(s.id for s in sources.values() if wanted.intersection(s.tags))
    rule, excludes = topic_rule(topic)
    return TopicMatcher(
        topic=topic,
        query=None if rule is None else Query(rule),
        excludes=tuple(Exclude(key, Query(node)) for key, node in excludes),
        scope=None if scope is None else frozenset(scope),
        demotes=tuple(query.compile_query(text) for text in topic.demote),
    )


def rule_digest(matcher: TopicMatcher) -> str:
    """Changes whenever what decides a topic's membership changes (its query, its
    scope as the sources now resolve, clustering, the min_age hold-back): publishing
    then walks the whole archive again instead of only what changed."""
    t = matcher.topic
    scope = None if matcher.scope is None else sorted(matcher.scope)
    parts: tuple[object, ...] = (t.query, t.exclude, t.any, t.all, t.none, scope, t.cluster)
    parts += (t.min_age,)
    if t.min_score is not None:  # only then, so existing topics keep their digest
        parts += (t.min_score, t.demote)
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def story_uid(founder: StoredEntry) -> str:
    """The published id of a story: fixed by its first member, never by later ones."""
    name = "\x00".join((founder.source_id, founder.key))
    return f"urn:uuid:{uuid.uuid5(_STORY_NAMESPACE, name)}"


def select(
    matcher: TopicMatcher,
    entries: Iterable[StoredEntry],
    *,
    now: datetime,
    sources: Mapping[str, SourceInfo],
) -> list[Story]:
    """The topic's stories, newest first, at most max_items, within min_age..max_age.

    `entries` must come grouped by story, newest story first, each story's
    members in first-seen order (Store.stories(clustered=topic.cluster)). A
    story belongs to the topic when one of its in-scope members matches; that
    member's text is published. A topic that does not cluster groups exact
    duplicates only (same URL or text).
    """
    return select_all(
        [matcher], entries, now=now, sources=sources, clustered=matcher.topic.cluster
    )[matcher.topic.slug]


def select_all(
    matchers: Sequence[TopicMatcher],
    entries: Iterable[StoredEntry],
    *,
    now: datetime,
    sources: Mapping[str, SourceInfo],
    clustered: bool = True,
) -> dict[str, list[Story]]:
    """`select` for several topics in one walk: each entry is folded once for all.

    `entries` come from Store.stories(clustered=clustered): grouped by whole
    story, or (for topics that do not cluster) by exact duplicates only.
    """
    out: dict[str, list[Story]] = {m.topic.slug: [] for m in matchers}
    open_ = list(matchers)
    for members in groups(entries, clustered=clustered):
        if not open_:
            break  # every topic is full or past its max_age
        founder = members[0]
        docs: dict[int, Document] = {}
        for matcher in list(open_):
            topic = matcher.topic
            if topic.max_age and founder.sort_date < now - topic.max_age:
                open_.remove(matcher)  # stories come newest first: the rest are older
                continue
            if matures(topic, founder, now) is not None:
                continue
            chosen = _first_match(matcher, members, docs, sources)
            if chosen is None:
                continue
            entry, terms = chosen
            stories = out[topic.slug]
            stories.append(_story(founder, entry, members, terms, sources))
            if len(stories) >= topic.max_items:
                open_.remove(matcher)
    return out


# Stories whose archive rows are looked up at once: the walk never holds the
# list of a topic's archive, only the part of it among these.
WALK_CHUNK = 500

Archived = Callable[[str, Collection[int]], Container[str]]
Held = Callable[[str, datetime], None]


def walk_unarchived(
    matchers: Sequence[TopicMatcher],
    entries: Iterable[StoredEntry],
    *,
    now: datetime,
    sources: Mapping[str, SourceInfo],
    archived: Archived,
    clustered: bool = True,
    held: Held | None = None,
) -> Iterator[tuple[str, Story]]:
    """Each topic's stories not yet in one of its archives, as (topic slug, story)
    in the order `entries` bring them, with no item or age limit (the archive
    decides where each one goes); `min_age` still holds back the newest. One walk
    for every topic (all of them clustering, or all not: see select_all).

    `archived(slug, story_ids)` gives the topic's archived story uids among those
    stories; it is asked once per WALK_CHUNK stories, so neither the walk nor the
    archive is ever held whole. `held(slug, at)` is told of each matching story
    min_age holds back, with the moment it is old enough.
    """
    grouped = groups(entries, clustered=clustered)
    while chunk := list(itertools.islice(grouped, WALK_CHUNK)):
        ids = {member.story_id for members in chunk for member in members}
        done = {m.topic.slug: archived(m.topic.slug, ids) for m in matchers}
        for members in chunk:
            founder = members[0]
            uid = story_uid(founder)
            docs: dict[int, Document] = {}
            for matcher in matchers:
                topic = matcher.topic
                if uid in done[topic.slug]:
                    continue
                ripe_at = matures(topic, founder, now)
                if ripe_at is not None and held is None:
                    continue
                chosen = _first_match(matcher, members, docs, sources)
                if chosen is None:
                    continue
                if ripe_at is not None and held is not None:
                    held(topic.slug, ripe_at)
                    continue
                entry, terms = chosen
                yield topic.slug, _story(founder, entry, members, terms, sources)


def matures(topic: TopicConfig, founder: StoredEntry, now: datetime) -> datetime | None:
    """When min_age stops holding the story back; None: it does not now."""
    if topic.min_age and founder.sort_date > now - topic.min_age:
        return founder.sort_date + topic.min_age
    return None


def assemble(
    matcher: TopicMatcher, entries: Iterable[StoredEntry], *, sources: Mapping[str, SourceInfo]
) -> dict[str, Story]:
    """Stories by uid, matching or not: a story archived under the topic stays
    in its archive after the topic's rules change."""
    out: dict[str, Story] = {}
    for members in groups(entries, clustered=matcher.topic.cluster):
        founder = members[0]
        entry, terms = _first_match(matcher, members, {}, sources) or (founder, ())
        out[story_uid(founder)] = _story(founder, entry, members, terms, sources)
    return out


def groups(entries: Iterable[StoredEntry], *, clustered: bool) -> Iterator[list[StoredEntry]]:
    """The stories (or, not `clustered`, the exact-duplicate groups) of entries
    that come grouped that way: Store.stories(clustered=clustered).

    Raises ValueError when a group does not start with its founder: the entries
    were grouped the other way, and publishing would not see these groups.
    """
    key = _story_key if clustered else exact_key
    for group_id, group in itertools.groupby(entries, key=key):
        members = list(group)
        if members[0].id != group_id:
            kind = "story" if clustered else "exact-duplicate group"
            raise ValueError(
                f"entry {members[0].id} does not start its {kind} #{group_id}: "
                f"entries must come from Store.stories(clustered={clustered})"
            )
        yield members


def exact_group(members: Iterable[StoredEntry], entry: StoredEntry) -> list[StoredEntry]:
    """The members that are exact duplicates of `entry` (same URL or text), first
    seen first: what a topic with cluster = false publishes as one story."""
    return [m for m in members if exact_key(m) == exact_key(entry)]


def _story_key(entry: StoredEntry) -> int:
    return entry.story_id


def exact_key(entry: StoredEntry) -> int:
    """The id of the first stored exact duplicate of the entry (maybe itself)."""
    return entry.exact_id if entry.exact_id is not None else entry.id


def _first_match(
    matcher: TopicMatcher,
    members: list[StoredEntry],
    docs: dict[int, Document],
    sources: Mapping[str, SourceInfo],
) -> tuple[StoredEntry, tuple[str, ...]] | None:
    for member in members:
        if not matcher.in_scope(member.source_id):
            continue
        doc = docs.get(member.id)
        if doc is None:
            doc = docs[member.id] = document(member, sources.get(member.source_id))
        terms = matcher.match_document(doc)
        if terms is not None:
            return member, terms
    return None


def _story(
    founder: StoredEntry,
    entry: StoredEntry,
    members: list[StoredEntry],
    terms: tuple[str, ...],
    sources: Mapping[str, SourceInfo],
) -> Story:
    info = sources.get(entry.source_id, SourceInfo(entry.source_id, None))
    return Story(
        uid=story_uid(founder),
        entry=entry,
        source_title=info.title,
        source_link=info.link,
        also=_credits(members, entry, sources),
        matched=terms,
    )


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
