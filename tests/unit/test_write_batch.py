"""WriteBatch: many atomic writes on threads, one directory fsync each."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from aggregator.atomicfile import TEMP_SUFFIX, WriteBatch, write_once


def _write(path: Path) -> list[Path]:
    return [path] if write_once(path, path.name.encode(), sync_directory=False) else []


def test_every_file_is_written_and_reported(tmp_path: Path) -> None:
    (tmp_path / "kept").write_bytes(b"old")
    with WriteBatch(threads=3) as batch:
        for name in ("a", "b", "c", "kept"):
            batch.submit(tmp_path, functools.partial(_write, tmp_path / name))
        written = batch.finish()
    assert sorted(p.name for p in written) == ["a", "b", "c"]
    assert [(tmp_path / n).read_bytes() for n in ("a", "b", "c", "kept")] == [
        b"a", b"b", b"c", b"old"
    ]  # fmt: skip
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))


def test_a_failed_job_is_raised_after_the_others_finish(tmp_path: Path) -> None:
    def fail() -> list[Path]:
        raise OSError(28, "No space left on device")

    with WriteBatch(threads=2) as batch:
        batch.submit(tmp_path, fail)
        for name in ("one", "two", "three"):
            batch.submit(tmp_path, functools.partial(_write, tmp_path / name))
        with pytest.raises(OSError, match="No space left"):
            batch.finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "three", "two"]
