"""The wall clock: epoch milliseconds, the one definition every default clock points at.

Components that read the time take a ``Callable[[], int]`` (tests inject a fake); their
default is :func:`now_ms`.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000
