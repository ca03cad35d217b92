"""Publishing's walk of the store: each topic's stories outside its archives,
read oldest first and cut into RFC 5005 archive pages as the walk goes.

A first publish over a large archive (or one after a topic's rule was edited,
which walks the whole archive again) therefore holds about one page and one
current document per topic, never the topic's whole backlog: its memory does
not grow with the archive. Part of the pipeline (it composes store, curate and
publish); pipeline.publish_all writes the current documents afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Collection, Container, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from aggregator import curate, publish
from aggregator.config import Config, TopicConfig
from aggregator.models import Story
from aggregator.store import Store

# Once a publish has cut this many stories into archive pages, its backlog is
# large: the rest of the pages are rendered in worker processes while the walk
# goes on. A small publish never starts them.
PROCESSES_AFTER = 2000
# A story expires once its date is strictly before now - max_age: the step past it.
EXPIRY_STEP = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Walk:
    """One pass over the store for a group of topics that cluster alike."""

    topics: list[curate.TopicMatcher]
    clustered: bool
    stories: set[int] | None  # the story ids to look at; None: every story


@dataclass(frozen=True, slots=True)
class Curated:
    current: list[Story]  # the current document's stories, newest first
    archives: int  # the topic's archive pages, new ones included
    # The first moment the current document changes with time alone (a held-back
    # story old enough, the oldest story past max_age); None: it never does.
    due: datetime | None = None


def walks(store: Store, matchers: Mapping[str, curate.TopicMatcher], now: datetime) -> list[Walk]:
    """What each topic must look at. A topic curated before under the same rule
    looks again only at the stories it holds, those written since, and those its
    min_age held back; a new or edited topic walks the whole archive. One walk
    for every topic that clusters (each entry is folded once), one for those that
    group exact duplicates only; each over all stories or just some."""
    store.forget_topics(matchers)
    full: list[curate.TopicMatcher] = []
    since: dict[str, set[int]] = {}
    for slug, matcher in matchers.items():
        state = store.topic_state(slug)
        if state is None or state.rule != curate.rule_digest(matcher):
            full.append(matcher)
            continue
        ids = set(store.topic_members(slug)) | store.changed_stories(state.seq)
        if matcher.topic.min_age:
            ids |= store.recent_stories(state.published - matcher.topic.min_age)
        since[slug] = ids
    out: list[Walk] = []
    for clustered in (True, False):
        whole = [m for m in full if m.topic.cluster == clustered]
        if whole:
            out.append(Walk(whole, clustered, None))
        some = [m for m in matchers.values()
                if m.topic.slug in since and m.topic.cluster == clustered]  # fmt: skip
        if some:
            walked: set[int] = set().union(*(since[m.topic.slug] for m in some))
            out.append(Walk(some, clustered, walked))
    return out


@dataclass(slots=True)
class _Topic:
    """One topic's pages as they are cut: each recorded, then written."""

    matcher: curate.TopicMatcher
    store: Store
    output: _Output
    cutter: publish.Cutter
    count: int  # archive pages so far
    had_archive: bool = field(init=False)
    matures: datetime | None = None  # when the first held-back story is old enough

    def __post_init__(self) -> None:
        self.had_archive = self.count > 0

    def add(self, story: Story) -> None:
        for page in self.cutter.add(story):
            self._write(page)

    def hold(self, matures: datetime) -> None:
        """min_age held a matching story back until `matures`."""
        self.matures = matures if self.matures is None else min(self.matures, matures)

    def finish(self) -> Curated:
        last = self.cutter.finish()
        for page in last.pages:
            self._write(page)
        return Curated(last.current, self.count, self._due(last.current))

    def _due(self, current: list[Story]) -> datetime | None:
        due = [self.matures] if self.matures is not None else []
        if (max_age := self.matcher.topic.max_age) and current:
            # The oldest story is within max_age (the cutter took any expired
            # one); it expires, and its page is cut, just after this.
            due.append(current[-1].entry.sort_date + max_age + EXPIRY_STEP)
        return min(due, default=None)

    def archived(self, story_ids: Collection[int]) -> Container[str]:
        # Pages cut during this walk hold only stories already walked past.
        if not self.had_archive:
            return ()
        return self.store.archived_uids(self.matcher.topic.slug, story_ids)

    def _write(self, page: list[Story]) -> None:
        topic = self.matcher.topic
        self.count += 1
        # Recorded first: a crash before the files exist is repaired next time.
        rows = [(s.uid, s.entry.story_id) for s in page]
        self.store.add_archive_page(topic.slug, self.count, rows)
        self.output.write(topic, self.count, page)


