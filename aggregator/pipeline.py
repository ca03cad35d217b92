"""The only module that composes the stages: fetch -> parse -> dedup -> store,
and store -> curate -> publish. Holds the per-source error policy."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from aggregator import archiving, curate, dedup, publish, schedule
from aggregator.clock import utc_now
from aggregator.clockjumps import is_due
from aggregator.config import Config, SourceConfig
from aggregator.crashpoint import crash_point
from aggregator.credentials import has_credentials
from aggregator.errors import (
    FetchError,
    Gone,
    PublishError,
    RateLimited,
    SourceError,
    StorageError,
)
from aggregator.fetch import Fetcher
from aggregator.ingest import ingest
from aggregator.models import (
    Clustering,
    FetchResult,
    Ingested,
    KnownItem,
    NotModified,
    ParsedFeed,
    SourceState,
    TopicStats,
)
from aggregator.parse import feed_links, parse_feed
from aggregator.parse_workers import ParseWorkers
from aggregator.store import Store
from aggregator.store.topics import TopicState

log = logging.getLogger(__name__)

# A permanent redirect is trusted (and the source fetched from its target) once it
# has been seen on this many consecutive fetches: one misconfigured deploy must not
# move a source for good.
PERMANENT_AFTER = 3
# Sources between fetch and store at once, per allowed concurrent fetch.
IN_FLIGHT_PER_FETCH = 2


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: str
    outcome: str  # "new", "unchanged", "not-modified" or an error kind
    new: int = 0
    updated: int = 0
    error: str | None = None
    unchanged: int = 0  # entries fetched again, already stored as they are
    seconds: float = 0.0  # fetch time, for the latency histogram


Progress = Callable[[int, int], None]  # (sources done, sources in this pass)


@dataclass(slots=True)
class CycleReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.new or o.updated for o in self.outcomes)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.error is not None]


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utc_now,
        parsers: ParseWorkers | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.parsers = parsers  # None: parse in this process (tests)
        self.rng = rng or random.Random()

    def due_sources(
        self, *, everything: bool = False, named: Collection[str] = ()
    ) -> list[SourceConfig]:
        """Enabled sources whose time has come; a retired one only when named."""
        now = self.clock()
        states = self.store.source_states()
        due = []
        for source in self.config.sources.values():
            if not source.enabled:
                continue
            state = states.get(source.id)
            if state is not None and state.retired_at is not None and source.id not in named:
                continue
            if everything or state is None:
                due.append(source)
                continue
            when = schedule.due_at(state, self.config.source_interval(source))
            if is_due(when, state.last_fetch, now):
                due.append(source)
        return due

    async def update(
        self,
        *,
        everything: bool = False,
        only: Collection[str] | None = None,
        progress: Progress | None = None,
    ) -> CycleReport:
        """Fetch and store every due source (or all, or the named ones), concurrently."""
        self.store.sync_sources(self.config.sources)
        sources = self.due_sources(everything=everything or only is not None, named=only or ())
        if only is not None:
            sources = [s for s in sources if s.id in only]
        done = 0
        # Fetching outruns parsing: without a bound on the sources between fetch and
        # store, every fetched body of the cycle would wait in memory for a parser.
        in_flight = asyncio.Semaphore(IN_FLIGHT_PER_FETCH * self.config.settings.max_concurrency)

        async def one(source: SourceConfig) -> SourceOutcome:
            nonlocal done
            async with in_flight:
                outcome = await self.update_source(source)
            done += 1
            if progress is not None:
                progress(done, len(sources))
            return outcome

        # A second of writes to a transaction (a 304 costs a savepoint, not a commit).
        with self.store.batch():
            outcomes = await asyncio.gather(*(one(s) for s in sources))
        return CycleReport(outcomes=list(outcomes))

    async def update_source(self, source: SourceConfig) -> SourceOutcome:
        state = self.store.source_state(source.id) or SourceState(source.id, source.url)
        started = time.perf_counter()
        try:
            outcome = await self._update_source(source, state)
        except SourceError as exc:
            outcome = self._failed(source, state, exc)
        except StorageError:
            raise  # the database, not this source: the cycle stops and is retried
        except Exception as exc:
            # A bug met on this source's input: it fails (and backs off) alone, instead
            # of stopping every later source and the publish, cycle after cycle.
            log.exception("source %s: unexpected error", source.id)
            detail = f"unexpected {type(exc).__name__}: {exc}"
            outcome = self._failed(source, state, SourceError(source.id, source.url, detail))
        else:
            if state.error_count:
                log.warning("source %s recovered after %d failures", source.id, state.error_count)
            log.info("source %s: %s (%d new, %d updated)", source.id, outcome.outcome,
                     outcome.new, outcome.updated)  # fmt: skip
        return dataclasses.replace(outcome, seconds=time.perf_counter() - started)

    async def _update_source(self, source: SourceConfig, state: SourceState) -> SourceOutcome:
        url = state.effective_url or source.url
        result = await self.fetcher.fetch(
            source.id, url, etag=state.etag, last_modified=state.last_modified,
            allow_private=self.config.allows_private(source),
            per_host_limit=source.per_host_limit,
        )  # fmt: skip
        crash_point("after-fetch")
        now = self.clock()
        interval = self.config.source_interval(source)
        floor, next_fetch = schedule.after_success(now, interval, result.headers, state.feed_ttl)
        effective_url = self._track_redirect(source, state, result)
        if isinstance(result, NotModified):
            self.store.record_not_modified(
                source.id, now=now, status=304, next_fetch=next_fetch,
                etag=result.etag, last_modified=result.last_modified, fetch_floor=floor,
            )  # fmt: skip
            return SourceOutcome(source.id, "not-modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:
            # The server ignored our validators but sent the same bytes: no parse, no write.
            self.store.record_not_modified(
                source.id, now=now, status=result.status, next_fetch=next_fetch,
                etag=result.etag, last_modified=result.last_modified, fetch_floor=floor,
            )  # fmt: skip
            return SourceOutcome(source.id, "unchanged")
        ingested = await self._ingest(
            source.id, result.final_url, result.body, result.content_type,
            self.store.known_items(source.id),
        )  # fmt: skip
        feed = ingested.feed
        if feed.ttl is not None:
            floor, next_fetch = schedule.after_success(now, interval, result.headers, feed.ttl)
        if feed.warning:
            log.info("source %s: recovered from a malformed document: %s", source.id, feed.warning)
        stored = self.store.store_entries(
            source.id,
            ingested.entries,
            now=now,
            next_fetch=next_fetch,
            fetch_floor=floor,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            effective_url=effective_url,
            feed_title=feed.title or None,
            feed_link=feed.link,
            feed_ttl=feed.ttl,
            clustering=clustering(self.config),
            items=ingested.items,
            skipped_keys=ingested.skipped_keys,
        )
        return SourceOutcome(source.id, "new" if stored.new else "unchanged",
                             stored.new, stored.updated, unchanged=stored.unchanged)  # fmt: skip

    def _track_redirect(
        self, source: SourceConfig, state: SourceState, result: FetchResult | NotModified
    ) -> str | None:
        """Count consecutive fetches redirected permanently to one place; once there are
        PERMANENT_AFTER of them, that place is where the source is fetched from."""
        target = result.permanent_url
        effective = state.effective_url
        count = state.redirect_count + 1 if target and target == state.redirect_url else 1
        if target is None:
            count = 0
        elif count >= PERMANENT_AFTER and target != effective:
            effective = target
            log.warning(
                "source %s moved permanently to %s (seen on %d fetches in a row): "
                "fetching it there from now on; update its url in %s",
                source.id, target, count, self.config.path,
            )  # fmt: skip
        if (target, count, effective) != (state.redirect_url, state.redirect_count,
                                          state.effective_url):  # fmt: skip
            self.store.record_redirect(
                source.id, redirect_url=target, redirect_count=count, effective_url=effective
            )
        return effective

    async def _ingest(
        self, source_id: str, url: str, body: bytes, content_type: str | None,
        known: Mapping[str, KnownItem],
    ) -> Ingested:  # fmt: skip
        if self.parsers is None:
            return ingest(
                body, source_id=source_id, url=url, content_type=content_type, known=known
            )
        return await self.parsers.parse(
            body, source_id=source_id, url=url, content_type=content_type, known=known
        )

    def _failed(self, source: SourceConfig, state: SourceState, exc: SourceError) -> SourceOutcome:
        now = self.clock()
        errors = state.error_count + 1
        if isinstance(exc, Gone):
            self.store.retire(
                source.id, now=now, status=exc.status, error=f"{exc.kind}: {exc.detail}"
            )
            log.warning(
                "source %s is gone (%s) and is retired: no more requests, its %d stored "
                "articles are kept; remove it from %s or change its url [%s]",
                source.id, exc.detail, state.total_entries, self.config.path, exc.url,
            )  # fmt: skip
            return SourceOutcome(source.id, exc.kind, error=str(exc))
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        delay = schedule.after_failure(
            self.config.source_interval(source), errors, self.rng, retry_after
        )
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

    def publish_due(self) -> bool:
        """Whether time alone changed a current document since the last publish (a
        story min_age held back is old enough, or one passed max_age): a quiet
        source changes nothing, yet the feeds must."""
        return self.store.publish_due(self.clock())


def publish_all(config: Config, store: Store, now: datetime) -> list[Path]:
    """Re-curate every topic from the whole archive; write only what changed;
    then apply database retention, sparing every story a current document shows."""
    try:
        return _publish_all(config, store, now)
    except OSError as exc:
        # A directory that cannot be made or listed (permissions, a full disk)
        # outside the writes, which report theirs: the same failure to handle.
        where = exc.filename or config.settings.output_dir
        raise PublishError("(output)", f"cannot write {where}: {exc}") from exc


def _publish_all(config: Config, store: Store, now: datetime) -> list[Path]:
    settings = config.settings
    infos = source_infos(config, store)
    summaries: list[publish.TopicSummary] = []
    shown: set[int] = set()
    matchers = {t.slug: curate.compile_topic(t, config.sources) for t in config.topics.values()}
    _rebase(config)
    # Every archive file is on disk before any current document (which links to
    # them) is replaced.
    curated, written = archiving.archive_topics(config, store, matchers, infos, now)
    seq = store.change_number()
    for topic in config.topics.values():
        current, archives = curated[topic.slug].current, curated[topic.slug].archives
        written += publish.publish_topic(
            topic, current, output_dir=settings.output_dir, base_url=settings.base_url,
            hub=config.topic_hub(topic), archives=archives,
        )  # fmt: skip
        shown.update(s.entry.story_id for s in current)
        rule = curate.rule_digest(matchers[topic.slug])
        state = TopicState(rule, seq, now, curated[topic.slug].due)
        store.save_topic(topic.slug, state, {s.entry.story_id for s in current})
        summaries.append(publish.summarize(topic, current, archives))
    # sources.opml is public: sources that are off, on a private network or behind
    # credentials in their URL are not listed.
    sources = [
        publish.SourceSummary(sid, infos[sid].title if sid in infos else sid, src.url,
                              infos[sid].link if sid in infos else None)
        for sid, src in config.sources.items()
        if src.enabled and not config.allows_private(src) and not has_credentials(src.url)
    ]  # fmt: skip
    written += publish.publish_index(
        summaries, output_dir=settings.output_dir, base_url=settings.base_url, sources=sources
    )
    _log_written(settings.output_dir, written)
    _withdraw(config, set(store.topic_stats()) - set(config.topics))
    deleted = store.prune(retention_limits(config, store), keep_stories=shown, now=now)
    if deleted:
        log.info("retention: deleted %d stored entries (tombstones kept)", deleted)
    store.record_topics([TopicStats(s.slug, s.items, s.updated, now) for s in summaries])
    return written


def _log_written(output_dir: Path, written: list[Path]) -> None:
    """One line per publish (files per topic) at info; each file at debug: a first
    publish of a large archive writes thousands."""
    per_topic: dict[str, int] = {}
    for path in written:
        log.debug("published %s", path)
        try:  # "oil.atom" and "oil/archive/3.atom" are the oil topic's
            name = path.relative_to(output_dir).parts[0].split(".")[0]
        except ValueError:
            name = path.name
        per_topic[name] = per_topic.get(name, 0) + 1
    if written:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(per_topic.items()))
        log.info("published %d files (%s)", len(written), counts)


def _rebase(config: Config) -> None:
    """Take down archives written under another base_url (every link in them would
    leave the site); the walk below renders them again at today's address."""
    out, base_url = config.settings.output_dir, config.settings.base_url
    if not config.settings.base_url_set:
        # It follows the listen address: `run --port 0` beside `update` would render
        # every archive again at each switch. A site meant to move sets base_url.
        return
    for topic in config.topics.values():
        if publish.rendered_elsewhere(out, topic.slug, topic.formats, base_url):
            gone = publish.withdraw_archives(out, topic.slug, topic.formats)
            log.warning(
                "topic %s: archives were written for another base_url than %s; "
                "rendering them again (%d files)", topic.slug, base_url, len(gone),
            )  # fmt: skip


