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
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, InlineTable, Item, Key, Null, Table, Whitespace

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
    base = _slug(title or "") or _slug(host) or "source"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _slug(text: str) -> str:
    # Accents folded first: "Ünïcödé Ñews" is unicode-news, not n-c-d-ews.
    folded = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    return _NOT_ID.sub("-", folded).strip("-")[:48].strip("-")


def add_sources(
    path: Path, sources: Sequence[NewSource], *, topic: str | None = None
) -> config.Config:
    """Add sources (and, with `topic`, list them in that topic); return the new config.

    Raises ConfigError, writing nothing, when a source id is taken or the result
    is not a valid configuration.
    """
    doc, newline = _read(path)
    problems: list[str] = []
    parts = _source_parts(doc, path, create=True)
    for source in sources:
        if any(k.lower() == source.id.lower() for part in parts for k in part):
            problems.append(f"{path}: sources.{source.id}: already defined")
            continue
        _append_source(parts[-1], source)  # after the last source in the file
    if topic is not None:
        problems += _add_to_topic(doc, path, topic, [s.id for s in sources])
    if problems:
        raise ConfigError(problems)
    return _write(path, doc, newline)


def remove_source(path: Path, source_id: str) -> config.Config:
    """Remove one source and its mentions in topics; return the new config.

    A topic that draws only from this source would silently widen to every
    source if it were dropped from its list, so that is refused.
    """
    doc, newline = _read(path)
    part = next((p for p in _source_parts(doc, path) if source_id in p), None)
    if part is None:
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
    _remove_table(doc, part, source_id)
    return _write(path, doc, newline)


def _read(path: Path) -> tuple[tomlkit.TOMLDocument, str]:
    """The document, and the newline the file uses (an edit keeps CRLF files CRLF)."""
    try:
        raw = config.decode(path.read_bytes())  # as config.load reads it: BOM dropped
    except FileNotFoundError:
        return tomlkit.document(), "\n"  # `sources add` may start a new file
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc
    newline = "\r\n" if raw.partition("\n")[0].endswith("\r") else "\n"
    try:
        return tomlkit.parse(raw.replace("\r\n", "\n")), newline
    except TOMLKitError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}; fix it first"]) from exc


def _source_parts(
    doc: tomlkit.TOMLDocument, path: Path, *, create: bool = False
) -> list[Table | InlineTable]:
    """The tables holding the [sources.*] tables, in file order.

    Usually one; several when other tables sit between sources (a source added
    by hand at the bottom, after the topics), where doc["sources"] is only a
    read-only merged view.
    """
    parts = [v for k, v in doc.body if k is not None and k.key == "sources"]
    if not parts and create:
        parts = [tomlkit.table(is_super_table=True)]
        doc.add("sources", parts[0])
    tables = [p for p in parts if isinstance(p, Table | InlineTable)]
    if len(tables) != len(parts):
        raise ConfigError([f"{path}: sources: expected a table"])
    return tables


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
        new.value.body.extend(trailing)
    table.append(source.id, new)


def _remove_table(doc: tomlkit.TOMLDocument, part: Table | InlineTable, source_id: str) -> None:
    item = part[source_id]
    if not isinstance(item, Table):
        del part[source_id]
        return
    # Comments after the source's last value introduce what follows (a section
    # heading, the next source): they stay, in front of the next table header.
    kept = _introducing_next(_pop_trailing_trivia(item.value))
    following = _next_header(doc, part, item)
    del part[source_id]
    if following is not None:
        text = "".join(i.as_string() for _, i in kept)
        following.trivia.indent = text + following.trivia.indent
        return
    end = _last_leaf(doc)  # nothing follows: the comments end the file
    if kept:
        before = end.as_string()
        if before.strip() and not before.endswith("\n\n"):
            end.body.append((None, tomlkit.nl()))  # keep them a block of their own
        end.body.extend(kept)
    else:
        _pop_trailing_trivia(end, Whitespace)  # no blank line left at the end


def _introducing_next(trailing: list[tuple[Key | None, Item]]) -> list[tuple[Key | None, Item]]:
    """What of a table's trailing comments and blank lines belongs to what follows.

    Comments right under the last value, with a blank line after them, are the
    table's own (a commented-out key); the blank lines that follow separated it
    from the next table; the rest introduces what follows. Comments with no
    blank line at all sit on the next header, so they belong to it.
    """
    i = 0
    while i < len(trailing) and isinstance(trailing[i][1], Comment):
        i += 1
    if i == len(trailing):
        return trailing
    while i < len(trailing) and isinstance(trailing[i][1], Whitespace):
        i += 1
    return trailing[i:]


