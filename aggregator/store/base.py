"""What the Store's mixins (history, topics) may use of the Store itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from aggregator.models import StoredEntry


class StoreParts:
    if TYPE_CHECKING:
        _conn: sqlite3.Connection

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _guard(self) -> AbstractContextManager[None]: ...
        def _entries_where(
            self, where: str, params: Sequence[object], *, clustered: bool = True,
            oldest_first: bool = False,
        ) -> Iterator[StoredEntry]: ...  # fmt: skip
