"""Process-wide test settings and shared fixtures."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.fakes.clock import Clock
from storage.db import DbThread

# PTB 22 warns when RetryAfter.retry_after is read as an int; the app opts in to timedelta
# (bot/cli.py does the same), and warnings are errors in this suite.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@pytest.fixture
async def dbt(tmp_path: Path) -> AsyncIterator[DbThread]:
    """The one database thread of a test, on a fresh SQLite file."""
    thread = DbThread(tmp_path / "test.db")
    yield thread
    await thread.close()


# 2026-10-10 12:00 UTC: the handler tests' "now" (bench/fakes/chat_bot.py NOW).
CLOCK_START_MS = 1_791_633_600_000


@pytest.fixture
def clock() -> Clock[int]:
    """A settable wall clock in ms, at 2026-10-10 12:00 UTC; a test file that needs another
    start overrides this fixture with its own ``Clock(T0)``."""
    return Clock(CLOCK_START_MS)
