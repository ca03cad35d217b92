"""Watching config.toml while the daemon runs.

The file is read and hashed on every poll (a config file is a few kilobytes;
no watcher library or inotify needed). A new version is loaded only once it
has been seen unchanged on two polls in a row, so an editor's save in
progress (a truncated file, a missing file between unlink and rename) never
raises a false alarm. SIGHUP skips that wait. An invalid version is reported
once, and the daemon keeps the last good configuration until the file is
fixed (or reverted). Valid means what `aggregator check` approves, topic
examples included.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from aggregator import config, verdicts
from aggregator.clock import utc_now
from aggregator.errors import ConfigError
from aggregator.health import ConfigStatus

log = logging.getLogger(__name__)


def _digest(path: Path) -> str:
    """What the file holds now; a file that cannot be read has its own digest."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def load_checked(path: Path) -> config.Config:
    """config.load, and every topic's examples must pass (they are cheap to run):
    a configuration `aggregator check` rejects is never reloaded."""
    cfg = config.load(path)
    if problems := verdicts.example_problems(cfg):
        raise ConfigError(problems)
    return cfg


class ConfigWatcher:
    def __init__(
        self, path: Path, current: config.Config, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.path = path
        self.config = current
        self._clock = clock
        self._applied = _digest(path)  # the version `current` came from
        self._seen: str | None = None  # a new version, waiting to be seen again
        self._reported: str | None = None  # an invalid version already reported
        now = clock()
        self.status = ConfigStatus(str(path), loaded_at=now, last_reload_at=now)

    def poll(self, *, force: bool = False) -> config.Config | None:
        """The new configuration when the file changed to a valid one, else None.

        force: load now, without waiting for the file to settle (SIGHUP).
        """
        digest = _digest(self.path)
        if digest == self._applied and not force:
            self._seen = None
            if self.status.error is not None:  # reverted to the version in use
                log.info("%s is back to the configuration in use", self.path)
                self.status = replace(self.status, error=None)
                self._reported = None
            return None
        if digest == self._reported and not force:
            return None
        if digest != self._seen and not force:
            self._seen = digest  # first sight: wait one poll for the save to finish
            return None
        self._seen = None
        now = self._clock()
        try:
            new = _load_guarded(self.path)
        except ConfigError as exc:
            self._reported = digest
            problems = "; ".join(exc.problems)
            if self.status.error != problems:
                log.error(
                    "configuration not reloaded, still running on the one loaded at %s: %s",
                    self.status.loaded_at.isoformat(timespec="seconds"), problems,
                )  # fmt: skip
            self.status = replace(
                self.status, error=problems, last_reload_successful=False, last_reload_at=now
            )
            return None
        self._applied = digest
        self._reported = None
        self.config = new
        self.status = ConfigStatus(str(self.path), loaded_at=now, last_reload_at=now)
        return new


def _load_guarded(path: Path) -> config.Config:
    """load_checked, with any other exception (a bug in validation) reported like a
    configuration problem: once per version of the file, not at every poll, and the
    daemon keeps running on the configuration it has."""
    try:
        return load_checked(path)
    except ConfigError:
        raise
    except Exception as exc:
        log.exception("unexpected error while loading %s", path)
        raise ConfigError(
            [f"{path}: unexpected error while loading: {type(exc).__name__}: {exc}"]
        ) from exc
