"""The import rules of docs/design.md, checked so they last."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "aggregator"

STAGES = {"fetch", "parse", "dedup", "store", "curate", "publish"}
# Each third-party library may be imported by exactly one module (or package).
OWNERS = {
    "httpx": "fetch",
    "feedparser": "parse",
    "nh3": "sanitize",
    "sqlite3": "store",
    "feedgen": "publish",
    "jinja2": "publish",
    "apscheduler": "daemon",
    "aiohttp": "serve",
    "click": "cli",
    "tomlkit": "config_edit",
    "prometheus_client": "metrics",
    "httpcore": "fetch",
    "lxml": "parse",
}
PURE = {"dedup", "curate", "query", "verdicts", "opml", "schedule", "minhash", "textfold",
        "credentials"}  # fmt: skip
IMPURE_MODULES = {"socket", "subprocess", "os", "shutil", "urllib.request", "http", "asyncio"}


def modules() -> dict[str, set[str]]:
    """Top-level aggregator module name (package counts as one) -> imported names."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        owner = rel.parts[0]
        names = found.setdefault(owner, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                if node.module == "aggregator":
                    names.update(f"aggregator.{alias.name}" for alias in node.names)
    return found


def test_stages_do_not_import_each_other() -> None:
    for owner, names in modules().items():
        if owner not in STAGES:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "aggregator" and len(parts) > 1:
                assert parts[1] not in STAGES - {owner}, f"{owner} imports {name}"


def test_each_library_is_imported_by_its_one_module() -> None:
    for owner, names in modules().items():
        for name in names:
            library = name.split(".")[0]
            if library in OWNERS:
                assert OWNERS[library] == owner, f"{library} imported by {owner}"


def test_pure_modules_do_no_io() -> None:
    found = modules()
    for owner in PURE:
        for name in found[owner]:
            assert name not in IMPURE_MODULES, f"{owner} imports {name}"


def test_the_rules_see_every_module() -> None:
    # Guards the test itself: if the walk found nothing, the asserts above pass vacuously.
    found = modules()
    assert set(found) >= STAGES
    assert "httpx" in found["fetch"] and "sqlite3" in found["store"]