class _Output:
    """Where archive pages go: written on the batch's threads, rendered here or,
    once the backlog proves large, in worker processes."""

    def __init__(self, config: Config, batch: publish.WriteBatch) -> None:
        self.out, self.base = config.settings.output_dir, config.settings.base_url
        self.batch = batch
        self.cut = 0
        self.pool: Executor | None = None

    def write(self, topic: TopicConfig, number: int, page: list[Story]) -> None:
        self.cut += len(page)
        if self.pool is None and self.cut > PROCESSES_AFTER and (workers := _spare_cores()):
            # spawn: the daemon has threads, which fork would copy mid-flight.
            spawn = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(workers, mp_context=spawn)
        publish.publish_archive(topic, number, page, output_dir=self.out, base_url=self.base,
                                batch=self.batch, pool=self.pool)  # fmt: skip

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _spare_cores() -> int:
    """Cores beside this process's own (which keeps walking and matching)."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return cores - 1


def archive_topics(
    config: Config, store: Store, matchers: Mapping[str, curate.TopicMatcher],
    infos: Mapping[str, curate.SourceInfo], now: datetime,
) -> tuple[dict[str, Curated], list[Path]]:  # fmt: skip
    """Repair archives whose files are missing, walk the store cutting and writing
    new archive pages; return what each topic keeps for its current document, and
    the archive files written (all on disk: a current document links to them)."""
    out, base = config.settings.output_dir, config.settings.base_url
    with publish.WriteBatch() as batch:
        output = _Output(config, batch)
        try:
            topics: dict[str, _Topic] = {}
            for slug, matcher in matchers.items():
                topic = matcher.topic
                count = store.archive_count(slug)
                # Archives recorded before whose files are missing: an interrupted
                # write, or a format added to the topic since.
                for number in publish.incomplete_archives(topic, count, out):
                    ids = store.archive_page(slug, number)
                    entries = store.stories_of({sid for _, sid in ids}, clustered=topic.cluster)
                    found = curate.assemble(matcher, entries, sources=infos)
                    stories = [found[uid] for uid, _ in ids if uid in found]
                    publish.publish_archive(topic, number, stories, output_dir=out,
                                            base_url=base, batch=batch)  # fmt: skip
                cutoff = now - topic.max_age if topic.max_age else None
                cutter = publish.Cutter(
                    max_items=topic.max_items, page_size=topic.archive_page_size, cutoff=cutoff
                )
                topics[slug] = _Topic(matcher, store, output, cutter, count)
            for walk in walks(store, matchers, now):
                # Oldest first: archive pages are cut from the oldest end.
                if walk.stories is None:
                    entries = store.stories(clustered=walk.clustered, oldest_first=True)
                else:
                    entries = store.stories_of(
                        walk.stories, clustered=walk.clustered, oldest_first=True
                    )
                unarchived = curate.walk_unarchived(
                    walk.topics, entries, now=now, sources=infos, clustered=walk.clustered,
                    archived=lambda slug, ids: topics[slug].archived(ids),
                    held=lambda slug, matures: topics[slug].hold(matures),
                )  # fmt: skip
                for slug, story in unarchived:
                    topics[slug].add(story)
            curated = {slug: topic.finish() for slug, topic in topics.items()}
            return curated, batch.finish()
        finally:
            output.close()
