"""Running the daemon for months: live config, health endpoints, locks, crashes, full disks."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from aggregator.crashpoint import ENV, STAGES
from tests.e2e.daemon import Daemon, poll
from tests.e2e.test_daemon import get
from tests.feeds import Item, rss
from tests.loopback import LoopbackServer

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)

BASE = """\
# Hand-written; the daemon must keep running on it when an edit goes wrong.
[aggregator]
tick = "1s"
allow_private_addresses = true

[sources.alpha]
url = "{alpha}"
title = "Alpha"

[topics.oil]
title = "Oil"
any = ["oil"]
"""

BETA = """
[sources.beta]
url = "{beta}"
title = "Beta"
"""

LIBYA = """
[topics.libya]
title = "Libya"
any = ["Libya"]
"""


def alpha_feed(server: LoopbackServer) -> None:
    server.route(
        "/a.xml", rss("Alpha", "https://alpha.example/", [
            Item("a1", "Oil output rises", "https://alpha.example/1", NOW - HOUR),
        ]),
        etag='"a1"',
    )  # fmt: skip


def beta_feed(server: LoopbackServer, summary: str = "") -> None:
    server.route(
        "/b.xml", rss("Beta", "https://beta.example/", [
            Item("b1", "Libya oil field reopens", "https://beta.example/1", NOW - 2 * HOUR,
                 summary),
            Item("b2", "Libya talks resume", "https://beta.example/2", NOW - 3 * HOUR),
        ]),
        etag='"b1"',
    )  # fmt: skip


@pytest.fixture
def config(tmp_path: Path, server: LoopbackServer) -> Path:
    alpha_feed(server)
    beta_feed(server)
    path = tmp_path / "config.toml"
    path.write_text(BASE.format(alpha=server.url("/a.xml")), encoding="utf-8")
    return path


def with_beta(config: Path, server: LoopbackServer, *, topic: bool = False) -> str:
    text = BASE.format(alpha=server.url("/a.xml")) + BETA.format(beta=server.url("/b.xml"))
    return text + (LIBYA if topic else "")


def ids(feed: Path) -> list[str]:
    doc = feedparser.parse(feed.read_bytes())
    assert not doc.bozo, doc.bozo_exception
    return [e.id for e in doc.entries]


def status(d: Daemon) -> dict[str, Any]:
    code, _, body = get(d.url + "status")
    assert code == 200
    result: dict[str, Any] = json.loads(body)
    return result


def metric(d: Daemon, name: str) -> float | None:
    _, _, body = get(d.url + "metrics")
    for line in body.decode().splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def running(config: Path) -> Iterator[Daemon]:
    d = Daemon(config)
    poll(lambda: (config.parent / "feeds" / "oil.atom").exists(), what="the first publish")
    yield d
    d.kill()


def test_valid_edit_applies_live_and_bad_edits_keep_the_last_good_config(
    config: Path, server: LoopbackServer, running: Daemon
) -> None:
    feeds = config.parent / "feeds"
    assert metric(running, "aggregator_config_last_reload_successful") == 1.0

    # A valid edit: a new source and a new topic, no restart.
    config.write_text(with_beta(config, server, topic=True), encoding="utf-8")
    poll(lambda: (feeds / "libya.atom").exists() and len(ids(feeds / "libya.atom")) == 2,
         what="the new topic with the new source's items")  # fmt: skip
    assert server.requests_for("/b.xml")

    # Bad TOML: reported with its line and column, the daemon carries on.
    config.write_text(with_beta(config, server) + "[topics.broken\n", encoding="utf-8")
    poll(lambda: "configuration not reloaded" in running.log(), what="the TOML error")
    assert re.search(r"config\.toml: invalid TOML: .*\(at line \d+, column \d+\)", running.log())
    state = status(running)["config"]
    assert state["stale"] is True and "invalid TOML" in state["error"]
    assert metric(running, "aggregator_config_last_reload_successful") == 0.0

    # Valid TOML, wrong meaning: reported with the key; the first error was not repeated.
    config.write_text(with_beta(config, server) + '[topics.x]\nsources = ["nope"]\n')
    poll(lambda: "topics.x.sources[0]" in running.log(), what="the semantic error")
    assert running.log().count("invalid TOML") == 1
    assert status(running)["config"]["stale"] is True
    # Still serving and fetching on the last good configuration.
    assert get(running.url + "libya.atom")[0] == 200

    # Fixed: applied, no longer stale; topic removal is republished from the archive.
    config.write_text(with_beta(config, server), encoding="utf-8")
    poll(lambda: running.log().count("configuration reloaded") == 2, what="the fix")
    state = status(running)["config"]
    assert state["stale"] is False and state["error"] is None
    assert metric(running, "aggregator_config_last_reload_successful") == 1.0
    assert [t["slug"] for t in status(running)["topics"]] == ["oil"]
    assert running.stop() == 0


def test_sighup_reloads_at_once(config: Path, server: LoopbackServer, running: Daemon) -> None:
    config.write_text(with_beta(config, server), encoding="utf-8")
    running.proc.send_signal(signal.SIGHUP)
    poll(lambda: "SIGHUP: reloading" in running.log(), what="the SIGHUP")
    poll(lambda: server.requests_for("/b.xml"), what="the new source fetched")
    assert "added: beta" in running.log()
    # A reload that finds a broken file says so, every time it is asked.
    config.write_text(with_beta(config, server) + "[topics.broken\n", encoding="utf-8")
    for n in (1, 2):
        running.proc.send_signal(signal.SIGHUP)
        poll(lambda n=n: running.log().count("SIGHUP: not reloaded") == n,  # type: ignore[misc]
             what=f"SIGHUP {n}'s outcome")  # fmt: skip
    assert running.stop() == 0


def configmap(site: Path, version: str, text: str) -> None:
    """Publish `text` as a Kubernetes ConfigMap volume does: config.toml ->
    ..data/config.toml, ..data -> the version's directory, swapped atomically."""
    (site / version).mkdir(parents=True)
    (site / version / "config.toml").write_text(text, encoding="utf-8")
    (site / "..data_tmp").symlink_to(version)
    (site / "..data_tmp").replace(site / "..data")
    if not (site / "config.toml").is_symlink():
        (site / "config.toml").symlink_to("..data/config.toml")


