"""Process-wide test settings and shared fixtures."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
