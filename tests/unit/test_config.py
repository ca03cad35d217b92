from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator import config
from aggregator.errors import ConfigError

GOOD = """
[aggregator]
port = 9000
interval = "15m"

[sources.alpha]
url = "https://alpha.example/feed"
tags = ["libya"]

[sources.beta]
url = "https://beta.example/rss.xml"
title = "Beta News"
interval = 3600
enabled = false

[topics.libya]
title = "Libya"
any = ["Libya", "Tripoli"]
tags = ["libya"]
max_age = "7d"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads_with_defaults_and_resolved_paths(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    s = cfg.settings
    assert s.database == tmp_path / "aggregator.sqlite"
    assert s.output_dir == tmp_path / "feeds"
    assert s.port == 9000
    assert s.base_url == "http://127.0.0.1:9000/"
    assert s.interval == timedelta(minutes=15)
    assert cfg.sources["beta"].title == "Beta News"
    assert cfg.sources["beta"].enabled is False
    assert cfg.source_interval(cfg.sources["alpha"]) == timedelta(minutes=15)
    assert cfg.source_interval(cfg.sources["beta"]) == timedelta(hours=1)
    topic = cfg.topics["libya"]
    assert topic.any == ("Libya", "Tripoli")
    assert topic.max_age == timedelta(days=7)
    assert topic.max_items == 50


def test_relative_paths_follow_the_config_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = config.load(write(tmp_path, '[aggregator]\ndatabase = "data/db.sqlite"\n'))
    assert cfg.settings.database == tmp_path / "data" / "db.sqlite"


def test_a_symlinked_config_is_named_and_anchored_where_the_link_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GNU stow, NixOS and Kubernetes ConfigMaps link config.toml to a file elsewhere
    and re-point the link on an update: the target's directory may vanish."""
    target = tmp_path / "store" / "abc123-config.toml"
    target.parent.mkdir()
    target.write_text('[aggregator]\ndatabase = "data/db.sqlite"\n', encoding="utf-8")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "config.toml").symlink_to(target)
    monkeypatch.chdir(tmp_path)
    cfg = config.load(Path("etc/config.toml"))
    assert cfg.path == tmp_path / "etc" / "config.toml"  # absolute, not resolved
    assert cfg.settings.database == tmp_path / "etc" / "data" / "db.sqlite"
    assert cfg.settings.output_dir == tmp_path / "etc" / "feeds"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[aggregator]\nprot = 1\n", "aggregator.prot: unknown key"),
        ("[aggregator]\nport = 'x'\n", "aggregator.port: expected int, got a string"),
        ("[aggregator]\nport = true\n", "aggregator.port: expected int, got a boolean"),
        ("[aggregator]\nport = 70000\n", "aggregator.port: expected a port"),
        (
            "[aggregator]\ninterval = 'soon'\n",
            "aggregator.interval: expected seconds or a duration",
        ),
        ("[aggregator]\ninterval = 5\n", "aggregator.interval: must be at least 60 seconds"),
        ("[aggregator]\nbase_url = 'feeds.example'\n", "aggregator.base_url: expected an absolute"),
        ("[aggregator]\nuser_agent = ''\n", "aggregator.user_agent: expected a single"),
        ("[aggregator]\nmax_concurrency = 0\n", "aggregator.max_concurrency: expected an integer"),
        ("[aggregator]\nper_host_limit = 0\n", "aggregator.per_host_limit: expected an integer"),
        ("[aggregator]\nper_host_delay = 'often'\n", "aggregator.per_host_delay: expected"),
        ("[aggregator]\nallow_private_addresses = 1\n", "aggregator.allow_private_addresses"),
        ("[aggregator]\nparse_timeout = 0\n", "aggregator.parse_timeout: must be at least 1"),
        ("[aggregator]\nparse_max_memory = 1000\n", "aggregator.parse_max_memory: must be at"),
        (
            "[sources.a]\nurl = 'https://x.example/'\nper_host_limit = 0\n",
            "sources.a.per_host_limit: expected an integer",
        ),
        (
            "[sources.a]\nurl = 'https://x.example/'\nallow_private_addresses = 'yes'\n",
            "sources.a.allow_private_addresses: expected bool",
        ),
        ("[sources.a]\ntitle = 'x'\n", "sources.a.url: missing"),
        ("[sources.a]\nurl = 'ftp://x.example/f'\n", "sources.a.url: expected an absolute http"),
        ("[sources.a]\nurl = 'https://x.example:abc/'\n", "sources.a.url: expected an absolute"),
        (
            "[sources.a]\nurl = 'https://exa mple.org/feed'\n",
            "sources.a.url: expected an absolute http:// or https:// URL, got "
            "'https://exa mple.org/feed' (the host 'exa mple.org' is not a valid host name)",
        ),
        ("[sources.a]\nurl = 'https://a..b/'\n", "sources.a.url: expected an absolute"),
        ("[sources.a]\nurl = 'https://a%20b/'\n", "sources.a.url: expected an absolute"),
        ("[sources.a]\nurl = 'https://-a.example/'\n", "sources.a.url: expected an absolute"),
        ("[sources.a]\nurl = 'http://1.2.3/'\n", "not a valid IPv4 address"),
        ("[sources.a]\nurl = 'http://300.1.1.1/'\n", "not a valid IPv4 address"),
        ("[sources.a]\nurl = 'https://x.exa\tmple/'\n", "holds a control character"),
        ("[aggregator]\nhub = 'https://h ub.example/'\n", "aggregator.hub: expected an absolute"),
        ("[aggregator]\nhost = ''\n", "aggregator.host: expected an address or host name"),
        ("[aggregator]\nhost = '[::1]'\n", "aggregator.host: expected an address or host name"),
        ("[sources.a]\nurl = 'https://x.example/'\ncolour = 1\n", "sources.a.colour: unknown key"),
        ("[sources.a]\nurl = 'https://x.example/'\ntags = 'x'\n", "sources.a.tags: expected list"),
        ("[sources.a]\nurl = 'https://x.example/'\ntags = ['']\n", "sources.a.tags[0]"),
        ("[sources.a]\nurl = 'https://x.example/'\nenabled = 'yes'\n", "sources.a.enabled"),
        ("[sources.'a b']\nurl = 'https://x.example/'\n", "sources.a b: source ids are"),
        ("sources = 3\n", "sources: expected a table, got int"),
        (
            "[topics.t]\nany = ['x']\nsources = ['ghost']\n",
            "topics.t.sources[0]: no source 'ghost'",
        ),
        ("[topics.t]\nany = ['x']\ntags = ['ghost']\n", "topics.t.tags[0]: no source has the tag"),
        ("[topics.T]\nany = ['x']\n", "topics.T: topic slugs are"),
        ("[topics.index]\nany = ['x']\n", "topics.index: 'index' is reserved"),
        ("[topics.t]\nmax_items = 0\n", "topics.t.max_items: expected an integer from 1"),
        ("[topics.t]\nquerry = 'x'\n", "topics.t.querry: unknown key"),
        ("[topics.t]\nquery = 'oil AND'\n", "topics.t.query: column 8: expected a term"),
        ("[topics.t]\nexclude = ['(a', 'ok']\n", 'topics.t.exclude[0]: column 3: expected ")"'),
        ("[topics.t]\nany = ['+']\n", "topics.t.any[0]: expected letters or digits"),
        # Items keep their own index whatever came before them; positions are in
        # the value as written (leading spaces and lines count).
        ("[topics.t]\nexclude = [5, '', '(palm']\n", "topics.t.exclude[2]: column 6: expected"),
        ("[topics.t]\ndemote = ['', 'a)']\nmin_score = 1\nquery = 'a'\n", "demote[1]: column 2"),
        ("[topics.t]\nnone = ['', 'ok', '***']\n", "topics.t.none[2]: expected letters"),
        ("[topics.t]\nany = [1, 'x']\nsources = ['', 'ghost']\n", "topics.t.sources[1]: no source"),
        ("[topics.t]\nany = ['x']\ntags = [1, 'ghost']\n", "topics.t.tags[1]: no source has"),
        ("[topics.t]\nformats = ['', 'pdf']\n", "topics.t.formats[1]: expected one of"),
        ("[topics.t]\nquery = '   oil)'\n", "topics.t.query: column 7: expected AND, OR"),
        ("[topics.t]\nquery = 'NOT palm'\nmin_score = 1\n", "topics.t.min_score: the query has"),
        (
            '[topics.t]\nquery = """\n    oil OR\n    (OPEC OR Brent\n    """\n',
            'topics.t.query: line 3, column 5: expected ")" to close the "(" at line 2, column 5',
        ),
        ("[topics.t]\nmin_age = 'soon'\n", "topics.t.min_age: expected seconds"),
        ("[topics.t]\nexplain_matches = 1\n", "topics.t.explain_matches: expected bool"),
        ("[[topics.t.examples]]\ntext = 'x'\n", "topics.t.examples[0].title: missing"),
        ("[[topics.t.examples]]\ntitle = 'x'\nmatch = 'yes'\n", "examples[0].match: expected bool"),
        ("[topics.t]\nexamples = ['x']\n", "topics.t.examples[0]: expected a table"),
        ("[topics.t]\nany = 'oil'\n", "topics.t.any: expected list"),
        ("[unknown]\n", "unknown: unknown key"),
        ("[sources\n", "invalid TOML"),
    ],
)
def test_every_problem_names_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert all(p.startswith(str(path)) for p in info.value.problems)


