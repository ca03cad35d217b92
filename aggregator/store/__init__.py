"""SQLite storage: the only module that imports sqlite3.

Everything outside this package sees models, never sqlite3 rows; every
sqlite3 error leaves as StorageError. A PostgreSQL backend would implement the
same Store methods.
"""

from aggregator.store.db import Store, StoreResult

__all__ = ["Store", "StoreResult"]
