from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import loopback

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def server() -> Iterator[loopback.LoopbackServer]:
    yield from loopback.serve()


def shared_dir() -> Path:
    """../shared beside the checkout; tests that need it skip when it is absent.
    Its corpus's manifest is what counts: a directory that merely has the name (a
    user's own ../shared) is not it."""
    if not (SHARED / "corpus" / "MANIFEST.tsv").is_file():
        pytest.skip("../shared/corpus is not present (a user's clone)")
    return SHARED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The hostile suite's numbers: time to the outcome and peak memory, per case."""
    from tests.integration import test_hostile

    if not test_hostile.RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'hostile case':44} {'outcome':10} {'seconds':>8} {'peak MB':>8} {'loop lag':>9}")
    for case, outcome, seconds, peak, lag in test_hostile.RESULTS:
        write(f"{case:44} {outcome:10} {seconds:8.2f} {peak:8.1f} {lag:9.3f}")