def test_duplicate_urls_and_case_insensitive_ids_are_rejected(tmp_path: Path) -> None:
    text = (
        "[sources.News]\nurl = 'https://x.example/feed'\n"
        "[sources.news]\nurl = 'https://x.example/feed'\n"
    )
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text))
    problems = "\n".join(info.value.problems)
    assert "sources.news: duplicate of sources.News" in problems
    assert "sources.news.url: same URL as sources.News" in problems


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = "[aggregator]\nport = 'x'\n[sources.a]\nurl = 'nope'\n[topics.t]\nsources = ['zz']\n"
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text))
    assert len(info.value.problems) == 3


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "absent.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"[sources.a]\ntitle = '\xe9'\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(line 2, column 10\)"):
        config.load(bad)
    # Columns count characters, after a byte order mark.
    bad.write_bytes("\ufeff# Zürich\ntitle = 'é".encode() + b"\xe9'\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(line 2, column 11\)"):
        config.load(bad)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(GOOD.encode("utf-8-sig"))  # as Notepad saves "UTF-8 with BOM"
    assert config.load(path).topics["libya"].title == "Libya"


def test_empty_config_is_valid_and_inert(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, ""))
    assert not cfg.sources and not cfg.topics


def test_listen_address_override_moves_links_unless_base_url_is_set(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[aggregator]\nport = 9000\n"))
    moved = config.with_listen_address(cfg, "0.0.0.0", 9100)
    assert (moved.settings.host, moved.settings.port) == ("0.0.0.0", 9100)
    assert moved.settings.base_url == "http://127.0.0.1:9100/"
    v6 = config.with_listen_address(cfg, "::1", 9100)
    assert v6.settings.base_url == "http://[::1]:9100/"
    pinned = config.load(write(tmp_path, '[aggregator]\nbase_url = "https://news.example/feeds"\n'))
    assert pinned.settings.base_url == "https://news.example/feeds/"
    kept = config.with_listen_address(pinned, "127.0.0.1", 9100)
    assert kept.settings.base_url == "https://news.example/feeds/"


def test_publishing_and_retention_keys(tmp_path: Path) -> None:
    cfg = config.load(
        write(
            tmp_path,
            """
[aggregator]
hub = "https://hub.example/"
retention_max_age = "none"
retention_max_count = 500

[sources.a]
url = "https://a.example/feed"
retention_max_age = "30d"
retention_max_count = 20

[sources.b]
url = "https://b.example/feed"

[topics.t]
formats = ["json", "atom"]
hub = "https://other-hub.example/"
max_items = 10
archive_page_size = 40

[topics.u]
""",
        )
    )
    t, u = cfg.topics["t"], cfg.topics["u"]
    assert t.formats == ("atom", "json")  # canonical order
    assert u.formats == ("atom", "rss", "json")
    assert t.archive_page_size == 10  # never more than the current document holds
    assert u.archive_page_size == 25
    assert cfg.topic_hub(t) == "https://other-hub.example/"
    assert cfg.topic_hub(u) == "https://hub.example/"
    assert cfg.retention(cfg.sources["a"]) == (timedelta(days=30), 20)
    assert cfg.retention(cfg.sources["b"]) == (None, 500)


def test_bad_publishing_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(
            write(
                tmp_path,
                """
[aggregator]
hub = "ftp://hub.example/"
retention_max_count = 0

[topics.t]
formats = ["atom", "html"]
""",
            )
        )
    text = str(info.value)
    assert "aggregator.hub" in text
    assert "aggregator.retention_max_count" in text
    assert "topics.t.formats[1]" in text and "'html'" in text


def test_politeness_and_safety_defaults_and_overrides(tmp_path: Path) -> None:
    text = (
        "[sources.a]\nurl = 'https://a.example/'\n"
        "[sources.b]\nurl = 'http://10.0.0.5/feed'\nper_host_limit = 1\n"
        "allow_private_addresses = true\n"
    )
    cfg = config.load(write(tmp_path, text))
    s = cfg.settings
    assert (s.per_host_limit, s.per_host_delay, s.allow_private_addresses) == (
        2, timedelta(seconds=1), False,
    )  # fmt: skip
    assert (s.parse_timeout, s.parse_max_memory) == (timedelta(seconds=30), 1 << 30)
    a, b = cfg.sources["a"], cfg.sources["b"]
    assert (a.per_host_limit, cfg.allows_private(a)) == (None, False)
    assert (b.per_host_limit, cfg.allows_private(b)) == (1, True)
    zero = config.load(write(tmp_path, "[aggregator]\nper_host_delay = 0\n"))
    assert zero.settings.per_host_delay == timedelta(0)  # zero is a value, not "unset"


def test_story_clustering_keys(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.settings.cluster_threshold == 0.6
    assert cfg.settings.cluster_window == timedelta(days=3)
    assert cfg.topics["libya"].cluster is True
    text = GOOD.replace('interval = "15m"', 'cluster_threshold = 0.75\ncluster_window = "2d"')
    text += "cluster = false\n"
    cfg = config.load(write(tmp_path, text))
    assert cfg.settings.cluster_threshold == 0.75
    assert cfg.settings.cluster_window == timedelta(days=2)
    assert cfg.topics["libya"].cluster is False


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cluster_threshold = 0", "aggregator.cluster_threshold: expected a number above 0"),
        ("cluster_threshold = 1.5", "aggregator.cluster_threshold: expected a number above 0"),
        ('cluster_threshold = "high"', "aggregator.cluster_threshold: expected a number"),
        ('cluster_window = "10m"', "aggregator.cluster_window: must be at least 3600 seconds"),
    ],
)
def test_bad_clustering_keys_are_named(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, GOOD.replace('interval = "15m"', line)))
    assert any(message in p for p in err.value.problems), err.value.problems