def _withdraw(config: Config, removed: Collection[str]) -> None:
    """Take down the documents of removed topics and of formats a topic dropped
    (after the index stopped linking them; a removed topic's publish record goes
    only after its files did, so an interrupted removal is finished next time)."""
    out = config.settings.output_dir
    for slug in sorted(removed):
        gone = publish.withdraw(out, slug)
        log.info("topic %s is no longer configured: removed %d published files", slug, len(gone))
    for topic in config.topics.values():
        if formats := publish.withdrawn_formats(out, topic.slug, topic.formats):
            gone = publish.withdraw(out, topic.slug, formats)
            log.info("topic %s no longer publishes %s: removed %d files", topic.slug,
                     ", ".join(formats), len(gone))  # fmt: skip


def retention_limits(config: Config, store: Store) -> dict[str, tuple[timedelta | None, int]]:
    """Each stored source's (max age, max count); sources no longer configured
    get the [aggregator] defaults."""
    limits: dict[str, tuple[timedelta | None, int]] = {}
    for sid in store.source_states():
        source = config.sources.get(sid) or SourceConfig(id=sid, url="")
        limits[sid] = config.retention(source)
    return limits


def hub_pings(config: Config, written: Collection[Path]) -> list[tuple[str, str]]:
    """(hub, feed URL) for every current feed document just rewritten."""
    settings = config.settings
    pings = []
    for topic in config.topics.values():
        hub = config.topic_hub(topic)
        if hub is None:
            continue
        for fmt in topic.formats:
            if publish.feed_path(settings.output_dir, topic.slug, fmt) in written:
                pings.append((hub, publish.feed_url(settings.base_url, topic.slug, fmt)))
    return pings


