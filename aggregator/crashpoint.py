"""A test-only hook: kill this process, as `kill -9` would, at a named stage.

Crash-safety tests run the daemon with AGGREGATOR_TEST_CRASH_AT set to one of
STAGES and check what a restart finds. Unset (always, outside tests), a call
costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "AGGREGATOR_TEST_CRASH_AT"
STAGES = (
    "after-fetch",  # a source fetched, nothing stored yet
    "mid-store",  # inside a source's transaction, entries written, not committed
    "before-publish",  # the cycle's sources committed, feeds not yet written
    "mid-publish",  # a feed's temp file written and synced, not yet renamed
)


def crash_point(stage: str) -> None:
    if os.environ.get(ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)
