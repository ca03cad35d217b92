"""Parsing in worker processes with CPU, memory and wall-clock limits.

feedparser can be made to burn seconds of CPU and gigabytes of memory by a small
document, holding the GIL all the while. Here it runs in `spawn`ed processes, each
under RLIMIT_AS (its address space at rest plus a budget) and RLIMIT_CPU (reset for
every job), watched by a wall clock. A worker that overruns is killed, that one
source gets a ParseError saying which limit it hit, and a fresh worker takes its
place the next time one is needed. concurrent.futures' pool cannot do this: one
dead worker breaks the whole pool for every source (BrokenProcessPool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import resource
import signal
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from aggregator.errors import ParseError, SourceError
from aggregator.ingest import ingest
from aggregator.models import Ingested, KnownItem

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0  # seconds for a fresh worker to import its modules
JOBS_PER_WORKER = 200  # then it is replaced: no slow creep of a long-lived heap
MB = 1024 * 1024


@dataclass(slots=True, eq=False)  # hashed by identity
class _Worker:
    process: BaseProcess
    conn: Connection
    jobs: int = 0


class ParseWorkers:
    """A small pool of parser processes; use as `async with ParseWorkers(...) as p:`."""

    def __init__(self, workers: int | None = None, *, timeout: float, max_memory: int) -> None:
        if timeout <= 0 or max_memory < MB:
            raise ValueError("timeout must be positive and max_memory at least 1 MB")
        self.size = workers or max(os.cpu_count() or 1, 1)
        self.timeout = timeout
        self.max_memory = max_memory
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots = asyncio.Semaphore(self.size)

    @property
    def pids(self) -> list[int]:
        """The live workers' process ids."""
        return [w.process.pid for w in [*self._idle, *self._busy] if w.process.pid is not None]

    async def __aenter__(self) -> ParseWorkers:
        self._slots = asyncio.Semaphore(self.size)  # bound to this event loop
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for worker in [*self._idle, *self._busy]:
            _kill(worker)
        self._idle.clear()
        self._busy.clear()

    async def parse(
        self, body: bytes, *, source_id: str, url: str, content_type: str | None,
        known: Mapping[str, KnownItem] | None = None,
    ) -> Ingested:  # fmt: skip
        """ingest (parse_feed, then the entries' identities) in a worker; a
        ParseError for whatever goes wrong there."""
        async with self._slots:
            worker = self._idle.pop() if self._idle else await self._spawn(source_id, url)
            self._busy.add(worker)
            keep = False
            try:
                job = (body, source_id, url, content_type, dict(known or {}))
                reply = await asyncio.to_thread(_exchange, worker.conn, job, self.timeout)
                worker.jobs += 1
                keep = reply[0] in ("ok", "error") and worker.jobs < JOBS_PER_WORKER
                return self._answer(worker, reply, source_id, url)
            finally:
                self._busy.discard(worker)
                if keep:
                    self._idle.append(worker)
                else:
                    _kill(worker)

    def _answer(
        self, worker: _Worker, reply: tuple[str, Any], source_id: str, url: str
    ) -> Ingested:
        kind, value = reply
        if kind == "ok":
            assert isinstance(value, Ingested)
            return value
        if kind == "error":
            assert isinstance(value, SourceError)
            raise value
        if kind == "memory":
            raise ParseError(source_id, url, f"parser worker exceeded {self.max_memory // MB} MB")
        if kind == "timeout":
            raise ParseError(source_id, url, f"parser worker exceeded {self.timeout:g} s")
        if kind == "crash":
            log.error("parser failed on source %s:\n%s", source_id, value)
            last = str(value).strip().splitlines()[-1:] or ["unknown error"]
            raise ParseError(source_id, url, f"parser failed: {last[0]}")
        # The process died: find out how.
        worker.process.join(1.0)
        code = worker.process.exitcode
        if code == -signal.SIGXCPU:
            raise ParseError(source_id, url, f"parser worker exceeded {self.timeout:g} s of CPU")
        if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT):
            # What an allocation failure outside Python's reach looks like.
            raise ParseError(
                source_id, url,
                f"parser worker died (signal {-code}); limit {self.max_memory // MB} MB",
            )  # fmt: skip
        raise ParseError(source_id, url, f"parser worker died (exit code {code})")

    async def _spawn(self, source_id: str, url: str) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(theirs, self.max_memory, self.timeout),
            name="aggregator-parser",
            daemon=True,
        )
        worker = _Worker(process, ours)
        try:
            await asyncio.to_thread(_start, worker, theirs)
        except BaseException:
            _kill(worker)
            raise
        if worker.process.exitcode is not None or not worker.process.is_alive():
            _kill(worker)
            raise ParseError(source_id, url, "parser worker failed to start")
        return worker


def _start(worker: _Worker, theirs: Connection) -> None:
    worker.process.start()
    theirs.close()  # the child holds it now; our copy would hide its death
    if worker.conn.poll(STARTUP_TIMEOUT):
        with contextlib.suppress(EOFError, OSError):
            worker.conn.recv()  # "ready"


def _exchange(conn: Connection, job: tuple[object, ...], timeout: float) -> tuple[str, Any]:
    """Runs in a thread: send one job, wait for its answer at most `timeout` seconds."""
    try:
        conn.send(job)
        if not conn.poll(timeout):
            return ("timeout", None)
        reply: tuple[str, Any] = conn.recv()
    except (EOFError, OSError, BrokenPipeError):
        return ("died", None)
    return reply


def _kill(worker: _Worker) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if worker.process.pid is None:  # never started
            return
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(1.0)
    with contextlib.suppress(OSError):
        worker.conn.close()


# -- the worker process ---------------------------------------------------------------


def _serve(conn: Connection, max_memory: int, cpu_seconds: float) -> None:
    """A worker's life: set its limits, then parse jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    _limit_memory(max_memory)
    conn.send(("ready", None))
    ran_out = False
    try:
        while _serve_one(conn, cpu_seconds):
            pass
    except MemoryError:  # receiving, parsing or answering
        ran_out = True
    if ran_out:  # outside the handler, so the traceback's frames (and the document) are freed
        with contextlib.suppress(Exception):
            conn.send(("memory", None))
    # Either way this worker ends: a heap that ran out is not trusted again.


def _serve_one(conn: Connection, cpu_seconds: float) -> bool:
    try:
        body, source_id, url, content_type, known = conn.recv()
    except (EOFError, OSError):
        return False
    _limit_cpu(cpu_seconds)
    reply: tuple[str, Any]
    try:
        reply = (
            "ok",
            ingest(body, source_id=source_id, url=url, content_type=content_type, known=known),
        )
    except SourceError as exc:
        reply = ("error", exc)
    except MemoryError:
        raise
    except Exception:  # a bug, or a library failing in a way nobody foresaw
        reply = ("crash", traceback.format_exc(limit=20))
    del body
    conn.send(reply)
    return True


def _limit_memory(budget: int) -> None:
    try:
        statm = Path("/proc/self/statm").read_text(encoding="ascii")
        at_rest = int(statm.split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        at_rest = 0
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = at_rest + budget
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limit_cpu(seconds: float) -> None:
    # RLIMIT_CPU counts the process's whole life, so each job gets its budget on top
    # of what earlier jobs used.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