@dataclass(frozen=True, slots=True)
class Probe:
    """What a URL given to `aggregator sources add` turned out to be."""

    url: str  # the address to subscribe to (a permanent redirect's target)
    feed: ParsedFeed | None  # None: an HTML page
    candidates: tuple[str, ...] = ()  # the feeds that page advertises


async def probe(
    fetcher: Fetcher, url: str, *, source_id: str = "(new)", allow_private: bool | None = None
) -> Probe:
    """Fetch url once: a feed is parsed (so it is known to work), an HTML page is
    searched for autodiscovery links. Raises SourceError when it is neither."""
    result = await fetcher.fetch(source_id, url, allow_private=allow_private)
    if isinstance(result, NotModified):  # the fetcher refuses a 304 to a request without validators
        raise FetchError(source_id, url, "HTTP 304 to an unconditional request")
    address = result.permanent_url or url
    links = feed_links(result.body, result.final_url)
    if links:
        return Probe(address, None, tuple(links))
    feed = parse_feed(
        result.body, source_id=source_id, url=result.final_url, content_type=result.content_type
    )
    return Probe(address, feed)


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
        tags = configured.tags if configured else ()
        infos[sid] = curate.SourceInfo(title=title, link=state.feed_link, tags=tags)
    return infos


def _round(delta: timedelta) -> timedelta:
    return timedelta(seconds=round(delta.total_seconds()))


def parse_workers(config: Config, workers: int | None = None) -> ParseWorkers:
    """Processes that parse feeds under the configured CPU, memory and time limits."""
    s = config.settings
    return ParseWorkers(
        workers, timeout=s.parse_timeout.total_seconds(), max_memory=s.parse_max_memory
    )


def fetcher(config: Config) -> Fetcher:
    s = config.settings
    return Fetcher(
        user_agent=s.user_agent,
        timeout=s.timeout.total_seconds(),
        max_body_size=s.max_body_size,
        max_concurrency=s.max_concurrency,
        per_host_limit=s.per_host_limit,
        per_host_delay=s.per_host_delay.total_seconds(),
        allow_private=s.allow_private_addresses,
    )
