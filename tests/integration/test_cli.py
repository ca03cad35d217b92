"""The real command line, run as `python -m aggregator` against loopback sources."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from tests.e2e.daemon import poll
from tests.feeds import Item, rss
from tests.loopback import LoopbackServer

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)


def aggregator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def install(tmp_path: Path, server: LoopbackServer) -> Path:
    server.route(
        "/a.xml",
        rss("Alpha", "https://alpha.example/", [
            Item("1", "OPEC+ agrees output cut", "https://alpha.example/1", NOW - HOUR),
            Item("2", "Cooking oil prices", "https://alpha.example/2", NOW - 2 * HOUR),
        ]),
        etag='"x"',
    )  # fmt: skip
    server.route("/gone", b"", status=410)
    config = tmp_path / "config.toml"
    config.write_text(
        # The sources are on loopback, one host: allowed, and no spacing to wait out.
        "[aggregator]\nallow_private_addresses = true\nper_host_delay = 0\n"
        f'[sources.alpha]\nurl = "{server.url("/a.xml")}"\ntitle = "Alpha"\n'
        f'[sources.gone]\nurl = "{server.url("/gone")}"\n'
        '[sources.off]\nurl = "https://off.example/feed"\nenabled = false\n'
        '[topics.oil]\ntitle = "Oil"\nany = ["oil", "OPEC"]\nnone = ["cooking oil"]\n',
        encoding="utf-8",
    )
    return config


def test_check_accepts_a_good_config(tmp_path: Path, server: LoopbackServer) -> None:
    install(tmp_path, server)
    done = aggregator("check", cwd=tmp_path)  # default: config.toml in the working directory
    assert done.returncode == 0, done.stderr
    assert "OK: 3 sources (2 enabled), 1 topics" in done.stdout


def test_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[aggregator]\nport = "eighty"\n[sources.a]\nurl = "gopher://x"\n'
        '[topics.t]\nsources = ["nope"]\n',
        encoding="utf-8",
    )
    done = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"error: {config}: ") for line in lines)
    assert "aggregator.port" in lines[0] and "sources.a.url" in lines[1]
    assert "topics.t.sources[0]" in lines[2]


def test_update_then_status_then_publish(tmp_path: Path, server: LoopbackServer) -> None:
    config = install(tmp_path, server)
    done = aggregator("update", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "alpha: new (2 new, 0 updated)" in done.stdout
    assert "gone: gone" in done.stderr
    assert "2 sources fetched, 1 failed" in done.stdout
    doc = feedparser.parse((tmp_path / "feeds" / "oil.atom").read_bytes())
    assert [e.title for e in doc.entries] == ["OPEC+ agrees output cut"]

    status = aggregator("status", "--config", str(config), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines() if line}
    assert rows["SOURCE"][:4] == ["SOURCE", "STATE", "SINCE", "LAST"]
    assert rows["alpha"][1] == "ok" and "200" in rows["alpha"]
    # 410 retires the source: no next attempt, and the operator is told what to do.
    assert rows["gone"][1] == "retired" and "410" in rows["gone"] and rows["gone"][-1] == "-"
    assert rows["off"][1] == "disabled"
    assert rows["oil"][:2] == ["oil", "1"]  # the topic, with its item count
    assert "gone: retired (gone: HTTP 410 Gone); its stored articles are kept" in status.stdout

    # Nothing is due now: a second update fetches nothing; --all fetches again (304).
    again = aggregator("update", "--config", str(config), cwd=tmp_path)
    assert "0 sources fetched" in again.stdout
    forced = aggregator("update", "--all", "--config", str(config), cwd=tmp_path)
    assert "alpha: not-modified" in forced.stdout
    assert "1 sources fetched" in forced.stdout  # not the retired one
    assert len(server.requests_for("/gone")) == 1

    # Editing a topic re-curates the stored archive without fetching.
    requests = len(server.requests)
    text = config.read_text(encoding="utf-8").replace('none = ["cooking oil"]', "")
    config.write_text(text, encoding="utf-8")
    published = aggregator("publish", "--config", str(config), cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    assert len(server.requests) == requests
    doc = feedparser.parse((tmp_path / "feeds" / "oil.atom").read_bytes())
    assert [e.title for e in doc.entries] == ["OPEC+ agrees output cut", "Cooking oil prices"]


def test_update_publishes_a_story_min_age_held_back_once_it_is_old_enough(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = install(tmp_path, server)
    # Dated ahead: the story is dated when it is first seen, so the hold-back is
    # exactly min_age from the fetch, however slow the machine.
    fresh = Item("3", "Oil tanker leaves port", "https://alpha.example/3", NOW + HOUR)
    server.route("/a.xml", rss("Alpha", "https://alpha.example/", [fresh]), etag='"y"')
    text = config.read_text(encoding="utf-8").replace("none = [", 'min_age = "2s"\nnone = [')
    config.write_text(text, encoding="utf-8")
    oil = tmp_path / "feeds" / "oil.atom"

    def titles() -> list[str]:
        return [e.title for e in feedparser.parse(oil.read_bytes()).entries]

    done = aggregator("update", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert titles() == []

    def quiet_update() -> bool:
        # No source is due: nothing is fetched, only time passes.
        again = aggregator("update", "--config", str(config), cwd=tmp_path)
        assert "0 sources fetched" in again.stdout, again.stderr
        return titles() == ["Oil tanker leaves port"]

    poll(quiet_update, what="the held-back story")
    assert len(server.requests_for("/a.xml")) == 1


def test_update_rejects_unknown_source_names(tmp_path: Path, server: LoopbackServer) -> None:
    config = install(tmp_path, server)
    done = aggregator("update", "--config", str(config), "nosuch", cwd=tmp_path)
    assert done.returncode == 2 and "no such source" in done.stderr


def test_run_refuses_a_config_whose_examples_fail_as_check_does(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = install(tmp_path, server)
    config.write_text(
        config.read_text(encoding="utf-8")
        + '[[topics.oil.examples]]\ntitle = "Cats are great"\nmatch = true\n',
        encoding="utf-8",
    )
    done = aggregator("run", "--port", "0", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2 and "Cats are great" in done.stderr
    assert not (tmp_path / "aggregator.sqlite").exists()  # refused before anything started


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in ("run", "update", "publish", "check", "status"):
        done = aggregator(command, "--help", cwd=tmp_path)
        assert done.returncode == 0 and "--config" in done.stdout, command


def test_explain_shows_the_story_its_members_and_why(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = install(tmp_path, server)
    server.route("/b.xml", rss("Beta", "https://beta.example/", [
        Item("b-1", "OPEC+ cut agreed", "https://www.alpha.example/1/?utm_source=beta", NOW - HOUR),
    ]))  # fmt: skip
    with config.open("a", encoding="utf-8") as f:
        f.write(f'[sources.beta]\nurl = "{server.url("/b.xml")}"\ntitle = "Beta"\n')
    assert aggregator("update", "alpha", cwd=tmp_path).returncode == 0
    assert aggregator("update", "beta", cwd=tmp_path).returncode == 0
    done = aggregator("explain", "https://www.alpha.example/1/?utm_source=beta", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("== Entry ==\ntitle: OPEC+ agrees output cut")  # the story's first
    story = out[out.index("== Story ==") :]
    assert "story #2: published as urn:uuid:" in story
    assert "   #2 Alpha (alpha): OPEC+ agrees output cut" in story
    assert "first seen: the story is published under its id" in story
    assert " * #3 Beta (beta): OPEC+ cut agreed" in story  # the entry asked about
    assert "same article URL as #2" in story
    by_id = aggregator("explain", "2", cwd=tmp_path)
    assert by_id.returncode == 0 and " * #2 Alpha (alpha)" in by_id.stdout
    missing = aggregator("explain", "https://nowhere.example/", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no stored entry has the id, link or published id" in missing.stderr
