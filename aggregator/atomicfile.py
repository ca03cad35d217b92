"""Atomic, change-only file writes for published output.

A reader (the HTTP server, nginx, a sync tool) must never see a half-written
feed, and an unchanged feed must keep its mtime so conditional GETs keep
answering 304. So: compare first, then write a temp file in the same
directory, fsync it, and rename it over the target.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from aggregator.crashpoint import crash_point

# Temp files are hidden and carry a suffix nothing else uses, so a clean-up
# after a crash can find them without touching anything else.
TEMP_SUFFIX = ".aggregator-tmp"
_DEFAULT_MODE = 0o644  # published files are meant to be read by a web server


def write_if_changed(path: Path, data: bytes, *, sync_directory: bool = True) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly that.

    Returns whether the file was written. With sync_directory=False the caller
    fsyncs the directory itself (WriteBatch: once for many files).
    """
    mode, unchanged = _compare(path, data)
    if unchanged:
        return False
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        crash_point("mid-publish")
        # mkstemp creates 0600; keep the old file's mode, or make it readable.
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_directory:
        _fsync_directory(path.parent)
    return True


def write_once(path: Path, data: bytes, *, sync_directory: bool = True) -> bool:
    """Write `path` atomically unless it already exists (immutable documents).

    Returns whether the file was written.
    """
    if path.exists():
        return False
    return write_if_changed(path, data, sync_directory=sync_directory)


class WriteBatch:
    """Many files written on a few threads, each atomically and durably.

    Publishing a backlog writes thousands of archive files; one at a time, the
    caller waits on every fsync in turn. Here the writes (and whatever a job
    does with the data, like compressing it: zlib and fsync release the GIL)
    overlap each other and the caller's rendering, and each directory is
    fsynced once at the end instead of once per file.
    """

    def __init__(self, threads: int = 4, pending: int = 16) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="write")
        self._jobs: list[Future[list[Path]]] = []  # not yet reaped
        self._written: list[Path] = []
        self._error: BaseException | None = None
        self._directories: set[Path] = set()
        # Rendering outpaces writing: without a bound, a backlog of thousands of
        # archive pages would wait in memory.
        self._pending = pending

    def submit(self, directory: Path, job: Callable[[], list[Path]]) -> None:
        """Run job (which writes into directory with sync_directory=False); waits
        while `pending` jobs (and the data they hold) are still queued."""
        self._directories.add(directory)
        self._reap()
        while len(self._jobs) >= self._pending:
            wait(self._jobs, return_when=FIRST_COMPLETED)
            self._reap()
        self._jobs.append(self._pool.submit(job))

    def finish(self) -> list[Path]:
        """Wait for every job; return the paths they wrote. Raises the first
        failed job's exception, after the others have finished."""
        wait(self._jobs)
        self._reap()
        written, self._written = self._written, []
        error, self._error = self._error, None
        for directory in sorted(self._directories):
            _fsync_directory(directory)
        self._directories.clear()
        if error is not None:
            raise error
        return written

    def _reap(self) -> None:
        """Keep the results of finished jobs, not the jobs: a backlog of any size
        holds only its paths."""
        running: list[Future[list[Path]]] = []
        for job in self._jobs:
            if not job.done():
                running.append(job)
            elif (error := job.exception()) is not None:
                self._error = self._error or error
            else:
                self._written += job.result()
        self._jobs = running

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def clean_stale_temp_files(directory: Path) -> int:
    """Remove temp files an interrupted write left in `directory`; return how many.

    Call it at start-up, before anything writes there (one writer per directory).
    """
    removed = 0
    try:
        # Archives live in <slug>/archive/: look there too.
        candidates = sorted(directory.rglob(f".*{TEMP_SUFFIX}"))
    except OSError:
        return 0
    for candidate in candidates:
        try:
            if not stat.S_ISREG(candidate.lstat().st_mode):
                continue
            candidate.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def _compare(path: Path, data: bytes) -> tuple[int, bool]:
    """(mode for the new file, whether `path` already holds exactly `data`)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return _DEFAULT_MODE, False
        mode = stat.S_IMODE(st.st_mode)
        # The size settles most changes without reading the old file.
        return mode, st.st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return _DEFAULT_MODE, False


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable across a power loss (POSIX)."""
    # Some platforms and file systems cannot open or fsync a directory; the
    # write has already happened, so durability is best effort there.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
