"""Edits to config.toml that keep its comments and layout: the only module that
imports tomlkit.

People edit config.toml by hand, so `aggregator sources add/remove/import` must
leave their comments, ordering and spacing alone. Every edit is validated as a
whole configuration (config.parse) before anything is written, and the file is
replaced atomically, so a daemon watching it never sees half an edit.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, InlineTable, Item, Key, Table, Whitespace

from aggregator import config
from aggregator.atomicfile import write_if_changed
from aggregator.errors import ConfigError

_NOT_ID = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class NewSource:
    id: str
    url: str
    title: str | None = None
    tags: tuple[str, ...] = ()
    allow_private_addresses: bool = False  # written only when true


def suggest_id(title: str | None, url: str, taken: Iterable[str]) -> str:
    """A source id from the feed's title (else its host) that is not taken yet."""
    used = {t.lower() for t in taken}
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    base = _NOT_ID.sub("-", (title or "").lower()).strip("-")[:48].strip("-")
    if not base:
        base = _NOT_ID.sub("-", host.lower()).strip("-")[:48].strip("-") or "source"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def add_sources(
    path: Path, sources: Sequence[NewSource], *, topic: str | None = None
) -> config.Config:
    """Add sources (and, with `topic`, list them in that topic); return the new config.

    Raises ConfigError, writing nothing, when a source id is taken or the result
    is not a valid configuration.
    """
    doc = _read(path)
    problems: list[str] = []
    table = _sources_table(doc)
    for source in sources:
        if any(k.lower() == source.id.lower() for k in table):
            problems.append(f"{path}: sources.{source.id}: already defined")
            continue
        _append_source(table, source)
    if topic is not None:
        problems += _add_to_topic(doc, path, topic, [s.id for s in sources])
    if problems:
        raise ConfigError(problems)
    return _write(path, doc)


def remove_source(path: Path, source_id: str) -> config.Config:
    """Remove one source and its mentions in topics; return the new config.

    A topic that draws only from this source would silently widen to every
    source if it were dropped from its list, so that is refused.
    """
    doc = _read(path)
    sources = doc.get("sources")
    if not isinstance(sources, dict) or source_id not in sources:
        raise ConfigError([f"{path}: sources.{source_id}: no such source"])
    topics = doc.get("topics")
    if isinstance(topics, dict):
        for slug, topic in topics.items():
            named = topic.get("sources") if isinstance(topic, dict) else None
            if not isinstance(named, list) or source_id not in named:
                continue
            if all(n == source_id for n in named):
                raise ConfigError(
                    [
                        f"{path}: topics.{slug}.sources: draws only from {source_id!r}; "
                        "edit or remove that topic first"
                    ]
                )
            while source_id in named:
                named.remove(source_id)
    assert isinstance(sources, Table | InlineTable)
    _remove_table(sources, source_id)
    return _write(path, doc)


def _read(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte order mark is dropped
    except FileNotFoundError:
        return tomlkit.document()  # `sources add` may start a new file
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}; fix it first"]) from exc


def _sources_table(doc: tomlkit.TOMLDocument) -> Table | InlineTable:
    table = doc.get("sources")
    if table is None:
        table = tomlkit.table(is_super_table=True)
        doc.add("sources", table)
    if not isinstance(table, Table | InlineTable):
        raise ConfigError(["sources: expected a table"])
    return table


def _append_source(table: Table | InlineTable, source: NewSource) -> None:
    values: dict[str, Any] = {"url": source.url}
    if source.title:
        values["title"] = source.title
    if source.tags:
        values["tags"] = list(source.tags)
    if source.allow_private_addresses:
        values["allow_private_addresses"] = True
    children = [v for v in table.values() if isinstance(v, Table | InlineTable)]
    if isinstance(table, InlineTable) or (children and isinstance(children[-1], InlineTable)):
        inline = tomlkit.inline_table()
        inline.update(values)
        table.append(source.id, inline)
        return
    new = tomlkit.table()
    new.update(values)
    if children and isinstance(children[-1], Table):
        # Comments and blank lines after the last source introduce what follows
        # (say "# Topics"): keep them after the new source, not above it.
        trailing = _pop_trailing_trivia(children[-1].value)
        children[-1].value.body.append((None, tomlkit.nl()))
        new.value.body.extend(trailing or [(None, tomlkit.nl())])
    table.append(source.id, new)


def _remove_table(table: Table | InlineTable, source_id: str) -> None:
    item = table[source_id]
    keys = [k for k, v in table.items() if isinstance(v, Table)]
    if isinstance(item, Table) and keys and keys[-1] == source_id and len(keys) > 1:
        # The last source carries the comments introducing the next section.
        trailing = _pop_trailing_trivia(item.value)
        previous = table[keys[-2]]
        assert isinstance(previous, Table)
        _pop_trailing_trivia(previous.value)
        previous.value.body.extend(trailing)
    del table[source_id]


def _pop_trailing_trivia(body: Container) -> list[tuple[Key | None, Item]]:
    items = body.body
    trailing: list[tuple[Key | None, Item]] = []
    while items and items[-1][0] is None and isinstance(items[-1][1], Whitespace | Comment):
        trailing.insert(0, items.pop())
    return trailing


def _add_to_topic(
    doc: tomlkit.TOMLDocument, path: Path, slug: str, source_ids: list[str]
) -> list[str]:
    topics = doc.get("topics")
    topic = topics.get(slug) if isinstance(topics, dict) else None
    if not isinstance(topic, dict):
        return [f"{path}: topics.{slug}: no such topic"]
    named = topic.get("sources")
    if named is None or (isinstance(named, list) and not named):
        return []  # the topic already draws from every source
    if not isinstance(named, list) or isinstance(named, AoT):
        return [f"{path}: topics.{slug}.sources: expected an array"]
    for sid in source_ids:
        if sid not in named:
            named.append(sid)
    return []


def _write(path: Path, doc: tomlkit.TOMLDocument) -> config.Config:
    text = tomlkit.dumps(doc)
    resolved = path.resolve()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # tomlkit produced something odd: refuse
        raise ConfigError([f"{path}: the edit would not be valid TOML: {exc}"]) from exc
    # Anchored like config.load (next to a symlink); written through it to its target.
    checked = config.parse(data, config.as_given(path))  # raises ConfigError; nothing written
    # The daemon's watcher sees the old file or the new one, never half of it.
    write_if_changed(resolved, text.encode("utf-8"))
    return checked
