"""`aggregator run`: the scheduler tick, live configuration, signals, serving,
health, graceful shutdown.

APScheduler only provides the tick; what is due lives in the database, so a
restart loses nothing. One cycle runs at a time: a tick that finds one still
running does nothing. The tick job uses coalesce=True (missed runs collapse
into one), max_instances=1 and misfire_grace_time=None (a late run still
runs), so a clock set forward gives one catch-up run, not a storm. A clock set
back would park APScheduler's next run in the future; the watch loop, which
sleeps on the event loop's monotonic clock, notices and ticks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from datetime import UTC, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator import health, serve
from aggregator.clock import utc_now
from aggregator.clockjumps import tick_stalled
from aggregator.config import Config, with_listen_address
from aggregator.crashpoint import crash_point
from aggregator.errors import AggregatorError, PublishError
from aggregator.instancelock import InstanceLock, lock_paths
from aggregator.live_config import ConfigWatcher
from aggregator.metrics import Metrics
from aggregator.models import CycleStats
from aggregator.pipeline import CycleReport, Pipeline, fetcher, hub_pings, parse_workers
from aggregator.publish import clean_stale_temp_files
from aggregator.schedule import cycle_backoff
from aggregator.store import Store
from aggregator.websub import HubNotifier

log = logging.getLogger(__name__)

# How long SIGTERM waits for the cycle under way before cancelling it. Every
# source is written in one transaction, so cancelling never leaves half a source.
SHUTDOWN_GRACE = timedelta(seconds=5)
# How often config.toml is looked at (and the tick checked for a clock jump).
WATCH_EVERY = timedelta(seconds=1)
# [aggregator] keys that the running daemon cannot change without a restart.
RESTART_KEYS = (
    "database", "output_dir", "host", "port", "user_agent", "timeout", "max_body_size",
    "max_concurrency", "per_host_limit", "per_host_delay", "allow_private_addresses",
    "parse_timeout", "parse_max_memory",
)  # fmt: skip
_TICK_JOB = "tick"


class Daemon:
    def __init__(self, config: Config, *, host: str | None = None, port: int | None = None) -> None:
        self.config = config
        self.host = host if host is not None else config.settings.host
        self.port = port if port is not None else config.settings.port
        self.metrics = Metrics()
        self._stop = asyncio.Event()
        self._reload_now = asyncio.Event()
        self._cycle: asyncio.Task[None] | None = None
        # Publish once at start, then when something changed (a fetch, the config, time).
        self._publish_pending = True
        self._publish_failing = False
        self._last_failure: str | None = None
        self._failed_cycles = 0
        self._resume_at = 0.0  # monotonic: no cycle before this (after failed cycles)
        self._cycle_error: dict[str, Any] | None = None
        self._pipeline: Pipeline | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._watcher = ConfigWatcher(config.path, config)
        self._file_config = config  # as the file said, before --host/--port
        self._hubs = HubNotifier()
        self._pings: asyncio.Task[int] | None = None

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        settings = self.config.settings
        with InstanceLock(lock_paths(settings.database, settings.output_dir)):
            return await self._run()

    async def _run(self) -> int:
        settings = self.config.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self._reload_now.set)
        store = Store.open(settings.database)
        removed = clean_stale_temp_files(settings.output_dir)
        if removed:
            log.info("removed %d temporary files left by an interrupted publish", removed)
        self.metrics.config_reload(True, self._watcher.status.loaded_at)
        parsers = parse_workers(self.config)
        try:
            async with parsers, fetcher(self.config) as http:
                server = await serve.start(
                    settings.output_dir, self.host, self.port,
                    max_age=int(settings.tick.total_seconds()),
                    status=lambda: self.status(store), metrics=self.metrics.render,
                )  # fmt: skip
                # Feeds link to where they are served (port 0 is known only now).
                self.port = server.port
                self.config = with_listen_address(self.config, self.host, server.port)
                pipeline = self._pipeline = Pipeline(self.config, store, http, parsers=parsers)
                scheduler = self._scheduler = AsyncIOScheduler(timezone=UTC)
                scheduler.add_job(
                    self._tick, "interval", args=(pipeline,), id=_TICK_JOB,
                    seconds=settings.tick.total_seconds(), next_run_time=utc_now(),
                    # Wall-clock jumps must not queue a storm of catch-up runs.
                    coalesce=True, max_instances=1, misfire_grace_time=None,
                )  # fmt: skip
                scheduler.start()
                watch = asyncio.create_task(self._watch())
                try:
                    await self._stop.wait()
                    log.info("stopping")
                finally:
                    watch.cancel()
                    scheduler.shutdown(wait=False)
                    await self._finish_cycle()
                    if self._pings is not None and not self._pings.done():
                        self._pings.cancel()  # pings are a courtesy: never hold up a stop
                    await server.stop()
        finally:
            parsers.close()
            store.close()
        log.info("stopped")
        return 0

    def status(self, store: Store) -> dict[str, Any]:
        return health.snapshot(self.config, store, utc_now(), config_status=self._watcher.status,
                               cycle_error=self._cycle_error)  # fmt: skip

    # -- the watch loop: config changes, SIGHUP, clock jumps ---------------

    async def _watch(self) -> None:
        every = min(WATCH_EVERY, self.config.settings.tick).total_seconds()
        while True:
            with contextlib.suppress(TimeoutError):
                # The event loop sleeps on the monotonic clock: immune to clock jumps.
                await asyncio.wait_for(self._reload_now.wait(), every)
            forced = self._reload_now.is_set()
            self._reload_now.clear()
            if forced:
                log.info("SIGHUP: reloading %s", self.config.path)
            try:
                self._check_config(force=forced)
            except Exception:
                log.exception("checking the configuration failed")
            self._check_clock()

    def _check_config(self, *, force: bool) -> None:
        before = self._watcher.status
        new = self._watcher.poll(force=force)
        status = self._watcher.status
        if status.last_reload_at != before.last_reload_at:
            self.metrics.config_reload(status.last_reload_successful, status.loaded_at)
        if new is not None:
            self._apply(new)
        elif force:  # an operator who ran `systemctl reload` reads the outcome here
            if status.error is not None:
                log.warning("SIGHUP: not reloaded, still running on the configuration "
                            "loaded at %s: %s", status.loaded_at.isoformat(timespec="seconds"),
                            status.error)  # fmt: skip
            else:
                log.info("SIGHUP: %s is unchanged", self.config.path)

    def _apply(self, new: Config) -> None:
        running, previous = self.config, self._file_config
        self._file_config = new
        restart = [
            k for k in RESTART_KEYS if getattr(previous.settings, k) != getattr(new.settings, k)
        ]
        keep = {k: getattr(running.settings, k) for k in RESTART_KEYS}
        settings = dataclasses.replace(new.settings, **keep)
        self.config = with_listen_address(
            dataclasses.replace(new, settings=settings), self.host, self.port
        )
        if self._pipeline is not None:
            self._pipeline.config = self.config
        added = sorted(set(new.sources) - set(running.sources))
        removed = sorted(set(running.sources) - set(new.sources))
        log.info(
            "configuration reloaded: %d sources (added: %s; removed: %s), %d topics",
            len(new.sources), ", ".join(added) or "none", ", ".join(removed) or "none",
            len(new.topics),
        )  # fmt: skip
        if restart:
            log.warning("[aggregator] %s: changes take effect at the next restart",
                        ", ".join(restart))  # fmt: skip
        self._publish_pending = True  # topics may have changed: re-curate
        if self._scheduler is not None:
            job = self._scheduler.get_job(_TICK_JOB)
            if running.settings.tick != new.settings.tick:
                job.reschedule("interval", seconds=new.settings.tick.total_seconds())
            self._tick_now(job)

    def _check_clock(self) -> None:
        if self._scheduler is None:
            return
        job = self._scheduler.get_job(_TICK_JOB)
        if job is not None and tick_stalled(
            job.next_run_time, utc_now(), self.config.settings.tick
        ):
            log.warning("the clock went back (next tick was planned for %s): ticking now",
                        job.next_run_time.isoformat(timespec="seconds"))  # fmt: skip
            self._tick_now(job)

    @staticmethod
    def _tick_now(job: Job | None) -> None:
        if job is not None:
            job.modify(next_run_time=utc_now())

    # -- cycles ------------------------------------------------------------

    async def _tick(self, pipeline: Pipeline) -> None:
        if self._stop.is_set():
            return
        self._push(pipeline)  # retries of failed pings
        if self._cycle is not None and not self._cycle.done():
            return
        self._cycle = asyncio.create_task(self._run_cycle(pipeline))

    def _push(self, pipeline: Pipeline) -> None:
        """Ping hubs beside the cycle, so a slow hub never delays publishing."""
        if self._pings is not None and not self._pings.done():
            return
        if self._hubs.due():
            self._pings = asyncio.create_task(self._hubs.flush(pipeline.fetcher))

    async def _run_cycle(self, pipeline: Pipeline) -> None:
        if time.monotonic() < self._resume_at:
            return
        started, clock = utc_now(), time.perf_counter()
        report, published = CycleReport(), False
        try:
            report = await pipeline.update()
            self._observe(report)
            if report.changed or pipeline.publish_due():
                self._publish_pending = True
            if self._publish_pending:
                await asyncio.sleep(0)  # let a pending stop request win over publishing
                crash_point("before-publish")
                published = self._publish(pipeline)
            if report.outcomes or published:
                seconds = time.perf_counter() - clock
                self.metrics.cycle(seconds)
                pipeline.store.record_cycle(
                    CycleStats(started, seconds, len(report.outcomes), len(report.failed),
                               sum(o.new for o in report.outcomes))
                )  # fmt: skip
        except AggregatorError as exc:
            # A full disk or a broken database fails every tick: say it loudly once.
            message = str(exc)
            delay = self._cycle_failed(message)
            log.log(logging.INFO if message == self._last_failure else logging.ERROR,
                    "cycle failed (next try in %s): %s", delay, message)  # fmt: skip
            self._last_failure = message
            return
        except Exception as exc:
            # A bug: log it with its traceback and keep the daemon ticking.
            delay = self._cycle_failed(f"unexpected {type(exc).__name__}: {exc}")
            log.exception("cycle failed with an unexpected error (next try in %s)", delay)
            return
        self._last_failure = None
        self._failed_cycles, self._resume_at, self._cycle_error = 0, 0.0, None
        if report.outcomes or published:
            log.info("cycle done in %.1fs: %d sources, %d failed",
                     time.perf_counter() - clock, len(report.outcomes),
                     len(report.failed))  # fmt: skip

    def _cycle_failed(self, message: str) -> timedelta:
        """Back off: nothing the cycle fetched was recorded, so retrying at every tick
        would fetch every due source again each time (30x the polite rate at a 1 min
        tick for a 30 min interval) for as long as the database cannot commit."""
        self._failed_cycles += 1
        self.metrics.cycle_failed()
        delay = cycle_backoff(self.config.settings.tick, self._failed_cycles)
        self._resume_at = time.monotonic() + delay.total_seconds()
        now = utc_now()
        self._cycle_error = {
            "error": message,
            "since": (self._cycle_error or {}).get("since") or now.isoformat(timespec="seconds"),
            "failures_in_a_row": self._failed_cycles,
            "next_try": (now + delay).isoformat(timespec="seconds"),
        }
        return delay

    def _publish(self, pipeline: Pipeline) -> bool:
        """Write the feeds; on failure keep the old ones served and retry next tick."""
        try:
            written = pipeline.publish()
        except PublishError as exc:
            self.metrics.publish_failed()
            # Said loudly once; the retries every tick stay at info.
            level = logging.INFO if self._publish_failing else logging.ERROR
            log.log(level, "publish failed, the previous feeds stay served; retrying next "
                    "tick: %s", exc)  # fmt: skip
            self._publish_failing = True
            return False
        if self._publish_failing:
            log.warning("publishing works again")
        self._publish_failing = False
        self._publish_pending = False
        self._hubs.queue(hub_pings(pipeline.config, written))
        self._push(pipeline)
        self.metrics.topics({s.slug: s.items for s in pipeline.store.topic_stats().values()})
        return True

    def _observe(self, report: CycleReport) -> None:
        for o in report.outcomes:
            self.metrics.source(o.outcome, o.seconds, new=o.new, updated=o.updated,
                                duplicate=o.unchanged)  # fmt: skip

    async def _finish_cycle(self) -> None:
        cycle = self._cycle
        if cycle is None or cycle.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(cycle), SHUTDOWN_GRACE.total_seconds())
        except TimeoutError:
            cycle.cancel()
            try:
                await cycle
            except asyncio.CancelledError:
                log.info("cancelled the cycle under way; every source is whole")
