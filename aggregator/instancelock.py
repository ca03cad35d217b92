"""One daemon per database and per output directory.

Two daemons on one database would fetch everything twice and fight over the
writer lock; two on one output directory would delete each other's temp files
at start. An exclusive flock on a file beside the database and one inside the
output directory prevents both. The kernel drops the locks when the process
dies, kill -9 included, so there is never a stale lock to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from aggregator.errors import AggregatorError

OUTPUT_LOCK = ".aggregator.lock"  # a dot-file: never served, never cleaned as a temp file


ALREADY_RUNNING = 3  # the exit status of `aggregator run` refused by a lock


class AlreadyRunning(AggregatorError):
    pass


def lock_paths(database: Path, output_dir: Path) -> list[Path]:
    # Resolved: a second daemon reaching the same files through a symlink is the same.
    database, output_dir = database.resolve(), output_dir.resolve()
    return [database.with_name(database.name + ".lock"), output_dir / OUTPUT_LOCK]


class InstanceLock:
    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._fds: list[int] = []

    def acquire(self) -> InstanceLock:
        try:
            for path in self.paths:
                self._fds.append(_lock(path))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        while self._fds:
            os.close(self._fds.pop())  # closing drops the lock

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _lock(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise AggregatorError(f"cannot create the lock file {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f"pid {holder}" if holder else "another process"
        raise AlreadyRunning(
            f"another aggregator daemon ({who}) is already using {path.parent} "
            f"(lock {path}); stop it first, or give this one its own database and output_dir"
        ) from None
    # The pid is for the message above; the lock itself is the flock.
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