def test_a_topic_cluster_flag_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, GOOD + 'cluster = "no"\n'))
    assert any("topics.libya.cluster: expected bool" in p for p in err.value.problems)


DAY, YEARS_10 = 86400, 3650 * 86400
# Every duration key and its ceiling in seconds: ten years, less where a long wait
# does harm (a tick of a year never fetches; a timeout holds a fetch slot).
DURATION_LIMITS = {
    "aggregator": {"interval": YEARS_10, "tick": DAY, "timeout": 3600, "per_host_delay": 3600,
                   "parse_timeout": 3600, "retention_max_age": YEARS_10,
                   "cluster_window": YEARS_10},
    "sources.a": {"interval": YEARS_10, "retention_max_age": YEARS_10},
    "topics.t": {"max_age": YEARS_10, "min_age": YEARS_10},
}  # fmt: skip


def durations(over: int) -> str:
    text = ""
    for table, limits in DURATION_LIMITS.items():
        text += f"[{table}]\n" + ("url = 'https://a.example/'\n" if table == "sources.a" else "")
        text += "".join(f"{key} = {limit + over}\n" for key, limit in limits.items())
    return text


def test_every_duration_has_a_ceiling(tmp_path: Path) -> None:
    at_limit = config.load(write(tmp_path, durations(0)))
    assert at_limit.settings.tick == timedelta(days=1)
    assert at_limit.topics["t"].max_age == timedelta(days=3650)
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, durations(1)))
    named = [p.split(": ")[1] for p in info.value.problems]
    every = [f"{table}.{key}" for table, limits in DURATION_LIMITS.items() for key in limits]
    assert sorted(named) == sorted(every)
    assert "tick: must be at most 86400 seconds (1d), got 86401" in info.value.problems[1]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("99999999999999999", "99999999999999999"),  # timedelta() overflowed in `check`
        ('"5000000d"', "'5000000d'"),  # valid timedelta; `now + interval` overflowed
        ('"99999999999999999999w"', "'99999999999999999999w'"),
    ],
)
def test_an_enormous_duration_is_a_config_error_not_a_crash(
    tmp_path: Path, value: str, shown: str
) -> None:
    text = f"[aggregator]\ninterval = {value}\n[topics.t]\nmax_age = {value}\n"
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text))
    assert [p.split(": ", 1)[1] for p in info.value.problems] == [
        f"{key}: must be at most 315360000 seconds (3650d), got {shown}"
        for key in ("aggregator.interval", "topics.t.max_age")
    ]
