"""The only module that composes the stages: fetch -> parse -> dedup -> store,
and store -> curate -> publish. Holds the per-source error policy."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import multiprocessing
import os
import random
import signal
from collections.abc import Callable, Collection
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import curate, dedup, publish
from aggregator.config import Config, SourceConfig
from aggregator.errors import ParseError, RateLimited, SourceError
from aggregator.fetch import Fetcher
from aggregator.models import Clustering, NotModified, ParsedFeed, SourceState
from aggregator.parse import parse_feed
from aggregator.store import Store

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: str
    outcome: str  # "new", "unchanged", "not-modified" or an error kind
    new: int = 0
    updated: int = 0
    error: str | None = None


@dataclass(slots=True)
class CycleReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.new or o.updated for o in self.outcomes)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.error is not None]


def backoff(interval: timedelta, errors: int, rng: random.Random) -> timedelta:
    """Exponential in the number of consecutive errors, capped, with jitter so
    sources that failed together do not retry together."""
    base: timedelta = min(interval * (2 ** min(max(errors - 1, 0), 16)), MAX_BACKOFF)
    return base * rng.uniform(0.9, 1.1)


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utc_now,
        executor: Executor | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.executor = executor
        self.rng = rng or random.Random()

    def due_sources(self, *, everything: bool = False) -> list[SourceConfig]:
        now = self.clock()
        states = self.store.source_states()
        due = []
        for source in self.config.sources.values():
            if not source.enabled:
                continue
            state = states.get(source.id)
            next_fetch = state.next_fetch if state else None
            if everything or next_fetch is None or next_fetch <= now:
                due.append(source)
        return due

    async def update(
        self, *, everything: bool = False, only: Collection[str] | None = None
    ) -> CycleReport:
        """Fetch and store every due source (or all, or the named ones), concurrently."""
        self.store.sync_sources(self.config.sources)
        sources = self.due_sources(everything=everything or only is not None)
        if only is not None:
            sources = [s for s in sources if s.id in only]
        outcomes = await asyncio.gather(*(self.update_source(s) for s in sources))
        return CycleReport(outcomes=list(outcomes))

    async def update_source(self, source: SourceConfig) -> SourceOutcome:
        state = self.store.source_state(source.id) or SourceState(source.id, source.url)
        try:
            outcome = await self._update_source(source, state)
        except SourceError as exc:
            outcome = self._failed(source, state, exc)
        else:
            log.info("source %s: %s (%d new, %d updated)", source.id, outcome.outcome,
                     outcome.new, outcome.updated)  # fmt: skip
        return outcome

    async def _update_source(self, source: SourceConfig, state: SourceState) -> SourceOutcome:
        url = state.effective_url or source.url
        result = await self.fetcher.fetch(
            source.id, url, etag=state.etag, last_modified=state.last_modified
        )
        now = self.clock()
        next_fetch = now + self.config.source_interval(source)
        if isinstance(result, NotModified):
            self.store.record_not_modified(
                source.id, now=now, status=304, next_fetch=next_fetch,
                etag=result.etag, last_modified=result.last_modified,
            )  # fmt: skip
            return SourceOutcome(source.id, "not-modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:
            # The server ignored our validators but sent the same bytes: no parse, no write.
            self.store.record_not_modified(
                source.id, now=now, status=result.status, next_fetch=next_fetch,
                etag=result.etag, last_modified=result.last_modified,
            )  # fmt: skip
            return SourceOutcome(source.id, "unchanged")
        feed = await self._parse(source.id, result.final_url, result.body, result.content_type)
        if feed.warning:
            log.info("source %s: recovered from a malformed document: %s", source.id, feed.warning)
        stored = self.store.store_entries(
            source.id,
            dedup.key_entries(feed.entries, home=feed.link),
            now=now,
            next_fetch=next_fetch,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            effective_url=state.effective_url
            if result.permanent_url is None
            else result.permanent_url,
            feed_title=feed.title or None,
            feed_link=feed.link,
            clustering=clustering(self.config),
        )
        if result.permanent_url and result.permanent_url != state.effective_url:
            log.warning(
                "source %s moved permanently to %s: update its url in %s",
                source.id, result.permanent_url, self.config.path,
            )  # fmt: skip
        return SourceOutcome(source.id, "new" if stored.new else "unchanged",
                             stored.new, stored.updated)  # fmt: skip

    async def _parse(
        self, source_id: str, url: str, body: bytes, content_type: str | None
    ) -> ParsedFeed:
        call = functools.partial(
            parse_feed, body, source_id=source_id, url=url, content_type=content_type
        )
        if self.executor is None:
            return call()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, call)
        except BrokenProcessPool as exc:
            raise ParseError(source_id, url, "the parser worker died") from exc

    def _failed(self, source: SourceConfig, state: SourceState, exc: SourceError) -> SourceOutcome:
        now = self.clock()
        errors = state.error_count + 1
        delay = backoff(self.config.source_interval(source), errors, self.rng)
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = max(delay, timedelta(seconds=min(exc.retry_after, MAX_BACKOFF.total_seconds())))
        self.store.record_failure(
            source.id, now=now, status=exc.status, error=f"{exc.kind}: {exc.detail}",
            next_fetch=now + delay,
        )  # fmt: skip
        # Warn on the change of state; repeats of a known failure stay at info.
        level = logging.WARNING if state.error_count == 0 else logging.INFO
        log.log(level, "source %s failed (%d in a row, next try in %s): %s: %s [%s]",
                source.id, errors, _round(delay), exc.kind, exc.detail, exc.url)  # fmt: skip
        return SourceOutcome(source.id, exc.kind, error=str(exc))

    def publish(self) -> list[Path]:
        return publish_all(self.config, self.store, self.clock())


def publish_all(config: Config, store: Store, now: datetime) -> list[Path]:
    """Re-curate every topic from the whole archive; write only what changed."""
    settings = config.settings
    infos = source_infos(config, store)
    written: list[Path] = []
    summaries: list[publish.TopicSummary] = []
    for topic in config.topics.values():
        matcher = curate.compile_topic(topic, config.sources)
        stories = curate.select(
            matcher, store.stories(clustered=topic.cluster), now=now, sources=infos
        )
        written += publish.publish_topic(
            topic, stories, output_dir=settings.output_dir, base_url=settings.base_url
        )
        newest = max((s.entry.updated or s.entry.sort_date for s in stories), default=None)
        summaries.append(
            publish.TopicSummary(topic.slug, topic.title, topic.description, len(stories), newest)
        )
    written += publish.publish_index(
        summaries, output_dir=settings.output_dir, base_url=settings.base_url
    )
    for path in written:
        log.info("published %s", path)
    return written


def clustering(config: Config) -> Clustering:
    """How new entries join stories, from [aggregator] cluster_threshold and _window."""
    s = config.settings
    return Clustering(
        window=s.cluster_window, similar=dedup.StoryMatcher(threshold=s.cluster_threshold)
    )


def source_infos(config: Config, store: Store) -> dict[str, curate.SourceInfo]:
    """How each source is credited: its configured title, else the feed's own."""
    infos: dict[str, curate.SourceInfo] = {}
    for sid, state in store.source_states().items():
        configured = config.sources.get(sid)
        title = (configured.title if configured else None) or state.feed_title or sid
        infos[sid] = curate.SourceInfo(title=title, link=state.feed_link)
    return infos


def _round(delta: timedelta) -> timedelta:
    return timedelta(seconds=round(delta.total_seconds()))


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def parser_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """Processes that parse feeds: CPU-bound work off the event loop, on every core."""
    return ProcessPoolExecutor(
        max_workers=workers or max(os.cpu_count() or 1, 1),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts,
    )
