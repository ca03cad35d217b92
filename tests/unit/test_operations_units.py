"""Pure and small pieces behind the daemon's operations: config watching, clock
jumps, source condition, metrics, locks, JSON logs, backups."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import config, live_config
from aggregator.clockjumps import is_due, tick_stalled
from aggregator.config_edit import suggest_id
from aggregator.errors import StorageError
from aggregator.health import condition
from aggregator.instancelock import AlreadyRunning, InstanceLock, lock_paths
from aggregator.live_config import ConfigWatcher
from aggregator.logformat import JsonFormatter
from aggregator.metrics import Metrics
from aggregator.models import CycleStats, SourceState, TopicStats
from aggregator.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD = '[sources.a]\nurl = "https://a.example/feed"\n'
GOOD2 = GOOD + '[sources.b]\nurl = "https://b.example/feed"\n'


def watcher(tmp_path: Path) -> tuple[Path, ConfigWatcher]:
    path = tmp_path / "config.toml"
    path.write_text(GOOD, encoding="utf-8")
    return path, ConfigWatcher(path, config.load(path), clock=lambda: T0)


def test_a_change_applies_once_it_is_seen_twice(tmp_path: Path) -> None:
    path, w = watcher(tmp_path)
    assert w.poll() is None  # unchanged
    path.write_text(GOOD2, encoding="utf-8")
    assert w.poll() is None  # first sight: the save may still be under way
    new = w.poll()
    assert new is not None and set(new.sources) == {"a", "b"}
    assert w.poll() is None and w.status.error is None


def test_a_half_written_file_raises_no_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, w = watcher(tmp_path)
    for partial in (GOOD2[:40], "", GOOD2[:70]):  # an editor's save, seen mid-way
        path.write_text(partial, encoding="utf-8")
        assert w.poll() is None
    path.unlink()  # unlink-then-rename editors
    assert w.poll() is None
    path.write_text(GOOD2, encoding="utf-8")
    assert w.poll() is None
    assert w.poll() is not None
    assert w.status.error is None and not caplog.records


def test_an_unexpected_error_while_loading_is_reported_once_as_stale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug in validation (any exception but ConfigError) must neither stop the daemon
    # nor log a traceback at every poll while the file stays as it is.
    path, w = watcher(tmp_path)

    def broken(path: Path) -> config.Config:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(live_config, "load_checked", broken)
    path.write_text(GOOD2, encoding="utf-8")
    for _ in range(5):
        assert w.poll() is None
    traceback, report = caplog.records  # once each, however often it polls
    assert traceback.exc_info is not None and "not reloaded" in report.getMessage()
    assert w.status.stale and "OverflowError: date value out of range" in (w.status.error or "")
    assert set(w.config.sources) == {"a"}


def test_an_invalid_file_is_reported_once_and_sighup_loads_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, w = watcher(tmp_path)
    path.write_text("[sources.a\n", encoding="utf-8")
    for _ in range(5):
        assert w.poll() is None
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "line 1, column 11" in record.getMessage()
    assert w.status.stale and not w.status.last_reload_successful
    assert set(w.config.sources) == {"a"}  # the last good one
    # Reverting to the version in use clears the alarm without a reload.
    path.write_text(GOOD, encoding="utf-8")
    assert w.poll() is None and not w.status.stale
    # SIGHUP (force) does not wait for a second look.
    path.write_text(GOOD2, encoding="utf-8")
    new = w.poll(force=True)
    assert new is not None and "b" in new.sources


def test_a_re_pointed_symlink_is_followed(tmp_path: Path) -> None:
    """A Kubernetes ConfigMap: config.toml -> ..data/config.toml, and an update
    swaps the ..data link to a new directory and deletes the old one."""
    for version, text in (("..v1", GOOD), ("..v2", GOOD2)):
        (tmp_path / version).mkdir()
        (tmp_path / version / "config.toml").write_text(text, encoding="utf-8")
    (tmp_path / "..data").symlink_to("..v1")
    link = tmp_path / "config.toml"
    link.symlink_to("..data/config.toml")
    cfg = config.load(link)
    w = ConfigWatcher(cfg.path, cfg, clock=lambda: T0)  # as the daemon builds it
    (tmp_path / "..tmp").symlink_to("..v2")
    (tmp_path / "..tmp").replace(tmp_path / "..data")  # the atomic swap
    shutil.rmtree(tmp_path / "..v1")
    assert w.poll() is None
    new = w.poll()
    assert new is not None and set(new.sources) == {"a", "b"}
    assert w.status.error is None and w.status.path == str(link)
    assert new.settings.database == tmp_path / "aggregator.sqlite"  # next to the link


def test_failing_topic_examples_are_not_reloaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, w = watcher(tmp_path)
    path.write_text(
        GOOD + '[topics.oil]\nany = ["oil"]\n'
        '[[topics.oil.examples]]\ntitle = "Cooking oil shortage"\nmatch = false\n',
        encoding="utf-8",
    )
    assert w.poll() is None and w.poll() is None
    # The text `aggregator check` prints (after "error: ").
    assert w.status.error == (
        f"{path}: topics.oil.examples[0]: should not match but does (matched: oil): "
        "'Cooking oil shortage'"
    )
    assert w.status.stale and not w.config.topics
    assert "configuration not reloaded" in caplog.text


def test_due_survives_clock_jumps() -> None:
    fetched = T0
    next_fetch = T0 + timedelta(minutes=30)
    assert not is_due(next_fetch, fetched, T0 + timedelta(minutes=10))
    assert is_due(next_fetch, fetched, T0 + timedelta(minutes=30))
    # Clock forward by years: due (once; the next fetch is then counted from there).
    assert is_due(next_fetch, fetched, T0 + timedelta(days=3 * 365))
    # Clock back an hour: the last fetch is "in the future"; fetch now, not in 90 min.
    assert is_due(next_fetch, fetched, T0 - timedelta(hours=1))
    # A few seconds of NTP correction is not a jump.
    assert not is_due(next_fetch, fetched, T0 - timedelta(seconds=5))
    assert is_due(None, None, T0)


def test_a_stalled_tick_is_noticed() -> None:
    tick = timedelta(seconds=60)
    assert not tick_stalled(T0 + tick, T0, tick)
    assert tick_stalled(T0 + timedelta(hours=1), T0, tick)  # the clock went back an hour
    assert not tick_stalled(None, T0, tick)
    assert not tick_stalled(T0 - timedelta(days=365), T0, tick)  # forward: runs once, at once


def test_condition_from_stored_columns() -> None:
    ok = SourceState("a", "u", last_fetch=T0, last_success=T0, last_status=200)
    failing = SourceState("a", "u", last_fetch=T0, last_success=T0 - timedelta(hours=5),
                          last_status=500, error_count=3)  # fmt: skip
    since = T0 - timedelta(hours=4)  # the first failure of the current run
    failing_since = dataclasses.replace(failing, failing_since=since)
    gone = SourceState("a", "u", last_fetch=T0, last_status=410, error_count=1, retired_at=T0)
    assert condition(ok, True) == ("ok", T0)
    assert condition(failing, True) == ("failing", T0 - timedelta(hours=5))
    assert condition(failing_since, True) == ("failing", since)
    assert condition(gone, True) == ("retired", T0)
    assert condition(None, True) == ("new", None)
    assert condition(ok, False) == ("disabled", None)


def test_metrics_registries_are_per_daemon() -> None:
    one, two = Metrics(), Metrics()
    one.source("new", 0.2, new=3, updated=1, duplicate=5)
    one.source("parse", 0.1, new=0, updated=0, duplicate=0)
    one.topics({"oil": 7})
    one.topics({"gas": 2})  # "oil" was removed from the config
    text = one.render()[0].decode()
    assert 'aggregator_fetches_total{outcome="new"} 1.0' in text
    assert 'aggregator_entries_total{kind="duplicate"} 5.0' in text
    assert "aggregator_parse_failures_total 1.0" in text
    assert 'aggregator_fetch_duration_seconds_bucket{le="0.25"} 2.0' in text
    assert 'topic="gas"' in text and 'topic="oil"' not in text
    assert "aggregator_fetches_total{" not in two.render()[0].decode()


def test_the_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    paths = lock_paths(tmp_path / "db.sqlite", tmp_path / "feeds")
    with InstanceLock(paths):
        with pytest.raises(AlreadyRunning, match=r"pid \d+"):
            InstanceLock(paths).acquire()
        with pytest.raises(AlreadyRunning):  # the output directory alone is enough
            InstanceLock([paths[1]]).acquire()
    with InstanceLock(paths):  # released: free again
        pass


def test_the_lock_sees_through_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "db.sqlite").touch()
    (tmp_path / "db.sqlite").symlink_to(tmp_path / "real" / "db.sqlite")
    (tmp_path / "feeds").symlink_to(tmp_path / "real", target_is_directory=True)
    first = InstanceLock(lock_paths(tmp_path / "real" / "db.sqlite", tmp_path / "out"))
    with first, pytest.raises(AlreadyRunning):
        InstanceLock(lock_paths(tmp_path / "db.sqlite", tmp_path / "elsewhere")).acquire()
    second = InstanceLock(lock_paths(tmp_path / "a.sqlite", tmp_path / "real"))
    with second, pytest.raises(AlreadyRunning):
        InstanceLock(lock_paths(tmp_path / "b.sqlite", tmp_path / "feeds")).acquire()


def test_json_log_lines() -> None:
    record = logging.LogRecord("aggregator.x", logging.WARNING, "f", 1, "a %s", ("b",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["message"] == "a b"
    assert line["logger"] == "aggregator.x" and line["time"].endswith("+00:00")


def test_suggest_id() -> None:
    assert suggest_id("Libya Herald — English", "https://x.example/", []) == "libya-herald-english"
    assert suggest_id(None, "https://www.reuters.com/rss", ["reuters-com"]) == "reuters-com-2"
    assert suggest_id("!!!", "https://x.example/", []) == "x-example"
    # Accents are folded rather than dropped (ids are permanent: only new ones change).
    assert suggest_id("Ünïcödé Ñews", "https://x.example/", []) == "unicode-news"
    assert suggest_id("Die Straße", "https://x.example/", []) == "die-strasse"
    assert suggest_id("الأخبار", "https://www.aljazeera.net/", []) == "aljazeera-net"


def test_cycle_and_topic_stats_and_backup(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite") as store:
        assert store.last_cycle() is None
        for n in range(5):
            store.record_cycle(CycleStats(T0 + timedelta(minutes=n), 1.5 + n, 3, 1, n), keep=2)
        last = store.last_cycle()
        assert last is not None and last.duration == 5.5 and last.started.tzinfo is not None
        store.record_topics([TopicStats("oil", 4, T0, T0)])
        store.record_topics([TopicStats("gas", 1, None, T0)])  # replaces the record
        assert list(store.topic_stats()) == ["gas"]
        assert store.integrity_check() == ["ok"]
        store.backup(tmp_path / "copy.sqlite")
    copy = sqlite3.connect(tmp_path / "copy.sqlite")
    try:
        assert copy.execute("SELECT count(*) FROM cycles").fetchone()[0] == 2
        assert copy.execute("SELECT slug FROM topic_stats").fetchall() == [("gas",)]
    finally:
        copy.close()


def test_backup_refuses_the_live_database_files(tmp_path: Path) -> None:
    live = tmp_path / "db.sqlite"
    with Store.open(live) as store:
        store.record_topics([TopicStats("oil", 4, T0, T0)])
        (tmp_path / "hard.sqlite").hardlink_to(live)
        for target in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal",
                       "hard.sqlite", "sub/../db.sqlite"):  # fmt: skip
            with pytest.raises(StorageError, match="is the live database"):
                store.backup(tmp_path / target)
        assert list(store.topic_stats()) == ["oil"] and store.integrity_check() == ["ok"]