def _next_header(doc: tomlkit.TOMLDocument, part: Table | InlineTable, item: Table) -> Table | None:
    """The first table header written after `item` (a child of `part`), if any."""
    siblings = part.value.body if isinstance(part, Table) else []
    at = next(i for i, (_, v) in enumerate(siblings) if v is item)
    after_part = next(i for i, (_, v) in enumerate(doc.body) if v is part) + 1
    for key, value in [*siblings[at + 1 :], *doc.body[after_part:]]:
        found = _first_header(key, value)
        if found is not None:
            return found
    return None


def _first_header(key: Key | None, item: Item) -> Table | None:
    if isinstance(item, AoT):
        return item.body[0] if item.body else None
    if not isinstance(item, Table) or (key is not None and key.is_dotted()):
        return None  # a dotted key (a.b = 1) writes no header
    if not item.is_super_table():
        return item
    # A super table ([a.b] with no [a]) writes no header of its own.
    return next((t for k, v in item.value.body if (t := _first_header(k, v)) is not None), None)


def _last_leaf(container: Container) -> Container:
    """The container whose text ends the rendering of `container`."""
    for key, value in reversed(container.body):
        if isinstance(value, Null) or (isinstance(value, AoT) and not value.body):
            continue
        if isinstance(value, AoT):
            return _last_leaf(value.body[-1].value)
        if not isinstance(value, Table) or (key is not None and key.is_dotted()):
            return container
        leaf = _last_leaf(value.value)
        if leaf is not value.value or not value.is_super_table():
            return leaf
        # An emptied super table writes nothing: look further up.
    return container


def _pop_trailing_trivia(
    body: Container, kinds: type[Item] | tuple[type[Item], ...] = (Whitespace, Comment)
) -> list[tuple[Key | None, Item]]:
    items = body.body
    trailing: list[tuple[Key | None, Item]] = []
    while items and items[-1][0] is None and isinstance(items[-1][1], kinds):
        trailing.insert(0, items.pop())
    return trailing


def _add_to_topic(
    doc: tomlkit.TOMLDocument, path: Path, slug: str, source_ids: list[str]
) -> list[str]:
    topics = doc.get("topics")
    topic = topics.get(slug) if isinstance(topics, dict) else None
    if not isinstance(topic, dict):
        return [f"{path}: topics.{slug}: no such topic"]
    # `sources` and `tags` add up; both empty means every source, so nothing to do.
    # A topic drawing on tags alone gets a `sources` list naming the new ones.
    if not topic.get("sources") and not topic.get("tags"):
        return []
    if "sources" not in topic:
        _put_after(topic, "tags", "sources", tomlkit.array())
    named = topic["sources"]
    if not isinstance(named, list) or isinstance(named, AoT):
        return [f"{path}: topics.{slug}.sources: expected an array"]
    for sid in source_ids:
        if sid not in named:
            named.append(sid)
    return []


def _put_after(table: dict[str, Any], after: str, key: str, value: Item) -> None:
    """Add `key` on the line after `after`, not at the end among trailing comments."""
    body = table.value.body if isinstance(table, Table) else []
    at = next((i + 1 for i, (k, _) in enumerate(body) if k is not None and k.key == after), None)
    if isinstance(table, Table) and at is not None and at < len(body):
        table.value._insert_at(at, key, value)  # no public API inserts at a position
    else:
        table[key] = value


def _write(path: Path, doc: tomlkit.TOMLDocument, newline: str) -> config.Config:
    text = tomlkit.dumps(doc)
    resolved = path.resolve()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # tomlkit produced something odd: refuse
        raise ConfigError([f"{path}: the edit would not be valid TOML: {exc}"]) from exc
    # Anchored like config.load (next to a symlink); written through it to its target.
    checked = config.parse(data, config.as_given(path))  # raises ConfigError; nothing written
    # The daemon's watcher sees the old file or the new one, never half of it.
    write_if_changed(resolved, text.replace("\n", newline).encode("utf-8"))
    return checked
