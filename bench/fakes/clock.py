"""``Clock``: the one settable clock of the tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

N = TypeVar("N", int, float)


@dataclass
class Clock(Generic[N]):
    """Call it for the time; set ``now`` (ms since the epoch, or seconds for a monotonic
    stand-in) or :meth:`advance` it. Pass it wherever the code takes a ``now_ms``."""

    now: N

    def __call__(self) -> N:
        return self.now

    def advance(self, by: N) -> N:
        """Move the time forward by ``by``; returns the new time."""
        self.now = self.now + by
        return self.now
