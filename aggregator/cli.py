"""Command line: parses arguments, sets up logging, builds the objects, hands off."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from aggregator import __version__, config, curate, dedup, opml, query, verdicts
from aggregator.config_edit import NewSource, add_sources, remove_source, suggest_id
from aggregator.errors import AggregatorError, ConfigError, SourceError
from aggregator.fetch import Fetcher
from aggregator.health import ConfigStatus, snapshot
from aggregator.instancelock import ALREADY_RUNNING, AlreadyRunning
from aggregator.live_config import load_checked
from aggregator.logformat import JsonFormatter
from aggregator.models import StoredEntry, Story
from aggregator.pipeline import (
    CycleReport,
    Pipeline,
    fetcher,
    parse_workers,
    probe,
    publish_all,
    source_infos,
)
from aggregator.query import lint
from aggregator.query.overlap import overlapping
from aggregator.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("config.toml"),
        envvar="AGGREGATOR_CONFIG",
        show_default=True,
        help="The configuration file (env AGGREGATOR_CONFIG).",
    )(func)


def _load(path: Path, loader: Callable[[Path], config.Config] = config.load) -> config.Config:
    try:
        return loader(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aggregator")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="How much to log (to standard error).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as one JSON object per line.",
)
def main(log_level: str, log_format: str) -> None:
    """Aggregate RSS/Atom/JSON feeds into curated, de-duplicated topic feeds."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, log_level.upper()), handlers=[handler])
    # Library chatter (one line per HTTP request) drowns the daemon's own log.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


