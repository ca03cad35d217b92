"""status --json, the progress bar on a terminal, JSON logs, backup, and a schedule
that survives clock jumps (pipeline with an injected clock; the daemon's tick)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator import config as configuration
from aggregator.daemon import RESTART_KEYS, Daemon
from aggregator.fetch import Fetcher
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.integration.test_cli import aggregator, install
from tests.loopback import LoopbackServer


def test_status_json(tmp_path: Path, server: LoopbackServer) -> None:
    config = install(tmp_path, server)
    assert aggregator("update", "--config", str(config), cwd=tmp_path).returncode == 0
    done = aggregator("status", "--json", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_id = {s["id"]: s for s in report["sources"]}
    assert by_id["alpha"]["state"] == "ok" and by_id["alpha"]["total_entries"] == 2
    assert by_id["alpha"]["new_entries_last_fetch"] == 2 and by_id["alpha"]["last_status"] == 200
    gone = by_id["gone"]
    assert gone["state"] == "retired" and gone["failing_since"] == gone["last_fetch"]
    assert gone["last_error"] == "gone: HTTP 410 Gone" and gone["last_success"] is None
    assert by_id["off"]["state"] == "disabled" and by_id["off"]["next_fetch"] is None
    (oil,) = report["topics"]
    assert (oil["slug"], oil["title"], oil["items"]) == ("oil", "Oil", 1)
    assert oil["newest_item"] < oil["last_publish"] <= report["now"]
    assert report["config"]["stale"] is False

    # A broken file: status says so (and why), and that the daemon keeps the last good one.
    config.write_text(config.read_text() + "[oops\n", encoding="utf-8")
    broken = aggregator("status", "--json", "--config", str(config), cwd=tmp_path)
    assert broken.returncode == 2
    stale = json.loads(broken.stdout)["config"]
    assert stale["stale"] is True and "invalid TOML" in stale["error"]
    assert "keeps the last good one" in broken.stderr


def test_progress_bar_on_a_terminal_only(tmp_path: Path, server: LoopbackServer) -> None:
    config = install(tmp_path, server)
    piped = aggregator("update", "--all", "--config", str(config), cwd=tmp_path)
    assert "fetching" not in piped.stderr and "#" not in piped.stderr
    main, child = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "aggregator", "--log-level", "error", "update", "--all",
             "--config", str(config)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=child, timeout=60, check=False,
        )  # fmt: skip
        os.close(child)
        child = -1
        seen = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if child != -1:
            os.close(child)
        os.close(main)
    assert proc.returncode == 0
    assert b"fetching" in seen and b"100%" in seen
    assert b"alpha: not-modified" in proc.stdout  # stdout (piped) unchanged


def test_json_logs_and_backup(tmp_path: Path, server: LoopbackServer) -> None:
    config = install(tmp_path, server)
    done = aggregator("--log-format", "json", "update", "--config", str(config), cwd=tmp_path)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(x["message"].startswith("source alpha: new") for x in lines)
    assert all(set(x) >= {"time", "level", "logger", "message"} for x in lines)

    target = tmp_path / "backup.sqlite"
    backed = aggregator("backup", str(target), "--config", str(config), cwd=tmp_path)
    assert backed.returncode == 0, backed.stderr
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM entries").fetchone()[0] == 2
    finally:
        copy.close()


def test_backup_refuses_a_missing_database_and_the_live_one(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[aggregator]\ndatabase = "typo.sqlite"\n', encoding="utf-8")
    target = tmp_path / "backup.sqlite"
    missing = aggregator("backup", str(target), "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 1
    assert f"database {tmp_path / 'typo.sqlite'} does not exist" in missing.stderr
    assert not (tmp_path / "typo.sqlite").exists() and not target.exists()

    with Store.open(tmp_path / "typo.sqlite"):
        pass
    (tmp_path / "link.sqlite").symlink_to(tmp_path / "typo.sqlite")
    for live in ("typo.sqlite-wal", "link.sqlite"):
        refused = aggregator("backup", live, "--config", str(config), cwd=tmp_path)
        assert refused.returncode == 1 and "is the live database" in refused.stderr, live
    with Store.open(tmp_path / "typo.sqlite") as store:
        assert store.integrity_check() == ["ok"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_clock_jumps_neither_stop_fetching_nor_storm(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = configuration.load(install(tmp_path, server))
    clock = Clock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    async def cycles() -> list[list[str]]:
        fetched: list[list[str]] = []
        async with Fetcher(user_agent="t", timeout=10, max_body_size=1 << 20,
                           max_concurrency=4, allow_private=True) as fetcher:  # fmt: skip
            with Store.open(config.settings.database) as store:
                pipeline = Pipeline(config, store, fetcher, clock=clock)

                async def cycle(advance: timedelta) -> None:
                    clock.now += advance
                    report = await pipeline.update()
                    fetched.append(sorted(o.source_id for o in report.outcomes))

                await cycle(timedelta(0))  # first: everything
                await cycle(timedelta(minutes=1))  # nothing due
                await cycle(timedelta(days=3 * 365))  # forward years: one round...
                await cycle(timedelta(minutes=1))  # ...not a storm
                await cycle(-timedelta(hours=1))  # back an hour: still fetching
                await cycle(timedelta(minutes=1))
                await cycle(timedelta(minutes=30))  # the normal interval from the new clock
        return fetched

    fetched = asyncio.run(cycles())
    assert fetched[0] == ["alpha", "gone"]
    assert fetched[1] == []
    # "gone" answered 410 and was retired: only alpha is ever due again.
    assert fetched[2] == ["alpha"] and fetched[3] == []
    assert "alpha" in fetched[4] and fetched[5] == []
    assert "alpha" in fetched[6]


def test_a_tick_parked_in_the_future_by_a_backward_jump_runs_now(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    daemon = Daemon(configuration.load(path))

    async def scenario() -> bool:
        ran = asyncio.Event()
        scheduler = AsyncIOScheduler(timezone=UTC)

        async def tick() -> None:
            ran.set()

        # What the job looks like after the clock went back an hour.
        later = datetime.now(UTC) + timedelta(hours=1)
        scheduler.add_job(tick, "interval", id="tick", seconds=60, next_run_time=later,
                          coalesce=True, max_instances=1, misfire_grace_time=None)  # fmt: skip
        scheduler.start()
        daemon._scheduler = scheduler
        try:
            daemon._check_clock()
            await asyncio.wait_for(ran.wait(), 5)
            return ran.is_set()
        finally:
            scheduler.shutdown(wait=False)

    assert asyncio.run(scenario())


def test_global_fetch_and_parse_settings_wait_for_a_restart_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[sources.lan]\nurl = "http://10.0.0.5/feed"\n', encoding="utf-8")
    daemon = Daemon(configuration.load(path))
    old = daemon.config.settings
    path.write_text(
        "[aggregator]\nper_host_limit = 5\nper_host_delay = 0\nallow_private_addresses = true\n"
        "parse_timeout = 5\nparse_max_memory = 33554432\ntimeout = 10\n"
        '[sources.lan]\nurl = "http://10.0.0.5/feed"\n'
        '[sources.nas]\nurl = "http://10.0.0.6/feed"\nallow_private_addresses = true\n'
        "per_host_limit = 1\n",
        encoding="utf-8",
    )
    daemon._apply(configuration.load(path))
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    changed = ["timeout", *GLOBAL_ONLY]
    assert warning == f"[aggregator] {', '.join(changed)}: changes take effect at the next restart"
    cfg = daemon.config
    assert all(getattr(cfg.settings, k) == getattr(old, k) for k in changed)
    # A source's own keys are read per fetch: they apply at once.
    assert not cfg.allows_private(cfg.sources["lan"]) and cfg.allows_private(cfg.sources["nas"])
    assert cfg.sources["nas"].per_host_limit == 1


# Set up with the fetcher and the parser workers; README once said they changed silently.
GLOBAL_ONLY = (
    "per_host_limit", "per_host_delay", "allow_private_addresses", "parse_timeout",
    "parse_max_memory",
)  # fmt: skip


def test_the_readme_names_every_setting_that_waits_for_a_restart() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    sentence = re.search(r"Changes to ([^.]*?) are logged and wait for the next restart", text)
    assert sentence is not None
    assert set(re.findall(r"`([a-z_]+)`", sentence.group(1))) == set(RESTART_KEYS)
