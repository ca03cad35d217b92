"""config.toml -> frozen, validated dataclasses.

Every problem is collected (not just the first) and names the file and the key,
so `aggregator check` can print them all at once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator import __version__, query
from aggregator.errors import ConfigError

DEFAULT_USER_AGENT = (
    f"aggregator/{__version__} (self-hosted feed aggregator; +https://github.com/aggregator)"
)

_SOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_RESERVED_SLUGS = frozenset({"index"})  # a topic's page is <slug>.html
# A DNS label: letters, digits, '-' (not first or last), '_' (seen in the wild)
# or any non-ASCII character (an internationalised name, encoded when fetched).
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_\u0080-\U0010ffff-]{1,63}(?<!-)")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_TOPIC_KEYS = {
    "title", "description", "any", "all", "none", "sources", "tags", "max_items", "max_age",
    "query", "exclude", "min_age", "explain_matches", "examples",
    "formats", "hub", "archive_page_size",
    "cluster", "min_score", "demote",
}  # fmt: skip
_EXAMPLE_KEYS = {"title", "text", "match"}
# Published formats, in the order they are listed on the index page.
FORMATS = ("atom", "rss", "json")
DEFAULT_RETENTION_MAX_COUNT = 10_000
DEFAULT_RETENTION_MAX_AGE = timedelta(days=730)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The longest duration any key takes: ten years is past every sensible setting and
# far from datetime's limits (year 9999), which `now + interval` would overflow.
MAX_DURATION = timedelta(days=3650)
# Keys where a long value is a mistake that does harm: a tick of a year never
# fetches (and is the feeds' Cache-Control max-age); a timeout or per-host delay
# of days holds a fetch slot or a whole host for that long.
_MAX_TICK = timedelta(days=1)
_MAX_WAIT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Settings:
    database: Path
    output_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080/"  # ends with "/"
    base_url_set: bool = False  # False: base_url follows the listen address
    user_agent: str = DEFAULT_USER_AGENT
    interval: timedelta = timedelta(minutes=30)
    tick: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=30)
    max_body_size: int = 10 * 1024 * 1024
    max_concurrency: int = 16
    hub: str | None = None  # WebSub hub every topic announces, unless it names its own
    # Database retention per source; a source's own keys override these.
    retention_max_age: timedelta | None = DEFAULT_RETENTION_MAX_AGE
    retention_max_count: int = DEFAULT_RETENTION_MAX_COUNT
    per_host_limit: int = 2
    per_host_delay: timedelta = timedelta(seconds=1)
    allow_private_addresses: bool = False
    parse_timeout: timedelta = timedelta(seconds=30)
    parse_max_memory: int = 1024 * 1024 * 1024
    # Near-duplicate stories: least text similarity to join, and how far apart
    # (by date) a story's entries may be.
    cluster_threshold: float = 0.6
    cluster_window: timedelta = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    id: str
    url: str
    title: str | None = None
    interval: timedelta | None = None  # None: Settings.interval
    tags: tuple[str, ...] = ()
    enabled: bool = True
    retention_max_age: timedelta | None = None  # None: Settings.retention_max_age
    retention_max_count: int | None = None  # None: Settings.retention_max_count
    per_host_limit: int | None = None  # None: Settings.per_host_limit
    allow_private_addresses: bool | None = None  # None: Settings.allow_private_addresses


@dataclass(frozen=True, slots=True)
class TopicExample:
    """A labelled example: an article that must (or must not) match the topic."""

    title: str
    text: str = ""
    match: bool = True


@dataclass(frozen=True, slots=True)
class TopicConfig:
    slug: str
    title: str
    description: str = ""
    any: tuple[str, ...] = ()  # at least one of these must occur
    all: tuple[str, ...] = ()  # every one of these must occur
    none: tuple[str, ...] = ()  # none of these may occur
    sources: tuple[str, ...] = ()  # empty: every source
    tags: tuple[str, ...] = ()  # empty: no tag restriction
    max_items: int = 50
    max_age: timedelta | None = None
    query: str = ""  # the query language (aggregator/query); empty: no condition
    exclude: tuple[str, ...] = ()  # queries; an article matching any one is left out
    min_age: timedelta | None = None  # leave out articles first seen more recently
    explain_matches: bool = True  # publish the matched terms as categories
    examples: tuple[TopicExample, ...] = ()
    formats: tuple[str, ...] = FORMATS
    hub: str | None = None  # None: Settings.hub
    archive_page_size: int = 25  # items per RFC 5005 archive document
    cluster: bool = True  # False: entries joined by similarity only are published apart
    min_score: float | None = None  # None: matching the query is enough (query/score.py)
    demote: tuple[str, ...] = ()  # queries whose matched terms lower the score


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    settings: Settings
    sources: Mapping[str, SourceConfig]
    topics: Mapping[str, TopicConfig]

    def source_interval(self, source: SourceConfig) -> timedelta:
        return source.interval or self.settings.interval

    def topic_hub(self, topic: TopicConfig) -> str | None:
        return topic.hub or self.settings.hub

    def retention(self, source: SourceConfig) -> tuple[timedelta | None, int]:
        """(max age, max count) of stored entries kept for the source."""
        s = self.settings
        age = source.retention_max_age if source.retention_max_age else s.retention_max_age
        count = source.retention_max_count or s.retention_max_count
        return age, count

    def allows_private(self, source: SourceConfig) -> bool:
        if source.allow_private_addresses is not None:
            return source.allow_private_addresses
        return self.settings.allow_private_addresses


def as_given(path: Path) -> Path:
    """The config file's path, absolute but with symlinks kept: a link that is
    re-pointed (GNU stow, NixOS, a Kubernetes ConfigMap) is followed on every
    read, and relative paths in the file are resolved next to the link."""
    return path.absolute()


def load(path: Path) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    path = as_given(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    try:
        data = tomllib.loads(decode(raw))
    except UnicodeDecodeError as exc:
        line, column = _position(exc.object, exc.start)  # object: the text after any BOM
        raise ConfigError(
            [f"{path}: not UTF-8 text (line {line}, column {column}): save it as UTF-8"]
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from exc
    return parse(data, path)


def decode(raw: bytes) -> str:
    """The file's text; a byte order mark (Windows editors write one) is dropped."""
    return raw.decode("utf-8-sig")


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """Line and column (1-based, in characters) of a byte offset into UTF-8 text."""
    before = raw[:offset].decode("utf-8")  # valid: decoding failed only at `offset`
    line_start = before.rfind("\n") + 1
    return before.count("\n") + 1, len(before) - line_start + 1