def test_a_re_pointed_symlinked_config_is_reloaded(tmp_path: Path, server: LoopbackServer) -> None:
    alpha_feed(server)
    beta_feed(server)
    site = tmp_path / "site"
    configmap(site, "..v1", BASE.format(alpha=server.url("/a.xml")))
    d = Daemon(site / "config.toml")
    try:
        # Relative paths are anchored next to the link, not in ..v1 (which goes away).
        poll(lambda: (site / "feeds" / "oil.atom").exists(), what="the first publish")
        configmap(site, "..v2", with_beta(site / "config.toml", server))
        shutil.rmtree(site / "..v1")
        poll(lambda: "added: beta" in d.log(), what="the new version loaded")
        poll(lambda: server.requests_for("/b.xml"), what="the new source fetched")
        assert "cannot read" not in d.log() and status(d)["config"]["stale"] is False
        assert (site / "aggregator.sqlite").exists()
        assert d.stop() == 0
    finally:
        d.kill()


def test_every_setting_at_its_ceiling_runs(tmp_path: Path, server: LoopbackServer) -> None:
    """The longest durations and largest numbers config.py accepts fetch, store,
    publish and serve."""
    alpha_feed(server)
    longest = 'interval = "3650d"\nretention_max_age = "3650d"\nretention_max_count = 10000000\n'
    longest += "per_host_limit = 1024\n"
    text = (
        BASE.format(alpha=server.url("/a.xml")).replace(
            'tick = "1s"\n',
            longest + 'tick = "1d"\ntimeout = "1h"\nper_host_delay = "1h"\nparse_timeout = "1h"\n'
            'cluster_window = "3650d"\ncluster_threshold = 1\nmax_body_size = 1073741824\n'
            "max_concurrency = 1024\nparse_max_memory = 1099511627776\n",
        )
        + 'max_age = "3650d"\nmax_items = 10000\narchive_page_size = 10000\n'
    )
    text = text.replace('title = "Alpha"\n', 'title = "Alpha"\n' + longest)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    d = Daemon(tmp_path / "config.toml")
    try:
        poll(lambda: "cycle done" in d.log(), what="the first cycle")
        (alpha,) = status(d)["sources"]
        assert alpha["state"] == "ok" and alpha["next_fetch"] > str(NOW.year + 9)
        assert len(ids(tmp_path / "feeds" / "oil.atom")) == 1
        assert "Traceback" not in d.log()
        assert d.stop() == 0
    finally:
        d.kill()