@main.command()
@config_option
@click.option("--host", help="Listen on this address instead of [aggregator] host.")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen on this port (0: any free).")
def run(config_path: Path, host: str | None, port: int | None) -> None:
    """Run the daemon: fetch on schedule, publish topic feeds, serve them over HTTP."""
    from aggregator.daemon import Daemon  # apscheduler and aiohttp only load for `run`

    # As the daemon's reloads, `check` and `status` judge it: failing examples included.
    cfg = _load(config_path, load_checked)
    try:
        code = asyncio.run(Daemon(cfg, host=host, port=port).run())
    except AlreadyRunning as exc:
        # Its own status: a supervisor must not restart into the same refusal, while
        # a port still in use or a database not yet mounted (1) is worth retrying.
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(ALREADY_RUNNING) from exc
    except (AggregatorError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    raise SystemExit(code)


@main.command()
@config_option
@click.option("--all", "everything", is_flag=True, help="Fetch every source, due or not.")
@click.argument("sources", nargs=-1)
def update(config_path: Path, everything: bool, sources: tuple[str, ...]) -> None:
    """Fetch due sources (or --all, or the SOURCES named) once, publish, and exit."""
    cfg = _load(config_path)
    unknown = [s for s in sources if s not in cfg.sources]
    if unknown:
        raise click.UsageError(f"no such source in {cfg.path}: {', '.join(unknown)}")
    # A progress bar on a terminal only: piped output stays one line per source.
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = _with_pipeline(
            cfg,
            lambda p: p.update(everything=everything, only=sources or None, progress=bar),
            publish=True,
        )
    finally:
        if bar is not None:
            bar.close()
    for outcome in report.outcomes:
        line = f"{outcome.source_id}: {outcome.outcome}"
        if outcome.error is None:
            line += f" ({outcome.new} new, {outcome.updated} updated)"
            click.echo(line)
        else:
            click.echo(f"{line}: {outcome.error}", err=True)
    failed = len(report.failed)
    click.echo(f"{len(report.outcomes)} sources fetched, {failed} failed")
    if report.outcomes and failed == len(report.outcomes):
        # Every fetch failed: the network or the configuration, not one source; a
        # cron job should notice.
        sys.exit(1)


@main.command()
@config_option
def publish(config_path: Path) -> None:
    """Re-curate every topic from the stored archive and write the feeds."""
    cfg = _load(config_path)
    written = _with_store(cfg, lambda store: publish_all(cfg, store, datetime.now(UTC)))
    click.echo(f"{len(written)} files written to {cfg.settings.output_dir}")


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Validate the configuration; print every problem and exit non-zero if any."""
    cfg = _load(config_path, load_checked)
    for warning in _double_counts(cfg):
        click.echo(f"warning: {warning}", err=True)
    enabled = sum(s.enabled for s in cfg.sources.values())
    examples = sum(len(t.examples) for t in cfg.topics.values())
    click.echo(
        f"{cfg.path}: OK: {len(cfg.sources)} sources ({enabled} enabled), {len(cfg.topics)} topics"
        + (f", {examples} topic examples pass" if examples else "")
    )


def _double_counts(cfg: config.Config) -> list[str]:
    """Terms that can never match as meant (query/lint.py), and terms of one scored
    query that count the same words (query/overlap.py)."""
    found = []
    for topic in cfg.topics.values():
        matcher = curate.compile_topic(topic, cfg.sources)
        rules = [("query", matcher.query)] if matcher.query is not None else []
        rules += [(x.key, x.query) for x in matcher.excludes]
        rules += [(f"demote[{i}]", d) for i, d in enumerate(matcher.demotes)]
        for key, q in rules:
            found += [f"{cfg.path}: topics.{topic.slug}.{key}: {w}" for w in lint.warnings(q.node)]
        if topic.min_score is None:
            continue
        scored = [("query", matcher.query)] if matcher.query is not None else []
        scored += [(f"demote[{i}]", d) for i, d in enumerate(matcher.demotes)]
        for key, q in scored:
            for a, b in overlapping(q.node):
                found.append(
                    f"{cfg.path}: topics.{topic.slug}.{key}: {a.label!r} and {b.label!r} match"
                    " the same words, so one mention scores for both; drop one unless meant"
                )
    return found


@main.group()
def topics() -> None:
    """Try topics against the stored archive and their examples."""


@topics.command("test")
@config_option
def topics_test(config_path: Path) -> None:
    """Run every topic's examples; print passes, failures, precision and recall."""
    cfg = _load(config_path)
    failures = 0
    for report in verdicts.example_reports(cfg):
        topic = cfg.topics[report.slug]
        if not report.results:
            click.echo(f"{report.slug}: no examples")
            continue
        passed = len(report.results) - len(report.failed)
        click.echo(f"{report.slug} ({topic.title}): {passed}/{len(report.results)} passed")
        for r in report.results:
            want = "match" if r.example.match else "no match"
            got = f"matched: {', '.join(r.terms)}" if r.matched else "not matched"
            if r.blocked_by:
                got += f" (blocked by {', '.join(r.blocked_by)})"
            elif r.score is not None:
                got += f" ({verdicts.render_score(r.score, topic.min_score)})"
            status = "pass" if r.passed else "FAIL"
            click.echo(f"  {status}  [{r.index}] want {want}, {got}: {r.example.title}")
        click.echo(f"  precision {_ratio(report.precision)}  recall {_ratio(report.recall)}")
        failures += len(report.failed)
    if failures:
        click.echo(f"{failures} examples failed", err=True)
        raise SystemExit(1)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@topics.command("preview")
@config_option
@click.argument("slug", required=False)
@click.option("--query", "query_text", help="A query to try (replaces the topic's query).")
@click.option("--exclude", "excludes", multiple=True, help="An exclude query to add (repeatable).")
@click.option("--weeks", type=click.IntRange(1, 520), default=4, show_default=True,
              help="How far back to count.")  # fmt: skip
@click.option("--limit", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="How many of the newest matching titles to list.")  # fmt: skip
@click.option("--min-score", type=click.FloatRange(0, 1000, min_open=True), default=None,
              help="A min_score to try (replaces the topic's).")  # fmt: skip
def topics_preview(
    config_path: Path,
    slug: str | None,
    query_text: str | None,
    excludes: tuple[str, ...],
    weeks: int,
    limit: int,
    min_score: float | None,
) -> None:
    """What topic SLUG (or --query) would contain now, from the stored archive.

    Counts matching stories per day and lists the newest; nothing is fetched
    or published.
    """
    cfg = _load(config_path)
    if slug is None and query_text is None:
        raise click.UsageError("name a topic (SLUG) or give --query")
    if slug is not None and slug not in cfg.topics:
        raise click.UsageError(f"no topic {slug!r} in {cfg.path}: {', '.join(cfg.topics)}")
    for option, text in [("--query", query_text or "x"), *(("--exclude", e) for e in excludes)]:
        try:
            query.parse(text)
        except query.QuerySyntaxError as exc:
            raise click.UsageError(f"{option}: {exc}") from exc
    topic = cfg.topics[slug] if slug else config.TopicConfig(slug="preview", title="preview")
    if query_text is not None:
        topic = dataclasses.replace(topic, query=query_text, any=(), all=())
    topic = dataclasses.replace(topic, exclude=topic.exclude + excludes)
    if min_score is not None:
        topic = dataclasses.replace(topic, min_score=min_score)
    now = datetime.now(UTC)
    window = dataclasses.replace(topic, max_items=10**9, max_age=timedelta(weeks=weeks))

    matcher = curate.compile_topic(window, cfg.sources)

    def work(store: Store) -> tuple[list[Story], list[Story], dict[str, curate.SourceInfo]]:
        infos = source_infos(cfg, store)
        # Grouped as publishing groups the topic: whole stories, or exact duplicates.
        found = curate.select(
            matcher, store.stories(clustered=topic.cluster), now=now, sources=infos
        )
        feed = curate.select(
            curate.compile_topic(topic, cfg.sources), store.stories(clustered=topic.cluster),
            now=now, sources=infos,
        )  # fmt: skip
        return found, feed, infos

    found, feed, infos = _with_store(cfg, work)
    click.echo(f"{topic.slug}: {len(found)} stories in the last {weeks} weeks; "
               f"the feed would publish {len(feed)} (max_items {topic.max_items})")  # fmt: skip
    per_day = Counter(s.entry.sort_date.date() for s in found)
    peak = max(per_day.values(), default=0)
    for days in range(weeks * 7):
        day = (now - timedelta(days=days)).date()
        count = per_day.get(day, 0)
        bar = "#" * (round(40 * count / peak) if peak else 0)
        click.echo(f"  {day.isoformat()}  {count:4d}  {bar}".rstrip())
    if found and limit:
        click.echo("newest:")
    for story in found[:limit]:
        when = story.entry.sort_date.strftime("%Y-%m-%d %H:%M")
        terms = f"  [{', '.join(story.matched)}]" if story.matched else ""
        score = matcher.score(curate.document(story.entry, infos.get(story.entry.source_id)))
        shown = f"  score {score.total:.1f}" if score is not None else ""
        click.echo(f"  {when}  {story.source_title}: {story.entry.title}{terms}{shown}")


@main.command()
@config_option
@click.argument("entry")
def explain(config_path: Path, entry: str) -> None:
    """Why each topic takes ENTRY or not, and the story it belongs to.

    ENTRY is a stored id, a link or guid, or a published id (urn:uuid:...).
    """
    from aggregator import explain_story

    cfg = _load(config_path)
    now = datetime.now(UTC)

    def work(store: Store) -> list[list[tuple[str, list[str]]]]:
        infos = source_infos(cfg, store)
        matchers = [curate.compile_topic(t, cfg.sources) for t in cfg.topics.values()]
        out = []
        titles = {sid: info.title for sid, info in infos.items()}
        apart = not all(t.cluster for t in cfg.topics.values())
        for found in _find_entries(store, entry):
            members = store.story_members(found.story_id)
            verdict_list = verdicts.explain_story(
                matchers, members, entry=found, now=now, sources=infos
            )
            # Topics with cluster = false publish the entry's exact duplicates apart.
            exact = curate.exact_group(members, found)[0]
            apart_uid = curate.story_uid(exact) if apart and exact.id != found.story_id else None
            sections = explain_sections(members, verdict_list, infos, apart_uid)
            lines = explain_story.story_lines(store, found, titles, apart=apart)
            sections.append(("Story", lines))
            out.append(sections)
        return out

    stories = _with_store(cfg, work)
    if not stories:
        click.echo(f"error: no stored entry has the id, link or published id {entry!r}", err=True)
        raise SystemExit(1)
    for i, sections in enumerate(stories):
        if i:
            click.echo("")
        for title, lines in sections:
            click.echo(f"== {title} ==")
            for line in lines:
                click.echo(line)


def _find_entries(store: Store, ref: str) -> list[StoredEntry]:
    """One entry per story for a stored id, a published id (urn:uuid:...), or a
    link or guid (as published or in canonical form)."""
    if ref.isdigit():
        found = store.find_entries(entry_id=int(ref))
    elif ref.startswith("urn:uuid:"):
        found = [f for f in store.founders() if curate.story_uid(f) == ref]
    else:
        found = store.find_entries(link=ref)
        canonical = dedup.canonical_url(ref)
        if not found and canonical:
            found = store.find_entries(link=canonical)
    by_story: dict[int, StoredEntry] = {}
    for e in found:
        by_story.setdefault(e.story_id, e)
    return list(by_story.values())


def explain_sections(
    members: list[StoredEntry],
    verdict_list: list[verdicts.Verdict],
    infos: dict[str, curate.SourceInfo],
    apart_uid: str | None = None,
) -> list[tuple[str, list[str]]]:
    """`explain` output as (heading, lines) sections, so more can be added.
    `apart_uid`: the id topics with cluster = false publish the entry under."""
    founder = members[0]
    uid = curate.story_uid(founder)
    if apart_uid is not None:
        uid += f" (topics that cluster); {apart_uid} (topics with cluster = false)"
    entry_lines = [
        f"title: {founder.title}",
        f"published id: {uid}",
        f"first seen: {founder.first_seen.isoformat()}  sorted by: {founder.sort_date.isoformat()}",
    ]
    for m in members:
        source = infos.get(m.source_id)
        name = f"{source.title} ({m.source_id})" if source else m.source_id
        entry_lines.append(f"entry {m.id}: {name}: {m.link or '(no link)'}")
    topic_lines = [line for v in verdict_list for line in verdicts.render_verdict(v)]
    return [("Entry", entry_lines), ("Topics", topic_lines or ["no topics configured"])]


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (for scripts).")
def status(config_path: Path, as_json: bool) -> None:
    """Show each source's state, each topic's last publish and the last cycle."""
    try:
        cfg = load_checked(config_path)  # what the daemon would reload
    except ConfigError as exc:
        # A running daemon keeps its last good configuration; say so, and why.
        if as_json:
            problems = "; ".join(exc.problems)
            stale = {"path": str(config.as_given(config_path)), "stale": True, "error": problems}
            click.echo(json.dumps({"config": stale}, indent=2))
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(
            "the configuration file is invalid: a running daemon keeps the last good one "
            "until it is fixed",
            err=True,
        )
        raise SystemExit(2) from exc
    now = datetime.now(UTC)
    loaded = ConfigStatus(str(cfg.path), loaded_at=now, last_reload_at=now)
    report = _with_store(cfg, lambda store: snapshot(cfg, store, now, config_status=loaded))
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    _print_status(report, now)


def _print_status(report: dict[str, Any], now: datetime) -> None:
    rows: list[tuple[str, ...]] = [
        ("SOURCE", "STATE", "SINCE", "LAST SUCCESS", "HTTP", "NEW", "TOTAL", "NEXT FETCH")
    ]
    problems: list[str] = []
    for s in report["sources"]:
        rows.append(
            (
                s["id"],
                s["state"],
                _ago(_when(s["failing_since"]), now)
                if s["state"] in ("failing", "retired")
                else "-",
                _ago(_when(s["last_success"]), now),
                str(s["last_status"] or "-"),
                str(s["new_entries_last_fetch"]),
                str(s["total_entries"]),
                _until(_when(s["next_fetch"]), now)
                if s["enabled"] and s["state"] != "retired"
                else "-",
            )
        )
        if s["state"] == "retired":
            problems.append(
                f"{s['id']}: retired ({s['last_error']}); its stored articles are kept; "
                "remove it from the config or change its url"
            )
        elif s["last_error"]:
            problems.append(f"{s['id']}: {s['last_error']} ({s['errors_in_a_row']} in a row)")
        if s["effective_url"] and s["effective_url"] != s["url"]:
            problems.append(
                f"{s['id']}: moved permanently to {s['effective_url']}: update the config"
            )
    _table(rows)
    click.echo()
    topics: list[tuple[str, ...]] = [("TOPIC", "ITEMS", "NEWEST ITEM", "LAST PUBLISH")]
    for t in report["topics"]:
        items = "-" if t["items"] is None else str(t["items"])
        newest, published = _when(t["newest_item"]), _when(t["last_publish"])
        topics.append((t["slug"], items, _ago(newest, now), _ago(published, now)))
    _table(topics)
    cycle = report["last_cycle"]
    if cycle is not None:
        click.echo(
            f"\nlast cycle: {_ago(_when(cycle['started']), now)}, took "
            f"{cycle['duration_seconds']:.1f}s: {cycle['sources_fetched']} sources fetched, "
            f"{cycle['sources_failed']} failed, {cycle['new_entries']} new entries"
        )
    if problems:
        click.echo()
    for line in problems:
        click.echo(line)


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@main.command()
@config_option
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(config_path: Path, target: Path) -> None:
    """Copy the database to TARGET consistently, even while the daemon runs."""
    cfg = _load(config_path)
    database = cfg.settings.database
    if not database.is_file():
        # Opening it would create an empty database, and back that up.
        click.echo(
            f"error: database {database} does not exist (check `database` in {config_path})",
            err=True,
        )
        raise SystemExit(1)
    _with_store(cfg, lambda store: store.backup(target))
    click.echo(f"database {cfg.settings.database} backed up to {target}")


class _ProgressBar:
    """click's progress bar, created when the pass knows how many sources it has."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="fetching", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{_span((now - when).total_seconds())} ago"


def _until(when: datetime | None, now: datetime) -> str:
    if when is None or when <= now:
        return "due"
    return f"in {_span((when - now).total_seconds())}"


def _span(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


T = TypeVar("T")


def _with_store(cfg: config.Config, work: Callable[[Store], T]) -> T:
    try:
        with Store.open(cfg.settings.database) as store:
            return work(store)
    except AggregatorError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc


def _with_pipeline(
    cfg: config.Config,
    work: Callable[[Pipeline], Any],
    *,
    publish: bool,
) -> CycleReport:
    async def go(store: Store) -> CycleReport:
        async with parse_workers(cfg) as parsers, fetcher(cfg) as http:
            pipeline = Pipeline(cfg, store, http, parsers=parsers)
            report: CycleReport = await work(pipeline)
            # Unchanged entries give unchanged feeds: skip re-curating the archive
            # unless nothing was ever published here (`publish` forces it), or time
            # alone changed a topic (min_age, max_age).
            first = not (cfg.settings.output_dir / "index.html").exists()
            if publish and (report.changed or first or pipeline.publish_due()):
                pipeline.publish()
            return report

    return _with_store(cfg, lambda store: asyncio.run(go(store)))


# -- sources: edits config.toml in place, keeping its comments and layout ----------


def _load_or_default(path: Path) -> config.Config:
    """The configuration to edit; a missing file is an empty one (`sources add` starts it)."""
    if not path.exists():
        return config.parse({}, config.as_given(path))
    return _load(path)


def _edit(work: Callable[[], config.Config]) -> config.Config:
    try:
        return work()
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from exc
    except OSError as exc:
        click.echo(f"error: cannot write the configuration: {exc}", err=True)
        raise SystemExit(1) from exc


@main.group()
def sources() -> None:
    """List, add, remove, import and export sources.

    Edits config.toml in place, keeping its comments and layout; a running
    daemon picks the change up within a tick.
    """


@sources.command("list")
@config_option
def sources_list(config_path: Path) -> None:
    """Print the configured sources."""
    cfg = _load(config_path)
    rows: list[tuple[str, ...]] = [("ID", "ENABLED", "TAGS", "TITLE", "URL")]
    for s in cfg.sources.values():
        rows.append(
            (s.id, "yes" if s.enabled else "no", ",".join(s.tags) or "-", s.title or "-", s.url)
        )
    _table(rows)


@sources.command("add")
@config_option
@click.argument("url")
@click.option("--id", "source_id", help="The source id (default: from the feed's title).")
@click.option("--title", help="The outlet's name (default: the feed's own title).")
@click.option("--tag", "tags", multiple=True, help="A tag for topics to select by (repeatable).")
@click.option("--topic", help="Also list the source in this topic's `sources`.")
@click.option(
    "--pick",
    type=click.IntRange(min=1),
    help="URL is a page advertising several feeds: add the Nth one listed.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="The feed is on a private or loopback address (a LAN server): allow it for this "
    "source (writes allow_private_addresses = true).",
)
def sources_add(
    config_path: Path,
    url: str,
    source_id: str | None,
    title: str | None,
    tags: tuple[str, ...],
    topic: str | None,
    pick: int | None,
    allow_private: bool,
) -> None:
    """Fetch URL, check that it is a feed, and add it to the configuration.

    When URL is an HTML page, the feeds it advertises (autodiscovery links) are
    listed; a single one is added, and with several, --pick N chooses.
    """
    cfg = _load_or_default(config_path)
    if not config.is_http_url(url):
        raise click.UsageError(f"expected an http:// or https:// URL, got {url!r}")
    try:
        private = True if allow_private else None  # None: the configured policy
        found = _with_fetcher(cfg, lambda f: probe(f, url, allow_private=private))
        if found.feed is None:
            for n, candidate in enumerate(found.candidates, start=1):
                click.echo(f"{n}. {candidate}")
            if pick is None and len(found.candidates) > 1:
                click.echo(
                    f"{url} is a page advertising {len(found.candidates)} feeds: "
                    "choose one with --pick N",
                    err=True,
                )
                raise SystemExit(1)
            index = (pick or 1) - 1
            if index >= len(found.candidates):
                raise click.UsageError(f"--pick {pick}: the page lists {len(found.candidates)}")
            chosen = found.candidates[index]
            found = _with_fetcher(cfg, lambda f: probe(f, chosen, allow_private=private))
            if found.feed is None:
                raise SourceError("(new)", chosen, "an HTML page, not a feed")
    except SourceError as exc:
        click.echo(f"error: {url}: {exc.kind}: {exc.detail}", err=True)
        raise SystemExit(1) from exc
    feed = found.feed
    assert feed is not None
    sid = source_id or suggest_id(title or feed.title, found.url, cfg.sources)
    new = NewSource(
        id=sid, url=found.url, title=title, tags=tags, allow_private_addresses=allow_private
    )
    _edit(lambda: add_sources(config_path, [new], topic=topic))
    click.echo(
        f"added source {sid}: {found.url} ({feed.title or 'untitled'}, "
        f"{len(feed.entries)} entries now)"
    )


@sources.command("remove")
@config_option
@click.argument("source_id")
def sources_remove(config_path: Path, source_id: str) -> None:
    """Remove a source (and its mentions in topics). Its stored articles stay."""
    _load(config_path)
    _edit(lambda: remove_source(config_path, source_id))
    click.echo(f"removed source {source_id}")


@sources.command("import")
@config_option
@click.argument("opml_file", type=click.File("rb"))
@click.option("--tag", "tags", multiple=True, help="Add this tag to every imported source.")
def sources_import(config_path: Path, opml_file: IO[bytes], tags: tuple[str, ...]) -> None:
    """Add every feed of an OPML subscription list (no fetching; the daemon will)."""
    cfg = _load_or_default(config_path)
    try:
        outlines = opml.read(opml_file.read())
    except opml.OpmlError as exc:
        click.echo(f"error: {opml_file.name}: {exc}", err=True)
        raise SystemExit(2) from exc
    for bad in outlines.rejected:
        name = f"{bad.title!r}" if bad.title else "an untitled outline"
        click.echo(f"skipped {name}: not an http:// or https:// URL: {bad.url}")
    known = {s.url for s in cfg.sources.values()}
    taken: list[str] = list(cfg.sources)
    new: list[NewSource] = []
    for sub in outlines.feeds:
        if sub.url in known:
            click.echo(f"skipped {sub.url}: already configured")
            continue
        if sub.id and config.is_source_id(sub.id) and sub.id.lower() not in map(str.lower, taken):
            sid = sub.id
        else:
            sid = suggest_id(sub.title, sub.url, taken)
        taken.append(sid)
        new.append(NewSource(sid, sub.url, sub.title, tuple(dict.fromkeys((*sub.tags, *tags)))))
    if new:
        _edit(lambda: add_sources(config_path, new))
    click.echo(f"imported {len(new)} sources into {config_path}")


@sources.command("export")
@config_option
@click.option("-o", "--output", type=click.File("wb"), default="-", help="Default: stdout.")
def sources_export(config_path: Path, output: IO[bytes]) -> None:
    """Write every configured source as an OPML subscription list."""
    cfg = _load(config_path)
    output.write(opml.write(cfg.sources.values()))


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _with_fetcher(cfg: config.Config, work: Callable[[Fetcher], Awaitable[T]]) -> T:
    async def go() -> T:
        async with fetcher(cfg) as http:
            return await work(http)

    return asyncio.run(go())