def parse(data: Mapping[str, Any], path: Path) -> Config:
    """Validate already-decoded TOML; `path` anchors relative paths and messages."""
    v = _Validator(path)
    v.known_keys(data, "", {"aggregator", "sources", "topics"})
    settings = _settings(v, v.table(data, "aggregator"))
    sources = _sources(v, v.table(data, "sources"))
    topics = _topics(v, v.table(data, "topics"), sources)
    if v.problems:
        raise ConfigError(v.problems)
    return Config(path=path, settings=settings, sources=sources, topics=topics)


class _Validator:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: {key}: {message}")

    def known_keys(self, table: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                self.problem(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, f"expected a table, got {_kind(value)}")
            return {}
        return value

    def get(self, table: Mapping[str, Any], prefix: str, key: str, kind: type, default: Any) -> Any:
        if key not in table:
            return default
        value = table[key]
        # bool is an int in Python; a port of `true` is still wrong.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(f"{prefix}.{key}", f"expected {kind.__name__}, got {_kind(value)}")
            return default
        return value

    def string(self, table: Mapping[str, Any], prefix: str, key: str, default: str) -> str:
        value: str = self.get(table, prefix, key, str, default)
        return value

    def strings(self, table: Mapping[str, Any], prefix: str, key: str) -> tuple[str, ...]:
        return tuple(item.strip() for _, item in self.entries(table, prefix, key))

    def entries(self, table: Mapping[str, Any], prefix: str, key: str) -> list[tuple[int, str]]:
        """The list's non-empty strings as written, each with its index in the list
        (problems name an item by it, whatever came before it)."""
        value = self.get(table, prefix, key, list, [])
        out: list[tuple[int, str]] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.problem(f"{prefix}.{key}[{i}]", f"expected a non-empty string, got {item!r}")
            else:
                out.append((i, item))
        return out

    def positive_int(
        self, table: Mapping[str, Any], prefix: str, key: str, default: int, maximum: int
    ) -> int:
        value: int = self.get(table, prefix, key, int, default)
        if not 1 <= value <= maximum:
            self.problem(f"{prefix}.{key}", f"expected an integer from 1 to {maximum}, got {value}")
            return default
        return value

    def duration(
        self,
        table: Mapping[str, Any],
        prefix: str,
        key: str,
        minimum: timedelta,
        maximum: timedelta = MAX_DURATION,
    ) -> timedelta | None:
        if key not in table:
            return None
        value = table[key]
        seconds: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        elif isinstance(value, str) and (m := _DURATION.match(value)):
            seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        if seconds is None:
            self.problem(
                f"{prefix}.{key}",
                f'expected seconds or a duration like "90s", "30m", "2h", "7d", got {value!r}',
            )
            return None
        # Compared as seconds: timedelta() itself overflows past 999999999 days.
        if seconds < minimum.total_seconds():
            self.problem(f"{prefix}.{key}", f"must be at least {_human(minimum)}, got {value!r}")
            return None
        if seconds > maximum.total_seconds():
            self.problem(f"{prefix}.{key}", f"must be at most {_human(maximum)}, got {value!r}")
            return None
        return timedelta(seconds=seconds)

    def url(self, table: Mapping[str, Any], prefix: str, key: str) -> str | None:
        value = self.get(table, prefix, key, str, None)
        if value is None:
            return None
        if (reason := url_problem(value)) is not None:
            self.problem(
                f"{prefix}.{key}",
                f"expected an absolute http:// or https:// URL, got {value!r}{reason}",
            )
            return None
        return str(value)


def is_http_url(value: str) -> bool:
    return url_problem(value) is None


def url_problem(value: str) -> str | None:
    """None for an absolute http(s) URL; else what is wrong ("" when it is not one at all)."""
    if value != value.strip():
        return ""
    if any(unicodedata.category(c) == "Cc" for c in value):
        # urlsplit drops tabs and newlines silently: the URL fetched would differ.
        return " (it holds a control character)"
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a non-numeric port; checks an IPv6 literal too
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return _host_problem(parts.hostname)


def _host_problem(host: str) -> str | None:
    if ":" in host:  # an IPv6 literal, checked by urlsplit
        return None
    name = host.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f" (the host {host!r} is not a valid host name)"
    if labels[-1].isascii() and labels[-1].isdigit():
        # A numeric last label makes it an IPv4 address (WHATWG), and resolvers
        # read "1.2.3" or "0x7f.1" as one: only the dotted-quad form is taken.
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return f" (the host {host!r} is not a valid IPv4 address)"
    return None


def _settings(v: _Validator, t: Mapping[str, Any]) -> Settings:
    p = "aggregator"
    v.known_keys(
        t,
        p,
        {
            "database", "output_dir", "host", "port", "base_url", "user_agent", "interval",
            "tick", "timeout", "max_body_size", "max_concurrency", "hub",
            "retention_max_age", "retention_max_count", "per_host_limit",
            "per_host_delay", "allow_private_addresses", "parse_timeout", "parse_max_memory",
            "cluster_threshold", "cluster_window",
        },
    )  # fmt: skip
    base = v.path.parent
    host = v.string(t, p, "host", "127.0.0.1")
    if not host.strip() or any(c.isspace() or c in "/[]" for c in host):
        # "" would listen on every interface, IPv4 and IPv6 on different free ports.
        v.problem(f"{p}.host", f'expected an address or host name such as "0.0.0.0", got {host!r}')
        host = "127.0.0.1"
    port = v.get(t, p, "port", int, 8080)
    if not 0 <= port <= 65535:
        v.problem(f"{p}.port", f"expected a port from 0 to 65535, got {port}")
        port = 8080
    explicit = v.url(t, p, "base_url")
    base_url = explicit or listen_url(host, port)
    if not base_url.endswith("/"):
        base_url += "/"
    user_agent = v.string(t, p, "user_agent", DEFAULT_USER_AGENT)
    if not user_agent.strip() or any(c in user_agent for c in "\r\n"):
        v.problem(f"{p}.user_agent", "expected a single non-empty line")
        user_agent = DEFAULT_USER_AGENT
    return Settings(
        database=base / v.string(t, p, "database", "aggregator.sqlite"),
        output_dir=base / v.string(t, p, "output_dir", "feeds"),
        host=host,
        port=port,
        base_url=base_url,
        base_url_set=explicit is not None,
        user_agent=user_agent,
        interval=v.duration(t, p, "interval", timedelta(seconds=60)) or timedelta(minutes=30),
        tick=v.duration(t, p, "tick", timedelta(seconds=1), _MAX_TICK) or timedelta(seconds=60),
        timeout=v.duration(t, p, "timeout", timedelta(seconds=1), _MAX_WAIT)
        or timedelta(seconds=30),
        max_body_size=v.positive_int(t, p, "max_body_size", 10 * 1024 * 1024, 1 << 30),
        max_concurrency=v.positive_int(t, p, "max_concurrency", 16, 1024),
        hub=v.url(t, p, "hub"),
        retention_max_age=_retention_age(v, t, p, DEFAULT_RETENTION_MAX_AGE),
        retention_max_count=v.positive_int(
            t, p, "retention_max_count", DEFAULT_RETENTION_MAX_COUNT, 10_000_000
        ),
        per_host_limit=v.positive_int(t, p, "per_host_limit", 2, 1024),
        per_host_delay=_or(
            v.duration(t, p, "per_host_delay", timedelta(0), _MAX_WAIT), timedelta(seconds=1)
        ),
        allow_private_addresses=v.get(t, p, "allow_private_addresses", bool, False),
        parse_timeout=v.duration(t, p, "parse_timeout", timedelta(seconds=1), _MAX_WAIT)
        or timedelta(seconds=30),
        parse_max_memory=_at_least(
            v, p, "parse_max_memory", v.positive_int(t, p, "parse_max_memory", 1 << 30, 1 << 40),
            minimum=16 << 20, default=1 << 30,
        ),
        cluster_threshold=_threshold(v, t, p, "cluster_threshold", 0.6),
        cluster_window=v.duration(t, p, "cluster_window", timedelta(hours=1)) or timedelta(days=3),
    )  # fmt: skip


def _at_least(v: _Validator, p: str, key: str, value: int, *, minimum: int, default: int) -> int:
    if value < minimum:
        v.problem(f"{p}.{key}", f"must be at least {minimum}, got {value}")
        return default
    return value


def _or(value: timedelta | None, default: timedelta) -> timedelta:
    return default if value is None else value  # a zero duration is a value


def _retention_age(
    v: _Validator, t: Mapping[str, Any], p: str, default: timedelta | None
) -> timedelta | None:
    """A duration of at least a day, or "none" (keep entries of any age)."""
    if t.get("retention_max_age") == "none":
        return None
    return v.duration(t, p, "retention_max_age", timedelta(days=1)) or default


def _threshold(v: _Validator, t: Mapping[str, Any], p: str, key: str, default: float) -> float:
    value = t.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        v.problem(f"{p}.{key}", f"expected a number above 0 and at most 1, got {value!r}")
        return default
    return float(value)


def _sources(v: _Validator, table: Mapping[str, Any]) -> dict[str, SourceConfig]:
    sources: dict[str, SourceConfig] = {}
    seen_urls: dict[str, str] = {}
    seen_ids: dict[str, str] = {}
    for sid, t in table.items():
        p = f"sources.{sid}"
        if not isinstance(t, dict):
            v.problem(p, f"expected a table, got {_kind(t)}")
            continue
        if not _SOURCE_ID.match(sid):
            v.problem(p, "source ids are 1-64 letters, digits, '.', '_' or '-'")
        if (other := seen_ids.get(sid.lower())) is not None:
            v.problem(p, f"duplicate of sources.{other} (ids are compared case-insensitively)")
        seen_ids[sid.lower()] = sid
        v.known_keys(
            t,
            p,
            {"url", "title", "interval", "tags", "enabled", "retention_max_age",
             "retention_max_count", "per_host_limit", "allow_private_addresses"},
        )  # fmt: skip
        if "url" not in t:
            v.problem(f"{p}.url", "missing (the feed's address)")
            continue
        url = v.url(t, p, "url")
        if url is None:
            continue
        if (other := seen_urls.get(url)) is not None:
            v.problem(f"{p}.url", f"same URL as sources.{other}")
        seen_urls[url] = sid
        title = v.get(t, p, "title", str, None)
        sources[sid] = SourceConfig(
            id=sid,
            url=url,
            title=title.strip() if title and title.strip() else None,
            interval=v.duration(t, p, "interval", timedelta(seconds=60)),
            tags=v.strings(t, p, "tags"),
            enabled=v.get(t, p, "enabled", bool, True),
            retention_max_age=v.duration(t, p, "retention_max_age", timedelta(days=1)),
            retention_max_count=v.positive_int(t, p, "retention_max_count", 0, 10_000_000)
            if "retention_max_count" in t
            else None,
            per_host_limit=(
                v.positive_int(t, p, "per_host_limit", 2, 1024) if "per_host_limit" in t else None
            ),
            allow_private_addresses=v.get(t, p, "allow_private_addresses", bool, None),
        )
    return sources


def _topics(
    v: _Validator, table: Mapping[str, Any], sources: Mapping[str, SourceConfig]
) -> dict[str, TopicConfig]:
    topics: dict[str, TopicConfig] = {}
    known_tags = {tag for s in sources.values() for tag in s.tags}
    for slug, t in table.items():
        p = f"topics.{slug}"
        if not isinstance(t, dict):
            v.problem(p, f"expected a table, got {_kind(t)}")
            continue
        if not _SLUG.match(slug):
            v.problem(
                p, "topic slugs are 1-64 lower-case letters, digits or '-' (used in file names)"
            )
            continue
        if slug in _RESERVED_SLUGS:
            v.problem(p, f"'{slug}' is reserved: its page would be the site's {slug}.html")
            continue
        v.known_keys(t, p, _TOPIC_KEYS)
        named = _known(v, t, p, "sources", sources, "no source {!r} is defined under [sources]")
        tags = _known(v, t, p, "tags", known_tags, "no source has the tag {!r}")
        title = v.string(t, p, "title", "")
        expected = f"expected one of {', '.join(FORMATS)}, got {{!r}}"
        formats = _known(v, t, p, "formats", FORMATS, expected) if "formats" in t else FORMATS
        if not formats:
            v.problem(f"{p}.formats", "expected at least one format")
        max_items = v.positive_int(t, p, "max_items", 50, 10_000)
        topics[slug] = TopicConfig(
            slug=slug,
            title=title.strip() or slug,
            description=v.string(t, p, "description", "").strip(),
            any=_literals(v, t, p, "any"),
            all=_literals(v, t, p, "all"),
            none=_literals(v, t, p, "none"),
            sources=named,
            tags=tags,
            max_items=max_items,
            max_age=v.duration(t, p, "max_age", timedelta(hours=1)),
            query=_query(v, t, p),
            exclude=_excludes(v, t, p),
            min_age=v.duration(t, p, "min_age", timedelta(seconds=0)),
            explain_matches=v.get(t, p, "explain_matches", bool, True),
            examples=_examples(v, t, p),
            # Listed in FORMATS order, each once, so file lists are deterministic.
            formats=tuple(f for f in FORMATS if f in formats) or FORMATS,
            hub=v.url(t, p, "hub"),
            # An archive page never holds more than the current document.
            archive_page_size=min(v.positive_int(t, p, "archive_page_size", 25, 10_000), max_items),
            cluster=v.get(t, p, "cluster", bool, True),
            **_relevance(v, t, p),
        )
    return topics


def _known(
    v: _Validator, t: Mapping[str, Any], p: str, key: str, known: Collection[str], unknown: str
) -> tuple[str, ...]:
    """The list's strings; `unknown` (a format for the item) for each not in `known`."""
    out = []
    for i, raw in v.entries(t, p, key):
        item = raw.strip()
        if item not in known:
            v.problem(f"{p}.{key}[{i}]", unknown.format(item))
        out.append(item)
    return tuple(out)


def _literals(v: _Validator, t: Mapping[str, Any], p: str, key: str) -> tuple[str, ...]:
    """An any/all/none list: each item a word or phrase as written (query.literal)."""
    out = []
    for i, raw in v.entries(t, p, key):
        try:
            query.literal(raw)
        except query.QuerySyntaxError as exc:
            v.problem(f"{p}.{key}[{i}]", exc.message)
        out.append(raw.strip())
    return tuple(out)


def _parsed(v: _Validator, where: str, text: str) -> bool:
    """Whether the query parses; if not, the problem, placed in `text` as written
    (line and column count from the start of the config value, not of its trimmed form)."""
    try:
        query.parse(text)
    except query.QuerySyntaxError as exc:
        v.problem(where, str(exc))
        return False
    return True


def _query(v: _Validator, t: Mapping[str, Any], p: str) -> str:
    text = v.string(t, p, "query", "")
    if text.strip() and not _parsed(v, f"{p}.query", text):
        return ""
    return text.strip()


def _excludes(v: _Validator, t: Mapping[str, Any], p: str, key: str = "exclude") -> tuple[str, ...]:
    entries = v.entries(t, p, key)
    return tuple(text.strip() for i, text in entries if _parsed(v, f"{p}.{key}[{i}]", text))


def _relevance(v: _Validator, t: Mapping[str, Any], p: str) -> dict[str, Any]:
    """min_score and demote: a threshold on how much an article is about the topic."""
    min_score: float | None = None
    raw = t.get("min_score")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 1000:
            v.problem(f"{p}.min_score", f"expected a number above 0 (at most 1000), got {raw!r}")
        elif not (t.get("query") or t.get("any") or t.get("all")):
            v.problem(f"{p}.min_score", "needs a query (or any/all terms) to score")
        elif not (t.get("any") or t.get("all") or _scores(t.get("query"))):
            v.problem(f"{p}.min_score", "the query has no term outside NOT: nothing can score")
        else:
            min_score = float(raw)
    demote = _excludes(v, t, p, "demote")
    if "demote" in t and raw is None:
        v.problem(f"{p}.demote", "has no effect without min_score")
    return {"min_score": min_score, "demote": demote}


def _scores(text: object) -> bool:
    """Whether a query has a term that can score (a broken one is reported already)."""
    try:
        node = query.parse(text) if isinstance(text, str) else None
    except query.QuerySyntaxError:
        return True
    return node is None or next(query.scoring_terms(node), None) is not None


def _examples(v: _Validator, t: Mapping[str, Any], p: str) -> tuple[TopicExample, ...]:
    out: list[TopicExample] = []
    for i, item in enumerate(v.get(t, p, "examples", list, [])):
        q = f"{p}.examples[{i}]"
        if not isinstance(item, dict):
            v.problem(q, f"expected a table ([[{p}.examples]]), got {_kind(item)}")
            continue
        v.known_keys(item, q, _EXAMPLE_KEYS)
        title = v.string(item, q, "title", "").strip()
        if not title:
            v.problem(f"{q}.title", "missing (the example article's headline)")
            continue
        out.append(
            TopicExample(
                title=title,
                text=v.string(item, q, "text", "").strip(),
                match=v.get(item, q, "match", bool, True),
            )
        )
    return tuple(out)


def listen_url(host: str, port: int) -> str:
    """The URL of the built-in server; a wildcard address is shown as loopback."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def with_listen_address(cfg: Config, host: str, port: int) -> Config:
    """The config as the daemon runs it: listening on host:port, and unless
    base_url was set explicitly, linking to that address."""
    s = cfg.settings
    base_url = s.base_url if s.base_url_set else listen_url(host, port)
    settings = dataclasses.replace(s, host=host, port=port, base_url=base_url)
    return dataclasses.replace(cfg, settings=settings)


def _kind(value: object) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def _human(delta: timedelta) -> str:
    """'60 seconds', '3600 seconds (1h)': seconds, and the unit a user would write."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds} seconds ({seconds // size}{unit})"
    return f"{seconds} seconds"


def is_source_id(value: str) -> bool:
    return bool(_SOURCE_ID.match(value))