def test_status_and_metrics_endpoints(config: Path, running: Daemon) -> None:
    poll(lambda: status(running)["last_cycle"], what="a recorded cycle")
    report = status(running)
    (alpha,) = report["sources"]
    assert alpha["id"] == "alpha" and alpha["state"] == "ok" and alpha["last_status"] == 200
    assert alpha["total_entries"] == 1 and alpha["next_fetch"] > report["now"]
    (oil,) = report["topics"]
    assert oil["slug"] == "oil" and oil["items"] == 1 and oil["last_publish"] is not None
    cycle = report["last_cycle"]
    assert cycle["sources_fetched"] == 1 and cycle["new_entries"] == 1

    code, headers, body = get(running.url + "metrics")
    assert code == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert 'aggregator_fetches_total{outcome="new"} 1.0' in text
    assert "aggregator_fetch_duration_seconds_count 1.0" in text
    assert 'aggregator_entries_total{kind="new"} 1.0' in text
    assert 'aggregator_topic_items{topic="oil"} 1.0' in text
    assert "aggregator_cycle_duration_seconds_count" in text
    assert "aggregator_parse_failures_total 0.0" in text
    stamp = metric(running, "aggregator_config_last_reload_success_timestamp_seconds")
    assert stamp is not None and abs(stamp - time.time()) < 120
    assert running.stop() == 0


def test_a_second_daemon_on_the_same_database_or_output_refuses(
    config: Path, tmp_path: Path, running: Daemon
) -> None:
    second = Daemon(config, wait=False)
    assert second.wait() == 3  # its own status: a supervisor does not restart into it
    assert "another aggregator daemon (pid " in second.log()
    assert "aggregator.sqlite.lock" in second.log()

    # Its own database, the same output directory: refused too.
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.toml").write_text(
        f'[aggregator]\noutput_dir = "{tmp_path / "feeds"}"\n', encoding="utf-8"
    )
    third = Daemon(other / "config.toml", wait=False)
    assert third.wait() == 3 and ".aggregator.lock" in third.log()
    # The first one never noticed.
    assert get(running.url + "oil.atom")[0] == 200
    assert running.stop() == 0


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def beta_rows(db: Path) -> tuple[int, str | None]:
    conn = sqlite3.connect(db)
    try:
        entries = conn.execute("SELECT count(*) FROM entries WHERE source_id = 'beta'").fetchone()
        row = conn.execute("SELECT last_success FROM sources WHERE id = 'beta'").fetchone()
        return int(entries[0]), (row[0] if row else None)
    finally:
        conn.close()


@pytest.mark.parametrize("stage", STAGES)
def test_kill_9_at_any_stage_then_restart(config: Path, server: LoopbackServer, stage: str) -> None:
    feeds, db = config.parent / "feeds", config.parent / "aggregator.sqlite"
    first = Daemon(config)
    try:
        poll(lambda: (feeds / "oil.atom").exists(), what="the first publish")
        assert first.stop() == 0
    finally:
        first.kill()
    before = {name: (feeds / name).read_bytes() for name in ("oil.atom", "oil.rss")}

    # A new source makes the next cycle fetch, store and publish; it dies at `stage`.
    config.write_text(with_beta(config, server), encoding="utf-8")
    crashing = Daemon(config, env={ENV: stage})
    assert crashing.wait() == -signal.SIGKILL
    assert integrity(db) == "ok"
    stored, success = beta_rows(db)
    # All of beta's fetch or none of it: entries and source state move together.
    assert (stored, success is not None) in {(0, False), (2, True)}
    if stage in ("after-fetch", "mid-store"):
        assert stored == 0
    for name, old in before.items():
        now = (feeds / name).read_bytes()
        assert now == old or ids(feeds / name)  # the old file, or a whole new one
    if stage == "mid-publish":
        assert list(feeds.glob(".*.aggregator-tmp"))  # what the crash left

    again = Daemon(config)
    try:
        poll(lambda: "cycle done" in again.log() and len(ids(feeds / "oil.atom")) == 2,
             what="the restart to publish beta")  # fmt: skip
        assert integrity(db) == "ok"
        assert beta_rows(db)[0] == 2
        published = ids(feeds / "oil.atom")
        assert len(set(published)) == len(published)  # nothing announced twice
        assert not list(feeds.glob(".*.aggregator-tmp"))
        assert again.stop() == 0
    finally:
        again.kill()


