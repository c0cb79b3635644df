"""Reconnect delays: capped exponential backoff with full jitter.

"Full jitter" (AWS Architecture blog, "Exponential Backoff and Jitter") draws each delay
uniformly from ``[0, min(cap, base * 2**attempt)]`` so many clients that lost the same
venue at the same moment do not reconnect in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackoffPolicy:
    """The numbers behind a backoff: first ceiling, largest ceiling, when to forget failures.

    ``healthy_s`` is how long a connection must stay up (and not be cut by the liveness
    watchdog) before the next failure starts again from ``base_s``; without it a server
    that accepts and immediately drops us would be hammered at the base rate.
    """

    base_s: float = 1.0
    cap_s: float = 60.0
    healthy_s: float = 30.0


@dataclass
class Backoff:
    """Mutable attempt counter for one connection or poller, driven by ``policy``."""

    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def ceiling(self) -> float:
        """The largest delay the next call to ``next_delay`` may return."""
        # Cap the exponent too: 2**attempt overflows float after ~1000 failures.
        return min(self.policy.cap_s, self.policy.base_s * 2.0 ** min(self.attempt, 60))

    def next_delay(self) -> float:
        """Draw the delay before the next attempt and count the failure."""
        delay = self.rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Forget past failures (after a connection or poll that went well)."""
        self.attempt = 0
