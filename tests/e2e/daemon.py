"""Run `aggregator run` as a real subprocess and watch its log."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_SERVING = re.compile(r"serving .* on (http://127\.0\.0\.1:\d+/)")


def poll(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    """Call check() until it returns something truthy, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(0.02)


class Daemon:
    def __init__(
        self,
        config: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
        wait: bool = True,
    ) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # Its own process group, so that kill() also ends the parser workers a
        # kill -9 of the daemon leaves behind (as systemd's cgroup would).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--log-level", "info", "run",
             "--config", str(config), "--port", "0", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True, preexec_fn=preexec_fn,
        )  # fmt: skip
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = poll(self._served_url, what="the daemon to listen") if wait else ""

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)

    def log(self) -> str:
        while not self._queue.empty():
            self.lines.append(self._queue.get_nowait())
        return "".join(self.lines)

    def _served_url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited early ({self.proc.returncode}):\n{self.log()}")
        match = _SERVING.search(self.log())
        return match.group(1) if match else None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close()

    def wait(self, timeout: float = 20.0) -> int:
        """The exit status of a daemon that stops by itself (a crash point, an error)."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._end_group()
            self._close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._end_group()
        self._close()

    def _end_group(self) -> None:
        # Parser workers orphaned by a kill -9 still hold the stderr pipe open.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _close(self) -> None:
        self._reader.join(timeout=5)
        self.log()
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.proc.stderr.close()