def test_disk_full_on_publish_keeps_the_old_feeds_and_retries(
    config: Path, server: LoopbackServer
) -> None:
    feeds = config.parent / "feeds"
    beta_feed(server, summary="<b>oil</b> " * 5_000)  # ~116 kB in each feed
    # Beta's big item is stored, but left out of the topic at first.
    base = with_beta(config, server)
    config.write_text(base.replace('any = ["oil"]', 'any = ["oil"]\nnone = ["field"]'))
    d = Daemon(config)
    try:
        poll(lambda: "cycle done" in d.log() and (feeds / "oil.atom").exists(),
             what="the first publish")  # fmt: skip
        old = (feeds / "oil.atom").read_bytes()
        # From now on no file may grow past 100 kB: writing more fails with EFBIG,
        # as a full disk fails with ENOSPC (Python ignores SIGXFSZ).
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        config.write_text(base, encoding="utf-8")  # the big item joins the topic
        poll(lambda: "publish failed, the previous feeds stay served" in d.log(), what="EFBIG")
        assert "File too large" in d.log()
        code, _, body = get(d.url + "oil.atom")
        assert code == 200 and body == old  # the last good feed, whole
        assert not list(feeds.glob(".*.aggregator-tmp"))
        # Retried every tick, quietly, with no busy loop.
        poll(lambda: d.log().count("publish failed") >= 3, what="retries")
        failures = metric(d, "aggregator_publish_failures_total")
        assert failures is not None and 3 <= failures <= 10
        assert d.log().count(" ERROR ") == 1
        # Space again (the limit lifted): the next tick publishes.
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        poll(lambda: "publishing works again" in d.log(), what="the recovery")
        assert len(ids(feeds / "oil.atom")) == 2
        assert d.stop() == 0
    finally:
        d.kill()


def test_a_database_that_cannot_commit_backs_the_cycles_off(
    config: Path, server: LoopbackServer
) -> None:
    beta_feed(server)
    d = Daemon(config)
    try:
        poll(lambda: "cycle done" in d.log(), what="the first cycle")
        # No file may grow any more: the database's commits fail (EFBIG, as a full
        # disk fails with ENOSPC), so nothing a fetch brings is recorded.
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        config.write_text(with_beta(config, server), encoding="utf-8")  # beta: due at once
        poll(lambda: (status(d).get("cycle_error") or {}).get("failures_in_a_row", 0) >= 3,
             what="three failed cycles")  # fmt: skip
        error = status(d)["cycle_error"]
        assert "next try in" in d.log() and error["next_try"] >= error["since"]
        # Backing off: beta was not fetched again at every 1 s tick.
        failures = metric(d, "aggregator_cycle_failures_total")
        assert failures is not None and failures >= 3
        assert len(server.requests_for("/b.xml")) <= failures + 1
        assert d.log().count(" ERROR ") == 1  # said loudly once
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        poll(lambda: status(d)["cycle_error"] is None, what="the recovery", timeout=60)
        assert any(s["id"] == "beta" and s["total_entries"] == 2 for s in status(d)["sources"])
        assert d.stop() == 0
    finally:
        d.kill()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_output_directory(config: Path, server: LoopbackServer) -> None:
    feeds = config.parent / "feeds"
    d = Daemon(config)
    try:
        poll(lambda: (feeds / "oil.atom").exists(), what="the first publish")
        feeds.chmod(0o555)
        config.write_text(with_beta(config, server), encoding="utf-8")
        poll(lambda: "publish failed" in d.log(), what="the write error")
        assert "Permission denied" in d.log()
        assert get(d.url + "oil.atom")[0] == 200
        feeds.chmod(0o755)
        poll(lambda: "publishing works again" in d.log(), what="the recovery")
        assert d.stop() == 0
    finally:
        feeds.chmod(0o755)
        d.kill()


def test_sigterm_mid_cycle_finishes_or_rolls_back(config: Path, server: LoopbackServer) -> None:
    feeds, db = config.parent / "feeds", config.parent / "aggregator.sqlite"
    d = Daemon(config)
    try:
        poll(lambda: (feeds / "oil.atom").exists(), what="the first publish")
        server.route("/b.xml", b"", delay=30.0)  # a server that never answers in time
        config.write_text(with_beta(config, server), encoding="utf-8")
        poll(lambda: server.requests_for("/b.xml"), what="the slow fetch to start")
        started = time.monotonic()
        assert d.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 10
        assert "cancelled the cycle under way" in d.log()
    finally:
        d.kill()
    assert integrity(db) == "ok"
    assert beta_rows(db) == (0, None)  # rolled back: not half a source
