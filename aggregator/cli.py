"""Command line: parses arguments, sets up logging, builds the objects, hands off."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from aggregator import __version__, config
from aggregator.errors import AggregatorError, ConfigError
from aggregator.fetch import Fetcher
from aggregator.models import SourceState
from aggregator.pipeline import CycleReport, Pipeline, parser_pool, publish_all, source_infos
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


def _load(path: Path) -> config.Config:
    try:
        return config.load(path)
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
def main(log_level: str) -> None:
    """Aggregate RSS/Atom/JSON feeds into curated, de-duplicated topic feeds."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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

    cfg = _load(config_path)
    try:
        code = asyncio.run(Daemon(cfg, host=host, port=port).run())
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
    report = _with_pipeline(
        cfg, lambda p: p.update(everything=everything, only=sources or None), publish=True
    )
    for outcome in report.outcomes:
        line = f"{outcome.source_id}: {outcome.outcome}"
        if outcome.error is None:
            line += f" ({outcome.new} new, {outcome.updated} updated)"
            click.echo(line)
        else:
            click.echo(f"{line}: {outcome.error}", err=True)
    failed = len(report.failed)
    click.echo(f"{len(report.outcomes)} sources fetched, {failed} failed")


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
    cfg = _load(config_path)
    enabled = sum(s.enabled for s in cfg.sources.values())
    click.echo(
        f"{cfg.path}: OK: {len(cfg.sources)} sources ({enabled} enabled), {len(cfg.topics)} topics"
    )


@main.command()
@config_option
@click.argument("entry")
def explain(config_path: Path, entry: str) -> None:
    """Explain ENTRY (an entry id, guid or link): the story it belongs to and why."""
    from aggregator import explain_story

    cfg = _load(config_path)

    def describe(store: Store) -> list[str]:
        found = explain_story.find(store, entry)
        titles = {sid: info.title for sid, info in source_infos(cfg, store).items()}
        lines: list[str] = []
        for item in found:
            lines += [f"entry #{item.id} from {item.source_id}: {item.title}", "", "[story]"]
            lines += explain_story.story_lines(store, item, titles)
            lines.append("")
        return lines

    lines = _with_store(cfg, describe)
    if not lines:
        click.echo(f"error: no stored entry has the id, guid or link {entry!r}", err=True)
        raise SystemExit(1)
    click.echo("\n".join(lines).rstrip())


@main.command()
@config_option
def status(config_path: Path) -> None:
    """Show each source's fetch state: last fetch, HTTP status, new entries, errors."""
    cfg = _load(config_path)
    states = _with_store(cfg, lambda store: store.source_states())
    now = datetime.now(UTC)
    rows = [("SOURCE", "STATE", "LAST FETCH", "HTTP", "NEW", "TOTAL", "ERRORS", "NEXT FETCH")]
    problems: list[str] = []
    for sid, source in cfg.sources.items():
        state = states.get(sid) or SourceState(sid, source.url)
        rows.append(
            (
                sid,
                _state_word(state, source.enabled),
                _ago(state.last_fetch, now),
                str(state.last_status or "-"),
                str(state.new_entries),
                str(state.total_entries),
                str(state.error_count),
                _until(state.next_fetch, now) if source.enabled else "-",
            )
        )
        if state.last_error and state.error_count:
            problems.append(f"{sid}: {state.last_error}")
        if state.effective_url and state.effective_url != source.url:
            problems.append(f"{sid}: moved permanently to {state.effective_url}: update {cfg.path}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for line in problems:
        click.echo(line)


def _state_word(state: SourceState, enabled: bool) -> str:
    if not enabled:
        return "disabled"
    if state.last_fetch is None:
        return "new"
    return "failing" if state.error_count else "ok"


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


def _fetcher(cfg: config.Config) -> Fetcher:
    s = cfg.settings
    return Fetcher(
        user_agent=s.user_agent,
        timeout=s.timeout.total_seconds(),
        max_body_size=s.max_body_size,
        max_concurrency=s.max_concurrency,
    )


def _with_pipeline(
    cfg: config.Config,
    work: Callable[[Pipeline], Any],
    *,
    publish: bool,
) -> CycleReport:
    async def go(store: Store) -> CycleReport:
        with parser_pool() as executor:
            async with _fetcher(cfg) as fetcher:
                pipeline = Pipeline(cfg, store, fetcher, executor=executor)
                report: CycleReport = await work(pipeline)
                if publish:
                    pipeline.publish()
                return report

    return _with_store(cfg, lambda store: asyncio.run(go(store)))
