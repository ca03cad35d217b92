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
    """../shared beside the checkout; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (a user's clone)")
    return SHARED
