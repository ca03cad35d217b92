"""`aggregator run`: the scheduler tick, signals, serving, graceful shutdown.

APScheduler only provides the tick; what is due lives in the database, so a
restart loses nothing. One cycle runs at a time: a tick that finds one still
running does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator import serve
from aggregator.config import Config, with_listen_address
from aggregator.errors import AggregatorError
from aggregator.pipeline import Pipeline, fetcher, parse_workers
from aggregator.publish import clean_stale_temp_files
from aggregator.store import Store

log = logging.getLogger(__name__)

# How long SIGTERM waits for the cycle under way before cancelling it. Every
# source is written in one transaction, so cancelling never leaves half a source.
SHUTDOWN_GRACE = timedelta(seconds=5)


class Daemon:
    def __init__(self, config: Config, *, host: str | None = None, port: int | None = None) -> None:
        self.config = config
        self.host = host if host is not None else config.settings.host
        self.port = port if port is not None else config.settings.port
        self._stop = asyncio.Event()
        self._cycle: asyncio.Task[None] | None = None
        self._published_once = False

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        settings = self.config.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        store = Store.open(settings.database)
        removed = clean_stale_temp_files(settings.output_dir)
        if removed:
            log.info("removed %d temporary files left by an interrupted publish", removed)
        parsers = parse_workers(self.config)
        try:
            async with parsers, fetcher(self.config) as http:
                server = await serve.start(
                    settings.output_dir, self.host, self.port,
                    max_age=int(settings.tick.total_seconds()),
                )  # fmt: skip
                # Feeds link to where they are served (port 0 is known only now).
                self.config = with_listen_address(self.config, self.host, server.port)
                pipeline = Pipeline(self.config, store, http, parsers=parsers)
                scheduler = AsyncIOScheduler(timezone=UTC)
                scheduler.add_job(
                    self._tick, "interval", args=(pipeline,),
                    seconds=settings.tick.total_seconds(), next_run_time=datetime.now(UTC),
                    # Wall-clock jumps must not queue a storm of catch-up runs.
                    coalesce=True, max_instances=1, misfire_grace_time=None,
                )  # fmt: skip
                scheduler.start()
                try:
                    await self._stop.wait()
                    log.info("stopping")
                finally:
                    scheduler.shutdown(wait=False)
                    await self._finish_cycle()
                    await server.stop()
        finally:
            parsers.close()
            store.close()
        log.info("stopped")
        return 0

    async def _tick(self, pipeline: Pipeline) -> None:
        if self._stop.is_set() or (self._cycle is not None and not self._cycle.done()):
            return
        self._cycle = asyncio.create_task(self._run_cycle(pipeline))

    async def _run_cycle(self, pipeline: Pipeline) -> None:
        started = datetime.now(UTC)
        try:
            report = await pipeline.update()
            if report.changed or not self._published_once:
                await asyncio.sleep(0)  # let a pending stop request win over publishing
                pipeline.publish()
                self._published_once = True
        except AggregatorError as exc:
            log.error("cycle failed: %s", exc)
            return
        except Exception:
            # A bug: log it with its traceback and keep the daemon ticking.
            log.exception("cycle failed with an unexpected error")
            return
        failed = len(report.failed)
        log.info("cycle done in %.1fs: %d sources, %d failed",
                 (datetime.now(UTC) - started).total_seconds(), len(report.outcomes),
                 failed)  # fmt: skip

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
